// Requests and named policies for the policy tests: a user or a session, in the key's account or
// another, with the condition keys a call would carry.
import { parsePolicy } from '../../src/policy/index.js';
import type { ConditionValue, NamedPolicy, PolicyKind, RequestContext } from '../../src/policy/index.js';

export const ACCT = '111122223333';
export const OTHER = '444455556666';
export const REGION = 'us-west-2';
export const KEY_ARN = `arn:aws:kms:${REGION}:${ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

export type Caller = RequestContext['principal'];

export const user = (name: string, account = ACCT): Caller => ({ arn: `arn:aws:iam::${account}:user/${name}`, accountId: account });
export const session = (role: string, name: string, account = ACCT): Caller => ({
  arn: `arn:aws:sts::${account}:assumed-role/${role}/${name}`,
  accountId: account,
  roleArn: `arn:aws:iam::${account}:role/${role}`,
});

export function request(action: string, principal: Caller, keys: Record<string, ConditionValue> = {}, resource = KEY_ARN, resourceAccount = ACCT): RequestContext {
  return {
    action,
    resource,
    resourceAccount,
    principal,
    keys: new Map<string, ConditionValue>([['kms:CallerAccount', principal.accountId], ['aws:PrincipalAccount', principal.accountId], ...Object.entries(keys)]),
  };
}

const TYPE: Record<PolicyKind, NamedPolicy['type']> = { key: 'resource-based', trust: 'resource-based', identity: 'identity-based', session: 'session' };

export function named(name: string, kind: PolicyKind, doc: unknown): NamedPolicy {
  return { name, type: TYPE[kind], document: parsePolicy(typeof doc === 'string' ? doc : JSON.stringify(doc), kind) };
}
