// LookupEvents over the stored trail, in the shape of CloudTrail's API, and the raw records.
import type { Db } from '../store/database.js';
import { validationError, ValidationException } from '../errors/index.js';
import type { TrailRecord } from './record.js';

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

export interface LookupResult {
  Events: LookupEvent[];
  NextToken?: string;
}

interface Row {
  seq: number;
  record: string;
}

/** Newest first, as CloudTrail returns them. */
export function lookupEvents(db: Db, q: LookupQuery): LookupResult {
  const where: string[] = [];
  const args: unknown[] = [];
  const attrs = q.LookupAttributes ?? [];
  if (attrs.length > 1) throw validationError(attrs.length, 'lookupAttributes', 'Member must have length less than or equal to 1');
  for (const a of attrs) {
    if (!LOOKUP_ATTRIBUTE_KEYS.includes(a.AttributeKey)) {
      throw validationError(a.AttributeKey, 'lookupAttributes.1.member.attributeKey', `Member must satisfy enum value set: [${LOOKUP_ATTRIBUTE_KEYS.join(', ')}]`);
    }
    const v = a.AttributeValue;
    switch (a.AttributeKey) {
      case 'EventId': where.push('event_id = ?'); args.push(v); break;
      case 'EventName': where.push('event_name = ?'); args.push(v); break;
      case 'EventSource': where.push('event_source = ?'); args.push(v); break;
      case 'Username': where.push('username = ?'); args.push(v); break;
      case 'AccessKeyId': where.push('access_key_id = ?'); args.push(v); break;
      case 'ReadOnly':
        if (v !== 'true' && v !== 'false') throw new ValidationException(`Invalid value for ReadOnly: ${v}. Valid values are true and false.`);
        where.push('read_only = ?'); args.push(v === 'true' ? 1 : 0); break;
      case 'ResourceName': where.push('EXISTS (SELECT 1 FROM json_each(resource_names) WHERE value = ?)'); args.push(v); break;
      case 'ResourceType':
        if (v !== 'AWS::KMS::Key') { where.push('0'); break; }
        where.push("resource_names <> '[]'"); break;
    }
  }
  if (q.StartTime) { where.push('event_time >= ?'); args.push(q.StartTime.toISOString().replace(/\.\d{3}Z$/, 'Z')); }
  if (q.EndTime) { where.push('event_time <= ?'); args.push(q.EndTime.toISOString().replace(/\.\d{3}Z$/, 'Z')); }
  if (q.StartTime && q.EndTime && q.StartTime > q.EndTime) {
    throw new ValidationException('Start time must be before end time.');
  }
  const max = q.MaxResults ?? 50;
  if (!Number.isInteger(max) || max < 1 || max > 50) throw validationError(max, 'maxResults', 'Member must have value between 1 and 50');
  if (q.NextToken !== undefined) {
    const before = Number(Buffer.from(q.NextToken, 'base64url').toString());
    if (!Number.isInteger(before) || before <= 0) throw new ValidationException('Invalid NextToken.');
    where.push('seq < ?'); args.push(before);
  }
  const sql = `SELECT seq, record FROM trail_events ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY seq DESC LIMIT ?`;
  const rows = db.prepare(sql).all(...args, max + 1) as Row[];
  const page = rows.slice(0, max);
  const result: LookupResult = { Events: page.map((r) => toLookupEvent(JSON.parse(r.record) as TrailRecord)) };
  if (rows.length > max) result.NextToken = Buffer.from(String(page[page.length - 1]!.seq)).toString('base64url');
  return result;
}

function toLookupEvent(r: TrailRecord): LookupEvent {
  const id = r.userIdentity;
  const e: LookupEvent = {
    EventId: r.eventID,
    EventName: r.eventName,
    ReadOnly: String(r.readOnly ?? false),
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
