// A read cache that is never stale across processes. Each domain call first asks SQLite once
// whether another connection has committed (PRAGMA data_version); if so, or if this process
// wrote through `immediate`, every cache of that database starts over. Keys, aliases and grants
// are read on every KMS call; this keeps those reads off SQLite on the hot path.
import type { Database as Db } from 'better-sqlite3';

interface Epoch {
  value: number;
  checkedAt: number;
  dataVersion: number;
  readonly stmt: { get(): unknown };
}

const epochs = new WeakMap<Db, Epoch>();

function epochOf(db: Db): Epoch {
  let e = epochs.get(db);
  if (!e) {
    e = { value: 0, checkedAt: -Infinity, dataVersion: -1, stmt: db.prepare('PRAGMA main.data_version').pluck() };
    epochs.set(db, e);
  }
  return e;
}

/** How long a long-running process may serve a cached read after another process's commit. */
export const CROSS_PROCESS_STALENESS_MS = 2;

/**
 * Call at the start of each domain call. The data_version query costs about 10 us, so it runs
 * at most once per CROSS_PROCESS_STALENESS_MS; this process's own writes are seen at once.
 */
export function refreshFromDisk(db: Db): void {
  const e = epochOf(db);
  const now = performance.now();
  if (now - e.checkedAt < CROSS_PROCESS_STALENESS_MS) return;
  e.checkedAt = now;
  const v = e.stmt.get() as number;
  if (v !== e.dataVersion) {
    e.dataVersion = v;
    e.value++;
  }
}

export function noteLocalWrite(db: Db): void {
  epochOf(db).value++;
}

export class ReadCache<V> {
  private readonly map = new Map<string, V>();
  private seenEpoch = -1;
  private readonly epoch: Epoch;

  constructor(db: Db) {
    this.epoch = epochOf(db);
  }

  get(key: string, load: () => V): V {
    if (this.epoch.value !== this.seenEpoch) {
      this.map.clear();
      this.seenEpoch = this.epoch.value;
    }
    if (this.map.has(key)) return this.map.get(key)!;
    const value = load();
    this.map.set(key, value);
    return value;
  }
}
