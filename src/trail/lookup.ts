// LookupEvents over the stored trail, in the shape of CloudTrail's API, and the raw records.
import type { Db } from '../store/database.js';
import { pageToken, readPageToken } from '../core/page-token.js';
import {
  InvalidLookupAttributesException, InvalidMaxResultsException, InvalidNextTokenException, InvalidTimeRangeException, validationError,
} from '../errors/index.js';
import type { TrailRecord } from './record.js';
import { bucketTerm, scopedTerm, scopeKey, strideOfTerm } from './postings.js';
import { readOnlyOf } from './read-only.js';

export const LOOKUP_ATTRIBUTE_KEYS = [
  'EventId', 'EventName', 'ReadOnly', 'Username', 'ResourceType', 'ResourceName', 'EventSource', 'AccessKeyId',
] as const;
export type LookupAttributeKey = (typeof LOOKUP_ATTRIBUTE_KEYS)[number];

export interface LookupAttribute {
  AttributeKey: LookupAttributeKey;
  AttributeValue: string;
}

export interface LookupQuery {
  LookupAttributes?: LookupAttribute[];
  StartTime?: Date;
  EndTime?: Date;
  MaxResults?: number;
  NextToken?: string;
  /** `insight`: Insights events, which ebsim never records (so none are found). */
  EventCategory?: 'insight';
}

export interface LookupEvent {
  EventId: string;
  EventName: string;
  ReadOnly: string;
  AccessKeyId?: string;
  EventTime: Date;
  EventSource: string;
  Username?: string;
  Resources: { ResourceType: string; ResourceName: string }[];
  CloudTrailEvent: string;
}

/**
 * Whose event history a lookup reads: CloudTrail's LookupEvents answers for the caller's account
 * in the Region called. Without one, every account and Region of the home (the console's and
 * `ebsim explain`'s view, which are not CloudTrail calls).
 */
export interface LookupScope {
  account: string;
  region: string;
}

export interface LookupResult {
  Events: LookupEvent[];
  NextToken?: string;
}

interface Row {
  seq: number;
  record: string;
}

/** What one lookup asks for: the index term (undefined: every record), a check on the row itself, the time window and where the page starts. */
interface Plan {
  /** The term within a scope ('n:Decrypt', 'u#7', '*'). */
  term?: string;
  /** The scopes whose chunks hold the answer (scopeKey), and the same as an SQL condition for rows outside the index. */
  scopes?: string[];
  scopeWhere?: { sql: string; args: unknown[] };
  /** The value's 32-bit hash, for a bucketed term (its bucket holds other values too). */
  hash?: number;
  /** SQL conditions on trail_events that a returned row must meet (the attribute and the times), with their arguments. */
  where: string[];
  args: unknown[];
  /** Epoch seconds, inclusive. */
  from: number;
  to: number;
  /** Only rows below this seq (the NextToken). */
  before: number;
}

/** Chunks read per query while walking a term's postings. */
const CHUNK_PAGE = 64;

/**
 * The SQL twin of the indexer's scopesOf (postings.ts): a row is in an account's history if the
 * account called, or if the call used its resource and was not refused for access.
 */
function scopeCondition(scope: LookupScope): { sql: string; args: unknown[] } {
  return {
    sql: `json_extract(record, '$.awsRegion') = ? AND (coalesce(json_extract(record, '$.userIdentity.accountId'), json_extract(record, '$.recipientAccountId')) = ?
      OR (json_extract(record, '$.recipientAccountId') = ? AND coalesce(json_extract(record, '$.errorCode'), '') <> 'AccessDeniedException'))`,
    args: [scope.region, scope.account, scope.account],
  };
}

/** Newest first, as CloudTrail returns them; within `scope` if given. */
export function lookupEvents(db: Db, q: LookupQuery, scope?: LookupScope): LookupResult {
  const where: string[] = [];
  const args: unknown[] = [];
  let term: string | undefined;
  let hash: number | undefined;
  let none = false;
  const attrs = q.LookupAttributes ?? [];
  // The API reference's errors, by name: "Currently the list can contain only one item."
  if (attrs.length > 1) throw new InvalidLookupAttributesException('LookupAttributes can contain only one item.');
  for (const a of attrs) {
    if (!LOOKUP_ATTRIBUTE_KEYS.includes(a.AttributeKey)) {
      throw validationError(a.AttributeKey, 'lookupAttributes.1.member.attributeKey', `Member must satisfy enum value set: [${LOOKUP_ATTRIBUTE_KEYS.join(', ')}]`);
    }
    const v = a.AttributeValue;
    switch (a.AttributeKey) {
      case 'EventId': where.push('event_id = ?'); args.push(v); ({ term, hash } = bucketTerm('e', v)); break;
      case 'EventName': where.push('event_name = ?'); args.push(v); term = `n:${v}`; break;
      case 'EventSource': where.push('event_source = ?'); args.push(v); term = `s:${v}`; break;
      case 'Username': where.push('username = ?'); args.push(v); ({ term, hash } = bucketTerm('u', v)); break;
      case 'AccessKeyId': where.push('access_key_id = ?'); args.push(v); ({ term, hash } = bucketTerm('a', v)); break;
      case 'ReadOnly':
        if (v !== 'true' && v !== 'false') throw new InvalidLookupAttributesException(`Invalid value for ReadOnly: ${v}. Valid values are true and false.`);
        where.push('read_only = ?'); args.push(v === 'true' ? 1 : 0); term = `r:${v === 'true' ? 1 : 0}`; break;
      case 'ResourceName': where.push('EXISTS (SELECT 1 FROM json_each(resource_names) WHERE value = ?)'); args.push(v); ({ term, hash } = bucketTerm('k', v)); break;
      case 'ResourceType':
        if (v !== 'AWS::KMS::Key') { none = true; break; }
        where.push("resource_names <> '[]'"); term = 'y'; break;
    }
  }
  let from = 0;
  let to = Number.MAX_SAFE_INTEGER;
  if (q.StartTime) { where.push('event_time >= ?'); args.push(q.StartTime.toISOString().replace(/\.\d{3}Z$/, 'Z')); from = Math.floor(q.StartTime.getTime() / 1000); }
  if (q.EndTime) { where.push('event_time <= ?'); args.push(q.EndTime.toISOString().replace(/\.\d{3}Z$/, 'Z')); to = Math.floor(q.EndTime.getTime() / 1000); }
  if (q.StartTime && q.EndTime && q.StartTime > q.EndTime) {
    throw new InvalidTimeRangeException('Start time must be before end time.');
  }
  const max = q.MaxResults ?? 50;
  if (!Number.isInteger(max) || max < 1 || max > 50) throw new InvalidMaxResultsException(`MaxResults ${String(max)} is not valid: it must be between 1 and 50.`);
  let before = Number.MAX_SAFE_INTEGER;
  if (q.NextToken !== undefined) {
    // Only the form NextToken takes (Number() alone read " 12", "0x10", "1e3" as sequence numbers).
    const m = readPageToken(q.NextToken, /^[1-9]\d{0,15}$/);
    if (!m) throw new InvalidNextTokenException('Invalid NextToken.');
    before = Number(m[0]);
  }
  if (none || q.EventCategory === 'insight') return { Events: [] };
  // A time window alone, or a scope, is asked of the term every record has.
  if (term === undefined && (q.StartTime || q.EndTime || scope)) term = '*';
  const plan: Plan = { term, hash, where, args, from, to, before };
  if (scope) {
    plan.scopes = [scopeKey(scope.account, scope.region)];
    plan.scopeWhere = scopeCondition(scope);
  }
  const rows = findRows(db, plan, max + 1);
  const page = rows.slice(0, max);
  const result: LookupResult = { Events: page.map((r) => toLookupEvent(JSON.parse(r.record) as TrailRecord)) };
  if (rows.length > max) result.NextToken = pageToken(String(page[page.length - 1]!.seq));
  return result;
}

/**
 * Up to `want` matching rows, newest (highest seq) first: rows above the index's range and below
 * it by scanning, as LookupEvents always did (normally there are none), the rest through the
 * term's postings in each scope asked (a lookup across scopes merges theirs), each candidate
 * checked against the row.
 */
function findRows(db: Db, plan: Plan, want: number): Row[] {
  /** Matching rows with seq in (above, below), by the table's own order (rowid bounds, one of each: SQLite uses one bound per side). */
  const scan = (above: number, below: number, limit: number): Row[] => {
    if (limit <= 0 || below - above <= 1) return [];
    const where = [...plan.where, 'seq > ?', 'seq < ?'];
    const args = [...plan.args, above, below];
    if (plan.scopeWhere) {
      where.push(`(${plan.scopeWhere.sql})`);
      args.push(...plan.scopeWhere.args);
    }
    return db.prepare(`SELECT seq, record FROM trail_events WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT ?`).all(...args, limit) as Row[];
  };
  if (plan.term === undefined) {
    return db.prepare('SELECT seq, record FROM trail_events WHERE seq < ? ORDER BY seq DESC LIMIT ?').all(plan.before, want) as Row[];
  }
  const range = db.prepare('SELECT lo, hi FROM trail_index_state WHERE id = 1').get() as { lo: number; hi: number } | undefined;
  if (!range) return scan(0, plan.before, want);
  const out = scan(range.hi, plan.before, want);
  if (out.length < want) {
    const scopes = plan.scopes ?? (db.prepare('SELECT scope FROM trail_scopes').pluck().all() as string[]);
    const found = scopes.map((scope) => {
      const rows: Row[] = [];
      fromPostings(db, plan, scopedTerm(scope, plan.term!), range, want - out.length, rows);
      return rows;
    });
    if (found.length === 1) out.push(...found[0]!);
    else {
      // A record of two scopes (a cross-account call) is found in both: once is enough.
      const merged = new Map<number, Row>();
      for (const rows of found) for (const r of rows) merged.set(r.seq, r);
      out.push(...[...merged.values()].sort((a, b) => b.seq - a.seq).slice(0, want - out.length));
    }
  }
  if (out.length < want) out.push(...scan(0, Math.min(plan.before, range.lo), want - out.length));
  return out;
}

interface Chunk {
  first_seq: number;
  n: number;
  entries: Buffer;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** A chunk's entries as 32-bit words (little-endian on disk). */
function wordsOf(entries: Buffer): Uint32Array {
  if (LITTLE_ENDIAN && entries.byteOffset % 4 === 0) return new Uint32Array(entries.buffer, entries.byteOffset, entries.length >>> 2);
  const words = new Uint32Array(entries.length >>> 2);
  for (let i = 0; i < words.length; i++) words[i] = entries.readUInt32LE(i * 4);
  return words;
}

/** Walks the term's chunks newest first, skipping those outside the window, and fetches the rows of their entries. */
function fromPostings(db: Db, plan: Plan, term: string, range: { lo: number; hi: number }, want: number, out: Row[]): void {
  const stride = strideOfTerm(plan.term!);
  // The term's open chunk (its newest), then its closed ones, newest first, picked by the covering
  // index (SQLite reads a chunk's entries only for those the index lets through).
  const openChunk = db.prepare('SELECT first_seq, n, entries FROM trail_postings WHERE term = ? AND closed = 0 AND first_seq < ? AND last_seq >= ? AND max_t >= ? AND min_t <= ?');
  const chunks = db.prepare(
    `SELECT first_seq, n, entries FROM trail_postings INDEXED BY trail_postings_closed
     WHERE term = ? AND closed = 1 AND first_seq < ? AND last_seq >= ? AND max_t >= ? AND min_t <= ? ORDER BY first_seq DESC LIMIT ${CHUNK_PAGE}`,
  );
  const upper = Math.min(plan.before, range.hi + 1);
  let below = upper;
  const candidates: number[] = [];
  const fetch = () => {
    if (candidates.length === 0) return;
    const marks = candidates.map(() => '?').join(', ');
    const found = db
      .prepare(`SELECT seq, record FROM trail_events WHERE seq IN (${marks})${plan.where.length ? ' AND ' + plan.where.join(' AND ') : ''}`)
      .all(...candidates, ...plan.args) as Row[];
    const bySeq = new Map(found.map((r) => [r.seq, r]));
    for (const seq of candidates) {
      const r = bySeq.get(seq);
      if (r && out.length < want) out.push(r);
    }
    candidates.length = 0;
  };
  const width = stride / 4;
  const walk = (page: Chunk[]): boolean => {
    for (const c of page) {
      const words = wordsOf(c.entries);
      for (let j = c.n - 1; j >= 0; j--) {
        const o = j * width;
        if (plan.hash !== undefined && words[o + 2] !== plan.hash) continue;
        const seq = c.first_seq + words[o]!;
        if (seq >= upper || seq < range.lo) continue;
        const t = words[o + 1]!;
        if (t < plan.from || t > plan.to) continue;
        candidates.push(seq);
        // A candidate may fail the row's check (another value of the bucket, a row gone): fetch in rounds.
        if (candidates.length >= want - out.length) fetch();
        if (out.length >= want) return true;
      }
      below = Math.min(below, c.first_seq);
    }
    return false;
  };
  if (walk(openChunk.all(term, below, range.lo, plan.from, plan.to) as Chunk[])) return;
  for (;;) {
    const page = chunks.all(term, below, range.lo, plan.from, plan.to) as Chunk[];
    if (walk(page)) return;
    if (page.length < CHUNK_PAGE) break;
  }
  fetch();
}

function toLookupEvent(r: TrailRecord): LookupEvent {
  const id = r.userIdentity;
  const e: LookupEvent = {
    EventId: r.eventID,
    EventName: r.eventName,
    ReadOnly: String(readOnlyOf(r)),
    EventTime: new Date(r.eventTime),
    EventSource: r.eventSource,
    Resources: (r.resources ?? []).map((x) => ({ ResourceType: 'AWS::KMS::Key', ResourceName: x.ARN })),
    CloudTrailEvent: JSON.stringify(r),
  };
  if (typeof id.accessKeyId === 'string' && id.accessKeyId) e.AccessKeyId = id.accessKeyId;
  const user = typeof id.userName === 'string' ? id.userName : typeof id.arn === 'string' && id.type === 'AssumedRole' ? id.arn.split('/').pop() : undefined;
  if (user) e.Username = user;
  return e;
}

/** Every record, oldest first: the body of a CloudTrail log file. */
export function allRecords(db: Db): TrailRecord[] {
  return (db.prepare('SELECT record FROM trail_events ORDER BY seq').all() as { record: string }[]).map(
    (r) => JSON.parse(r.record) as TrailRecord,
  );
}
