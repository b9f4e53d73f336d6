// A worker thread that inserts trail rows on the other core, for long-running processes (the
// HTTP server, benchmarks). The main thread serializes each record once (rowOf, which the table
// needs anyway) and hands a batch over as one packed string: structured cloning the record
// objects cost about 2 us a record to write and 3 us to read back, and the worker then
// serialized them again; one string is a copy of its bytes. For a durable append the main thread
// blocks on a shared counter until the worker has committed: "durable before the call returns"
// holds. The worker indexes what it inserts with the main thread's own indexer (postings.ts, from
// its text). Other tables of the trail's file (KMS's key last usage) can ride along
// (`AlongWrite`): written on this thread, a caller never waits for the write lock the worker
// holds through its commits.
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import type { TrailRecord } from './record.js';
import { createTrailIndexer } from './postings.js';
import { indexedColumns, rowOf } from './trail.js';

export type TrailRow = [string, string, string, string, string | null, string | null, number | null, string, string];

/** Rows for one statement on a table of the trail's file, run by the writer after the records it was posted with. Unqualified names: the worker opens that file as its main schema. */
export interface AlongWrite {
  sql: string;
  rows: unknown[][];
}

/**
 * A packed batch: per record its IndexedColumns (12) then its JSON text, each field followed by
 * FIELD_END; null is NULL_FIELD. JSON text never holds a raw control character (JSON.stringify
 * escapes them); a batch whose other columns do (none that ebsim validates can) goes as arrays.
 */
const FIELDS = 13;
const FIELD_END = '\u0000';
const NULL_FIELD = '\u0001';

const INSERT = `INSERT INTO trail_events (event_id, event_time, event_source, event_name, username, access_key_id, read_only, resource_names, record)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;

// Plain CommonJS, run with eval: it must load from compiled and from source (vitest) alike.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlitePath);
const db = new Database(workerData.dbPath, { timeout: 30000 });
db.pragma('busy_timeout = 30000');
db.pragma('synchronous = FULL');
const insert = db.prepare(workerData.insert);
const committed = new Int32Array(workerData.shared);
// A packed batch (packBatch below) back to [row, indexed columns] pairs: the row is the table's
// columns, the indexed columns the first eight of them and the record's place.
function unpack(text, n, out) {
  let at = 0;
  for (let i = 0; i < n; i++) {
    const f = new Array(${FIELDS});
    for (let j = 0; j < ${FIELDS}; j++) {
      const end = text.indexOf(${JSON.stringify(FIELD_END)}, at);
      const v = text.slice(at, end);
      f[j] = v === ${JSON.stringify(NULL_FIELD)} ? null : v;
      at = end + 1;
    }
    f[6] = f[6] === null ? null : Number(f[6]);
    out.push([[f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[12]], f.slice(0, 12)]);
  }
}
// The LookupEvents index, from the same function the main thread uses (postings.ts).
const createTrailIndexer = ${createTrailIndexer.toString()};
const indexer = createTrailIndexer(db);
const write = db.transaction((rows) => {
  const seqRows = [];
  for (const [row, columns] of rows) seqRows.push([Number(insert.run(...row).lastInsertRowid), columns]);
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
function drain() {
  draining = false;
  let take = 0;
  for (let n = 0; take < queue.length && (take === 0 || n + queue[take].n <= MERGE_RECORDS); take++) n += queue[take].n;
  const batches = queue.splice(0, take);
  if (queue.length) {
    draining = true;
    setImmediate(drain);
  }
  if (batches.length === 0) return;
  // Records that could not be serialized were dropped by the main thread, which says so (dropped).
  const rows = [];
  let failed = false;
  for (const m of batches) {
    if (m.dropped) failed = true;
    if (m.text !== undefined) unpack(m.text, m.n, rows);
    else if (m.rows) for (const f of m.rows) rows.push([[f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[12]], f.slice(0, 12)]);
  }
  try { if (rows.length) write.immediate(rows); } catch (e) { failed = true; console.error('ebsim trail writer: ' + e.message); }
  const alongs = [];
  for (const m of batches) if (m.along) alongs.push(...m.along);
  try { if (alongs.length) writeAlong.immediate(alongs); } catch (e) { failed = true; console.error('ebsim trail writer: ' + e.message); }
  const seq = batches[batches.length - 1].seq;
  if (failed) Atomics.store(committed, 1, seq);
  Atomics.store(committed, 0, seq);
  Atomics.notify(committed, 0);
}
parentPort.on('message', (m) => {
  if (m.close) {
    while (queue.length) drain();
    // Close the database on this thread before it ends: a native handle torn down at process
    // exit from under a live thread can crash the process.
    db.close();
    Atomics.store(committed, 2, 1);
    Atomics.notify(committed, 2);
    parentPort.close();
    return;
  }
  queue.push(m);
  if (!draining) {
    draining = true;
    setImmediate(drain);
  }
});
`;

export class BackgroundTrailWriter {
  private readonly worker: Worker;
  private readonly committed: Int32Array;
  private posted = 0;

  constructor(dbPath: string) {
    // [0] last batch handled, [1] the last batch that failed to commit, [2] the worker closed its database.
    const shared = new SharedArrayBuffer(12);
    this.committed = new Int32Array(shared);
    const sqlitePath = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { dbPath, sqlitePath, shared, insert: INSERT } });
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
   * Hands records to the worker. Never loses a batch for one bad record: a record that cannot be
   * serialized is dropped alone, said on stderr, and the next waitCommitted reports the batch as
   * failed (Trail.append refuses such records up front; this is the last line).
   */
  post(records: TrailRecord[], along: AlongWrite[] = []): void {
    if (this.dead) throw new Error(`trail writer is not running: ${this.dead.message}`);
    const { n, packed, rows, dropped } = packBatch(records);
    const m: Record<string, unknown> = { seq: this.posted + 1, n };
    if (packed !== undefined) m.text = packed;
    else m.rows = rows;
    if (dropped) m.dropped = true;
    if (along.length) m.along = along;
    // Strings, numbers and nulls only: nothing here can fail to clone.
    this.worker.postMessage(m);
    this.posted++;
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

  /** Commits what is posted, then has the worker close its database and end; blocks until it has. */
  close(timeoutMs = 30_000): void {
    if (this.dead) return;
    this.waitCommitted(timeoutMs);
    this.worker.postMessage({ close: true });
    const deadline = Date.now() + timeoutMs;
    while (Atomics.load(this.committed, 2) === 0 && Date.now() < deadline) Atomics.wait(this.committed, 2, 0, 100);
  }
}

export { INSERT as TRAIL_INSERT };

/**
 * A batch as the worker takes it: each record's IndexedColumns and JSON text, packed in one
 * string (`packed`), or as arrays (`rows`) if a column holds a control character. A record that
 * cannot be serialized is left out (`dropped`).
 */
export function packBatch(records: readonly TrailRecord[]): { n: number; packed?: string; rows?: unknown[][]; dropped: boolean } {
  const fields: (string | number | null)[] = [];
  const kept: TrailRecord[] = [];
  let dropped = false;
  let plain = true;
  for (const r of records) {
    let row: TrailRow;
    try {
      row = rowOf(r);
    } catch (err) {
      dropped = true;
      process.stderr.write(`ebsim: trail: record ${r.eventID} dropped: ${(err as Error).message}\n`);
      continue;
    }
    const columns = indexedColumns(row, r);
    for (let j = 0; j < FIELDS - 1; j++) {
      const v = columns[j]!;
      if (v === null) fields.push(NULL_FIELD);
      else if (typeof v === 'number') fields.push(String(v));
      else {
        if (plain && j !== 7 && (v.includes(FIELD_END) || v.includes(NULL_FIELD))) plain = false;
        fields.push(v);
      }
    }
    fields.push(row[8]);
    kept.push(r);
  }
  if (plain) {
    fields.push(''); // every field ends with FIELD_END, the last one too
    return { n: kept.length, packed: fields.join(FIELD_END), dropped };
  }
  // Rare enough to serialize again, as arrays of the columns as rowOf gives them.
  const rows = kept.map((r) => {
    const row = rowOf(r);
    return [...indexedColumns(row, r), row[8]];
  });
  return { n: rows.length, rows, dropped };
}
