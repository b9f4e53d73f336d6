// A worker thread that inserts trail rows on the other core, for long-running processes (the
// HTTP server, benchmarks). The main thread hands over the record objects (structured cloning
// shares their common identity object, about 0.7 us a record, where JSON.stringify alone costs
// 4 us), the worker serializes and inserts them; for a durable append the main thread blocks on a
// shared counter until the worker has committed: "durable before the call returns" holds (for
// calls in a Trail.groupCommit, before the group returns). The
// worker makes the columns and indexes what it inserts with the main thread's own functions
// (columns.ts, postings.ts, from their text).
// Other tables of the trail's file (KMS's key last usage) can ride along (`AlongWrite`): written
// on this thread, a caller never waits for the write lock the worker holds through its commits.
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import type { TrailRecord } from './record.js';
import { createTrailIndexer, INDEX_LAG } from './postings.js';
import { READ_ONLY_EVENT_NAME } from './read-only.js';
import { createTrailColumns } from './columns.js';

export type { TrailRow } from './columns.js';
import type { TrailRow } from './columns.js';

/** Rows for one statement on a table of the trail's file, run by the writer after the records it was posted with. Unqualified names: the worker opens that file as its main schema. */
export interface AlongWrite {
  sql: string;
  rows: unknown[][];
}

const INSERT = `INSERT INTO trail_events (event_id, event_time, event_source, event_name, username, access_key_id, read_only, resource_names, record)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;

// Plain CommonJS, run with eval: it must load from compiled and from source (vitest) alike.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlitePath);
const db = new Database(workerData.dbPath, { timeout: workerData.busyTimeoutMs });
db.pragma('busy_timeout = ' + workerData.busyTimeoutMs);
db.pragma('synchronous = FULL');
const insert = db.prepare(workerData.insert);
const committed = new Int32Array(workerData.shared);
const READ_ONLY_EVENT_NAME = ${READ_ONLY_EVENT_NAME.toString()};
// The columns, from the same function the main thread uses (columns.ts).
const { rowOf, indexedColumns } = (${createTrailColumns.toString()})(READ_ONLY_EVENT_NAME);
// The LookupEvents index, from the same function the main thread uses (postings.ts).
const createTrailIndexer = ${createTrailIndexer.toString()};
const indexer = createTrailIndexer(db, undefined, workerData.indexLag);
const write = db.transaction((rows) => {
  const seqRows = [];
  for (const [row, r] of rows) seqRows.push([Number(insert.run(...row).lastInsertRowid), indexedColumns(row, r)]);
  indexer.commit(seqRows);
});
// Statements riding along (AlongWrite), in their own transaction: one that fails costs no record.
const alongStatements = new Map();
const writeAlong = db.transaction((alongs) => {
  for (const a of alongs) {
    let st = alongStatements.get(a.sql);
    if (!st) alongStatements.set(a.sql, (st = db.prepare(a.sql)));
    for (const row of a.rows) st.run(...row);
  }
});
// Batches that queued while a commit ran (or waited for another process's writer to release the
// write lock) go in one transaction: each transaction rewrites the open index chunks of its terms
// and syncs the WAL, so under --workers that contend for the lock, fewer and bigger commits cost
// less. Only what is already queued is merged: a durable append never waits for a later batch.
// Up to MERGE_RECORDS records a transaction (a full batch of the main thread, FLUSH_BATCH): a
// writer behind an in-process loop merged its whole backlog, and those bigger transactions held
// the lock longer and kept every record of them alive at once (more of the worker's GC work).
const MERGE_RECORDS = 2000;
let queue = [];
let draining = false;
// Another connection holding the write lock past the busy timeout (a long retention slice,
// another process's writer; a profiler's signals cut SQLite's busy waits short) is not a reason
// to drop records: the refused work goes back to the head of the queue, as one group with its
// rows already made, and is tried again until RETRY_FOR_MS have passed since the first refusal.
// Nothing of a refused transaction was written. Only SQLITE_BUSY: within one connection,
// SQLITE_LOCKED would fail the same way every time.
const RETRY_FOR_MS = workerData.retryForMs;
const RETRY_DELAY_MS = 100;
let busySince = 0;
const isBusy = (e) => typeof e?.code === 'string' && e.code.startsWith('SQLITE_BUSY');
function schedule(delay) {
  if (draining) return;
  draining = true;
  if (delay) setTimeout(drain, delay); else setImmediate(drain);
}
/** Puts a refused group back; false once work has been refused for too long (it fails). */
function refused(group, e) {
  const now = Date.now();
  if (busySince === 0) {
    busySince = now;
    console.error('ebsim trail writer: ' + e.message + '; will try again');
  }
  if (now - busySince > RETRY_FOR_MS) return false;
  queue.unshift(group);
  return true;
}
/** The next work: a refused group as it was, else queued batches merged up to MERGE_RECORDS, their rows made. */
function nextGroup() {
  if (queue.length && queue[0].rows) return queue.shift();
  let take = 0;
  for (let n = 0; take < queue.length && !queue[take].rows && (take === 0 || n + queue[take].records.length <= MERGE_RECORDS); take++) n += queue[take].records.length;
  const batches = queue.splice(0, take);
  if (batches.length === 0) return undefined;
  // Rows first, one record at a time: a record that cannot be serialized costs only itself.
  const rows = [];
  let failed = false;
  for (const m of batches) {
    for (const r of m.records) {
      try { rows.push([rowOf(r), r]); } catch (e) { failed = true; console.error('ebsim trail writer: record ' + r.eventID + ' dropped: ' + e.message); }
    }
  }
  const along = [];
  for (const m of batches) if (m.along) along.push(...m.along);
  return { seq: batches[batches.length - 1].seq, rows, along, failed };
}
function drain() {
  draining = false;
  const g = nextGroup();
  if (!g) return;
  try {
    if (g.rows.length) write.immediate(g.rows);
  } catch (e) {
    if (isBusy(e) && refused(g, e)) return schedule(RETRY_DELAY_MS);
    g.failed = true;
    console.error('ebsim trail writer: ' + e.message);
  }
  try {
    if (g.along.length) writeAlong.immediate(g.along);
  } catch (e) {
    // The records are committed: only the rows riding along are tried again.
    if (isBusy(e) && refused({ ...g, rows: [] }, e)) return schedule(RETRY_DELAY_MS);
    g.failed = true;
    console.error('ebsim trail writer: ' + e.message);
  }
  busySince = 0;
  if (g.failed) Atomics.store(committed, 1, g.seq);
  Atomics.store(committed, 0, g.seq);
  Atomics.notify(committed, 0);
  if (queue.length) schedule(0);
}
parentPort.on('message', (m) => {
  if (m.close) {
    const pause = new Int32Array(new SharedArrayBuffer(4));
    while (queue.length) {
      drain();
      // A refused batch is back in the queue: wait before the next try (drain gives up in time).
      if (queue.length && busySince) Atomics.wait(pause, 0, 0, RETRY_DELAY_MS);
    }
    // Close the database on this thread before it ends: a native handle torn down at process
    // exit from under a live thread can crash the process.
    db.close();
    Atomics.store(committed, 2, 1);
    Atomics.notify(committed, 2);
    parentPort.close();
    return;
  }
  queue.push(m);
  schedule(0);
});
`;

export class BackgroundTrailWriter {
  private readonly worker: Worker;
  private readonly committed: Int32Array;
  private posted = 0;

  /** How long close() waits at most: a refused commit is tried again for retryForMs, each try waiting up to busyTimeoutMs. */
  private readonly closeTimeoutMs: number;

  /** `busyTimeoutMs`: how long one commit waits for another connection's write lock before it is tried again later, for up to `retryForMs` (tests shorten them). */
  constructor(dbPath: string, indexLag = INDEX_LAG, busyTimeoutMs = 30_000, retryForMs = 120_000) {
    this.closeTimeoutMs = retryForMs + busyTimeoutMs + 5_000;
    // [0] last batch handled, [1] the last batch that failed to commit, [2] the worker closed its database.
    const shared = new SharedArrayBuffer(12);
    this.committed = new Int32Array(shared);
    const sqlitePath = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { dbPath, sqlitePath, shared, insert: INSERT, indexLag, busyTimeoutMs, retryForMs } });
    this.worker.unref();
    // A worker that cannot start (or dies) must fail calls fast, not crash the process or hang it.
    this.worker.on('error', (err) => {
      this.dead = err;
    });
    this.worker.on('exit', (code) => {
      if (Atomics.load(this.committed, 2) === 0) this.dead ??= new Error(`trail writer exited (code ${code})`);
    });
  }

  private dead: Error | undefined;
  private failedSeen = 0;

  /**
   * Hands records to the worker. Never loses a batch for one bad record: if the batch cannot be
   * cloned, its records go one by one and only those that cannot are dropped (Trail.append
   * refuses such records up front; this is the last line).
   */
  post(records: TrailRecord[], along: AlongWrite[] = []): void {
    if (this.dead) throw new Error(`trail writer is not running: ${this.dead.message}`);
    try {
      this.worker.postMessage(along.length ? { seq: this.posted + 1, records, along } : { seq: this.posted + 1, records });
      this.posted++;
    } catch {
      // Along rows are plain values (strings, numbers): only a record can fail to clone.
      if (along.length) {
        this.worker.postMessage({ seq: this.posted + 1, records: [], along });
        this.posted++;
      }
      for (const r of records) {
        try {
          this.worker.postMessage({ seq: this.posted + 1, records: [r] });
          this.posted++;
        } catch (err) {
          process.stderr.write(`ebsim: trail: record ${r.eventID} dropped: ${(err as Error).message}\n`);
        }
      }
    }
  }

  /** Blocks until every posted batch is committed (or the worker failed). */
  waitCommitted(timeoutMs = 30_000): void {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const done = Atomics.load(this.committed, 0);
      if (done >= this.posted) break;
      if (this.dead) throw new Error(`trail writer is not running: ${this.dead.message}`);
      if (Date.now() > deadline) throw new Error('trail writer did not commit in time');
      Atomics.wait(this.committed, 0, done, 100);
    }
    // Report each failed batch once; later batches that commit are not held against.
    const failed = Atomics.load(this.committed, 1);
    if (failed > this.failedSeen) {
      this.failedSeen = failed;
      throw new Error('trail writer failed to commit records (see stderr)');
    }
  }

  /**
   * Commits what is posted, then has the worker close its database and end; blocks until it has.
   * The worker closes even when the commit fails or takes too long (it finishes or gives up on its
   * queue first): a process must never exit with the worker inside SQLite. The failure is thrown after.
   */
  close(timeoutMs = this.closeTimeoutMs): void {
    if (this.dead) return;
    let failure: unknown;
    try {
      this.waitCommitted(timeoutMs);
    } catch (err) {
      failure = err;
    }
    this.worker.postMessage({ close: true });
    const deadline = Date.now() + timeoutMs;
    while (Atomics.load(this.committed, 2) === 0 && Date.now() < deadline) Atomics.wait(this.committed, 2, 0, 100);
    if (failure) throw failure;
  }
}

export { INSERT as TRAIL_INSERT };
