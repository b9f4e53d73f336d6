// The Principal / NotPrincipal element of a resource policy (key policy, role trust policy):
// what may be written (IAM User Guide, "AWS JSON policy elements: Principal") and whom it names.
import { PolicySyntaxError } from './errors.js';
import type { PolicyKind, PrincipalBlock, RequestContext } from './types.js';

export const PRINCIPAL_TYPES = ['AWS', 'Service', 'Federated', 'CanonicalUser'] as const;

const ACCOUNT = /^\d{12}$/;
const ROOT = /^arn:aws:iam::(\d{12}):root$/;
// user/role ARNs may have a path: arn:aws:iam::111122223333:role/path/Name
const IAM_ENTITY = /^arn:aws:iam::\d{12}:(user|role)\/[\w+=,.@/-]+$/;
const SESSION = /^arn:aws:sts::\d{12}:assumed-role\/[\w+=,.@-]+\/[\w+=,.@-]+$/;
// A principal that was deleted is shown by its unique ID (AIDA… user, AROA… role).
const UNIQUE_ID = /^A(IDA|ROA)[A-Z0-9]{12,}$/;
const SERVICE = /^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?$/;

/** Is `value` a valid principal of `type`? Wildcards are allowed only as the whole value "*". */
export function validPrincipal(type: string, value: string): boolean {
  switch (type) {
    case 'AWS':
      return value === '*' || ACCOUNT.test(value) || ROOT.test(value) || IAM_ENTITY.test(value) || SESSION.test(value) || UNIQUE_ID.test(value);
    case 'Service':
      return SERVICE.test(value);
    case 'Federated':
      return value.length > 0 && !/[*?\s]/.test(value);
    case 'CanonicalUser':
      return /^[0-9a-f]{64}$/.test(value);
    default:
      return false;
  }
}

/** The AWS error for an invalid principal: KMS and IAM word it differently. */
export function invalidPrincipal(kind: PolicyKind, type: string, value: string): PolicySyntaxError {
  const detail = `invalid principal ${JSON.stringify(type)}: ${JSON.stringify(value)}`;
  return kind === 'key'
    ? new PolicySyntaxError('Policy contains a statement with one or more invalid principals.', detail)
    : new PolicySyntaxError(`Invalid principal in policy: ${JSON.stringify(type)}:${JSON.stringify(value)}`, detail);
}

/** How a statement's principal names the caller: the caller itself (or its role, or anyone), its account, or not at all. */
export type PrincipalMatch = 'principal' | 'account' | undefined;

export interface CompiledPrincipal {
  readonly anyone: boolean;
  readonly aws: ReadonlySet<string>;
  /** Account IDs named as "ACCT" or "arn:aws:iam::ACCT:root". */
  readonly accounts: ReadonlySet<string>;
  readonly services: ReadonlySet<string>;
  readonly block: PrincipalBlock;
}

export function compilePrincipal(block: PrincipalBlock): CompiledPrincipal {
  const aws = new Set<string>();
  const accounts = new Set<string>();
  const services = new Set<string>();
  let anyone = block === '*';
  if (block !== '*') {
    for (const v of block.get('AWS') ?? []) {
      if (v === '*') anyone = true;
      else if (ACCOUNT.test(v)) accounts.add(v);
      else {
        const root = ROOT.exec(v);
        if (root) accounts.add(root[1]!);
        else aws.add(v);
      }
    }
    for (const v of block.get('Service') ?? []) services.add(v);
  }
  return { anyone, aws, accounts, services, block };
}

/** Whom the block names, for this caller: itself (its ARN, its role's ARN, its service, or "*") before its account. */
export function matchPrincipal(p: CompiledPrincipal, caller: RequestContext['principal']): PrincipalMatch {
  if (p.anyone) return 'principal';
  if (p.aws.has(caller.arn) || (caller.roleArn !== undefined && p.aws.has(caller.roleArn))) return 'principal';
  if (caller.service !== undefined && p.services.has(caller.service)) return 'principal';
  if (p.accounts.has(caller.accountId)) return 'account';
  return undefined;
}

/**
 * Does a NotPrincipal block exclude the caller (the statement then does not apply to it)? In a
 * Deny, AWS checks the caller's account, then its role, then the caller itself, and denies at any
 * level not listed (IAM User Guide, "NotPrincipal": "you must also specify the account ARN of the
 * not-denied principal"): excluded are the caller named with its account, a session only with its
 * role and its account named too, a service named, or everyone ("*"). In an Allow (which AWS no
 * longer supports), any one of them listed excludes: the statement then allows less, not more.
 */
export function notPrincipalExcludes(p: CompiledPrincipal, caller: RequestContext['principal'], deny: boolean): boolean {
  if (!deny) return matchPrincipal(p, caller) !== undefined;
  if (p.anyone) return true;
  if (caller.service !== undefined) return p.services.has(caller.service);
  if (!p.accounts.has(caller.accountId)) return false;
  // A session is checked at each level: its role and the session itself must both be listed (the
  // guide's example names the session, the role and the account).
  if (caller.roleArn !== undefined) return p.aws.has(caller.roleArn) && p.aws.has(caller.arn);
  return p.aws.has(caller.arn);
}

/** The block as written, for explanations: `AWS arn:…, Service ec2.amazonaws.com` or `"*"`. */
export function describePrincipal(block: PrincipalBlock): string {
  if (block === '*') return '"*" (anyone)';
  return [...block].map(([type, values]) => `${type} ${values.join(', ')}`).join('; ');
}
