// Who may do what with a key, decided as AWS KMS decides ("Determining access to an AWS KMS
// key"): the key policy, the caller's IAM identity (and session) policies, then grants. An explicit
// deny anywhere wins; the key policy must allow, directly or by delegating to the account's IAM
// policies (the account root principal). Enforced here, in the domain, so the CLI, the HTTP
// endpoint and EC2's internal calls all get the same answer.
import { AccessDeniedException } from '../errors/index.js';
import type { CallContext } from '../core/call-context.js';
import {
  accessDeniedMessage, callerOf, evaluateCall, explainCall, formatExplanation, globalConditionKeys, LazyConditionKeys, parsedPolicy, type ConditionValue, type Evaluation, type NamedPolicy, type RequestContext,
} from '../policy/index.js';
import { kmsConditionKeys, type KmsRequestFacts } from './condition-keys.js';
import { isMultiRegionKeyId } from './multi-region.js';
import { grantNarrows, grantPermits, granteeMatches, type Grant } from './grants.js';
import type { KmsKey } from './keys.js';
import type { KmsEnv } from './operation.js';
import { lockoutRefusal, type PolicyTarget } from './key-policy.js';
import { accountOfArn } from '../core/arn.js';

/** What an operation tells authorization about its request: the facts its condition keys are made of (condition-keys.ts). */
export type AuthorizeRequest = KmsRequestFacts;

/** The key a decision is about: a stored key, or an AWS managed key about to be created on first use. */
export type PolicyKey = Pick<KmsKey, 'keyId' | 'arn' | 'accountId' | 'region' | 'keyManager'> & { aliasNames?: readonly string[] };

/** The key's policy, parsed (once per text). */
export function keyPolicyOf(env: KmsEnv, key: PolicyKey): NamedPolicy {
  return env.policies.parsed(
    key,
    () => key.aliasNames ?? env.keys.aliasNamesOf(key.keyId),
    (text): NamedPolicy => ({ name: `key policy of ${key.arn}`, type: 'resource-based', document: parsedPolicy(text, 'key') }),
  );
}

/** The request the policies are evaluated against: its condition keys built lazily, group by group. */
export function requestFor(env: KmsEnv, ctx: CallContext, key: PolicyKey | undefined, action: string, req: AuthorizeRequest, accountId: string): RequestContext {
  const p = ctx.principal;
  return {
    action: `kms:${action}`,
    resource: key ? key.arn : '*',
    resourceAccount: key ? key.accountId : accountId,
    principal: callerOf(p),
    keys: new LazyConditionKeys([
      // Tags (ABAC): the key's own cost a store read (cached), so only for a policy that asks.
      // Before the generic aws: group, which would otherwise answer for them.
      { prefix: 'aws:resourcetag/', build: () => tagKeys('aws:ResourceTag/', key?.keyId ? env.tags.tagsOf(key.keyId) : undefined) },
      { prefix: 'aws:requesttag/', build: () => tagKeys('aws:RequestTag/', req.requestTags) },
      { prefix: 'aws:tagkeys', build: () => (req.tagKeys ? new Map([['aws:TagKeys', [...req.tagKeys]]]) : new Map()) },
      { prefix: 'aws:', build: () => globalConditionKeys(ctx) },
      // The two keys AWS managed key policies ask about, without building the rest (kept equal
      // to what kmsConditionKeys gives for them).
      { prefix: 'kms:viaservice', build: () => single('kms:ViaService', ctx.viaService) },
      { prefix: 'kms:calleraccount', build: () => single('kms:CallerAccount', key ? p.accountId : undefined) },
      // A key's aliases cost a store read: only for a policy that asks.
      { prefix: 'kms:resourcealiases', build: () => (key ? new Map([['kms:ResourceAliases', [...(key.aliasNames ?? env.keys.aliasNamesOf(key.keyId))]]]) : new Map()) },
      // A multi-Region key's type needs its set's primary Region (a store read): only when asked.
      { prefix: 'kms:multiregionkeytype', build: () => single('kms:MultiRegionKeyType', key && isMultiRegionKeyId(key.keyId) ? (env.keys.primaryRegionOf(key.keyId) ?? key.region) === key.region ? 'PRIMARY' : 'REPLICA' : undefined) },
      { prefix: 'kms:', build: () => kmsConditionKeys(ctx, key as KmsKey | undefined, action, req) },
    ]),
  };
}

/**
 * aws:ResourceTag/KEY or aws:RequestTag/KEY per tag. The engine compares condition key names
 * case-insensitively, tag keys included; KMS tag keys are case-sensitive, so two tags whose keys
 * differ only by case are one condition key to a policy (the later one, in tag key order, wins).
 */
function tagKeys(prefix: string, tags: ReadonlyMap<string, string> | undefined): Map<string, ConditionValue> {
  const out = new Map<string, ConditionValue>();
  for (const [k, v] of tags ?? []) out.set(prefix + k, v);
  return out;
}

function single(name: string, value: string | undefined): Map<string, ConditionValue> {
  return value === undefined ? new Map() : new Map([[name, value]]);
}

/** Evaluates the policies for one action on `key` (explained when the caller asked to see why). */
function decide(env: KmsEnv, ctx: CallContext, key: PolicyKey, action: string, req: AuthorizeRequest): { request: RequestContext; evaluation: Evaluation } {
  const request = requestFor(env, ctx, key, action, req, key.accountId);
  return { request, evaluation: evaluateCall(ctx, request, env.principals.policiesOf(ctx.principal), keyPolicyOf(env, key)) };
}

/** Throws AccessDeniedException unless the policies or a live grant allow `action` on `key`. Returns the grant used, if any. */
export function authorize(env: KmsEnv, ctx: CallContext, key: PolicyKey, action: string, req: AuthorizeRequest = {}): Grant | undefined {
  const { request, evaluation } = decide(env, ctx, key, action, req);
  if (evaluation.decision === 'Allow') {
    explainCall(ctx, request, true, () => formatExplanation(evaluation));
    return undefined;
  }
  // A grant allows what the policies do not, but never against an explicit deny.
  const grant = evaluation.decision === 'ImplicitDeny' && env.facts.grantable(action) ? grantFor(env, ctx, key, action, req) : undefined;
  explainCall(ctx, request, grant !== undefined, () => formatExplanation(evaluation) + '\n' + grantsExplained(env, ctx, key, action, req, grant));
  if (grant) return grant;
  throw new AccessDeniedException(accessDeniedMessage(ctx.principal.arn, request.action, key.arn, evaluation));
}

/** The first of the caller's live grants on the key (oldest first) that allows this request: read by (key, grantee), never all of the key's grants. */
function grantFor(env: KmsEnv, ctx: CallContext, key: PolicyKey, action: string, req: AuthorizeRequest): Grant | undefined {
  const context = req.context ?? {};
  return env.grants
    .forGrantee(key.keyId, ctx.principal)
    .find((g) => granteeMatches(g.granteePrincipal, ctx.principal) && grantPermits(g, action, context) && (!req.newGrant || grantNarrows(g, req.newGrant)));
}

function grantsExplained(env: KmsEnv, ctx: CallContext, key: PolicyKey, action: string, req: AuthorizeRequest, used: Grant | undefined): string {
  if (!env.facts.grantable(action)) return `Grants: kms:${action} is not a grant operation.`;
  const total = key.keyId ? env.grants.liveCount(key.keyId) : 0;
  if (total === 0) return 'Grants: the key has no live grants.';
  const context = req.context ?? {};
  // Only the caller's grants can allow the call: the others are counted, not listed (a key may have 50,000).
  const mine = env.grants.forGrantee(key.keyId, ctx.principal);
  const others = total - mine.length;
  const lines = mine.map((g) => {
    const why = !grantPermits(g, action, context)
      ? `operations ${g.operations.join(',')}${g.constraints ? ` with constraints ${JSON.stringify(g.constraints)}` : ''} do not allow kms:${action} with encryption context ${JSON.stringify(context)}`
      : req.newGrant && !grantNarrows(g, req.newGrant)
        ? 'the new grant would allow more than this one'
        : 'allows it';
    return `  ${g === used ? '✓' : '✗'} grant ${g.grantId.slice(0, 12)}…: ${why}`;
  });
  if (others > 0) lines.push(`  ✗ ${others} other live grant${others === 1 ? '' : 's'}: the grantee is not the caller`);
  return ['Grants:', ...lines].join('\n');
}


/**
 * Actions on no particular key (CreateKey, ListKeys, ListAliases without a KeyId,
 * ListRetirableGrants, GenerateRandom): AWS allows them only by an identity (IAM) policy on
 * resource "*".
 */
export function authorizeAccountAction(env: KmsEnv, ctx: CallContext, action: string, req: AuthorizeRequest = {}): void {
  const request = requestFor(env, ctx, undefined, action, req, env.keys.accountId);
  const evaluation = evaluateCall(ctx, request, env.principals.policiesOf(ctx.principal));
  const allowed = evaluation.decision === 'Allow';
  explainCall(ctx, request, allowed, () => formatExplanation(evaluation));
  if (!allowed) throw new AccessDeniedException(accessDeniedMessage(ctx.principal.arn, request.action, '*', evaluation));
}

/**
 * ListRetirableGrants, as its API reference says: kms:ListRetirableGrants in the caller's IAM
 * policies, evaluated on the retiring principal named ("The authorized resource in
 * ListRetirableGrants calls is the retiring principal specified in the request"), which must be of
 * the caller's account ("You must specify a principal in your AWS account"). Another account's
 * principal is a cross-account request that no resource policy allows: refused, whatever the
 * caller's IAM policies say, so no one reads the grants another account's principals may retire.
 */
export function authorizeListRetirable(env: KmsEnv, ctx: CallContext, retiringPrincipal: string): void {
  const owner = accountOfPrincipal(retiringPrincipal) ?? ctx.principal.accountId;
  const request = { ...requestFor(env, ctx, undefined, 'ListRetirableGrants', {}, owner), resource: retiringPrincipal };
  const evaluation = evaluateCall(ctx, request, env.principals.policiesOf(ctx.principal));
  const allowed = evaluation.decision === 'Allow';
  explainCall(ctx, request, allowed, () => formatExplanation(evaluation));
  if (!allowed) throw new AccessDeniedException(accessDeniedMessage(ctx.principal.arn, request.action, retiringPrincipal, evaluation));
}

/** The account a principal as KMS takes it names: an account ID, or an IAM or STS ARN's account; else undefined (a service principal). */
export function accountOfPrincipal(principal: string): string | undefined {
  if (/^\d{12}$/.test(principal)) return principal;
  return /^arn:aws:(?:iam|sts):/.test(principal) ? accountOfArn(principal) : undefined;
}

/**
 * Who may retire a grant, as the KMS guide's "Retiring and revoking grants" and the RetireGrant API
 * reference say: the grant decides, not the key policy (kms:RetireGrant "is not effective in a key
 * policy"). The grant's retiring principal; its grantee when RetireGrant is among its operations;
 * and, as a backup, the account the grant was created in and an account named as retiring principal,
 * each through those of its principals its IAM policies allow kms:RetireGrant ("delegate"). A Deny
 * on kms:RetireGrant in the caller's IAM policies wins over all of them. Throws
 * AccessDeniedException in AWS's words otherwise.
 */
export function authorizeRetire(env: KmsEnv, ctx: CallContext, key: PolicyKey, grant: Pick<Grant, 'granteePrincipal' | 'retiringPrincipal' | 'operations' | 'issuingAccount'>): void {
  const p = ctx.principal;
  // The caller's own identity policies, in the caller's account (where the delegation lives).
  const request = { ...requestFor(env, ctx, key, 'RetireGrant', {}, p.accountId), resourceAccount: p.accountId };
  const evaluation = evaluateCall(ctx, request, env.principals.policiesOf(p));
  const named = (grant.retiringPrincipal !== undefined && granteeMatches(grant.retiringPrincipal, p)) || (grant.operations.includes('RetireGrant') && granteeMatches(grant.granteePrincipal, p));
  const accounts = [accountOfRoot(grant.issuingAccount) ?? key.accountId, accountOfRoot(grant.retiringPrincipal)];
  const delegated = evaluation.decision === 'Allow' && accounts.includes(p.accountId);
  const byEc2 = ec2RetiresForTheAccount(ctx, key, grant);
  const allowed = byEc2 || (evaluation.decision !== 'ExplicitDeny' && (named || delegated));
  explainCall(ctx, request, allowed, () =>
    [
      byEc2
        ? `EC2 retires the grant within the caller's EC2 call, for the account its retiring principal names (${grant.retiringPrincipal}): the caller's kms:RetireGrant is not asked.`
        : `RetireGrant is decided by the grant: ${named ? 'the caller is named in it (retiring principal, or grantee allowed RetireGrant)' : 'the caller is neither its retiring principal nor a grantee allowed RetireGrant'}.`,
      `Delegation by account ${accounts.filter(Boolean).join(' or ')} (the caller's identity policies):`,
      formatExplanation(evaluation),
    ].join('\n'),
  );
  if (allowed) return;
  // Denied by IAM (explicitly, or no delegation in the grant's accounts) or from an account the grant does not name.
  const why: Evaluation = evaluation.decision === 'Allow' ? { ...evaluation, deniedBy: { kind: 'implicit', policyType: 'resource-based' } } : evaluation;
  throw new AccessDeniedException(accessDeniedMessage(p.arn, request.action, key.arn, why));
}

/**
 * EC2 retiring a grant while it carries out the caller's EC2 call (detach, stop, terminate, the end
 * of a copy), the grant naming as retiring principal the root of the key's account or of the caller's
 * (EBS's grants name the account EC2 acts for; a copy of a shared snapshot, the copier's).
 * On AWS, EBS retires its grants through its own retiring principal, whatever the caller's KMS
 * permissions: a user with only the KMS permissions AWS documents for EBS (no kms:RetireGrant) must
 * not leave a stopped instance's role able to decrypt. Only ebsim's EC2 makes calls via ec2, and it
 * retires only the grants it made.
 */
function ec2RetiresForTheAccount(ctx: CallContext, key: PolicyKey, grant: Pick<Grant, 'retiringPrincipal'>): boolean {
  const retiring = accountOfRoot(grant.retiringPrincipal);
  return ctx.viaService === `ec2.${ctx.region}.amazonaws.com` && retiring !== undefined && (retiring === key.accountId || retiring === ctx.principal.accountId);
}

/** The account ID of an account's root ARN (how grants name an account), else undefined. */
function accountOfRoot(arn: string | undefined): string | undefined {
  return arn === undefined ? undefined : /^arn:aws:iam::(\d{12}):root$/.exec(arn)?.[1];
}

/** A refusal that no policy decides: AWS managed keys accept no administrative action from anyone. */
export function accessDenied(ctx: CallContext, key: Pick<KmsKey, 'arn'>, action: string) {
  return new AccessDeniedException(
    `User: ${ctx.principal.arn} is not authorized to perform: kms:${action} on resource: ${key.arn} because no resource-based policy allows the kms:${action} action`,
  );
}

/**
 * AWS's lockout safety check: refuses (MalformedPolicyDocumentException) a new key policy under
 * which the caller could not call PutKeyPolicy on the key afterwards, evaluated as that call would
 * be: the new document as the key policy, with the caller's identity policies.
 */
export function lockoutCheck(env: KmsEnv, ctx: CallContext, key: PolicyTarget, text: string): void {
  const target = { ...key, keyManager: 'CUSTOMER' as const, aliasNames: [] };
  const request = requestFor(env, ctx, target, 'PutKeyPolicy', {}, key.accountId);
  const policy: NamedPolicy = { name: 'the new key policy', type: 'resource-based', document: parsedPolicy(text, 'key') };
  const evaluation = evaluateCall(ctx, request, env.principals.policiesOf(ctx.principal), policy);
  explainCall(ctx, request, evaluation.decision === 'Allow', () => 'Lockout safety check (kms:PutKeyPolicy under the new policy):\n' + formatExplanation(evaluation));
  if (evaluation.decision !== 'Allow') throw lockoutRefusal();
}
