// A read cache that is never stale across processes: it is dropped whenever SQLite's
// data_version says another connection committed, or this process wrote through `immediate`.
// Keys, aliases and grants are read on every KMS call; this keeps those reads off SQLite.
import type { Db } from './database.js';

const localWrites = new WeakMap<Db, number>();

export function noteLocalWrite(db: Db): void {
  localWrites.set(db, (localWrites.get(db) ?? 0) + 1);
}

export class ReadCache<V> {
  private readonly map = new Map<string, V>();
  private readonly dataVersion;
  private seenVersion = -1;
  private seenWrites = -1;

  constructor(private readonly db: Db) {
    this.dataVersion = db.prepare('PRAGMA data_version').pluck();
  }

  get(key: string, load: () => V): V {
    const version = this.dataVersion.get() as number;
    const writes = localWrites.get(this.db) ?? 0;
    if (version !== this.seenVersion || writes !== this.seenWrites) {
      this.map.clear();
      this.seenVersion = version;
      this.seenWrites = writes;
    }
    if (this.map.has(key)) return this.map.get(key)!;
    const value = load();
    this.map.set(key, value);
    return value;
  }
}
