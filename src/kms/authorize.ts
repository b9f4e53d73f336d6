// Who may do what with a key: the key policy, then grants. Enforced here, in the domain, so
// the CLI, the HTTP endpoint and EC2's internal calls all get the same answer.
//
// ebsim's model of the default key policies (see docs/known-differences.md):
// - customer managed key: "Enable IAM User Permissions" plus an identity policy allowing kms:*
//   for every IAM user of the account; roles and their sessions have no permissions of their own.
// - AWS managed key (alias/aws/ebs): IAM users of the account may use it only through the owning
//   service (kms:ViaService = ec2.REGION.amazonaws.com), and may read its metadata directly. Which
//   action is which is declared with each operation (its awsManagedKey).
import { AccessDeniedException } from '../errors/index.js';
import type { CallContext } from '../core/call-context.js';
import { kmsConditionKeys, type ConditionKeys, type KmsRequestFacts } from './condition-keys.js';
import { grantNarrows, grantPermits, granteeMatches, type Grant } from './grants.js';
import type { KmsKey } from './keys.js';
import type { KmsEnv, KmsFacts } from './operation.js';

/**
 * What an operation tells authorization about its request: the facts its condition keys are made
 * of (condition-keys.ts). Today's fixed rules read only `context` (grant constraints) and
 * `newGrant` (a grant created through a grant must not widen it); the rest is for the key policy
 * evaluation that replaces them (see conditionKeysFor).
 */
export type AuthorizeRequest = KmsRequestFacts;

export function policyAllows(facts: KmsFacts, ctx: CallContext, key: Pick<KmsKey, 'accountId' | 'region' | 'keyManager'>, action: string): boolean {
  const p = ctx.principal;
  if (p.accountId !== key.accountId || p.type !== 'IAMUser') return false;
  if (key.keyManager === 'CUSTOMER') return true;
  const access = facts.managedKeyAccess(action);
  return access === 'direct' || (access === 'viaService' && ctx.viaService === `ec2.${key.region}.amazonaws.com`);
}

/** Throws AccessDeniedException unless the key policy or a live grant allows `action`. Returns the grant used, if any. */
export function authorize(env: KmsEnv, ctx: CallContext, key: KmsKey, action: string, req: AuthorizeRequest = {}): Grant | undefined {
  if (policyAllows(env.facts, ctx, key, action)) return undefined;
  if (!env.facts.grantable(action)) throw accessDenied(ctx, key, action);
  const context = req.context ?? {};
  const grant = env.grants
    .live(key.keyId)
    .find((g) => granteeMatches(g.granteePrincipal, ctx.principal) && grantPermits(g, action, context) && (!req.newGrant || grantNarrows(g, req.newGrant)));
  if (grant) return grant;
  throw accessDenied(ctx, key, action);
}

/**
 * The kms: condition keys of a request on `key` (for the policy engine's RequestContext.keys), with
 * the key's aliases from the store for kms:ResourceAliases.
 */
export function conditionKeysFor(env: KmsEnv, ctx: CallContext, key: KmsKey | undefined, action: string, req: AuthorizeRequest = {}): ConditionKeys {
  const resourceAliases = key ? env.keys.aliasNamesOf(key.keyId) : undefined;
  return kmsConditionKeys(ctx, key, action, { ...req, resourceAliases });
}

/**
 * Actions on no particular key (CreateKey, ListKeys, ListAliases without a KeyId,
 * ListRetirableGrants, GenerateRandom): AWS allows them only by an identity (IAM) policy on
 * resource "*". In ebsim's model IAM users of the account have kms:*, roles and their sessions
 * have no policy of their own, so they are refused whatever they ask about.
 */
export function authorizeAccountAction(ctx: CallContext, accountId: string, action: string, req: AuthorizeRequest = {}): void {
  // `req` (CreateKey's KeySpec, BypassPolicyLockoutSafetyCheck…) is for identity-policy conditions; the fixed rule reads none of it.
  void req;
  const p = ctx.principal;
  if (p.type === 'IAMUser' && p.accountId === accountId) return;
  throw new AccessDeniedException(`User: ${p.arn} is not authorized to perform: kms:${action} on resource: * because no identity-based policy allows the kms:${action} action`);
}

export function accessDenied(ctx: CallContext, key: Pick<KmsKey, 'arn'>, action: string) {
  return new AccessDeniedException(
    `User: ${ctx.principal.arn} is not authorized to perform: kms:${action} on resource: ${key.arn} because no resource-based policy allows the kms:${action} action`,
  );
}
