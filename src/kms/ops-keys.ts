// Key lifecycle operations: create, describe, list, enable/disable, deletion, rotation.
import { KMSInvalidStateException, UnsupportedOperationException } from '../errors/index.js';
import { keyMetadata, type KmsKey } from './keys.js';
import { bool, int, oneOf, requiredStr, str, type Params, KEY_ID_PARAM, memberName } from './params.js';
import type { Operation } from './operation.js';
import { usableKey } from './usable-key.js';
import { paginate } from './paginate.js';
import { accessDenied, authorizeAccountAction } from './authorize.js';
import type { CallContext } from '../core/call-context.js';


export const keyOperations: Record<string, Operation> = {
  CreateKey: {
    readOnly: false,
    params: ['Description', 'KeyUsage', 'KeySpec', 'CustomerMasterKeySpec', 'Origin', 'Policy', 'Tags', 'MultiRegion', 'BypassPolicyLockoutSafetyCheck'],
    run(env, ctx, p, state) {
      const description = str(p, 'Description', { max: 8192 }) ?? '';
      const usage = oneOf(p, 'KeyUsage', ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT']);
      const spec = str(p, 'KeySpec') ?? str(p, 'CustomerMasterKeySpec');
      const origin = oneOf(p, 'Origin', ['AWS_KMS', 'EXTERNAL', 'AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE']);
      if ((usage && usage !== 'ENCRYPT_DECRYPT') || (spec && spec !== 'SYMMETRIC_DEFAULT') || (origin && origin !== 'AWS_KMS') || bool(p, 'MultiRegion')) {
        throw new UnsupportedOperationException('ebsim supports only symmetric encryption keys (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT) with AWS_KMS origin in a single Region.');
      }
      authorizeAccountAction(ctx, env.keys.accountId, 'CreateKey');
      const key = env.keys.create({ description, keyManager: 'CUSTOMER' });
      state.keys.push(key);
      const metadata = keyMetadata(key);
      return { response: { KeyMetadata: metadata }, responseElements: { keyMetadata: camelMetadata(metadata) } };
    },
  },

  DescribeKey: {
    readOnly: true,
    params: ['KeyId', 'GrantTokens'],
    run(env, ctx, p, state) {
      const key = usableKey(env, ctx, requiredStr(p, 'KeyId', KEY_ID_PARAM), { action: 'DescribeKey', operation: 'DescribeKey' }, state);
      return { response: { KeyMetadata: keyMetadata(key) } };
    },
  },

  ListKeys: {
    readOnly: true,
    params: ['Limit', 'Marker'],
    run(env, ctx, p) {
      authorizeAccountAction(ctx, env.keys.accountId, 'ListKeys');
      const page = paginate(env.keys.list(), p);
      return { response: { Keys: page.items.map((k) => ({ KeyId: k.keyId, KeyArn: k.arn })), ...page.tail } };
    },
  },

  EnableKey: adminOp('EnableKey', (env, key) => env.keys.update(key.keyId, { key_state: 'Enabled' })),
  DisableKey: adminOp('DisableKey', (env, key) => env.keys.update(key.keyId, { key_state: 'Disabled' })),

  ScheduleKeyDeletion: {
    readOnly: false,
    params: ['KeyId', 'PendingWindowInDays'],
    run(env, ctx, p, state) {
      const keyId = requiredStr(p, 'KeyId', KEY_ID_PARAM);
      const days = int(p, 'PendingWindowInDays', { min: 7, max: 30 }) ?? 30;
      const key = managedKey(env, ctx, keyId, 'ScheduleKeyDeletion', state);
      const deletionDate = new Date(Date.now() + days * 86400_000);
      env.keys.update(key.keyId, { key_state: 'PendingDeletion', deletion_date: deletionDate.toISOString(), pending_window_days: days });
      return {
        response: { KeyId: key.arn, DeletionDate: deletionDate, KeyState: 'PendingDeletion', PendingWindowInDays: days },
        responseElements: { keyId: key.arn, deletionDate: deletionDate.toISOString(), keyState: 'PendingDeletion', pendingWindowInDays: days },
      };
    },
  },

  CancelKeyDeletion: {
    readOnly: false,
    params: ['KeyId'],
    run(env, ctx, p, state) {
      const key = managedKey(env, ctx, requiredStr(p, 'KeyId', KEY_ID_PARAM), 'CancelKeyDeletion', state);
      if (key.keyState !== 'PendingDeletion') {
        throw new KMSInvalidStateException(`${key.arn} is not pending deletion.`);
      }
      // AWS leaves a key whose deletion was cancelled Disabled, not Enabled.
      env.keys.update(key.keyId, { key_state: 'Disabled', deletion_date: null, pending_window_days: null });
      return { response: { KeyId: key.arn }, responseElements: { keyId: key.arn } };
    },
  },

  EnableKeyRotation: {
    readOnly: false,
    params: ['KeyId', 'RotationPeriodInDays'],
    run(env, ctx, p, state) {
      const keyId = requiredStr(p, 'KeyId', KEY_ID_PARAM);
      const period = int(p, 'RotationPeriodInDays', { min: 90, max: 2560 }) ?? 365;
      const key = managedKey(env, ctx, keyId, 'EnableKeyRotation', state);
      env.keys.update(key.keyId, { rotation_enabled: 1, rotation_period_days: period, next_rotation_at: new Date(Date.now() + period * 86400_000).toISOString() });
      return { response: {} };
    },
  },

  DisableKeyRotation: adminOp('DisableKeyRotation', (env, key) => env.keys.update(key.keyId, { rotation_enabled: 0, next_rotation_at: null })),

  GetKeyRotationStatus: {
    readOnly: true,
    params: ['KeyId'],
    run(env, ctx, p, state) {
      const key = usableKey(env, ctx, requiredStr(p, 'KeyId', KEY_ID_PARAM), { action: 'GetKeyRotationStatus', operation: 'GetKeyRotationStatus' }, state);
      const response: Record<string, unknown> = { KeyId: key.arn, KeyRotationEnabled: key.rotationEnabled };
      if (key.rotationEnabled) {
        response.RotationPeriodInDays = key.rotationPeriodDays ?? 365;
        if (key.nextRotationAt) response.NextRotationDate = key.nextRotationAt;
      }
      const onDemand = env.keys.rotations(key.keyId).filter((r) => r.rotationType === 'ON_DEMAND').pop();
      if (onDemand) response.OnDemandRotationStartDate = onDemand.createdAt;
      return { response };
    },
  },

  RotateKeyOnDemand: {
    readOnly: false,
    params: ['KeyId'],
    run(env, ctx, p, state) {
      const key = managedKey(env, ctx, requiredStr(p, 'KeyId', KEY_ID_PARAM), 'RotateKeyOnDemand', state);
      env.keys.rotate(key, 'ON_DEMAND');
      return { response: { KeyId: key.arn }, responseElements: { keyId: key.arn } };
    },
  },
};

/** The key an administrative operation acts on: usable for `name`, and customer managed. */
function managedKey(env: Parameters<Operation['run']>[0], ctx: Parameters<Operation['run']>[1], keyIdParam: string, name: string, state: Parameters<Operation['run']>[3]): KmsKey {
  const key = usableKey(env, ctx, keyIdParam, { action: name, operation: name }, state);
  requireCustomerManaged(key, name, ctx);
  return key;
}

function adminOp(name: string, apply: (env: Parameters<Operation['run']>[0], key: KmsKey) => void): Operation {
  return {
    readOnly: false,
    params: ['KeyId'],
    run(env, ctx, p, state) {
      apply(env, managedKey(env, ctx, requiredStr(p, 'KeyId', KEY_ID_PARAM), name, state));
      return { response: {} };
    },
  };
}

/** AWS managed keys are managed by AWS: their policy grants no administrative action to anyone. */
function requireCustomerManaged(key: KmsKey, action: string, ctx: CallContext): void {
  if (key.keyManager === 'AWS') throw accessDenied(ctx, key, action);
}

function camelMetadata(m: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m)) {
    const name = memberName(k);
    out[name] = v instanceof Date ? v.toISOString() : v;
  }
  return out;
}

export type { Params };
