// Rotation: automatic (Enable/DisableKeyRotation; the rotations themselves are the service's own
// work when due, kms/due-work.ts, recorded as RotateKey service events) and on demand.
import { createHash } from 'node:crypto';
import { LimitExceededException, UnsupportedOperationException } from '../../errors/index.js';
import type { KmsKey } from '../keys.js';
import { kmsOperation } from '../operation.js';
import { paginate } from '../paginate.js';
import { usableKey } from '../usable-key.js';
import { customerManagedKey } from './managed-key.js';
import { refuseReplicaKey } from './multi-region.js';
import { KEY_ID_OR_ARN, LIMIT, MARKER } from './members.js';

/** The developer guide's quota, the one AWS does not adjust ("a maximum of 25 times per KMS key"; older pages say 10). */
export const ON_DEMAND_ROTATION_QUOTA = 25;

/** Rotation exists for symmetric encryption keys only (AWS: "not supported on asymmetric or HMAC KMS keys"). */
function rotatable(key: KmsKey): KmsKey {
  if (key.keySpec !== 'SYMMETRIC_DEFAULT') throw new UnsupportedOperationException(`${key.arn} key spec ${key.keySpec} does not support key rotation.`);
  return key;
}

export const EnableKeyRotation = kmsOperation({
  name: 'EnableKeyRotation',
  description: 'Rotate the key material automatically',
  readOnly: false,
  ext: { keyStates: ['Enabled'], grantable: false },
  input: { KeyId: KEY_ID_OR_ARN, RotationPeriodInDays: { kind: 'integer', min: 90, max: 2560, doc: 'days between rotations (default 365)' } },
  run(ctx, input, call) {
    const period = input.RotationPeriodInDays ?? 365;
    const key = rotatable(customerManagedKey(ctx, call, input.KeyId, { rotationPeriodInDays: input.RotationPeriodInDays }));
    refuseReplicaKey(call.env.keys, key);
    call.env.keys.enableRotation(key.keyId, period, new Date(Date.now() + period * 86400_000));
    return { response: {} };
  },
});

export const DisableKeyRotation = kmsOperation({
  name: 'DisableKeyRotation',
  description: 'Stop automatic rotation',
  readOnly: false,
  ext: { keyStates: ['Enabled'], grantable: false },
  input: { KeyId: KEY_ID_OR_ARN },
  run(ctx, input, call) {
    const key = customerManagedKey(ctx, call, input.KeyId);
    refuseReplicaKey(call.env.keys, key);
    call.env.keys.disableRotation(key.keyId);
    return { response: {} };
  },
});

export const GetKeyRotationStatus = kmsOperation({
  name: 'GetKeyRotationStatus',
  description: 'Is automatic rotation on?',
  readOnly: true,
  ext: { keyStates: ['Enabled', 'Disabled'], grantable: false, crossAccount: true },
  input: { KeyId: KEY_ID_OR_ARN },
  run(ctx, input, call) {
    const key = usableKey(ctx, call, input.KeyId);
    const response: Record<string, unknown> = { KeyId: key.arn, KeyRotationEnabled: key.rotationEnabled };
    if (key.rotationEnabled) {
      response.RotationPeriodInDays = key.rotationPeriodDays ?? 365;
      if (key.nextRotationAt) response.NextRotationDate = key.nextRotationAt;
    }
    // OnDemandRotationStartDate names an on-demand rotation still in progress; ebsim's complete at
    // once (ListKeyRotations lists them), so it never appears.
    return { response };
  },
});

export const RotateKeyOnDemand = kmsOperation({
  name: 'RotateKeyOnDemand',
  description: 'Rotate the key material now (old ciphertexts still decrypt)',
  readOnly: false,
  ext: { keyStates: ['Enabled'], grantable: false },
  input: { KeyId: KEY_ID_OR_ARN },
  run(ctx, input, call) {
    const key = rotatable(customerManagedKey(ctx, call, input.KeyId));
    refuseReplicaKey(call.env.keys, key);
    const done = call.env.keys.rotations(key.keyId).filter((r) => r.rotationType === 'ON_DEMAND').length;
    if (done >= ON_DEMAND_ROTATION_QUOTA) {
      throw new LimitExceededException(`${key.arn} has reached the maximum number of on-demand rotations (${ON_DEMAND_ROTATION_QUOTA}).`);
    }
    call.env.keys.rotate(key, 'ON_DEMAND');
    return { response: { KeyId: key.arn }, responseElements: { keyId: key.arn } };
  },
});

/**
 * A key material's identifier as AWS's BackingKeyIdType has it (64 lowercase hex digits): derived
 * from the key's ARN and the version, so it is stable and reveals nothing of the material.
 */
function keyMaterialId(key: KmsKey, version: number): string {
  return createHash('sha256').update(`ebsim key material ${key.arn}#${version}`).digest('hex');
}

export const ListKeyRotations = kmsOperation({
  name: 'ListKeyRotations',
  description: "List a key's completed rotations (with ALL_KEY_MATERIAL, its first key material too)",
  readOnly: true,
  // As GetKeyRotationStatus in the key-state table: Enabled and Disabled (unverified for ListKeyRotations).
  ext: { keyStates: ['Enabled', 'Disabled'], grantable: false },
  input: {
    KeyId: KEY_ID_OR_ARN,
    IncludeKeyMaterial: { kind: 'string', enum: ['ALL_KEY_MATERIAL', 'ROTATIONS_ONLY'], doc: 'ROTATIONS_ONLY (default) or ALL_KEY_MATERIAL' },
    Limit: LIMIT,
    Marker: MARKER,
  },
  run(ctx, input, call) {
    // AWS managed keys rotate every year; their policy allows kms:List* to the account.
    const key = usableKey(ctx, call, input.KeyId);
    const all = input.IncludeKeyMaterial === 'ALL_KEY_MATERIAL';
    // The first key material has no rotation date or type ("not present for the first key material").
    const rotations = call.env.keys
      .rotations(key.keyId)
      .filter((r) => all || r.rotationType !== null)
      .map((r) => ({
        KeyId: key.keyId,
        KeyMaterialId: keyMaterialId(key, r.version),
        KeyMaterialState: r.version === key.currentVersion ? 'CURRENT' : 'NON_CURRENT',
        ...(r.rotationType ? { RotationDate: r.createdAt, RotationType: r.rotationType } : {}),
      }));
    const page = paginate(rotations, input);
    return { response: { Rotations: page.items, ...page.tail } };
  },
});
