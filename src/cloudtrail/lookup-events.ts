// LookupEvents: the trail's events, newest first, filtered by one attribute and a time window.
// As CloudTrail's event history, it holds the caller's account's events in the Region called
// (the Region of the CLI's --region, or of the request's credential scope). CloudTrail records
// the lookup itself as a read-only management event.
import { declareOperation } from '../api/index.js';
import { InvalidEventCategoryException, ValidationException } from '../errors/index.js';
import type { Db } from '../store/database.js';
import { LOOKUP_ATTRIBUTE_KEYS, lookupEvents, type LookupQuery } from '../trail/lookup.js';

export interface CloudTrailEnv {
  db: Db;
}

/** JSON 1.1 timestamps are epoch seconds; an ISO 8601 string (the CLI's form) is accepted too, as AWS's parsers do. */
function timestamp(value: unknown, field: string): Date {
  const d =
    typeof value === 'number' ? new Date(value * 1000)
    : typeof value === 'string' ? (/^\d+(\.\d+)?$/.test(value) ? new Date(Number(value) * 1000) : new Date(value))
    : undefined;
  if (!d || Number.isNaN(d.getTime())) {
    throw new ValidationException(`1 validation error detected: Value '${String(value)}' at '${field}' failed to satisfy constraint: Member must be a timestamp`);
  }
  return d;
}

export const lookupEventsOperation = declareOperation<CloudTrailEnv, undefined>({
  name: 'LookupEvents',
  description: 'Look up events, newest first (the shape of `aws cloudtrail lookup-events`)',
  readOnly: true,
  input: {
    LookupAttributes: {
      kind: 'list',
      doc: 'AttributeKey=EventName,AttributeValue=Decrypt',
      member: {
        kind: 'structure',
        members: {
          AttributeKey: { kind: 'string', required: true, enum: LOOKUP_ATTRIBUTE_KEYS },
          AttributeValue: { kind: 'string', required: true, min: 1, max: 2000 },
        },
      },
    },
    StartTime: { kind: 'string', check: timestamp, doc: 'ISO 8601 time, or seconds since the epoch' },
    EndTime: { kind: 'string', check: timestamp, doc: 'ISO 8601 time, or seconds since the epoch' },
    // Its own error, as for the other LookupEvents members (the API reference's Errors section).
    EventCategory: {
      kind: 'string',
      doc: 'insight (ebsim records no Insights events: none are returned)',
      check: (v: unknown) => {
        if (v !== 'insight') throw new InvalidEventCategoryException(`Event category ${typeof v === 'string' ? v.slice(0, 100) : String(v)} is not valid. The only valid value is insight.`);
        return v;
      },
    },
    MaxResults: { kind: 'integer', doc: '1 to 50 (default 50)' },
    NextToken: { kind: 'string' },
  },
  ext: undefined,
  run(ctx, input, call) {
    const result = lookupEvents(call.env.db, input as LookupQuery, { account: ctx.principal.accountId, region: ctx.region });
    return { response: result as unknown as Record<string, unknown>, responseElements: null };
  },
});
