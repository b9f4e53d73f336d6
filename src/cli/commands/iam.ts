// `ebsim iam …` and `ebsim sts …`: the declared IAM and STS operations, with the AWS CLI's names
// and flags derived from the declarations.
import type { Argv } from 'yargs';
import { IAM_OPERATIONS, STS_OPERATIONS } from '../../iam/operations/index.js';
import { declaredCommands } from '../declared-commands.js';
import { IAM_PAGINATORS } from '../pagination.js';
import type { Runtime } from '../runtime.js';

export function iamCommand(y: Argv, rt: () => Runtime) {
  return y.command('iam', 'IAM users, roles, access keys and policies', (c) =>
    declaredCommands(c, IAM_OPERATIONS, rt, (r, operation, params) => decodePolicyDocuments(r.open().iam.call(r.caller(), operation, params)), { service: 'iam', paginators: IAM_PAGINATORS }).demandCommand(
      1,
      'Name an iam command (see --help)',
    ),
  );
}

export function stsCommand(y: Argv, rt: () => Runtime) {
  return y.command('sts', 'STS: assumed-role sessions and identity', (c) =>
    declaredCommands(c, STS_OPERATIONS, rt, (r, operation, params) => r.open().iam.callSts(r.caller(), operation, params), { service: 'sts' }).demandCommand(1, 'Name an sts command (see --help)'),
  );
}

/** The members of IAM's responses whose shape is policyDocumentType (URL-encoded JSON on the wire). */
const POLICY_DOCUMENT_MEMBERS = new Set(['PolicyDocument', 'Document', 'AssumeRolePolicyDocument']);

/**
 * IAM's API returns policy documents URL-encoded (RFC 3986); the AWS CLI prints them decoded, as
 * JSON objects (botocore's json_decode_policies handler). So does `ebsim iam`, so that
 * `ebsim iam get-user-policy` prints what `aws iam get-user-policy` prints. The decoded objects come
 * from JSON.parse: a key such as "__proto__" is an own key, printed as given.
 */
export function decodePolicyDocuments(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodePolicyDocuments);
  if (!value || typeof value !== 'object' || value instanceof Uint8Array || value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    let d = v;
    if (POLICY_DOCUMENT_MEMBERS.has(k) && typeof v === 'string') {
      try {
        d = JSON.parse(decodeURIComponent(v)) as unknown;
      } catch {
        d = v; // not a document IAM stored: printed as it is
      }
    } else {
      d = decodePolicyDocuments(v);
    }
    Object.defineProperty(out, k, { value: d, enumerable: true, writable: true, configurable: true });
  }
  return out;
}
