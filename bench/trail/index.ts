// LookupEvents over a big trail (issue 17): quick 1,000,000 records, full 10,000,000, smoke 20,000
// (EBSIM_BENCH_TRAIL_RECORDS overrides). The first page and each next page per lookup attribute,
// by time window and by both, through lookupEvents on a home's store; the insert rate with the
// lookup index against the same table without it (the trail before the index), both at the same
// size, in interleaved rounds; lookups with the most rows the index may lag by (INDEX_LAG - 1,
// which every lookup scans); and the bytes each record costs.
//
// Seeding is setup, not measured: the rows go straight into the table (synchronous off) and the
// index is built from them by the same indexer the writers use, 50,000 rows a commit.
import Database from 'better-sqlite3';
import { copyFileSync, mkdtempSync, rmSync, statfsSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../src/store/database.js';
import { TRAIL_SCHEMA } from '../../src/store/schema.js';
import { TRAIL_INSERT, type TrailRow } from '../../src/trail/background-writer.js';
import { lookupEvents, type LookupQuery } from '../../src/trail/lookup.js';
import { createTrailIndexer, INDEX_LAG, type IndexedColumns, type TrailIndexer } from '../../src/trail/postings.js';
import { assertStorable, FLUSH_BATCH, indexedColumns, rowOf } from '../../src/trail/trail.js';
import { createTrailRetention, NODE_DEPS } from '../../src/trail/retention.js';
import type { TrailRecord } from '../../src/trail/record.js';
import { scaled, type BenchContext, type BenchResult, type BenchRow, type BenchSuite } from '../harness.js';
import { ACCOUNT, accessKeyOf, eventIdOf, keyArn, RARE_EVENT_NAME, syntheticRecord, syntheticRow, UNCOMMON_EVENT_SOURCE, userName } from './synthetic.js';

const START = Date.UTC(2026, 0, 1);
const PER_SECOND = 100;
const TARGET_MS = 50;
/** LookupEvents answers for the caller's account in the Region called: every synthetic record's. */
const SCOPE = { account: ACCOUNT, region: 'us-east-1' };

/** trail_events as TRAIL_SCHEMA makes it, in a file of its own: the trail before the lookup index. */
function preIndexTable(): string {
  const m = /CREATE TABLE IF NOT EXISTS trail\.trail_events \([^;]*\);/.exec(TRAIL_SCHEMA);
  if (!m) throw new Error('trail_events not found in TRAIL_SCHEMA');
  return m[0].replace('trail.trail_events', 'trail_events');
}

/** The writers' insert path (Trail.flush, the background writer): rows in transactions of `per` (FLUSH_BATCH unless said), indexed or not. */
function insertRecords(db: Db, records: TrailRecord[], indexer: TrailIndexer | undefined, per = FLUSH_BATCH): void {
  const insert = db.prepare(TRAIL_INSERT);
  const tx = db.transaction((batch: TrailRecord[]) => {
    const rows: [number, IndexedColumns][] = [];
    for (const r of batch) {
      assertStorable(r);
      const row = rowOf(r);
      rows.push([Number(insert.run(...row).lastInsertRowid), indexedColumns(row, r)]);
    }
    indexer?.commit(rows);
  });
  for (let i = 0; i < records.length; i += per) tx.immediate(records.slice(i, i + per));
}

export const suite: BenchSuite = {
  name: 'trail',
  description: 'LookupEvents over a big trail: page latency per attribute, insert rate with the index',
  run: (ctx) => trailAtSize(ctx, Number(process.env.EBSIM_BENCH_TRAIL_RECORDS ?? scaled(ctx, 10_000_000, 1_000_000, 20_000))),
};

/** The whole trail measurement on a trail of `asked` records (fewer if the disk is short); bench/scale runs it at several sizes. */
export async function trailAtSize(ctx: BenchContext, asked: number): Promise<BenchResult> {
  // (One block: the body the suite's run had, indented as it was.)
  {
    const dir = mkdtempSync(join(tmpdir(), 'ebsim-bench-trail-'));
    const notes: string[] = [`CPU: ${cpus()[0]?.model ?? 'unknown'} (${cpus().length} logical)`];
    // Two trails of about 1.7 KB a record (with and without the index) and a WAL: fewer records
    // than asked when the disk would not hold them, said in a note.
    const free = statfsSync(dir).bavail * statfsSync(dir).bsize;
    const n = Math.min(asked, Math.floor(free / (1.7e3 * 2.5)));
    if (n < asked) notes.push(`${asked.toLocaleString('en')} records asked, ${n.toLocaleString('en')} fit on the disk of ${tmpdir()}`);
    try {
      // Cross-check the generator against the real serializer before anything is timed.
      for (const i of [0, 1, 12345, 999_999]) {
        if (JSON.stringify(rowOf(syntheticRecord(i, START, PER_SECOND))) !== JSON.stringify(syntheticRow(i, START, PER_SECOND))) throw new Error(`synthetic row ${i} is not what rowOf makes of its record`);
      }
      const plainPath = join(dir, 'plain-trail.db');
      const indexedPath = join(dir, 'trail.db');
      ctx.log(`seeding ${n.toLocaleString('en')} records…`);
      let t0 = performance.now();
      {
        const seed = new Database(plainPath);
        seed.pragma('journal_mode = WAL');
        seed.pragma('synchronous = OFF');
        seed.exec(preIndexTable());
        const insert = seed.prepare(TRAIL_INSERT);
        const tx = seed.transaction((from: number, to: number) => {
          for (let i = from; i < to; i++) insert.run(...syntheticRow(i, START, PER_SECOND));
        });
        for (let i = 0; i < n; i += 50_000) {
          tx(i, Math.min(n, i + 50_000));
          ctx.log(`seeding: ${i.toLocaleString('en')} of ${n.toLocaleString('en')}…`);
        }
        seed.pragma('wal_checkpoint(TRUNCATE)');
        seed.close();
      }
      const seedS = (performance.now() - t0) / 1000;
      copyFileSync(plainPath, indexedPath);
      // The indexed trail: a home's store (state database plus this trail), its index built from the rows.
      t0 = performance.now();
      const db = openDatabase(join(dir, 'ebsim.db'), indexedPath);
      db.pragma('trail.synchronous = OFF');
      db.prepare('UPDATE trail_index_state SET lo = 1, hi = 0').run();
      const bulk = createTrailIndexer(db, 0, 0);
      const read = db.prepare('SELECT seq, event_id, event_time, event_source, event_name, username, access_key_id, read_only, resource_names FROM trail_events WHERE seq > ? ORDER BY seq LIMIT 50000').raw();
      for (let last = 0; ;) {
        const page = read.all(last) as unknown[][];
        if (page.length === 0) break;
        // Every synthetic record is the account's, in us-east-1 (syntheticRow).
        db.transaction(() => bulk.commit(page.map((r) => [r[0] as number, [...r.slice(1), 'us-east-1', ACCOUNT, ACCOUNT, null] as unknown as IndexedColumns] as const)))();
        last = page[page.length - 1]![0] as number;
        ctx.log(`indexing: ${last.toLocaleString('en')} of ${n.toLocaleString('en')}…`);
      }
      db.pragma('trail.synchronous = FULL');
      db.pragma('trail.wal_checkpoint(TRUNCATE)');
      const indexS = (performance.now() - t0) / 1000;
      notes.push(`seeded ${n.toLocaleString('en')} records in ${seedS.toFixed(0)} s, indexed them in ${indexS.toFixed(0)} s (setup, not measured)`);

      // Lookups: each case's first page (median of its values), then five next pages.
      const cases: { attribute: string; kind: string; queries: LookupQuery[]; scope?: typeof SCOPE }[] = [
        { attribute: 'EventName', kind: 'common (Decrypt, half the trail)', queries: [{ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'Decrypt' }] }] },
        { attribute: 'EventName', kind: 'rare (10 in a million)', queries: [{ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: RARE_EVENT_NAME }] }] },
        { attribute: 'EventName', kind: 'absent', queries: [{ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'PutKeyPolicy' }] }] },
        { attribute: 'EventSource', kind: 'uncommon (5 in a thousand)', queries: [{ LookupAttributes: [{ AttributeKey: 'EventSource', AttributeValue: UNCOMMON_EVENT_SOURCE }] }] },
        { attribute: 'Username', kind: 'one of 50 users', queries: [1, 17, 33].map((u) => ({ LookupAttributes: [{ AttributeKey: 'Username' as const, AttributeValue: userName(u) }] })) },
        { attribute: 'AccessKeyId', kind: 'one of 50 keys', queries: [2, 20, 40].map((u) => ({ LookupAttributes: [{ AttributeKey: 'AccessKeyId' as const, AttributeValue: accessKeyOf(u) }] })) },
        { attribute: 'ReadOnly', kind: 'false (3%)', queries: [{ LookupAttributes: [{ AttributeKey: 'ReadOnly', AttributeValue: 'false' }] }] },
        { attribute: 'ResourceName', kind: 'one of 100 KMS keys', queries: [3, 50, 99].map((k) => ({ LookupAttributes: [{ AttributeKey: 'ResourceName' as const, AttributeValue: keyArn(k) }] })) },
        { attribute: 'ResourceType', kind: 'AWS::KMS::Key', queries: [{ LookupAttributes: [{ AttributeKey: 'ResourceType', AttributeValue: 'AWS::KMS::Key' }] }] },
        { attribute: 'EventId', kind: 'one record', queries: [7, Math.floor(n / 2), n - 3].map((i) => ({ LookupAttributes: [{ AttributeKey: 'EventId' as const, AttributeValue: eventIdOf(i) }] })) },
      ];
      const at = (i: number) => new Date(START + Math.floor(i / PER_SECOND) * 1000);
      const window = { StartTime: at(Math.floor(n / 2)), EndTime: at(Math.floor(n / 2) + 600 * PER_SECOND) };
      const early = { StartTime: at(0), EndTime: at(3600 * PER_SECOND) };
      cases.push(
        { attribute: 'time window', kind: '10 minutes in the middle', queries: [window] },
        { attribute: 'time window', kind: 'the first hour', queries: [early] },
        { attribute: 'EventName + time', kind: 'Decrypt, first hour', queries: [{ ...early, LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'Decrypt' }] }] },
        { attribute: 'EventName + time', kind: 'rare, 10 minutes in the middle', queries: [{ ...window, LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: RARE_EVENT_NAME }] }] },
        { attribute: 'Username + time', kind: 'one user, first hour', queries: [{ ...early, LookupAttributes: [{ AttributeKey: 'Username', AttributeValue: userName(5) }] }] },
        { attribute: 'ResourceName + time', kind: 'one key, 10 minutes in the middle', queries: [{ ...window, LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: keyArn(8) }] }] },
        { attribute: 'another account', kind: 'none of the records are its', queries: [{}, { LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'Decrypt' }] }], scope: { account: '111122223333', region: 'us-east-1' } },
        { attribute: 'another Region', kind: 'none of the records are in it', queries: [{}], scope: { account: ACCOUNT, region: 'eu-west-1' } },
      );
      // Cross-check: the index's answer is the scan's (the lookup as it was before the index).
      ctx.log('cross-checking the index against a scan…');
      const check = db.prepare("SELECT seq FROM trail_events WHERE username = ? AND event_time >= ? AND event_time <= ? ORDER BY seq DESC LIMIT 50").pluck();
      const viaIndex = lookupEvents(db, { ...early, LookupAttributes: [{ AttributeKey: 'Username', AttributeValue: userName(5) }] }, SCOPE).Events.map((e) => e.EventId);
      const viaScan = (check.all(userName(5), early.StartTime.toISOString().slice(0, 19) + 'Z', early.EndTime.toISOString().slice(0, 19) + 'Z') as number[]).map((seq) => eventIdOf(seq - 1));
      if (JSON.stringify(viaIndex) !== JSON.stringify(viaScan) || viaIndex.length === 0) throw new Error('the index and the scan disagree');
      const one = lookupEvents(db, { LookupAttributes: [{ AttributeKey: 'EventId', AttributeValue: eventIdOf(n - 3) }] }, SCOPE).Events;
      if (one.length !== 1 || one[0]!.EventId !== eventIdOf(n - 3)) throw new Error('EventId lookup did not find its record');

      const rows: BenchRow[] = [];
      const ms = (fn: () => void) => {
        const t = performance.now();
        fn();
        return performance.now() - t;
      };
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? null;
      /** A case's first page (median over its values and repetitions) and next pages, as a row. */
      const measure = (c: (typeof cases)[number], label = c.attribute) => {
        ctx.log(`LookupEvents by ${label} (${c.kind})…`);
        const firsts: number[] = [];
        const nexts: number[] = [];
        let events = 0;
        for (const q of c.queries) {
          const scope = c.scope ?? SCOPE;
          lookupEvents(db, q, scope); // warm: the first touch of a value reads its pages from the OS
          for (let rep = 0; rep < 3; rep++) {
            let page = lookupEvents(db, q, scope);
            firsts.push(ms(() => (page = lookupEvents(db, q, scope))));
            events = Math.max(events, page.Events.length);
            for (let k = 0; k < 5 && page.NextToken; k++) {
              const token = page.NextToken;
              nexts.push(ms(() => (page = lookupEvents(db, { ...q, NextToken: token }, scope))));
            }
          }
        }
        const first = median(firsts)!;
        const next = median(nexts);
        rows.push({
          lookup: label, value: c.kind, 'events on page 1': events, 'first page ms': first, 'next page ms': next,
          target: `<= ${TARGET_MS} ms: ${first <= TARGET_MS && (next === null || next <= TARGET_MS) ? 'met' : 'missed'}`,
        });
      };
      for (const c of cases) measure(c);

      // Inserts at this size: the same records into each trail, interleaved rounds, best of each;
      // in commits of FLUSH_BATCH (a bulk writer's) and of 100 (a server's group commit, 20 ms of
      // some 5,000 calls a second).
      const plain = new Database(plainPath, { timeout: 30_000 });
      plain.pragma('journal_mode = WAL');
      plain.pragma('synchronous = FULL');
      const indexer = createTrailIndexer(db);
      let next = n;
      const paired = (per: number, batch: number, rounds: number) => {
        const best = { plain: 0, indexed: 0 };
        const cpu = { plain: Infinity, indexed: Infinity };
        for (let round = 0; round < rounds; round++) {
          for (const which of round % 2 ? (['indexed', 'plain'] as const) : (['plain', 'indexed'] as const)) {
            ctx.log(`inserting into the ${which} trail in commits of ${per}, round ${round + 1}/${rounds}…`);
            const records = Array.from({ length: batch }, (_, i) => syntheticRecord(next + i, START, PER_SECOND));
            const c0 = process.cpuUsage();
            const t = performance.now();
            insertRecords(which === 'plain' ? plain : db, records, which === 'plain' ? undefined : indexer, per);
            const s = (performance.now() - t) / 1000;
            const c = process.cpuUsage(c0);
            best[which] = Math.max(best[which], batch / s);
            cpu[which] = Math.min(cpu[which], (c.user + c.system) / batch);
          }
          next += batch;
        }
        return { best, cpu };
      };
      const batch = scaled(ctx, 40_000, 10_000, 500);
      const rounds = scaled(ctx, 7, 5, 1);
      const { best, cpu } = paired(FLUSH_BATCH, batch, rounds);
      const small = paired(100, scaled(ctx, 10_000, 3000, 300), scaled(ctx, 6, 4, 1));
      plain.close();
      // Lookups with the most rows the index lags by (INDEX_LAG - 1, all scanned), written by the
      // writers' path without indexing: what every lookup pays at worst for the cheaper inserts.
      const lagging = db.prepare('SELECT (SELECT max(seq) FROM trail_events) - hi FROM trail_index_state').pluck();
      const short = INDEX_LAG - 1 - (lagging.get() as number);
      if (short > 0) {
        insertRecords(db, Array.from({ length: short }, (_, i) => syntheticRecord(next + i, START, PER_SECOND)), undefined);
        next += short;
      }
      const above = lagging.get() as number;
      const tail = `${above.toLocaleString('en')} rows above the index`;
      const newest = next - 5;
      for (const c of [
        { attribute: 'EventName', kind: 'absent', queries: [{ LookupAttributes: [{ AttributeKey: 'EventName' as const, AttributeValue: 'PutKeyPolicy' }] }] },
        { attribute: 'EventName', kind: 'rare (10 in a million)', queries: [{ LookupAttributes: [{ AttributeKey: 'EventName' as const, AttributeValue: RARE_EVENT_NAME }] }] },
        { attribute: 'EventId', kind: 'one record, above the index and below it', queries: [newest, 7].map((i) => ({ LookupAttributes: [{ AttributeKey: 'EventId' as const, AttributeValue: eventIdOf(i) }] })) },
        { attribute: 'another account', kind: 'none of the records are its', queries: [{}], scope: { account: '111122223333', region: 'us-east-1' } },
      ]) measure(c, `${c.attribute}, ${tail}`);
      rows.push({ lookup: 'insert (records/s)', value: 'without the index (the trail before)', 'events on page 1': null, 'first page ms': Math.round(best.plain), 'next page ms': null, target: `${cpu.plain.toFixed(1)} µs CPU a record` });
      rows.push({
        lookup: 'insert (records/s)', value: 'with the index', 'events on page 1': null, 'first page ms': Math.round(best.indexed), 'next page ms': null,
        target: `${(best.indexed / best.plain).toFixed(2)}x (>= 0.8); ${cpu.indexed.toFixed(1)} µs CPU a record`,
      });
      rows.push({ lookup: 'insert, commits of 100 (records/s)', value: 'without the index (the trail before)', 'events on page 1': null, 'first page ms': Math.round(small.best.plain), 'next page ms': null, target: `${small.cpu.plain.toFixed(1)} µs CPU a record` });
      rows.push({
        lookup: 'insert, commits of 100 (records/s)', value: 'with the index', 'events on page 1': null, 'first page ms': Math.round(small.best.indexed), 'next page ms': null,
        target: `${(small.best.indexed / small.best.plain).toFixed(2)}x (>= 0.8); ${small.cpu.indexed.toFixed(1)} µs CPU a record`,
      });
      db.pragma('trail.wal_checkpoint(TRUNCATE)');
      const records = next;
      const plainRecords = next - Math.max(0, short); // the rows above the index went to the indexed trail only
      const postingsBytes = (db.prepare('SELECT sum(length(entries)) + count(*) * 64 FROM trail_postings').pluck().get() as number) ?? 0;
      rows.push({ lookup: 'bytes a record', value: 'trail file with the index / without', 'events on page 1': null, 'first page ms': Math.round(statSync(indexedPath).size / records), 'next page ms': Math.round(statSync(plainPath).size / plainRecords), target: `index about ${Math.round(postingsBytes / records)} B a record` });
      db.close();

      // What `ebsim serve` does every minute: apply the retention. Nothing is due here (every
      // record is younger than 90 days at the time given), so it must read almost nothing.
      ctx.log('the retention check, nothing due…');
      const retentionDb = new Database(indexedPath);
      const retention = createTrailRetention(retentionDb, join(dir, 'delivered'), NODE_DEPS);
      const retentionMs = ms(() => {
        if (retention.run(START + 86_400_000).records) throw new Error('the retention dropped records none of which were due');
      });
      retentionDb.close();
      rows.push({ lookup: 'retention check', value: 'nothing due (each minute of ebsim serve)', 'events on page 1': null, 'first page ms': retentionMs, 'next page ms': null, target: '<= 50 ms' });

      // The lookup before the index, on the plain trail: a scan (one run, it is slow).
      ctx.log('LookupEvents as before the index (a scan)…');
      const before = openDatabase(join(dir, 'plain.db'), plainPath);
      const scanMs = ms(() => lookupEvents(before, { LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: RARE_EVENT_NAME }] }));
      before.close();
      rows.push({ lookup: 'EventName, as before the index (scan)', value: 'rare (10 in a million)', 'events on page 1': null, 'first page ms': scanMs, 'next page ms': null, target: 'reference' });
      notes.push('page latencies: median over repetitions (and values); next page: following NextToken five times', `trail of ${n.toLocaleString('en')} records, ${PER_SECOND} a second`);
      return { rows, notes, samples: { records: n } };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
