// LookupEvents through the trail's index (src/trail/postings.ts) answers exactly what a scan of
// every record answers: for every attribute, time windows, both, and every page, over records
// whose times are out of order, whose values share buckets, written in commits of every size, by
// this process, by its worker thread, by a writer that knows nothing of the index, and before the
// index existed. The speed is measured in bench/trail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import Database from 'better-sqlite3';
import { makeHome, type TestHome } from '../helpers/home.js';
import { openDatabase, type Db } from '../../src/store/database.js';
import { lookupEvents, LOOKUP_ATTRIBUTE_KEYS, type LookupAttributeKey, type LookupQuery } from '../../src/trail/lookup.js';
import { readOnlyOf } from '../../src/trail/read-only.js';
import { indexedColumns, rowOf, Trail, usernameOf } from '../../src/trail/trail.js';
import { TRAIL_INSERT } from '../../src/trail/background-writer.js';
import { bucketTerm, createTrailIndexer, INDEX_LAG, scopedTerm, scopeKey } from '../../src/trail/postings.js';
import type { TrailRecord } from '../../src/trail/record.js';

const T0 = Date.UTC(2026, 2, 1);
const NAMES = ['Decrypt', 'Encrypt', 'CreateGrant', 'RunInstances', 'AssumeRole', 'DescribeVolumes'];
const SOURCES = ['kms.amazonaws.com', 'ec2.amazonaws.com', 'sts.amazonaws.com'];
// Enough values that several share each of the 16 buckets.
const USERS = Array.from({ length: 40 }, (_, i) => `user-${i}`);
const KEYS = Array.from({ length: 40 }, (_, i) => `arn:aws:kms:us-east-1:123456789012:key/${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`);

let serial = 0;
/** A record in ebsim's shape, its attributes drawn from small pools; `skew` moves its time back (a straggler). */
function record(rand: () => number, second: number): TrailRecord {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const user = pick(USERS);
  const assumed = rand() < 0.3;
  const resources = rand() < 0.2 ? [] : rand() < 0.1 ? [pick(KEYS), pick(KEYS)] : [pick(KEYS)];
  const readOnly = rand() < 0.1 ? undefined : rand() < 0.7;
  const r: Record<string, unknown> = {
    eventVersion: '1.02',
    userIdentity: assumed
      ? { type: 'AssumedRole', principalId: 'AROA:x', arn: `arn:aws:sts::123456789012:assumed-role/App/${user}`, accountId: '123456789012', accessKeyId: `ASIA${user}` }
      : { type: 'IAMUser', principalId: 'AIDA', arn: `arn:aws:iam::123456789012:user/${user}`, accountId: '123456789012', accessKeyId: rand() < 0.1 ? '' : `AKIA${user}`, userName: user },
    eventTime: new Date(T0 + second * 1000).toISOString().slice(0, 19) + 'Z',
    eventSource: pick(SOURCES),
    eventName: pick(NAMES),
    awsRegion: 'us-east-1',
    sourceIPAddress: '127.0.0.1',
    requestParameters: { n: serial },
    responseElements: null,
    eventID: `00000000-0000-4000-8000-${String(serial++).padStart(12, '0')}`,
    eventType: 'AwsApiCall',
    recipientAccountId: '123456789012',
  };
  if (readOnly !== undefined) r.readOnly = readOnly;
  if (resources.length) r.resources = resources.map((ARN) => ({ ARN, accountId: '123456789012' }));
  return r as unknown as TrailRecord;
}

/** A seeded generator (mulberry32), so a failure repeats. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What LookupEvents must return, from the records alone: newest (last stored) first. */
function expected(all: TrailRecord[], q: LookupQuery): string[] {
  const a = q.LookupAttributes?.[0];
  const matches = (r: TrailRecord): boolean => {
    const t = Date.parse(r.eventTime);
    if (q.StartTime && t < Math.floor(q.StartTime.getTime() / 1000) * 1000) return false;
    if (q.EndTime && t > Math.floor(q.EndTime.getTime() / 1000) * 1000) return false;
    if (!a) return true;
    const v = a.AttributeValue;
    switch (a.AttributeKey) {
      case 'EventId': return r.eventID === v;
      case 'EventName': return r.eventName === v;
      case 'EventSource': return r.eventSource === v;
      case 'Username': return usernameOf(r) === v;
      case 'AccessKeyId': return r.userIdentity.accessKeyId === v;
      // CloudTrail's classification: the record's readOnly, else Describe*/Get*/List*/Lookup* (src/trail/read-only.ts).
      case 'ReadOnly': return String(readOnlyOf(r)) === v;
      case 'ResourceName': return (r.resources ?? []).some((x) => x.ARN === v);
      case 'ResourceType': return v === 'AWS::KMS::Key' && (r.resources ?? []).length > 0;
    }
  };
  return all.filter(matches).reverse().map((r) => r.eventID);
}

/** Every page of a lookup, following NextToken. */
function allPages(db: Db, q: LookupQuery): string[] {
  const ids: string[] = [];
  let token: string | undefined;
  for (let pages = 0; pages < 10_000; pages++) {
    const page = lookupEvents(db, { ...q, ...(token ? { NextToken: token } : {}) });
    ids.push(...page.Events.map((e) => e.EventId));
    if (!page.NextToken) return ids;
    expect(page.Events).toHaveLength(q.MaxResults ?? 50);
    token = page.NextToken;
  }
  throw new Error('no end of pages');
}

/** Lookups over every attribute (present and absent values), windows and page sizes. */
function queries(all: TrailRecord[], rand: () => number, n: number): LookupQuery[] {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const valueOf = (key: LookupAttributeKey): string => {
    const present = rand() < 0.85;
    switch (key) {
      case 'EventId': return present ? pick(all).eventID : 'no-such-id';
      case 'EventName': return present ? pick(NAMES) : 'PutKeyPolicy';
      case 'EventSource': return present ? pick(SOURCES) : 'iam.amazonaws.com';
      case 'Username': return present ? pick(USERS) : 'nobody';
      case 'AccessKeyId': return present ? `${rand() < 0.5 ? 'AKIA' : 'ASIA'}${pick(USERS)}` : 'AKIANOBODY';
      case 'ReadOnly': return rand() < 0.5 ? 'true' : 'false';
      case 'ResourceName': return present ? pick(KEYS) : 'arn:aws:kms:us-east-1:123456789012:key/none';
      case 'ResourceType': return present ? 'AWS::KMS::Key' : 'AWS::S3::Bucket';
    }
  };
  const span = Math.max(...all.map((r) => Date.parse(r.eventTime))) - T0;
  return Array.from({ length: n }, () => {
    const q: LookupQuery = { MaxResults: pick([3, 20, 50, 50]) };
    if (rand() < 0.8) {
      const key = pick(LOOKUP_ATTRIBUTE_KEYS);
      q.LookupAttributes = [{ AttributeKey: key, AttributeValue: valueOf(key) }];
    }
    if (rand() < 0.5) {
      const a = T0 + rand() * span;
      q.StartTime = new Date(a);
      q.EndTime = new Date(a + rand() * span * 0.3);
    } else if (rand() < 0.2) q.EndTime = new Date(T0 + rand() * span);
    return q;
  });
}

let h: TestHome;
beforeAll(() => {
  h = makeHome();
});
afterAll(() => h.cleanup());

/** A trail database of its own (a fresh home's store), through a Trail whose index lags by `lag` rows (0: every commit indexes its records, as the checks of `hi` below expect). */
function trailOf(dir: string, name: string, lag = 0) {
  const db = openDatabase(`${dir}/${name}.db`, `${dir}/${name}-trail.db`);
  const trail = new Trail(db, `${dir}/${name}-trail.db`, undefined, lag);
  return { db, trail, path: `${dir}/${name}-trail.db`, close: () => (trail.close(), db.close()) };
}

describe('the index answers as a scan of every record would', () => {
  it('for every attribute, windows and page sizes, over stragglers, shared buckets and commits of every size', () => {
    const rand = rng(17);
    const t = trailOf(h.dir, 'mixed');
    try {
      const all: TrailRecord[] = [];
      let second = 0;
      // Commits of 1, 7, 300 and 2,500 records (the last split by FLUSH_BATCH), some durable.
      for (const size of [1, 7, 300, 2500, 1, 1, 40, 900]) {
        for (let i = 0; i < size; i++) {
          if (rand() < 0.3) second++;
          // One record in twenty is stamped up to a minute earlier than its neighbours (a late flush).
          const r = record(rand, rand() < 0.05 ? Math.max(0, second - Math.floor(rand() * 60)) : second);
          all.push(r);
          t.trail.append(r, false);
        }
        t.trail.flush();
      }
      const state = t.db.prepare('SELECT lo, hi FROM trail_index_state').get() as { lo: number; hi: number };
      expect(state).toEqual({ lo: 1, hi: all.length });
      for (const q of queries(all, rand, 150)) expect(allPages(t.db, q), JSON.stringify(q)).toEqual(expected(all, q));
      // No bucketed attribute ever has more than 16 terms (what a commit writes at most per attribute).
      for (const p of ['u', 'a', 'k', 'e']) expect(t.db.prepare(`SELECT count(DISTINCT term) FROM trail_postings WHERE term LIKE '%|${p}#%'`).pluck().get()).toBeLessThanOrEqual(16);
    } finally {
      t.close();
    }
  });

  it('as a property: any records, any commit sizes, any lookup', () => {
    fc.assert(
      fc.property(fc.integer(), fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 8 }), (seed, sizes) => {
        const rand = rng(seed);
        const t = trailOf(h.dir, `prop-${seed >>> 0}-${sizes.join('-')}`);
        try {
          const all: TrailRecord[] = [];
          let second = 0;
          for (const size of sizes) {
            for (let i = 0; i < size; i++) {
              second += rand() < 0.5 ? 1 : 0;
              const r = record(rand, rand() < 0.1 ? Math.max(0, second - 5) : second);
              all.push(r);
              t.trail.append(r, rand() < 0.2);
            }
            t.trail.flush();
          }
          for (const q of queries(all, rand, 12)) expect(allPages(t.db, q)).toEqual(expected(all, q));
        } finally {
          t.close();
        }
      }),
      { numRuns: 25 },
    );
  });
});

describe('an index that lags the table (as writers keep it: INDEX_LAG rows)', () => {
  const above = (db: Db) => (db.prepare('SELECT coalesce(max(seq), 0) - (SELECT hi FROM trail_index_state) FROM trail_events').pluck().get() as number);

  it('as a property: two writers (two connections) taking turns, any commit sizes and lags, every lookup as the scan; never `lag` rows above the index', () => {
    fc.assert(
      fc.property(fc.integer(), fc.array(fc.tuple(fc.integer({ min: 1, max: 90 }), fc.boolean()), { minLength: 1, maxLength: 10 }), fc.constantFrom(1, 7, 60, 250), (seed, commits, lag) => {
        const rand = rng(seed);
        const name = `lag-${seed >>> 0}-${lag}-${commits.map((c) => c.join('')).join('-')}`;
        const writers = [trailOf(h.dir, name, lag), trailOf(h.dir, name, lag)];
        try {
          const all: TrailRecord[] = [];
          let second = 0;
          for (const [size, second_writer] of commits) {
            const w = writers[second_writer ? 1 : 0]!;
            for (let i = 0; i < size; i++) {
              second += rand() < 0.5 ? 1 : 0;
              const r = record(rand, rand() < 0.1 ? Math.max(0, second - 5) : second);
              all.push(r);
              w.trail.append(r, rand() < 0.2);
            }
            w.trail.flush();
            expect(above(w.db)).toBeLessThan(lag);
          }
          for (const q of queries(all, rand, 12)) expect(allPages(writers[0]!.db, q)).toEqual(expected(all, q));
        } finally {
          for (const w of writers) w.close();
        }
      }),
      { numRuns: 20 },
    );
  });

  it('rows held from a commit that failed are never indexed: the rows that take their seqs are', () => {
    const rand = rng(31);
    const t = trailOf(h.dir, 'lag-rollback');
    try {
      const indexer = createTrailIndexer(t.db, 2000, 100);
      const insert = t.db.prepare(TRAIL_INSERT);
      const all: TrailRecord[] = [];
      const lost: TrailRecord[] = [];
      const commit = (n: number, keep: boolean) =>
        t.db.transaction(() => {
          const rows = Array.from({ length: n }, (_, i) => {
            const r = record(rand, all.length + i);
            (keep ? all : lost).push(r);
            const row = rowOf(r);
            return [Number(insert.run(...row).lastInsertRowid), indexedColumns(row, r)] as const;
          });
          indexer.commit(rows);
          if (!keep) throw new Error('failed after the indexer took its rows');
        })();
      commit(60, true);
      expect(() => commit(30, false)).toThrow('failed after');
      // Seqs 61-90 again, other records, by another writer (another process).
      const other = new Database(t.path);
      const otherInsert = other.prepare(TRAIL_INSERT);
      for (let i = 0; i < 30; i++) {
        const r = record(rand, all.length);
        all.push(r);
        otherInsert.run(...rowOf(r));
      }
      other.close();
      commit(5, true);
      expect(t.db.prepare('SELECT hi FROM trail_index_state').pluck().get()).toBe(0);
      commit(20, true); // 115 rows above the index: indexed, 61-90 as stored
      expect(t.db.prepare('SELECT hi FROM trail_index_state').pluck().get()).toBe(115);
      for (const q of queries(all, rand, 80)) expect(allPages(t.db, q)).toEqual(expected(all, q));
      for (const r of lost.slice(0, 5)) expect(allPages(t.db, { LookupAttributes: [{ AttributeKey: 'EventId', AttributeValue: r.eventID }] })).toEqual([]);
      expect(t.db.prepare('SELECT sum(n) FROM trail_postings WHERE term = ?').pluck().get(scopedTerm(scopeKey('123456789012', 'us-east-1'), '*'))).toBe(115);
    } finally {
      t.close();
    }
  });

  it('through the background writer at the default lag: fewer than INDEX_LAG rows above the index, every record found', () => {
    const rand = rng(37);
    const t = trailOf(h.dir, 'lag-worker', INDEX_LAG);
    try {
      t.trail.useBackgroundWriter();
      const all: TrailRecord[] = [];
      for (let i = 0; i < INDEX_LAG * 2 + 500; i++) {
        const r = record(rand, Math.floor(i / 10));
        all.push(r);
        t.trail.append(r, i % 700 === 0);
      }
      t.trail.flush();
      const hi = t.db.prepare('SELECT hi FROM trail_index_state').pluck().get() as number;
      expect(hi).toBeGreaterThan(all.length - INDEX_LAG);
      expect(hi).toBeLessThan(all.length); // some rows still wait: found by the scan above the index
      for (const q of queries(all, rand, 40)) expect(allPages(t.db, q)).toEqual(expected(all, q));
    } finally {
      t.close();
    }
  });
});

describe('rows the index did not write', () => {
  it('another writer\'s rows (an older ebsim) are found at once by a scan, and indexed by the next commit', () => {
    const rand = rng(5);
    const t = trailOf(h.dir, 'strangers');
    const old = new Database(t.path);
    try {
      const all: TrailRecord[] = [];
      const put = (n: number, via: 'trail' | 'old') => {
        const insert = old.prepare(TRAIL_INSERT);
        for (let i = 0; i < n; i++) {
          const r = record(rand, all.length);
          all.push(r);
          if (via === 'trail') t.trail.append(r, false);
          else insert.run(...rowOf(r));
        }
        t.trail.flush();
      };
      put(500, 'trail');
      put(120, 'old');
      const qs = queries(all, rand, 60);
      for (const q of qs) expect(allPages(t.db, q)).toEqual(expected(all, q));
      expect(t.db.prepare('SELECT hi FROM trail_index_state').pluck().get()).toBe(500);
      put(30, 'trail');
      expect(t.db.prepare('SELECT hi FROM trail_index_state').pluck().get()).toBe(650);
      for (const q of [...qs, ...queries(all, rand, 60)]) expect(allPages(t.db, q)).toEqual(expected(all, q));
    } finally {
      old.close();
      t.close();
    }
  });

  it('a home\'s records from before the index are found by a scan, then indexed a slice per commit, oldest last', () => {
    const rand = rng(9);
    const dir = h.dir;
    const legacy = new Database(`${dir}/legacy-trail.db`);
    const all: TrailRecord[] = [];
    legacy.exec('CREATE TABLE trail_events (seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, event_time TEXT NOT NULL, event_source TEXT NOT NULL, event_name TEXT NOT NULL, username TEXT, access_key_id TEXT, read_only INTEGER, resource_names TEXT NOT NULL, record TEXT NOT NULL)');
    const insert = legacy.prepare(TRAIL_INSERT);
    legacy.transaction(() => {
      for (let i = 0; i < 5000; i++) {
        const r = record(rand, Math.floor(i / 3));
        all.push(r);
        insert.run(...rowOf(r));
      }
    })();
    legacy.close();
    const t = trailOf(dir, 'legacy');
    try {
      expect(t.db.prepare('SELECT lo, hi FROM trail_index_state').get()).toEqual({ lo: 5001, hi: 5000 });
      const qs = queries(all, rand, 40);
      for (const q of qs) expect(allPages(t.db, q)).toEqual(expected(all, q));
      // Each commit indexes 2,000 of the older rows (below the new ones).
      for (let c = 0; c < 3; c++) {
        const r = record(rand, 2000 + c);
        all.push(r);
        t.trail.append(r, true);
      }
      expect(t.db.prepare('SELECT lo, hi FROM trail_index_state').get()).toEqual({ lo: 1, hi: 5003 });
      for (const q of [...qs, ...queries(all, rand, 40)]) expect(allPages(t.db, q)).toEqual(expected(all, q));
    } finally {
      t.close();
    }
  });

  it('a commit that fails leaves the index as it was: the next one starts from what is stored', () => {
    const rand = rng(11);
    const t = trailOf(h.dir, 'rollback');
    try {
      const all: TrailRecord[] = [];
      for (let i = 0; i < 300; i++) {
        const r = record(rand, i);
        all.push(r);
        t.trail.append(r, false);
      }
      t.trail.flush();
      // The indexer a Trail uses, on its own: one commit, then one whose postings fail half-way
      // (a trigger stands in for a full disk), then one more.
      const indexer = createTrailIndexer(t.db, 2000, 0);
      const insert = t.db.prepare(TRAIL_INSERT);
      const commit = (n: number, keep: boolean) =>
        t.db.transaction(() => {
          const rows = Array.from({ length: n }, (_, i) => {
            const r = record(rand, 400 + i);
            if (keep) all.push(r);
            const row = rowOf(r);
            return [Number(insert.run(...row).lastInsertRowid), indexedColumns(row, r)] as const;
          });
          indexer.commit(rows);
        })();
      commit(50, true);
      t.db.exec("CREATE TEMP TRIGGER full_disk BEFORE UPDATE ON trail.trail_postings WHEN NEW.term LIKE '%|e#%' BEGIN SELECT RAISE(ABORT, 'disk full, say'); END");
      expect(() => commit(50, false)).toThrow('disk full');
      t.db.exec('DROP TRIGGER full_disk');
      // The rolled-back rows' seqs are used again by these.
      commit(50, true);
      for (let i = 0; i < 20; i++) {
        const r = record(rand, 600 + i);
        all.push(r);
        t.trail.append(r, false);
      }
      t.trail.flush();
      for (const q of queries(all, rand, 80)) expect(allPages(t.db, q)).toEqual(expected(all, q));
    } finally {
      t.close();
    }
  });
});

describe('the background writer indexes what it writes', () => {
  it('records committed by the worker thread are in the index, and found', () => {
    const rand = rng(23);
    const t = trailOf(h.dir, 'worker');
    try {
      t.trail.useBackgroundWriter();
      const all: TrailRecord[] = [];
      for (let i = 0; i < 3000; i++) {
        const r = record(rand, Math.floor(i / 10));
        all.push(r);
        t.trail.append(r, i % 500 === 0);
      }
      t.trail.flush();
      expect(t.db.prepare('SELECT hi FROM trail_index_state').pluck().get()).toBe(3000);
      const { term } = bucketTerm('e', all[1234]!.eventID);
      expect(t.db.prepare('SELECT sum(n) FROM trail_postings WHERE term = ?').pluck().get(scopedTerm(scopeKey('123456789012', 'us-east-1'), term))).toBeGreaterThan(0);
      for (const q of queries(all, rand, 60)) expect(allPages(t.db, q)).toEqual(expected(all, q));
    } finally {
      t.close();
    }
  });
});

describe('what a lookup reads', () => {
  it('chunks come from the covering index; rows outside the index by rowid ranges', () => {
    const plan = (sql: string) => (h.app.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join('; ');
    expect(plan("SELECT first_seq, n, entries FROM trail_postings INDEXED BY trail_postings_closed WHERE term = 'x' AND closed = 1 AND first_seq < 9 AND last_seq >= 1 AND max_t >= 0 AND min_t <= 9 ORDER BY first_seq DESC LIMIT 64")).toMatch(
      /SEARCH trail_postings USING INDEX trail_postings_closed \(term=\? AND first_seq<\?\)/,
    );
    expect(plan("SELECT first_seq, n, entries FROM trail_postings WHERE term = 'x' AND closed = 0")).toContain('USING INDEX trail_postings_open');
    expect(plan("SELECT seq, record FROM trail_events WHERE event_name = 'x' AND seq > 5 AND seq < 9 ORDER BY seq DESC LIMIT 51")).toContain('USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)');
  });
});
