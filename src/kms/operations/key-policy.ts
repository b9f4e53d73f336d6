// GetKeyPolicy, PutKeyPolicy and ListKeyPolicies: a key's one policy, named "default", stored
// exactly as given. A key whose policy was never given has the default for its kind.
// https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html
import type { CallContext } from '../../core/call-context.js';
import { NotFoundException } from '../../errors/index.js';
import { lockoutCheck } from '../authorize.js';
import { DEFAULT_POLICY_NAME, checkKeyPolicy, type PolicyTarget } from '../key-policy.js';
import type { KmsKey } from '../keys.js';
import { kmsOperation, type KmsCall, type KmsEnv } from '../operation.js';
import { paginate } from '../paginate.js';
import { usableKey } from '../usable-key.js';
import { customerManagedKey } from './managed-key.js';
import { BYPASS_LOCKOUT_CHECK, KEY_ID_OR_ARN, LIMIT, MARKER, POLICY, POLICY_NAME } from './members.js';

/**
 * The key-state table of the KMS Developer Guide (key-state.html) has GetKeyPolicy,
 * ListKeyPolicies and PutKeyPolicy succeed in every state, PendingDeletion included.
 */
const keyStates = ['Enabled', 'Disabled', 'PendingDeletion', 'PendingImport'] as const;

/**
 * AWS has one key policy per key, "default"; any other name names nothing: NotFoundException, in
 * ebsim's words, since AWS does not document its answer (local-kms answers ValidationException
 * "PolicyName must be default"; which one AWS gives is unverified).
 */
function policyNamed(name: string | undefined, key: KmsKey): string {
  const n = name ?? DEFAULT_POLICY_NAME;
  if (n !== DEFAULT_POLICY_NAME) throw new NotFoundException(`Key policy ${n} is not found for ${key.arn}. The only key policy name is default.`);
  return n;
}

/** The policy text of a key (as stored, else its default). */
export function keyPolicyText(call: KmsCall, key: KmsKey): string {
  const { keys, policies } = call.env;
  return policies.text(key, () => keys.aliasNamesOf(key.keyId));
}

/**
 * The check every new policy goes through (CreateKey, PutKeyPolicy): the document itself, then,
 * unless the caller bypasses it, that the caller could still change it afterwards.
 */
export function acceptPolicy(env: KmsEnv, ctx: CallContext, key: PolicyTarget, text: string, bypassLockoutCheck: boolean | undefined): void {
  checkKeyPolicy(text);
  if (!bypassLockoutCheck) lockoutCheck(env, ctx, key, text);
}

export const GetKeyPolicy = kmsOperation({
  name: 'GetKeyPolicy',
  description: "Show a key's key policy",
  readOnly: true,
  ext: { keyStates, grantable: false },
  input: { KeyId: KEY_ID_OR_ARN, PolicyName: POLICY_NAME },
  run(ctx, input, call) {
    const key = usableKey(ctx, call, input.KeyId);
    const name = policyNamed(input.PolicyName, key);
    return {
      response: { Policy: keyPolicyText(call, key), PolicyName: name },
      // As the KMS Developer Guide's GetKeyPolicy record: the name asked for, defaulted.
      requestParameters: { keyId: input.KeyId, policyName: name },
    };
  },
});

export const PutKeyPolicy = kmsOperation({
  name: 'PutKeyPolicy',
  description: "Replace a key's key policy",
  readOnly: false,
  ext: { keyStates, grantable: false },
  input: { KeyId: KEY_ID_OR_ARN, PolicyName: POLICY_NAME, Policy: { ...POLICY, required: true }, BypassPolicyLockoutSafetyCheck: BYPASS_LOCKOUT_CHECK },
  run(ctx, input, call) {
    // An AWS managed key's policy allows no one kms:PutKeyPolicy: AccessDeniedException.
    const key = customerManagedKey(ctx, call, input.KeyId, { bypassPolicyLockoutSafetyCheck: input.BypassPolicyLockoutSafetyCheck });
    const name = policyNamed(input.PolicyName, key);
    acceptPolicy(call.env, ctx, key, input.Policy, input.BypassPolicyLockoutSafetyCheck);
    call.env.policies.put(key.keyId, input.Policy);
    return {
      response: {},
      // The shape of the KMS Developer Guide's PutKeyPolicy record: every parameter, defaults filled in.
      requestParameters: { keyId: input.KeyId, policyName: name, policy: input.Policy, bypassPolicyLockoutSafetyCheck: input.BypassPolicyLockoutSafetyCheck ?? false },
    };
  },
});

export const ListKeyPolicies = kmsOperation({
  name: 'ListKeyPolicies',
  description: 'List the names of a key\'s key policies (always "default")',
  readOnly: true,
  ext: { keyStates, grantable: false },
  input: { KeyId: KEY_ID_OR_ARN, Limit: LIMIT, Marker: MARKER },
  run(ctx, input, call) {
    usableKey(ctx, call, input.KeyId);
    const page = paginate([DEFAULT_POLICY_NAME], input);
    return { response: { PolicyNames: page.items, ...page.tail } };
  },
});
