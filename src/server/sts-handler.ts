// STS over the query protocol: every declared STS operation (AssumeRole, GetCallerIdentity…),
// decoded from the form by its members and answered in XML. Each call goes through STS's one
// invoke path, so it is validated and recorded like the same call from the CLI.
import type { Ebsim } from '../app/ebsim.js';
import type { CallContext } from '../core/call-context.js';
import { STS_SERVICE } from '../iam/index.js';
import { decodeQueryParams, encodeQueryError, encodeQueryResponse } from './query-protocol.js';
import { WireError } from './errors.js';

export const STS_CONTENT_TYPE = 'text/xml';
const NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const OPERATIONS = new Map(STS_SERVICE.operations.map((op) => [op.name, op]));

export function isQueryRequest(contentType: string | undefined): boolean {
  return (contentType ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
}

export function handleSts(app: Ebsim, ctx: CallContext, body: Uint8Array, requestId: string): string {
  const form = new URLSearchParams(Buffer.from(body).toString('utf8'));
  const action = form.get('Action') ?? '';
  const op = OPERATIONS.get(action);
  if (!op) throw new WireError('InvalidAction', `Could not find operation ${action.slice(0, 100)} for version ${form.get('Version') ?? 'NO_VERSION_SPECIFIED'}`);
  const result = app.iam.callSts(ctx, action, decodeQueryParams(form, op.input));
  return encodeQueryResponse(NS, action, result, requestId);
}

/** The query protocol's error document. */
export function stsError(err: unknown, requestId: string): { status: number; code: string; body: string } {
  return encodeQueryError(NS, err, requestId);
}
