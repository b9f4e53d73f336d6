// The one guard every operation on a key goes through: resolve (NotFoundException),
// authorize (AccessDeniedException), then the key state (DisabledException, KMSInvalidStateException).
import type { CallContext } from '../iam/principal.js';
import { authorize, type AuthorizeRequest } from './authorize.js';
import { assertStateAllows } from './key-state.js';
import type { KmsKey } from './keys.js';
import type { CallState, KmsEnv } from './operation.js';

export interface KeyUse extends AuthorizeRequest {
  /** The KMS action checked against policy and grants (ReEncrypt checks ReEncryptFrom/ReEncryptTo). */
  action: string;
  /** The operation name used for the key-state table. */
  operation: string;
  allowAlias?: boolean;
}

export function usableKey(env: KmsEnv, ctx: CallContext, keyIdParam: string, use: KeyUse, state: CallState): KmsKey {
  const key = env.keys.resolve(keyIdParam, use.allowAlias ?? true);
  return checkKey(env, ctx, key, use, state);
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
