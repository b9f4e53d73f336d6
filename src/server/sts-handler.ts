// STS over the query protocol (form-encoded `Action=…`, XML answers): GetCallerIdentity only,
// which is how tools check which credentials they are using. The call goes through STS's one
// invoke path, so it is recorded like the same call from the CLI.
import type { Ebsim } from '../app/ebsim.js';
import type { CallContext } from '../core/call-context.js';
import { AwsError } from '../errors/index.js';
import { WireError } from './errors.js';

export const STS_CONTENT_TYPE = 'text/xml';
const NS = 'https://sts.amazonaws.com/doc/2011-06-15/';

export function isQueryRequest(contentType: string | undefined): boolean {
  return (contentType ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
}

export function handleSts(app: Ebsim, ctx: CallContext, body: Uint8Array, requestId: string): string {
  const form = new URLSearchParams(Buffer.from(body).toString('utf8'));
  const action = form.get('Action') ?? '';
  if (action !== 'GetCallerIdentity') {
    throw new WireError('InvalidAction', `Could not find operation ${action} for version ${form.get('Version') ?? 'NO_VERSION_SPECIFIED'}`);
  }
  const identity = app.iam.getCallerIdentity(ctx);
  return (
    `<GetCallerIdentityResponse xmlns="${NS}">\n  <GetCallerIdentityResult>\n` +
    `    <Arn>${xml(identity.Arn)}</Arn>\n    <UserId>${xml(identity.UserId)}</UserId>\n    <Account>${xml(identity.Account)}</Account>\n` +
    `  </GetCallerIdentityResult>\n  <ResponseMetadata>\n    <RequestId>${requestId}</RequestId>\n  </ResponseMetadata>\n</GetCallerIdentityResponse>\n`
  );
}

// The query protocol names the authentication failures differently, and answers them with 403.
const QUERY_NAMES: Record<string, [string, number]> = {
  UnrecognizedClientException: ['InvalidClientTokenId', 403],
  InvalidSignatureException: ['SignatureDoesNotMatch', 403],
  MissingAuthenticationTokenException: ['MissingAuthenticationToken', 403],
  IncompleteSignatureException: ['IncompleteSignature', 400],
};

/** The query protocol's error document. */
export function stsError(err: unknown, requestId: string): { status: number; code: string; body: string } {
  const e = err instanceof AwsError ? err : undefined;
  const [code, status] = e ? (QUERY_NAMES[e.code] ?? [e.code, e.status]) : ['InternalFailure', 500];
  const message = e?.message ?? 'We encountered an internal error. Please try again.';
  const type = status >= 500 ? 'Receiver' : 'Sender';
  return {
    status,
    code,
    body: `<ErrorResponse xmlns="${NS}">\n  <Error>\n    <Type>${type}</Type>\n    <Code>${xml(code)}</Code>\n    <Message>${xml(message)}</Message>\n  </Error>\n  <RequestId>${requestId}</RequestId>\n</ErrorResponse>\n`,
  };
}

function xml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}
