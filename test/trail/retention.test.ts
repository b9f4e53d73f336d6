// The bounded trail: records past the retention (age or count) leave the database only after they
// are in gzip'd CloudTrail log files under the home, each record exactly once across database and
// files, whatever is cut short when (a failed write, a failed drop, a killed process, two
// processes at once).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { makeHome, type TestHome } from '../helpers/home.js';
import { assertBuilt, ebsimIn, REPO } from '../helpers/cli.js';
import { openDatabase, type Db } from '../../src/store/database.js';
import { Trail } from '../../src/trail/trail.js';
import { lookupEvents } from '../../src/trail/lookup.js';
import Database from 'better-sqlite3';
import { applyRetention, createTrailRetention, DEFAULT_RETENTION_DAYS, NODE_DEPS, RetentionWorker, retentionSettings, setRetention, type RetentionDeps } from '../../src/trail/retention.js';
import type { TrailRecord } from '../../src/trail/record.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 5, 1, 12);
let serial = 0;

/** A record of `account` in `region` at `time` (ms). */
function record(time: number, account = '123456789012', region = 'us-east-1'): TrailRecord {
  return {
    eventVersion: '1.02',
    userIdentity: { type: 'IAMUser', principalId: 'AIDA', arn: `arn:aws:iam::${account}:user/Alice`, accountId: account, accessKeyId: 'AKIA', userName: 'Alice' },
    eventTime: new Date(time).toISOString().slice(0, 19) + 'Z',
    eventSource: 'kms.amazonaws.com',
    eventName: serial % 3 ? 'Decrypt' : 'Encrypt',
    awsRegion: region,
    sourceIPAddress: '127.0.0.1',
    requestParameters: { n: serial },
    responseElements: null,
    eventID: `00000000-0000-4000-8000-${String(serial++).padStart(12, '0')}`,
    readOnly: true,
    resources: [{ ARN: `arn:aws:kms:${region}:${account}:key/k${serial % 4}`, accountId: account }],
    eventType: 'AwsApiCall',
    recipientAccountId: account,
  } as TrailRecord;
}

interface Home {
  dir: string;
  db: Db;
  trail: Trail;
  delivered: string;
  close(): void;
}

let h: TestHome;
beforeAll(() => {
  h = makeHome();
});
afterAll(() => h.cleanup());

let homes = 0;
function home(): Home {
  const dir = join(h.dir, `home-${homes++}`);
  fs.mkdirSync(dir);
  const db = openDatabase(join(dir, 'ebsim.db'), join(dir, 'trail.db'));
  const trail = new Trail(db, join(dir, 'trail.db'), join(dir, 'delivered'));
  return { dir, db, trail, delivered: join(dir, 'delivered'), close: () => (trail.close(), db.close()) };
}

/** `n` records, a minute apart from `from`, across two accounts and two Regions. */
function fill(x: Home, n: number, from: number): TrailRecord[] {
  const made: TrailRecord[] = [];
  for (let i = 0; i < n; i++) {
    const r = record(from + i * 60_000, i % 5 === 0 ? '111122223333' : '123456789012', i % 7 === 0 ? 'eu-west-1' : 'us-east-1');
    made.push(r);
    x.trail.append(r, false);
  }
  x.trail.flush();
  return made;
}

/** Every delivered log file, with its records; checks each is where CloudTrail puts it. */
function deliveredFiles(x: Home): { file: string; records: TrailRecord[] }[] {
  if (!existsSync(x.delivered)) return [];
  const out: { file: string; records: TrailRecord[] }[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push({ file: relative(x.delivered, p), records: (JSON.parse(gunzipSync(readFileSync(p)).toString()) as { Records: TrailRecord[] }).Records });
    }
  };
  walk(x.delivered);
  for (const f of out) {
    const m = /^AWSLogs\/(\d{12})\/CloudTrail\/([a-z0-9-]+)\/(\d{4})\/(\d\d)\/(\d\d)\/\1_CloudTrail_\2_(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)Z_[0-9a-z]{16}\.json\.gz$/.exec(f.file);
    expect(m, f.file).not.toBeNull();
    const [, account, region, y, mo, d, y2, mo2, d2, hh, mm] = m!;
    expect([y2, mo2, d2]).toEqual([y, mo, d]);
    const window = Date.UTC(+y!, +mo! - 1, +d!, +hh!, +mm!);
    expect(Number(mm) % 5).toBe(0);
    for (const r of f.records) {
      expect([r.recipientAccountId, r.awsRegion]).toEqual([account, region]);
      const t = Date.parse(r.eventTime);
      expect(t >= window && t < window + 5 * 60_000).toBe(true);
    }
  }
  return out;
}

const inDatabase = (x: Home) => (x.db.prepare('SELECT record FROM trail_events ORDER BY seq').pluck().all() as string[]).map((t) => JSON.parse(t) as TrailRecord);

/** Every record made is in the database or in one delivered file, once; the database keeps the newest. */
function expectExactlyOnce(x: Home, made: TrailRecord[], keptInDatabase?: number) {
  const db = inDatabase(x);
  const files = deliveredFiles(x).flatMap((f) => f.records);
  const ids = [...db, ...files].map((r) => r.eventID);
  expect(ids.length).toBe(made.length);
  expect(new Set(ids).size).toBe(made.length);
  expect(new Set(ids)).toEqual(new Set(made.map((r) => r.eventID)));
  // Delivered records are whole: the same JSON as they were stored.
  const byId = new Map(made.map((r) => [r.eventID, JSON.stringify(r)]));
  for (const r of files) expect(JSON.stringify(r)).toBe(byId.get(r.eventID));
  if (keptInDatabase !== undefined) expect(db.map((r) => r.eventID)).toEqual(made.slice(made.length - keptInDatabase).map((r) => r.eventID));
  expect(x.db.prepare('SELECT count(*) FROM trail_deliveries').pluck().get()).toBe(0);
}

describe('a trail past its cap', () => {
  it('keeps the newest records in the database and delivers every other one to a log file, each exactly once, again and again', () => {
    const x = home();
    try {
      setRetention(x.db, { maxRecords: 1200 });
      const made = fill(x, 5000, NOW - 10 * DAY);
      const first = applyRetention(x.db, x.delivered, NOW);
      expect(first.records).toBe(3800);
      expect(first.files.length).toBeGreaterThan(10);
      expectExactlyOnce(x, made, 1200);
      made.push(...fill(x, 700, NOW - 5 * DAY));
      expect(applyRetention(x.db, x.delivered, NOW).records).toBe(700);
      expectExactlyOnce(x, made, 1200);
      // Nothing more is due: a run changes nothing.
      expect(applyRetention(x.db, x.delivered, NOW)).toEqual({ records: 0, files: [] });
      // LookupEvents sees exactly what is left, through its index.
      const left = inDatabase(x);
      const decrypts = left.filter((r) => r.eventName === 'Decrypt').reverse().map((r) => r.eventID);
      const seen: string[] = [];
      let token: string | undefined;
      do {
        const page = lookupEvents(x.db, { LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'Decrypt' }], ...(token ? { NextToken: token } : {}) });
        seen.push(...page.Events.map((e) => e.EventId));
        token = page.NextToken;
      } while (token);
      expect(seen).toEqual(decrypts);
    } finally {
      x.close();
    }
  });

  it('by age: records older than the retention (90 days by default) leave, younger ones stay', () => {
    const x = home();
    try {
      expect(retentionSettings(x.db)).toEqual({ days: DEFAULT_RETENTION_DAYS });
      const old = fill(x, 300, NOW - 120 * DAY);
      const young = fill(x, 200, NOW - 60 * DAY);
      expect(applyRetention(x.db, x.delivered, NOW).records).toBe(300);
      expectExactlyOnce(x, [...old, ...young], 200);
      expect(setRetention(x.db, { days: 30 })).toEqual({ days: 30 });
      expect(applyRetention(x.db, x.delivered, NOW).records).toBe(200);
      expectExactlyOnce(x, [...old, ...young], 0);
    } finally {
      x.close();
    }
  });
});

/** Deps whose `at`-th call of `fn` throws, as a crash there would stop the run. */
function failingAt(fn: 'renameSync' | 'openSync' | 'writeSync', at: number): RetentionDeps {
  let calls = 0;
  const wrapped = { ...fs } as typeof fs;
  (wrapped as unknown as Record<string, unknown>)[fn] = (...args: unknown[]) => {
    if (++calls === at) throw Object.assign(new Error(`crash in ${fn}`), { code: 'EIO' });
    return (fs[fn] as (...a: unknown[]) => unknown)(...args);
  };
  return { ...NODE_DEPS, fs: wrapped };
}

describe('a check with nothing due (each minute of ebsim serve)', () => {
  it('reads the trail from its ends by key: no statement of the retention scans trail_events', () => {
    const x = home();
    try {
      fill(x, 50, NOW - DAY);
      const trailDb = new Database(join(x.dir, 'trail.db'));
      // Every statement the retention prepares, run through SQLite's planner on the real schema.
      const prepared: string[] = [];
      const watched = new Proxy(trailDb, {
        get(target, key) {
          if (key === 'prepare') return (sql: string) => (prepared.push(sql), target.prepare(sql));
          const v = Reflect.get(target, key) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
      try {
        expect(createTrailRetention(watched, x.delivered, NODE_DEPS).run(NOW).records).toBe(0);
        const touchingEvents = prepared.filter((sql) => /\bFROM trail_events\b/.test(sql));
        expect(touchingEvents.length).toBeGreaterThanOrEqual(4);
        for (const sql of touchingEvents) {
          const plan = (trailDb.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...Array(sql.split('?').length - 1).fill(1)) as { detail: string }[]).map((r) => r.detail);
          expect(plan.filter((d) => /^SCAN trail_events\b/.test(d)), `${sql}: ${plan.join('; ')}`).toEqual([]);
        }
      } finally {
        trailDb.close();
      }
      expectExactlyOnce(x, inDatabase(x), 50);
    } finally {
      x.close();
    }
  });
});

describe('a delivery cut short', () => {
  for (const [what, deps] of [
    ['before its first file', () => failingAt('openSync', 1)],
    ['half-way through writing a file', () => failingAt('writeSync', 3)],
    ['after some files, before their rename', () => failingAt('renameSync', 4)],
  ] as const) {
    it(`${what}: the next run finishes it, no record lost or doubled`, () => {
      const x = home();
      try {
        setRetention(x.db, { maxRecords: 100 });
        const made = fill(x, 900, NOW - DAY);
        expect(() => applyRetention(x.db, x.delivered, NOW, deps())).toThrow(/crash in/);
        // The rows are all still there; the journal says what was under way.
        expect(inDatabase(x)).toHaveLength(900);
        expect(x.db.prepare('SELECT count(*) FROM trail_deliveries').pluck().get()).toBe(1);
        applyRetention(x.db, x.delivered, NOW);
        expectExactlyOnce(x, made, 100);
      } finally {
        x.close();
      }
    });
  }

  it('after every file, when the drop fails: the files are written again under the same names, once', () => {
    const x = home();
    try {
      setRetention(x.db, { maxRecords: 50 });
      const made = fill(x, 400, NOW - DAY);
      x.db.exec("CREATE TEMP TRIGGER no_drop BEFORE DELETE ON trail.trail_deliveries BEGIN SELECT RAISE(ABORT, 'crash before the drop'); END");
      expect(() => applyRetention(x.db, x.delivered, NOW)).toThrow('crash before the drop');
      const before = deliveredFiles(x).map((f) => f.file).sort();
      expect(before.length).toBeGreaterThan(0);
      x.db.exec('DROP TRIGGER no_drop');
      applyRetention(x.db, x.delivered, NOW);
      expect(deliveredFiles(x).map((f) => f.file).sort()).toEqual(before);
      expectExactlyOnce(x, made, 50);
    } finally {
      x.close();
    }
  });

  it('by a killed process (SIGKILL between two files): the next run finishes it', async () => {
    assertBuilt();
    const x = home();
    try {
      setRetention(x.db, { maxRecords: 10 });
      const made = fill(x, 600, NOW - DAY);
      x.trail.close();
      x.db.close();
      // A process that is killed right after its second log file is in place.
      const script = `
        const fs = require('node:fs');
        (async () => {
          const { openDatabase } = await import(${JSON.stringify(`${REPO}dist/src/store/database.js`)});
          const { applyRetention, NODE_DEPS } = await import(${JSON.stringify(`${REPO}dist/src/trail/retention.js`)});
          const db = openDatabase(${JSON.stringify(join(x.dir, 'ebsim.db'))}, ${JSON.stringify(join(x.dir, 'trail.db'))});
          let renames = 0;
          const killing = { ...fs, renameSync: (a, b) => { fs.renameSync(a, b); if (++renames === 2) process.kill(process.pid, 'SIGKILL'); } };
          applyRetention(db, ${JSON.stringify(x.delivered)}, ${NOW}, { ...NODE_DEPS, fs: killing });
        })();`;
      const signal = await new Promise<string | null>((resolve) => spawn(process.execPath, ['-e', script], { stdio: 'inherit' }).on('close', (_code, sig) => resolve(sig)));
      expect(signal).toBe('SIGKILL');
      const again = openDatabase(join(x.dir, 'ebsim.db'), join(x.dir, 'trail.db'));
      try {
        expect(again.prepare('SELECT count(*) FROM trail_deliveries').pluck().get()).toBe(1);
        applyRetention(again, x.delivered, NOW);
        expectExactlyOnce({ ...x, db: again }, made, 10);
      } finally {
        again.close();
      }
    } finally {
      if (x.db.open) x.close();
    }
  });

  it('two processes at once deliver each record once', () => {
    const x = home();
    const other = openDatabase(join(x.dir, 'ebsim.db'), join(x.dir, 'trail.db'));
    try {
      setRetention(x.db, { maxRecords: 30 });
      const made = fill(x, 2000, NOW - DAY);
      // One run stops after its first file; the other takes over the journaled delivery and the rest.
      expect(() => applyRetention(x.db, x.delivered, NOW, failingAt('renameSync', 2))).toThrow(/crash in/);
      applyRetention(other, x.delivered, NOW);
      applyRetention(x.db, x.delivered, NOW);
      expectExactlyOnce(x, made, 30);
    } finally {
      other.close();
      x.close();
    }
  });
});

describe('in a long-running process', () => {
  it('the retention worker delivers and drops by itself, and closes cleanly', async () => {
    const x = home();
    try {
      setRetention(x.db, { maxRecords: 100, days: DEFAULT_RETENTION_DAYS });
      const made = fill(x, 1500, Date.now() - DAY);
      const worker = new RetentionWorker(join(x.dir, 'trail.db'), x.delivered, { firstMs: 10, intervalMs: 50 });
      try {
        const deadline = Date.now() + 20_000;
        while (inDatabase(x).length > 100 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      } finally {
        worker.close();
      }
      expectExactlyOnce(x, made, 100);
      expect(statSync(x.delivered).mode & 0o777).toBe(0o700);
    } finally {
      x.close();
    }
  });
});

describe('ebsim trail retention', () => {
  it('sets the retention, applies it, says what it delivered; refuses a bad value in words', async () => {
    const kms = h.app.kms();
    for (let i = 0; i < 30; i++) kms.call(h.app.as(), 'GenerateRandom', { NumberOfBytes: 4 });
    h.app.trail.flush();
    const stored = h.app.db.prepare('SELECT count(*) FROM trail_events').pluck().get() as number;
    const shown = await ebsimIn(h.dir, ['trail', 'retention']);
    expect(shown.json()).toMatchObject({ RetentionDays: 90, MaxRecords: null, Delivered: { Records: 0, Files: 0 } });
    const set = await ebsimIn(h.dir, ['trail', 'retention', '--max-records', '5', '--days', '30']);
    expect(set.code).toBe(0);
    const out = set.json();
    expect(out).toMatchObject({ RetentionDays: 30, MaxRecords: 5, Delivered: { Directory: join(h.dir, 'delivered') } });
    expect(out.Delivered.Records).toBe(stored - 5);
    expect(h.app.db.prepare('SELECT count(*) FROM trail_events').pluck().get()).toBe(5);
    const bad = await ebsimIn(h.dir, ['trail', 'retention', '--days', '0']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--days must be a whole number of days from 1 to 36500, not 0');
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });
});
