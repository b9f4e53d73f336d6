// The one recorder: every AWS call and every service event reaches the trail through here, with
// requestParameters redacted by the operation's declaration (secret members and blobs are
// never logged) and written durably unless the call was read-only and succeeded.
import type { CallContext } from '../core/call-context.js';
import { buildRecord, buildServiceEventRecord, type ServiceEventDescription, type TrailRecord, type TrailResource } from '../trail/record.js';
import type { Trail } from '../trail/trail.js';
import { memberName, timestampOf, type Member, type Members } from './members.js';

export interface RecordedCall {
  eventSource: string;
  eventName: string;
  requestParameters: unknown;
  responseElements?: unknown;
  additionalEventData?: Record<string, unknown>;
  /** Omitted from the record when undefined (EC2's records carry no readOnly, as in the seed). */
  readOnly?: boolean;
  resources?: TrailResource[];
  error?: { code: string; message: string };
  /** The resource owner's account, when it is not the caller's (see buildRecord). */
  recipientAccountId?: string;
  /** Commit before returning; by default every record but a successful read-only call's. */
  durable?: boolean;
}

export class Recorder {
  constructor(private readonly trail: Trail) {}

  /** Records one API call made by `ctx`, successful or failed; returns the record (its eventID and requestID). */
  call(ctx: CallContext, call: RecordedCall): TrailRecord {
    const durable = call.durable ?? (call.error !== undefined || call.readOnly !== true);
    const record = buildRecord(ctx, call);
    this.trail.append(record, durable);
    return record;
  }

  /** Records something the service did by itself (AwsServiceEvent). Always durable: it changed state. */
  serviceEvent(event: ServiceEventDescription): void {
    this.trail.append(buildServiceEventRecord(event), true);
  }
}

/**
 * CloudTrail's requestParameters for a request: camelCase member names (map keys keep the
 * caller's spelling), without secret members or blobs. A member the operation does not declare
 * is redacted as `others` (the service's other operations) declare it, else recorded as sent: a
 * refused unknown member shows in the failed call's record, a misplaced secret does not. null
 * when nothing is left, as AWS records a call without parameters.
 */
export function requestParametersOf(params: Record<string, unknown>, members: Members, others: Members = {}): Record<string, unknown> | null {
  // No prototype: an unknown "__proto__" parameter is recorded as sent, not swallowed.
  const out = Object.create(null) as Record<string, unknown>;
  for (const k of Object.keys(params)) {
    const v = params[k];
    if (v === undefined) continue;
    const m = Object.prototype.hasOwnProperty.call(members, k) ? members[k] : Object.prototype.hasOwnProperty.call(others, k) ? others[k] : undefined;
    if (m?.secret || v instanceof Uint8Array) continue;
    out[memberName(k)] = m ? logged(m, v) : v;
  }
  return Object.keys(out).length ? out : null;
}

function logged(m: Member, v: unknown): unknown {
  if (m.kind === 'timestamp') return loggedTime(v);
  if (v === null || typeof v !== 'object') return v;
  if (m.kind === 'structure' && !Array.isArray(v)) {
    const out = Object.create(null) as Record<string, unknown>;
    for (const k of Object.keys(v)) {
      const x = (v as Record<string, unknown>)[k];
      const sub = Object.prototype.hasOwnProperty.call(m.members, k) ? m.members[k] : undefined;
      if (x === undefined || sub?.secret || x instanceof Uint8Array) continue;
      out[memberName(k)] = sub ? logged(sub, x) : x;
    }
    return out;
  }
  if (m.kind === 'list' && Array.isArray(v)) return v.map((x) => logged(m.member, x));
  return v;
}

const LOGGED_TIME = new Intl.DateTimeFormat('en-US', {
  timeZone: 'UTC', month: 'short', day: 'numeric', year: 'numeric', hour: 'numeric', minute: '2-digit', second: '2-digit', hour12: true,
});

/**
 * A timestamp as AWS's Java front end logs it ("May 21, 2025, 5:47:45 AM", UTC: the KMS Developer
 * Guide's ImportKeyMaterial record); a value that names no time is logged as sent.
 */
function loggedTime(v: unknown): unknown {
  const d = timestampOf(v);
  return d ? LOGGED_TIME.format(d).replace(/\u202f/g, ' ') : v;
}
