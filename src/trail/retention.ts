// A bounded trail, as CloudTrail keeps 90 days of event history and delivers log files to S3:
// records older than the retention (default 90 days), and the oldest past a cap on the number of
// records, are delivered as gzip'd CloudTrail log files under $EBSIM_HOME/delivered (the
// `trail export` layout), then dropped from the database. Nothing is lost and nothing doubles,
// whatever crashes when:
//   1. a journal row names the seq range to deliver (committed before any file is written);
//   2. its log files are written (to a temporary name, fsynced, renamed, directory fsynced), their
//      names made from the seqs, so writing them again gives the same files with the same names;
//   3. one transaction drops the range's rows, their index chunks and the journal row.
// A run first finishes any journaled delivery (another process's, or one cut short by a crash).
//
// Dropped from the front of the table in seq order: a record that was stored late with an older
// time leaves with its neighbours, never before an older-stored one.
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type { Database } from 'better-sqlite3';
import type { Db } from '../store/database.js';
import { immediate } from '../store/database.js';
import { UserError } from '../errors/index.js';
import { planLogFiles } from './export.js';

export const DEFAULT_RETENTION_DAYS = 90;
/** How often a long-running process (`ebsim serve`) applies the retention. */
export const RETENTION_INTERVAL_MS = 60_000;

export interface RetentionSettings {
  days: number;
  /** The most records the database keeps (undefined: no cap). */
  maxRecords?: number;
}

export interface RetentionResult {
  /** Records delivered to log files and dropped from the database. */
  records: number;
  /** The log files written, relative to the delivery directory. */
  files: string[];
}

/** What the retention needs from outside, passed in so that its worker can run the same code from its text. */
export interface RetentionDeps {
  fs: Pick<typeof fs, 'mkdirSync' | 'openSync' | 'writeSync' | 'fsyncSync' | 'closeSync' | 'renameSync'>;
  path: Pick<typeof path, 'join' | 'dirname'>;
  gzip: (data: string) => Uint8Array;
  planLogFiles: typeof planLogFiles;
}

export const NODE_DEPS: RetentionDeps = { fs, path, gzip: (data) => zlib.gzipSync(data), planLogFiles };

export function retentionSettings(db: Db): RetentionSettings {
  const row = db.prepare('SELECT days, max_records FROM trail_retention WHERE id = 1').get() as { days: number; max_records: number | null } | undefined;
  return row ? { days: row.days, ...(row.max_records ? { maxRecords: row.max_records } : {}) } : { days: DEFAULT_RETENTION_DAYS };
}

/** Changes the retention (`maxRecords: 0` removes the cap); says why in a user's words when a value is not a whole number in range. */
export function setRetention(db: Db, change: { days?: number; maxRecords?: number }): RetentionSettings {
  if (change.days !== undefined && (!Number.isInteger(change.days) || change.days < 1 || change.days > 36_500)) {
    throw new UserError(`--days must be a whole number of days from 1 to 36500, not ${change.days}`);
  }
  if (change.maxRecords !== undefined && (!Number.isInteger(change.maxRecords) || change.maxRecords < 0)) {
    throw new UserError(`--max-records must be a whole number (0: no cap), not ${change.maxRecords}`);
  }
  return immediate(db, () => {
    const now = retentionSettings(db);
    const days = change.days ?? now.days;
    const maxRecords = change.maxRecords === undefined ? now.maxRecords : change.maxRecords || undefined;
    db.prepare('INSERT INTO trail_retention (id, days, max_records) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET days = excluded.days, max_records = excluded.max_records').run(days, maxRecords ?? null);
    return { days, ...(maxRecords ? { maxRecords } : {}) };
  });
}

/** Applies the retention now, in this thread. */
export function applyRetention(db: Db, deliveryDir: string, now = Date.now(), deps: RetentionDeps = NODE_DEPS): RetentionResult {
  return createTrailRetention(db, deliveryDir, deps).run(now);
}

/**
 * The retention of one connection. Self-contained on purpose (no imports, no module-level
 * helpers): the retention worker runs this very function from its text.
 */
export function createTrailRetention(db: Database, deliveryDir: string, deps: RetentionDeps, sliceRecords = 20_000) {
  const settings = db.prepare('SELECT days, max_records FROM trail_retention WHERE id = 1');
  const pending = db.prepare('SELECT id, first_seq, last_seq FROM trail_deliveries ORDER BY id LIMIT 1');
  const stillPending = db.prepare('SELECT 1 FROM trail_deliveries WHERE id = ?');
  // Two subqueries: SQLite reads min() or max() of the key from one end of the b-tree only when it
  // is the query's one aggregate; asked together they scanned the whole table, every minute.
  const bounds = db.prepare('SELECT (SELECT min(seq) FROM trail_events) AS lo, (SELECT max(seq) FROM trail_events) AS hi');
  const oldest = db.prepare('SELECT seq, event_time FROM trail_events WHERE seq >= ? ORDER BY seq LIMIT ?');
  const rowsOf = db.prepare(
    "SELECT seq, event_time, json_extract(record, '$.recipientAccountId') AS account, json_extract(record, '$.awsRegion') AS region, record FROM trail_events WHERE seq >= ? AND seq <= ? ORDER BY seq",
  );
  const placesOf = db.prepare(
    "SELECT seq, event_time, json_extract(record, '$.recipientAccountId') AS account, json_extract(record, '$.awsRegion') AS region, '' AS record FROM trail_events WHERE seq >= ? AND seq <= ? ORDER BY seq",
  );
  const journal = db.prepare('INSERT INTO trail_deliveries (first_seq, last_seq, files, created_at) VALUES (?, ?, ?, ?)');
  const dropRows = db.prepare('DELETE FROM trail_events WHERE seq >= ? AND seq <= ?');
  const dropClosedChunks = db.prepare('DELETE FROM trail_postings WHERE id IN (SELECT id FROM trail_postings INDEXED BY trail_postings_closed_by_end WHERE closed = 1 AND last_seq <= ?)');
  const dropOpenChunks = db.prepare('DELETE FROM trail_postings WHERE id IN (SELECT id FROM trail_postings INDEXED BY trail_postings_open WHERE closed = 0 AND last_seq <= ?)');
  const moveIndex = db.prepare('UPDATE trail_index_state SET lo = max(lo, ?), gen = gen + 1 WHERE id = 1');
  const done = db.prepare('DELETE FROM trail_deliveries WHERE id = ?');
  const tx = <T>(fn: () => T): T => db.transaction(fn).immediate();

  interface Row { seq: number; event_time: string; account: string | null; region: string | null; record: string }
  interface Delivery { id: number; first_seq: number; last_seq: number }

  /** The log files of a range of rows: names from their seqs (the same every time), contents in seq order. */
  const filesOf = (rows: Row[]) =>
    deps.planLogFiles(rows.map((r) => ({ account: r.account ?? 'unknown', region: r.region ?? 'unknown', time: r.event_time }))).map((g) => ({
      name: `${g.folder}/${g.prefix}_${rows[g.members[0]!]!.seq.toString(36).padStart(16, '0')}.json.gz`,
      // The stored text of each record is its JSON: the file is {"Records":[...]} without parsing them.
      body: `{"Records":[${g.members.map((i) => rows[i]!.record).join(',')}]}`,
    }));

  /** Step 1: the next range to deliver (a journaled one first), journaled before any file is written. */
  const plan = (now: number): Delivery | undefined =>
    tx(() => {
      const open = pending.get() as Delivery | undefined;
      if (open) return open;
      const b = bounds.get() as { lo: number | null; hi: number | null };
      if (b.lo === null || b.hi === null) return undefined;
      const s = settings.get() as { days: number; max_records: number | null } | undefined;
      const days = s ? s.days : 90;
      const cutoff = new Date(now - days * 86_400_000).toISOString().slice(0, 19) + 'Z';
      const capSeq = s && s.max_records ? b.hi - s.max_records : -Infinity;
      // Stepped one row at a time and left at the first that is not due: a tick with nothing due
      // reads one row, not a slice (20,000 rows, some 30 MB of pages, every minute under load).
      let last: number | undefined;
      for (const r of oldest.iterate(b.lo, sliceRecords) as IterableIterator<{ seq: number; event_time: string }>) {
        if (r.seq > capSeq && !(r.event_time < cutoff)) break;
        last = r.seq;
      }
      if (last === undefined) return undefined;
      const files = filesOf(placesOf.all(b.lo, last) as Row[]).map((f) => f.name);
      const id = Number(journal.run(b.lo, last, JSON.stringify(files), new Date(now).toISOString()).lastInsertRowid);
      return { id, first_seq: b.lo, last_seq: last };
    });

  const fsyncDir = (dir: string) => {
    const fd = deps.fs.openSync(dir, 'r');
    try {
      deps.fs.fsyncSync(fd);
    } finally {
      deps.fs.closeSync(fd);
    }
  };

  /** Step 2: the range's files, each durable under its final name before the next. */
  const deliver = (d: Delivery): string[] => {
    const files = filesOf(rowsOf.all(d.first_seq, d.last_seq) as Row[]);
    for (const f of files) {
      const file = deps.path.join(deliveryDir, ...f.name.split('/'));
      const dir = deps.path.dirname(file);
      const made = deps.fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const tmp = `${file}.tmp`;
      const fd = deps.fs.openSync(tmp, 'w', 0o600);
      try {
        deps.fs.writeSync(fd, deps.gzip(f.body));
        deps.fs.fsyncSync(fd);
      } finally {
        deps.fs.closeSync(fd);
      }
      deps.fs.renameSync(tmp, file);
      fsyncDir(dir);
      // Directories made for it: each one's entry in its parent is durable too.
      if (made) for (let d2 = dir; d2 !== deps.path.dirname(made); d2 = deps.path.dirname(d2)) fsyncDir(deps.path.dirname(d2));
    }
    return files.map((f) => f.name);
  };

  /** Step 3: the rows, their index chunks and the journal row, in one transaction (unless another process got there first). */
  const drop = (d: Delivery): boolean =>
    tx(() => {
      if (!stillPending.get(d.id)) return false;
      dropRows.run(d.first_seq, d.last_seq);
      dropClosedChunks.run(d.last_seq);
      dropOpenChunks.run(d.last_seq);
      // Index entries of dropped rows in chunks that also hold later ones stay; a lookup skips rows that are gone.
      moveIndex.run(d.last_seq + 1);
      done.run(d.id);
      return true;
    });

  return {
    /** Delivers and drops everything due at `now`, a slice at a time; `stop` is asked between slices. */
    run(now: number, stop: () => boolean = () => false) {
      const result = { records: 0, files: [] as string[] };
      for (;;) {
        if (stop()) return result;
        const d = plan(now);
        if (!d) return result;
        const files = deliver(d);
        if (drop(d)) {
          result.records += d.last_seq - d.first_seq + 1;
          result.files.push(...files);
        }
      }
    },
  };
}

// Plain CommonJS, run with eval (as the trail writer's worker): it must load from compiled and from source alike.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const Database = require(workerData.sqlitePath);
const planLogFiles = ${planLogFiles.toString()};
const createTrailRetention = ${createTrailRetention.toString()};
const db = new Database(workerData.dbPath, { timeout: 30000 });
db.pragma('busy_timeout = 30000');
db.pragma('synchronous = FULL');
const flags = new Int32Array(workerData.shared);
// Made at the first tick, inside its try: a statement that cannot be prepared (a home whose schema
// is not what this code expects) is reported and tried again each minute, not the end of the retention.
let retention;
let timer;
let closed = false;
const tick = () => {
  try {
    retention ??= createTrailRetention(db, workerData.deliveryDir, { fs, path, gzip: (s) => zlib.gzipSync(s), planLogFiles });
    const r = retention.run(Date.now(), () => Atomics.load(flags, 0) === 1);
    if (r.records) console.error('ebsim trail: delivered ' + r.records + ' records to ' + r.files.length + ' log files under ' + workerData.deliveryDir);
  } catch (e) {
    console.error('ebsim trail retention: ' + e.message + '; will try again');
  }
  if (Atomics.load(flags, 0) === 1) return close();
  timer = setTimeout(tick, workerData.intervalMs);
};
const close = () => {
  if (closed) return;
  closed = true;
  clearTimeout(timer);
  db.close();
  Atomics.store(flags, 1, 1);
  Atomics.notify(flags, 1);
  parentPort.close();
};
parentPort.on('message', () => { Atomics.store(flags, 0, 1); close(); });
timer = setTimeout(tick, workerData.firstMs);
`;

/** Applies the retention on a thread of its own, soon after it starts and then every RETENTION_INTERVAL_MS (for `ebsim serve`). */
export class RetentionWorker {
  private readonly worker: Worker;
  private readonly flags: Int32Array;
  private closed = false;

  constructor(trailPath: string, deliveryDir: string, opts: { firstMs?: number; intervalMs?: number } = {}) {
    // [0] stop asked, [1] the worker closed its database.
    const shared = new SharedArrayBuffer(8);
    this.flags = new Int32Array(shared);
    const sqlitePath = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { dbPath: trailPath, deliveryDir, sqlitePath, shared, firstMs: opts.firstMs ?? 5_000, intervalMs: opts.intervalMs ?? RETENTION_INTERVAL_MS },
    });
    this.worker.unref();
    this.worker.on('error', (err) => process.stderr.write(`ebsim trail retention: ${err.message}\n`));
    this.worker.on('exit', () => (this.closed = true));
  }

  /** Asks the worker to stop after the slice it is delivering, and waits until it has closed its database. */
  close(timeoutMs = 60_000): void {
    if (this.closed) return;
    Atomics.store(this.flags, 0, 1);
    this.worker.postMessage('close');
    const deadline = Date.now() + timeoutMs;
    while (Atomics.load(this.flags, 1) === 0 && Date.now() < deadline) Atomics.wait(this.flags, 1, 0, 100);
    this.closed = true;
  }
}
