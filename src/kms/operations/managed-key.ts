// The key an administrative operation acts on: usable for the operation, and customer managed
// (AWS managed keys are managed by AWS: their policy grants no administrative action to anyone).
import type { CallContext } from '../../core/call-context.js';
import { accessDenied } from '../authorize.js';
import type { KmsKey } from '../keys.js';
import type { KmsCall } from '../operation.js';
import { usableKey, type KeyUse } from '../usable-key.js';

export function customerManagedKey(ctx: CallContext, call: KmsCall, keyIdParam: string, use: KeyUse = {}): KmsKey {
  const key = usableKey(ctx, call, keyIdParam, use);
  if (key.keyManager === 'AWS') throw accessDenied(ctx, key, call.operation);
  return key;
}
