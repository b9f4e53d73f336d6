// What every KMS operation handler gets and gives back.
import type { CallContext } from '../core/call-context.js';
import type { GrantStore } from './grants.js';
import type { KeyStore, KmsKey } from './keys.js';
import type { Params } from './params.js';

export interface KmsEnv {
  keys: KeyStore;
  grants: GrantStore;
}

/** Filled in by the handler as it goes, so a failed call's record still names the key it touched. */
export interface CallState {
  keys: KmsKey[];
}

export interface Outcome {
  response: Record<string, unknown>;
  /** CloudTrail responseElements; null (the default) where AWS logs null. */
  responseElements?: unknown;
}

export interface Operation {
  readOnly: boolean;
  /** Parameters the operation accepts (others are a ValidationException). */
  params: readonly string[];
  run(env: KmsEnv, ctx: CallContext, p: Params, state: CallState): Outcome;
}

export const ENCRYPTION_ALGORITHMS = ['SYMMETRIC_DEFAULT', 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'SM2PKE'] as const;
