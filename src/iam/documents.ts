// Policy documents as IAM takes them: text, checked once on the way in (JSON syntax, the
// top-level shape in IAM's words, then the policy domain's grammar, and IAM's size quotas),
// stored and returned as sent.
import { LimitExceeded, MalformedPolicyDocument } from '../errors/index.js';
import { PolicySyntaxError, parsedPolicy } from '../policy/index.js';

export type DocumentKind = 'identity' | 'trust';

const TOP_LEVEL = new Set(['Version', 'Id', 'Statement']);
const STATEMENT = new Set(['Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition']);
const own = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Throws MalformedPolicyDocument, in IAM's words, unless `text` is a policy document of `kind`:
 * a JSON object with Version (2012-10-17 or 2008-10-17), optional Id, and Statement (one statement
 * or a list), each statement with an Effect, actions, and — for an identity policy — resources
 * and no principal, or — for a trust policy — a principal and no resources.
 * Precondition: the text is at most the declared member maximum (131072), checked by the declaration.
 */
export function checkPolicyDocument(text: string, kind: DocumentKind): void {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new MalformedPolicyDocument('Syntax errors in policy.');
  }
  if (!isObject(doc)) throw new MalformedPolicyDocument('Syntax errors in policy.');
  for (const k of Object.keys(doc)) if (!TOP_LEVEL.has(k)) throw new MalformedPolicyDocument('Syntax errors in policy.');
  if (own(doc, 'Version') && doc.Version !== '2012-10-17' && doc.Version !== '2008-10-17') {
    throw new MalformedPolicyDocument('The policy failed legacy parsing');
  }
  if (!own(doc, 'Statement')) throw new MalformedPolicyDocument('Missing required field Statement');
  const statements = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  for (const s of statements) checkStatement(s, kind);
  try {
    parsedPolicy(text, kind);
  } catch (err) {
    if (err instanceof PolicySyntaxError) throw new MalformedPolicyDocument(err.message);
    throw err;
  }
}

function checkStatement(s: unknown, kind: DocumentKind): void {
  if (!isObject(s)) throw new MalformedPolicyDocument('Syntax errors in policy.');
  for (const k of Object.keys(s)) if (!STATEMENT.has(k)) throw new MalformedPolicyDocument('Syntax errors in policy.');
  if (!own(s, 'Effect')) throw new MalformedPolicyDocument('Missing required field Effect');
  if (s.Effect !== 'Allow' && s.Effect !== 'Deny') throw new MalformedPolicyDocument(`Invalid effect: ${String(s.Effect)}`);
  if (!own(s, 'Action') && !own(s, 'NotAction')) throw new MalformedPolicyDocument('Policy statement must contain actions.');
  if (kind === 'identity') {
    if (own(s, 'Principal') || own(s, 'NotPrincipal')) throw new MalformedPolicyDocument('Policy document should not specify a principal.');
    if (!own(s, 'Resource') && !own(s, 'NotResource')) throw new MalformedPolicyDocument('Policy statement must contain resources.');
  } else {
    if (!own(s, 'Principal') && !own(s, 'NotPrincipal')) throw new MalformedPolicyDocument('Missing required field Principal');
    if (own(s, 'Resource') || own(s, 'NotResource')) throw new MalformedPolicyDocument('Has prohibited field Resource');
  }
}

/** IAM counts a policy's size in characters other than white space ("IAM and AWS STS quotas"). */
export function policySize(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) n++;
  }
  return n;
}

/** IAM's quotas on documents, in characters without white space. */
export const QUOTAS = {
  managedPolicySize: 6144,
  trustPolicySize: 2048,
  /** The sum of a user's inline policies. */
  userInlineSize: 2048,
  /** The sum of a role's inline policies. */
  roleInlineSize: 10240,
  versionsPerPolicy: 5,
  attachmentsPerPrincipal: 10,
  /** STS: the plain text of a session policy, white space included. */
  sessionPolicySize: 2048,
} as const;

export function checkManagedPolicySize(text: string): void {
  if (policySize(text) > QUOTAS.managedPolicySize) throw new LimitExceeded(`Cannot exceed quota for PolicySize: ${QUOTAS.managedPolicySize}`);
}

export function checkTrustPolicySize(text: string): void {
  if (policySize(text) > QUOTAS.trustPolicySize) throw new LimitExceeded(`Cannot exceed quota for ACLSizePerRole: ${QUOTAS.trustPolicySize}`);
}

/**
 * The trust policy a role gets when its creator names none (ebsim's typed createRole, and roles
 * made before trust policies were stored): its own account may assume it, which is what every
 * role of the account allowed before.
 */
export function accountRootTrustPolicy(accountId: string): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${accountId}:root` }, Action: 'sts:AssumeRole' }] });
}

/**
 * A document as the IAM API returns it: URL-encoded (RFC 3986), as GetUserPolicy, GetRolePolicy,
 * GetPolicyVersion and GetRole's AssumeRolePolicyDocument do. The AWS CLI decodes it back
 * (botocore's json_decode_policies), and so does `ebsim iam` (src/cli/commands/iam.ts).
 */
export function urlEncodeDocument(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
