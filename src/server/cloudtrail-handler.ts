// `X-Amz-Target: com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents` over the
// stored trail. The wire shape is checked here (lookupEvents takes typed input); the lookup
// itself is recorded as CloudTrail records it: a read-only management event.
import type { Ebsim } from '../app/ebsim.js';
import type { CallContext } from '../core/call-context.js';
import { ValidationException, validationError } from '../errors/index.js';
import { lookupEvents, type LookupAttribute, type LookupQuery } from '../trail/lookup.js';
import { buildRecord } from '../trail/record.js';
import { decodeBody } from './json-protocol.js';
import { unknownOperation } from './errors.js';

export const CLOUDTRAIL_TARGET_PREFIX = 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.';
/** The SDK for JavaScript v3 sends the short form of the same target. */
export const CLOUDTRAIL_SHORT_PREFIX = 'CloudTrail_20131101.';
const MEMBERS = ['LookupAttributes', 'StartTime', 'EndTime', 'EventCategory', 'MaxResults', 'NextToken'];

export function handleCloudTrail(app: Ebsim, ctx: CallContext, operation: string, body: Uint8Array): Record<string, unknown> {
  if (operation !== 'LookupEvents') throw unknownOperation(`Operation ${operation} is not supported by ebsim's CloudTrail.`);
  const params = decodeBody(body);
  const query = lookupQuery(params);
  const call = { eventSource: 'cloudtrail.amazonaws.com', eventName: 'LookupEvents', readOnly: true, requestParameters: requestParameters(params) };
  try {
    const result = lookupEvents(app.db, query);
    app.trail.append(buildRecord(ctx, { ...call, responseElements: null }), false);
    return result as unknown as Record<string, unknown>;
  } catch (err) {
    const e = err as { code?: string; message: string };
    app.trail.append(buildRecord(ctx, { ...call, responseElements: null, error: { code: e.code ?? 'InternalFailure', message: e.message } }), true);
    throw err;
  }
}

function lookupQuery(p: Record<string, unknown>): LookupQuery {
  for (const k of Object.keys(p)) {
    if (!MEMBERS.includes(k)) throw new ValidationException(`Unknown parameter '${k}'. Valid parameters are: ${MEMBERS.join(', ')}.`);
  }
  const q: LookupQuery = {};
  if (p.LookupAttributes != null) {
    const list = p.LookupAttributes;
    if (!Array.isArray(list)) throw new ValidationException("1 validation error detected: Value at 'lookupAttributes' failed to satisfy constraint: Member must be a list");
    q.LookupAttributes = list.map((a, i): LookupAttribute => {
      const field = `lookupAttributes.${i + 1}.member`;
      if (a === null || typeof a !== 'object' || Array.isArray(a)) throw new ValidationException(`1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must be a structure`);
      const { AttributeKey, AttributeValue } = a as Record<string, unknown>;
      if (typeof AttributeKey !== 'string') throw validationError(String(AttributeKey ?? 'null'), `${field}.attributeKey`, 'Member must not be null and must be a string');
      if (typeof AttributeValue !== 'string') throw validationError(String(AttributeValue ?? 'null'), `${field}.attributeValue`, 'Member must not be null and must be a string');
      if (AttributeValue.length < 1 || AttributeValue.length > 2000) throw validationError(AttributeValue, `${field}.attributeValue`, 'Member must have length between 1 and 2000');
      return { AttributeKey: AttributeKey as LookupAttribute['AttributeKey'], AttributeValue };
    });
  }
  q.StartTime = time(p, 'StartTime');
  q.EndTime = time(p, 'EndTime');
  if (p.EventCategory != null && p.EventCategory !== 'insight') {
    throw validationError(String(p.EventCategory), 'eventCategory', 'Member must satisfy enum value set: [insight]');
  }
  if (p.MaxResults != null) {
    if (typeof p.MaxResults !== 'number' || !Number.isInteger(p.MaxResults)) throw new ValidationException(`1 validation error detected: Value '${String(p.MaxResults)}' at 'maxResults' failed to satisfy constraint: Member must be an integer`);
    q.MaxResults = p.MaxResults;
  }
  if (p.NextToken != null) {
    if (typeof p.NextToken !== 'string') throw new ValidationException("1 validation error detected: Value at 'nextToken' failed to satisfy constraint: Member must be a string");
    q.NextToken = p.NextToken;
  }
  return q;
}

/** JSON 1.1 timestamps are epoch seconds; an ISO 8601 string is accepted too, as AWS's parsers do. */
function time(p: Record<string, unknown>, name: string): Date | undefined {
  const v = p[name];
  if (v == null) return undefined;
  const d = typeof v === 'number' ? new Date(v * 1000) : typeof v === 'string' ? new Date(v) : undefined;
  if (!d || Number.isNaN(d.getTime())) {
    throw new ValidationException(`1 validation error detected: Value '${String(v)}' at '${name[0]!.toLowerCase()}${name.slice(1)}' failed to satisfy constraint: Member must be a timestamp`);
  }
  return d;
}

function requestParameters(p: Record<string, unknown>): Record<string, unknown> | null {
  const out: Record<string, unknown> = {};
  for (const k of MEMBERS) if (p[k] != null) out[k[0]!.toLowerCase() + k.slice(1)] = p[k];
  return Object.keys(out).length ? out : null;
}
