// Rotation: automatic (Enable/DisableKeyRotation; the rotations themselves are the service's own
// work when due, kms/due-work.ts, recorded as RotateKey service events) and on demand. A key with
// imported material rotates only on demand, to material imported for it (NEW_KEY_MATERIAL).
import { LimitExceededException, UnsupportedOperationException } from '../../errors/index.js';
import type { KmsKey } from '../keys.js';
import type { ImportedMaterial } from '../imported-material.js';
import { generatedKeyMaterialId } from '../key-material-id.js';
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

/** Automatic rotation is for material KMS generates: the key-state table's answer for an EXTERNAL key. */
function automaticallyRotatable(key: KmsKey): KmsKey {
  if (key.origin === 'EXTERNAL') throw new UnsupportedOperationException(`${key.arn} origin is EXTERNAL which is not valid for this operation.`);
  return rotatable(key);
}

export const EnableKeyRotation = kmsOperation({
  name: 'EnableKeyRotation',
  description: 'Rotate the key material automatically',
  readOnly: false,
  ext: { keyStates: ['Enabled'], grantable: false },
  input: { KeyId: KEY_ID_OR_ARN, RotationPeriodInDays: { kind: 'integer', min: 90, max: 2560, doc: 'days between rotations (default 365)' } },
  run(ctx, input, call) {
    const period = input.RotationPeriodInDays ?? 365;
    const key = automaticallyRotatable(customerManagedKey(ctx, call, input.KeyId, { rotationPeriodInDays: input.RotationPeriodInDays }));
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
    const key = automaticallyRotatable(customerManagedKey(ctx, call, input.KeyId));
    refuseReplicaKey(call.env.keys, key);
    call.env.keys.disableRotation(key.keyId);
    return { response: {} };
  },
});

export const GetKeyRotationStatus = kmsOperation({
  name: 'GetKeyRotationStatus',
  description: 'Is automatic rotation on?',
  readOnly: true,
  ext: { keyStates: ['Enabled', 'Disabled', 'PendingImport'], grantable: false, crossAccount: true },
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
    const done = key.origin === 'EXTERNAL' ? call.env.imports.onDemandRotations(key) : call.env.keys.rotations(key.keyId).filter((r) => r.rotationType === 'ON_DEMAND').length;
    if (done >= ON_DEMAND_ROTATION_QUOTA) {
      throw new LimitExceededException(`${key.arn} has reached the maximum number of on-demand rotations (${ON_DEMAND_ROTATION_QUOTA}).`);
    }
    if (key.origin === 'EXTERNAL') call.env.imports.rotate(key);
    else call.env.keys.rotate(key, 'ON_DEMAND');
    return { response: { KeyId: key.arn }, responseElements: { keyId: key.arn } };
  },
});

export const ListKeyRotations = kmsOperation({
  name: 'ListKeyRotations',
  description: "List a key's completed rotations (with ALL_KEY_MATERIAL, its first key material too)",
  readOnly: true,
  // As GetKeyRotationStatus in the key-state table: Enabled and Disabled (unverified for ListKeyRotations),
  // and PendingImport, where it tells which imported material is missing.
  ext: { keyStates: ['Enabled', 'Disabled', 'PendingImport'], grantable: false },
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
    if (key.origin === 'EXTERNAL') {
      const page = paginate(importedRotations(call.env.imports.materials(key.keyId), key, all), input);
      return { response: { Rotations: page.items, ...page.tail } };
    }
    // The first key material has no rotation date or type ("not present for the first key material").
    const rotations = call.env.keys
      .rotations(key.keyId)
      .filter((r) => all || r.rotationType !== null)
      .map((r) => ({
        KeyId: key.keyId,
        KeyMaterialId: generatedKeyMaterialId(key.arn, r.version),
        KeyMaterialState: r.version === key.currentVersion ? 'CURRENT' : 'NON_CURRENT',
        ...(r.rotationType ? { RotationDate: r.createdAt, RotationType: r.rotationType } : {}),
      }));
    const page = paginate(rotations, input);
    return { response: { Rotations: page.items, ...page.tail } };
  },
});

/**
 * ListKeyRotations of a key with imported material: by default the materials rotated in; with
 * ALL_KEY_MATERIAL also the first and any pending rotation. Import state, expiry and description
 * are shown for symmetric keys only, as RotationsListEntry documents.
 */
function importedRotations(materials: readonly ImportedMaterial[], key: KmsKey, all: boolean) {
  const symmetric = key.keySpec === 'SYMMETRIC_DEFAULT';
  return materials
    .filter((m) => all || m.rotatedAt)
    .map((m) => ({
      KeyId: key.keyId,
      KeyMaterialId: m.keyMaterialId,
      ...(symmetric && m.description !== undefined ? { KeyMaterialDescription: m.description } : {}),
      ...(symmetric ? { ImportState: m.importState } : {}),
      KeyMaterialState: m.version === key.currentVersion ? 'CURRENT' : m.version > key.currentVersion ? 'PENDING_ROTATION' : 'NON_CURRENT',
      ...(symmetric && m.expirationModel ? { ExpirationModel: m.expirationModel } : {}),
      ...(symmetric && m.validTo ? { ValidTo: m.validTo } : {}),
      ...(m.rotatedAt ? { RotationDate: m.rotatedAt, RotationType: 'ON_DEMAND' } : {}),
    }));
}
