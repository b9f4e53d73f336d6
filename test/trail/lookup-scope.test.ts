// LookupEvents answers for one account in one Region, as CloudTrail's event history does: a home
// of two accounts calling in two Regions, with cross-account calls (in both accounts' histories)
// and cross-account calls refused for access (in the caller's only). Through the index, through
// rows it did not write, and after an index from before scopes is rebuilt; the scan of every
// record, filtered by the rule AWS documents, says what each lookup must return.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { makeHome, type TestHome } from '../helpers/home.js';
import { openDatabase, type Db } from '../../src/store/database.js';
import { lookupEvents, type LookupQuery, type LookupScope } from '../../src/trail/lookup.js';
import { rowOf, Trail } from '../../src/trail/trail.js';
import { TRAIL_INSERT } from '../../src/trail/background-writer.js';
import type { TrailRecord } from '../../src/trail/record.js';

const A = '123456789012';
const B = '111122223333';
const EAST = 'us-east-1';
const WEST = 'eu-west-1';
const SCOPES: LookupScope[] = [A, B].flatMap((account) => [EAST, WEST].map((region) => ({ account, region })));
const T0 = Date.UTC(2026, 3, 1);

let serial = 0;
/** A call by `caller` in `region`; `owner` the account of the key it used (another one: a cross-account call). */
function record(caller: string, owner: string, region: string, eventName: string, second: number, denied = false): TrailRecord {
  const n = serial++;
  const r: Record<string, unknown> = {
    eventVersion: '1.02',
    userIdentity: { type: 'IAMUser', principalId: 'AIDA', arn: `arn:aws:iam::${caller}:user/Alice`, accountId: caller, accessKeyId: `AKIA${caller}`, userName: 'Alice' },
    eventTime: new Date(T0 + second * 1000).toISOString().slice(0, 19) + 'Z',
    eventSource: 'kms.amazonaws.com',
    eventName,
    awsRegion: region,
    sourceIPAddress: '127.0.0.1',
  };
  if (denied) Object.assign(r, { errorCode: 'AccessDeniedException', errorMessage: 'not authorized' });
  Object.assign(r, {
    requestParameters: { n },
    responseElements: null,
    eventID: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    readOnly: eventName !== 'CreateKey',
    resources: [{ ARN: `arn:aws:kms:${region}:${owner}:key/k${n % 7}`, accountId: owner }],
    eventType: 'AwsApiCall',
    recipientAccountId: owner,
  });
  return r as unknown as TrailRecord;
}

/** Whether AWS shows the record in this account's history in this Region (the KMS guide's rule for cross-account calls). */
function inScope(r: TrailRecord, s: LookupScope): boolean {
  if (r.awsRegion !== s.region) return false;
  if (r.userIdentity.accountId === s.account) return true;
  return r.recipientAccountId === s.account && r.errorCode !== 'AccessDeniedException';
}

/** A mixed trail: mostly each account's own calls in either Region, some cross-account ones, some refused. */
function records(count: number, seed: number): TrailRecord[] {
  let x = seed;
  const rand = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const out: TrailRecord[] = [];
  for (let i = 0; i < count; i++) {
    const caller = rand() < 0.7 ? A : B;
    const region = rand() < 0.8 ? EAST : WEST;
    const roll = rand();
    const owner = roll < 0.15 ? (caller === A ? B : A) : caller;
    out.push(record(caller, owner, region, ['Decrypt', 'Encrypt', 'CreateKey'][Math.floor(rand() * 3)]!, Math.floor(i / 4), owner !== caller && rand() < 0.4));
  }
  return out;
}

function expected(all: TrailRecord[], q: LookupQuery, scope?: LookupScope): string[] {
  const a = q.LookupAttributes?.[0];
  return all
    .filter((r) => (!scope || inScope(r, scope)) && (!a || (a.AttributeKey === 'EventName' ? r.eventName === a.AttributeValue : a.AttributeKey === 'ResourceName' ? r.resources![0]!.ARN === a.AttributeValue : r.eventID === a.AttributeValue)))
    .filter((r) => (!q.StartTime || Date.parse(r.eventTime) >= q.StartTime.getTime()) && (!q.EndTime || Date.parse(r.eventTime) <= q.EndTime.getTime()))
    .reverse()
    .map((r) => r.eventID);
}

function allPages(db: Db, q: LookupQuery, scope?: LookupScope): string[] {
  const ids: string[] = [];
  let token: string | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const page = lookupEvents(db, { ...q, ...(token ? { NextToken: token } : {}) }, scope);
    ids.push(...page.Events.map((e) => e.EventId));
    if (!page.NextToken) return ids;
    token = page.NextToken;
  }
  throw new Error('no end of pages');
}

function queries(all: TrailRecord[]): LookupQuery[] {
  const mid = new Date(Date.parse(all[Math.floor(all.length / 2)]!.eventTime));
  return [
    { MaxResults: 50 },
    { MaxResults: 7 },
    { LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'CreateKey' }], MaxResults: 20 },
    { LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'Decrypt' }], StartTime: mid, MaxResults: 50 },
    { LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: all[3]!.resources![0]!.ARN }], MaxResults: 5 },
    { LookupAttributes: [{ AttributeKey: 'EventId', AttributeValue: all[11]!.eventID }] },
    { EndTime: mid, MaxResults: 30 },
  ];
}

/** Every lookup in every scope, and across them all, against the scan. */
function checkAll(db: Db, all: TrailRecord[]): void {
  for (const q of queries(all)) {
    for (const s of SCOPES) expect(allPages(db, q, s), `${JSON.stringify(s)} ${JSON.stringify(q)}`).toEqual(expected(all, q, s));
    expect(allPages(db, q), `home-wide ${JSON.stringify(q)}`).toEqual(expected(all, q));
  }
}

let h: TestHome;
beforeAll(() => {
  h = makeHome();
});
afterAll(() => h.cleanup());

/** A trail whose every commit indexes its records (no lag: the checks of `hi` expect it), or lagging by `lag` rows. */
function trailOf(name: string, lag = 0) {
  const path = `${h.dir}/${name}-trail.db`;
  const db = openDatabase(`${h.dir}/${name}.db`, path);
  const trail = new Trail(db, path, undefined, lag);
  return { db, trail, path, close: () => (trail.close(), db.close()) };
}

describe('each account sees its own calls in the Region called', () => {
  it('through the index: every scope\'s pages are the scan\'s, cross-account calls in both accounts, refused ones in the caller\'s only', () => {
    const t = trailOf('scoped');
    try {
      const all = records(3000, 7);
      for (const [i, r] of all.entries()) t.trail.append(r, i % 400 === 0);
      t.trail.flush();
      checkAll(t.db, all);
      // The scopes are what the records made them, and each has an index of its own.
      expect(new Set(t.db.prepare('SELECT scope FROM trail_scopes').pluck().all())).toEqual(new Set([`${A} ${EAST}`, `${A} ${WEST}`, `${B} ${EAST}`, `${B} ${WEST}`]));
      // The rule at work: B sees A's calls on B's keys, not A's refused ones; an account with no
      // calls in a Region sees nothing there.
      const crossOk = all.find((r) => r.userIdentity.accountId === A && r.recipientAccountId === B && !r.errorCode)!;
      const crossDenied = all.find((r) => r.userIdentity.accountId === A && r.recipientAccountId === B && r.errorCode)!;
      const inB = (r: TrailRecord) => allPages(t.db, { LookupAttributes: [{ AttributeKey: 'EventId', AttributeValue: r.eventID }] }, { account: B, region: r.awsRegion });
      expect(inB(crossOk)).toEqual([crossOk.eventID]);
      expect(inB(crossDenied)).toEqual([]);
      expect(allPages(t.db, {}, { account: '444455556666', region: EAST })).toEqual([]);
      expect(allPages(t.db, {}, { account: A, region: 'ap-south-1' })).toEqual([]);
    } finally {
      t.close();
    }
  });

  it('through the background writer\'s worker thread, the same', () => {
    const t = trailOf('scoped-worker');
    try {
      t.trail.useBackgroundWriter();
      const all = records(1500, 99);
      for (const [i, r] of all.entries()) t.trail.append(r, i % 300 === 0);
      t.trail.flush();
      expect(t.db.prepare('SELECT hi FROM trail_index_state').pluck().get()).toBe(1500);
      checkAll(t.db, all);
    } finally {
      t.close();
    }
  });

  it('rows the index did not write (another writer\'s), scanned by scope until indexed, then indexed in their scopes', () => {
    const t = trailOf('scoped-strangers');
    const old = new Database(t.path);
    try {
      const all = records(900, 3);
      const insert = old.prepare(TRAIL_INSERT);
      for (const r of all.slice(0, 600)) t.trail.append(r, false);
      t.trail.flush();
      for (const r of all.slice(600, 800)) insert.run(...rowOf(r));
      checkAll(t.db, all.slice(0, 800));
      for (const r of all.slice(800)) t.trail.append(r, false);
      t.trail.flush();
      expect(t.db.prepare('SELECT hi FROM trail_index_state').pluck().get()).toBe(900);
      checkAll(t.db, all);
    } finally {
      old.close();
      t.close();
    }
  });

  it('an index from before scopes (terms without an account or Region) is dropped when the home is opened, its rows found by scan, then indexed again', () => {
    const t = trailOf('unscoped');
    const all = records(2500, 41);
    for (const r of all.slice(0, 2400)) t.trail.append(r, false);
    t.close();
    // What the previous version left: the same chunks under terms with no scope, no trail_scopes.
    const old = new Database(t.path);
    old.exec("UPDATE trail_postings SET term = substr(term, instr(term, '|') + 1); DROP TABLE trail_scopes");
    expect(old.prepare("SELECT count(*) FROM trail_postings WHERE term = '*'").pluck().get()).toBeGreaterThan(0);
    old.close();
    const again = trailOf('unscoped');
    try {
      expect(again.db.prepare('SELECT count(*) FROM trail_postings').pluck().get()).toBe(0);
      expect(again.db.prepare('SELECT lo, hi FROM trail_index_state').get()).toEqual({ lo: 2401, hi: 2400 });
      checkAll(again.db, all.slice(0, 2400));
      // Each commit indexes 2,000 of the older rows: two commits index them all.
      for (const r of all.slice(2400, 2402)) again.trail.append(r, true);
      for (const r of all.slice(2402)) again.trail.append(r, false);
      again.trail.flush();
      expect(again.db.prepare('SELECT lo, hi FROM trail_index_state').get()).toEqual({ lo: 1, hi: 2500 });
      checkAll(again.db, all);
    } finally {
      again.close();
    }
  });
});
