// The one guard every operation on a key goes through: resolve (NotFoundException),
// authorize (AccessDeniedException), then the key state its declaration allows
// (DisabledException, KMSInvalidStateException).
import type { CallContext } from '../core/call-context.js';
import { authorize, type AuthorizeRequest } from './authorize.js';
import { assertStateAllows } from './key-state.js';
import { InvalidKeyUsageException } from '../errors/index.js';
import type { KeyUsage } from './key-specs.js';
import { aliasArnOf, type KmsKey } from './keys.js';
import type { KmsCall } from './operation.js';

export interface KeyUse extends AuthorizeRequest {
  /** The KMS action checked against policy and grants (default: the operation; ReEncrypt checks ReEncryptFrom/ReEncryptTo). */
  action?: string;
  /** Default: what the operation's KeyId member declares (KEY_ID_OR_ARN refuses aliases). */
  allowAlias?: boolean;
}

export function usableKey(ctx: CallContext, call: KmsCall, keyIdParam: string, use: KeyUse = {}): KmsKey {
  const { facts } = call.env;
  const ref = call.env.keys.find(keyIdParam, use.allowAlias ?? !facts.keyIdOnly(call.operation), facts.crossAccount(call.operation));
  const key = 'uncreatedAlias' in ref ? createOnFirstUse(ctx, call, ref.uncreatedAlias, use.action ?? call.operation) : ref;
  return checkKey(ctx, call, key, { keyIdParam, ...use });
}

/**
 * AWS creates a managed key the first time it is used, but only for a call its policy allows:
 * a denied caller must not be able to create keys (and fill the store) by asking.
 * The key has no ARN yet, so a refusal names the alias.
 */
function createOnFirstUse(ctx: CallContext, call: KmsCall, aliasName: string, action: string): KmsKey {
  const { accountId, region } = call.env.keys;
  const prospect = { keyId: '', accountId, region, keyManager: 'AWS' as const, arn: aliasArnOf(region, accountId, aliasName), aliasNames: [aliasName] };
  authorize(call.env, ctx, prospect, action);
  return call.env.keys.awsManagedKey(aliasName);
}

export function checkKey(ctx: CallContext, call: KmsCall, key: KmsKey, use: KeyUse = {}): KmsKey {
  touch(call, key);
  authorize(call.env, ctx, key, use.action ?? call.operation, use);
  assertStateAllows(key.keyState, call.env.facts.keyStatesOf(call.operation), key.arn);
  return key;
}

/** Names the key in the call's trail record (also when the call then fails). */
export function touch(call: KmsCall, key: Pick<KmsKey, 'arn' | 'accountId'>): void {
  call.resources.push({ ARN: key.arn, accountId: key.accountId });
}

/**
 * A key used for what its KeyUsage does not allow: AWS's InvalidKeyUsageException, worded as AWS
 * words it ("…key usage is SIGN_VERIFY which is not valid for Encrypt."). Checked after
 * authorization and key state, as AWS reports those first.
 */
export function requireUsage(key: KmsKey, usage: KeyUsage, operation: string): KmsKey {
  if (key.keyUsage !== usage) throw new InvalidKeyUsageException(`${key.arn} key usage is ${key.keyUsage} which is not valid for ${operation}.`);
  return key;
}

/** Operations only a symmetric encryption key performs (data keys, ReEncrypt's blobs, rotation). */
export function requireSymmetric(key: KmsKey, operation: string): KmsKey {
  requireUsage(key, 'ENCRYPT_DECRYPT', operation);
  if (key.keySpec !== 'SYMMETRIC_DEFAULT') throw new InvalidKeyUsageException(`${key.arn} key spec is ${key.keySpec} which is not valid for ${operation}.`);
  return key;
}
