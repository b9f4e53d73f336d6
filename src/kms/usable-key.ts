// The one guard every operation on a key goes through: resolve (NotFoundException),
// authorize (AccessDeniedException), then the key state (DisabledException, KMSInvalidStateException).
import type { CallContext } from '../core/call-context.js';
import { accessDenied, authorize, policyAllows, type AuthorizeRequest } from './authorize.js';
import { assertStateAllows } from './key-state.js';
import { aliasArnOf, type KmsKey } from './keys.js';
import type { CallState, KmsEnv } from './operation.js';

export interface KeyUse extends AuthorizeRequest {
  /** The KMS action checked against policy and grants (ReEncrypt checks ReEncryptFrom/ReEncryptTo). */
  action: string;
  /** The operation name used for the key-state table. */
  operation: string;
  allowAlias?: boolean;
}

export function usableKey(env: KmsEnv, ctx: CallContext, keyIdParam: string, use: KeyUse, state: CallState): KmsKey {
  const ref = env.keys.find(keyIdParam, use.allowAlias ?? true);
  const key = 'uncreatedAlias' in ref ? createOnFirstUse(env, ctx, ref.uncreatedAlias, use.action) : ref;
  return checkKey(env, ctx, key, use, state);
}

/**
 * AWS creates a managed key the first time it is used, but only for a call its policy allows:
 * a denied caller must not be able to create keys (and fill the store) by asking.
 * The key has no ARN yet, so a refusal names the alias.
 */
function createOnFirstUse(env: KmsEnv, ctx: CallContext, aliasName: string, action: string): KmsKey {
  const { accountId, region } = env.keys;
  const prospect = { accountId, region, keyManager: 'AWS' as const, arn: aliasArnOf(region, accountId, aliasName) };
  if (!policyAllows(ctx, prospect, action)) throw accessDenied(ctx, prospect, action);
  return env.keys.awsManagedKey(aliasName);
}

export function checkKey(env: KmsEnv, ctx: CallContext, key: KmsKey, use: KeyUse, state: CallState): KmsKey {
  state.keys.push(key);
  authorize(ctx, key, use.action, env.grants, use);
  assertStateAllows(key.keyState, use.operation, key.arn);
  return rotateIfDue(env, key);
}

/** Automatic rotation happens lazily, the first time a key is used after its rotation date. */
function rotateIfDue(env: KmsEnv, key: KmsKey): KmsKey {
  if (key.keyState !== 'Enabled' || !key.rotationEnabled || !key.nextRotationAt || key.nextRotationAt > new Date()) return key;
  env.keys.rotate(key, 'AUTOMATIC');
  return env.keys.get(key.keyId) ?? key;
}
