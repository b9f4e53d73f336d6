// The trail: an append-only table of records. Records of state changes and failures are
// committed before the call returns (or, for calls run in a groupCommit, before the group's
// caller lets any of them out: the HTTP server's batches); records of read-only calls are
// committed together by a timer within FLUSH_WINDOW_MS (and at process exit), which is what lets Decrypt run at tens of thousands
// per second. Long-running processes may move the inserts to a worker thread
// (`useBackgroundWriter`), keeping the same guarantees. Commits also write the lookup index
// (postings.ts) in the same transaction, once a few thousand records wait for it (LookupEvents
// scans those).
import type { Db } from '../store/database.js';
import type { TrailRecord } from './record.js';
import { BackgroundTrailWriter, TRAIL_INSERT, type AlongWrite, type TrailRow } from './background-writer.js';
import { createTrailIndexer, INDEX_LAG, type IndexedColumns, type TrailIndexer } from './postings.js';
import { RetentionWorker } from './retention.js';
import { READ_ONLY_EVENT_NAME } from './read-only.js';
import { createTrailColumns } from './columns.js';

export const FLUSH_WINDOW_MS = 20;
export const FLUSH_BATCH = 2000;

export class Trail {
  private pending: TrailRecord[] = [];
  private pendingAlong: AlongWrite[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly insert;
  private readonly indexer: TrailIndexer;
  private background: BackgroundTrailWriter | undefined;
  private retention: RetentionWorker | undefined;
  private readonly onExit = () => this.flush();

  constructor(
    private readonly db: Db,
    /** The trail database file, for the background writer's own connection. */
    private readonly trailPath: string,
    /** Where records past the retention are delivered as log files (retention.ts); none: a long-running process applies no retention. */
    private readonly deliveryDir?: string,
    /** Rows the lookup index may lag the table by (postings.ts); 0: each commit indexes its records. */
    private readonly indexLag = INDEX_LAG,
  ) {
    this.insert = db.prepare(TRAIL_INSERT);
    this.indexer = createTrailIndexer(db, undefined, indexLag);
    process.on('exit', this.onExit);
  }

  /**
   * Inserts from a worker thread from now on (for servers and benchmarks; a CLI call need not pay
   * its start-up), and applies the retention on another every minute (a server's trail stays
   * bounded), unless `retention` is false (the other processes of `ebsim serve --workers`: one applies it).
   */
  useBackgroundWriter(opts: { retention?: boolean } = {}): void {
    this.flush();
    this.background ??= new BackgroundTrailWriter(this.trailPath, this.indexLag);
    if (this.deliveryDir && opts.retention !== false) this.retention ??= new RetentionWorker(this.trailPath, this.deliveryDir);
  }

  /**
   * Appends a record; `durable` commits it (and everything pending) before returning, or inside
   * groupCommit, before the group returns. A record
   * that could not be serialized throws here, failing only the call that made it: once queued,
   * it would fail the whole batch, other callers' records with it.
   */
  append(record: TrailRecord, durable: boolean): void {
    assertStorable(record);
    this.pending.push(record);
    if (durable && this.grouping > 0) {
      this.held++;
      if (this.pending.length >= FLUSH_BATCH) this.flush(false);
    } else if (durable || this.pending.length >= FLUSH_BATCH) {
      this.flush(durable);
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.flushInBackground(), FLUSH_WINDOW_MS);
      this.timer.unref();
    }
  }

  private grouping = 0;
  /** A flush that failed inside the current group (thrown again at its end). */
  private groupFailure: unknown;
  private held = 0;
  /** Durable records appended inside groupCommit and not committed yet (only counts up within a group). */
  get durableHeld(): number {
    return this.held;
  }

  /**
   * Runs `calls` with their durable records held: each is queued as it is appended, and one
   * commit once `calls` has returned makes them all durable (group commit), instead of one
   * commit each. For a caller that lets nothing of those calls out before this returns (the HTTP
   * server answers a batch of requests after it); `durableHeld` tells it which calls appended
   * one. A failed commit is thrown after `calls` ran (their records are then not durable).
   */
  groupCommit<T>(calls: () => T): T {
    this.grouping++;
    let result: T;
    try {
      result = calls();
    } finally {
      if (--this.grouping === 0) {
        const held = this.held;
        const failure = this.groupFailure;
        this.held = 0;
        this.groupFailure = undefined;
        if (held > 0) this.flush(true);
        if (failure !== undefined) throw failure;
      }
    }
    return result;
  }

  /**
   * Hands rows for a table of the trail's file (not a record: KMS's key last usage) to the
   * background writer, which writes them after the records posted with them; with `wait`, returns
   * once they are committed. False when there is no background writer: the caller writes them
   * itself. Through the writer the caller never waits for the write lock the writer holds while
   * it commits (a busy writer held a Decrypt loop's once-a-second usage save for tens of ms).
   */
  writeAlong(along: AlongWrite, wait: boolean): boolean {
    if (!this.background || !this.db.open) return false;
    this.pendingAlong.push(along);
    this.flush(wait);
    return true;
  }

  /** The timer's flush: a failure here has no caller to report to, so it is logged and retried later. */
  private flushInBackground(): void {
    const batch = this.pending;
    try {
      this.flush(false);
    } catch (err) {
      process.stderr.write(`ebsim: trail: ${(err as Error).message}; will retry\n`);
      if (!this.background) this.pending = batch.concat(this.pending);
      this.timer ??= setTimeout(() => this.flushInBackground(), 1000).unref();
    }
  }

  /** Writes what is pending; with `wait` (the default), returns only once it is committed. */
  flush(wait = true): void {
    try {
      this.write(wait);
    } catch (err) {
      // Inside a group, a flush that fails (the key-usage saver's, a full FLUSH_BATCH) may have
      // taken held records with it: the group's end must fail too, though nothing is left to post.
      if (this.grouping > 0 && this.held > 0) this.groupFailure ??= err;
      throw err;
    }
  }

  private write(wait: boolean): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (!this.db.open) return;
    const batch = this.pending;
    this.pending = [];
    if (this.background) {
      const along = this.pendingAlong;
      this.pendingAlong = [];
      if (batch.length || along.length) this.background.post(batch, along);
      if (wait) this.background.waitCommitted();
      return;
    }
    if (batch.length === 0) return;
    this.db.transaction(() => {
      const rows: [number, IndexedColumns][] = [];
      for (const r of batch) {
        const row = rowOf(r);
        rows.push([Number(this.insert.run(...row).lastInsertRowid), indexedColumns(row, r)]);
      }
      // In the same transaction: a committed record is always found by LookupEvents (indexed, or
      // in the few rows above the index that it scans).
      this.indexer.commit(rows);
    }).immediate();
  }

  /** Commits what is pending and stops the worker threads; they are stopped even if the commit fails (thrown after). */
  close(): void {
    process.off('exit', this.onExit);
    const { background, retention } = this;
    try {
      if (background) {
        this.flush(false); // posted: the writer's close waits for it, and closes the worker whatever happens
        this.background = undefined;
        background.close();
      } else {
        this.flush();
      }
    } finally {
      this.background = undefined;
      this.retention = undefined;
      retention?.close();
    }
  }
}

/** Far deeper than any record AWS writes; a deeper one would overflow the stack of JSON.stringify or of postMessage. */
export const MAX_RECORD_DEPTH = 32;

/**
 * The caller-shaped parts of a record (the rest ebsim builds itself) are plain JSON data no
 * deeper than MAX_RECORD_DEPTH. Iterative, so a deep value cannot overflow the stack here; a
 * cycle shows as unbounded depth.
 */
export function assertStorable(r: TrailRecord): void {
  const stack: [unknown, number][] = [[r.requestParameters, 1], [r.responseElements, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    const t = typeof v;
    if (t === 'function' || t === 'symbol' || t === 'bigint') throw new RangeError(`trail record ${r.eventName}: a ${t} cannot be stored`);
    if (v === null || t !== 'object') continue;
    if (depth > MAX_RECORD_DEPTH) throw new RangeError(`trail record ${r.eventName}: nested more than ${MAX_RECORD_DEPTH} levels deep`);
    for (const c of Array.isArray(v) ? v : Object.values(v as object)) stack.push([c, depth + 1]);
  }
}

// The columns of a record: one definition, which the background writer's worker builds from its text too.
const columns = createTrailColumns(READ_ONLY_EVENT_NAME);
export const rowOf = columns.rowOf;
export const indexedColumns = columns.indexedColumns;
export const usernameOf = columns.usernameOf;
