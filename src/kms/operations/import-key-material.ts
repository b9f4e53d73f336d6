// Imported key material: GetParametersForImport (an RSA wrapping key and an import token, valid
// 24 hours), ImportKeyMaterial (unwrap, check, associate: kms/imported-material.ts) and
// DeleteImportedKeyMaterial. Only keys with Origin EXTERNAL take them, and only in their own
// account ("Cross-account use: No"); the key is named by key ID or key ARN.
// https://docs.aws.amazon.com/kms/latest/APIReference/API_ImportKeyMaterial.html
import { UnsupportedOperationException, ValidationException } from '../../errors/index.js';
import type { CallContext } from '../../core/call-context.js';
import { isChinaRegion } from '../key-specs.js';
import { checkImportedMaterial, unwrapKeyMaterial, WRAPPING_ALGORITHMS, WRAPPING_KEY_SPECS } from '../import-wrapping.js';
import type { KmsKey } from '../keys.js';
import { kmsOperation, type KmsCall } from '../operation.js';
import type { KeyUse } from '../usable-key.js';
import { customerManagedKey } from './managed-key.js';
import { KEY_ID_OR_ARN } from './members.js';

/** AWS's BackingKeyIdType. */
const KEY_MATERIAL_ID = { kind: 'string', min: 64, max: 64, pattern: /^[a-f0-9]+$/ } as const;
/** "ValidTo … The maximum value is 365 days from the request date." */
const MAX_VALID_DAYS = 365;

/** The key-state table: Enabled, Disabled and PendingImport; a key pending deletion, KMSInvalidStateException. */
const importStates = ['Enabled', 'Disabled', 'PendingImport'] as const;

/** A customer managed key made for imported material, or AWS's UnsupportedOperationException (the key-state table's wording). */
function externalKey(ctx: CallContext, call: KmsCall, keyId: string, use: KeyUse = {}): KmsKey {
  const key = customerManagedKey(ctx, call, keyId, { allowAlias: false, ...use });
  if (key.origin !== 'EXTERNAL') throw new UnsupportedOperationException(`${key.arn} origin is ${key.origin} which is not valid for this operation.`);
  return key;
}

export const GetParametersForImport = kmsOperation({
  name: 'GetParametersForImport',
  description: 'An RSA public key to wrap key material with, and the import token that goes with it (both valid 24 hours)',
  // As the Developer Guide's GetParametersForImport record has it.
  readOnly: true,
  ext: { keyStates: importStates, grantable: false },
  input: {
    KeyId: KEY_ID_OR_ARN,
    WrappingAlgorithm: { kind: 'string', required: true, enum: WRAPPING_ALGORITHMS, doc: 'RSAES_OAEP_SHA_256, RSA_AES_KEY_WRAP_SHA_256, …' },
    WrappingKeySpec: { kind: 'string', required: true, enum: WRAPPING_KEY_SPECS, doc: 'RSA_2048 | RSA_3072 | RSA_4096' },
  },
  run(ctx, input, call) {
    const key = externalKey(ctx, call, input.KeyId);
    const { WrappingAlgorithm: algorithm, WrappingKeySpec: spec } = input;
    if (algorithm === 'RSAES_PKCS1_V1_5') {
      throw new ValidationException('The RSAES_PKCS1_V1_5 wrapping algorithm is no longer supported (since October 10, 2023). Use RSAES_OAEP_SHA_256 or RSA_AES_KEY_WRAP_SHA_256.');
    }
    if ((algorithm === 'SM2PKE' || spec === 'SM2') && !isChinaRegion(call.env.keys.region)) {
      throw new ValidationException(`The SM2 wrapping key spec and the SM2PKE wrapping algorithm are available only in AWS China Regions, not in ${call.env.keys.region}.`);
    }
    if ((algorithm === 'SM2PKE') !== (spec === 'SM2')) throw new ValidationException(`The wrapping algorithm ${algorithm} cannot be used with the wrapping key spec ${spec}.`);
    const p = call.env.imports.importParameters(key, algorithm, spec);
    return { response: { KeyId: key.arn, ImportToken: p.importToken, PublicKey: p.publicKey, ParametersValidTo: p.parametersValidTo } };
  },
});

export const ImportKeyMaterial = kmsOperation({
  name: 'ImportKeyMaterial',
  description: 'Import (or reimport) key material wrapped under the public key of GetParametersForImport',
  readOnly: false,
  ext: { keyStates: importStates, grantable: false },
  input: {
    KeyId: KEY_ID_OR_ARN,
    ImportToken: { kind: 'blob', required: true, min: 1, max: 6144, secret: true },
    EncryptedKeyMaterial: { kind: 'blob', required: true, min: 1, max: 6144, secret: true },
    ValidTo: { kind: 'timestamp', doc: 'when the material expires (ExpirationModel KEY_MATERIAL_EXPIRES, at most 365 days on)' },
    ExpirationModel: { kind: 'string', enum: ['KEY_MATERIAL_EXPIRES', 'KEY_MATERIAL_DOES_NOT_EXPIRE'], doc: 'KEY_MATERIAL_EXPIRES (default) or KEY_MATERIAL_DOES_NOT_EXPIRE' },
    ImportType: { kind: 'string', enum: ['NEW_KEY_MATERIAL', 'EXISTING_KEY_MATERIAL'], doc: 'symmetric keys: NEW_KEY_MATERIAL (for RotateKeyOnDemand) or EXISTING_KEY_MATERIAL' },
    KeyMaterialDescription: { kind: 'string', min: 0, max: 256, pattern: /^[a-zA-Z0-9:/_\s.-]+$/ },
    KeyMaterialId: KEY_MATERIAL_ID,
  },
  run(ctx, input, call) {
    const key = externalKey(ctx, call, input.KeyId);
    const expirationModel = input.ExpirationModel ?? 'KEY_MATERIAL_EXPIRES';
    const validTo = checkExpiry(expirationModel, input.ValidTo);
    const symmetricOnly = (['ImportType', 'KeyMaterialDescription', 'KeyMaterialId'] as const).find((m) => input[m] !== undefined);
    if (symmetricOnly && key.keySpec !== 'SYMMETRIC_DEFAULT') {
      throw new ValidationException(`${symmetricOnly} is valid only for symmetric encryption KMS keys; ${key.arn} has key spec ${key.keySpec}.`);
    }
    if (input.KeyMaterialId !== undefined && input.ImportType === 'NEW_KEY_MATERIAL') {
      throw new ValidationException('You cannot specify a KeyMaterialId when ImportType is NEW_KEY_MATERIAL.');
    }
    const { algorithm, privateKey } = call.env.imports.openImportToken(input.ImportToken, key);
    const unwrapped = unwrapKeyMaterial(input.EncryptedKeyMaterial, algorithm, privateKey);
    let material: Buffer | undefined;
    try {
      material = checkImportedMaterial(key.keySpec, unwrapped);
      const keyMaterialId = call.env.imports.import(key, {
        material, importType: input.ImportType, keyMaterialId: input.KeyMaterialId, description: input.KeyMaterialDescription, expirationModel, validTo,
      });
      return { response: { KeyId: key.arn, KeyMaterialId: keyMaterialId }, responseElements: { keyId: key.arn, keyMaterialId } };
    } finally {
      unwrapped.fill(0);
      material?.fill(0);
    }
  },
});

/** ValidTo goes with KEY_MATERIAL_EXPIRES only, in the future and at most 365 days on. */
function checkExpiry(model: string, validTo: Date | undefined, now = Date.now()): Date | undefined {
  if (model === 'KEY_MATERIAL_DOES_NOT_EXPIRE') {
    if (validTo) throw new ValidationException('ValidTo must not be set when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE.');
    return undefined;
  }
  if (!validTo) throw new ValidationException('ValidTo is required when ExpirationModel is KEY_MATERIAL_EXPIRES (the default).');
  if (validTo.getTime() <= now) throw new ValidationException('ValidTo must be a date and time in the future.');
  if (validTo.getTime() > now + MAX_VALID_DAYS * 86400_000) throw new ValidationException(`ValidTo must be no more than ${MAX_VALID_DAYS} days from now.`);
  return validTo;
}

export const DeleteImportedKeyMaterial = kmsOperation({
  name: 'DeleteImportedKeyMaterial',
  description: 'Delete imported key material (the key goes to PendingImport until it is reimported)',
  readOnly: false,
  // Every state; on a key pending deletion the state does not change.
  ext: { keyStates: ['Enabled', 'Disabled', 'PendingDeletion', 'PendingImport'], grantable: false },
  input: { KeyId: KEY_ID_OR_ARN, KeyMaterialId: { ...KEY_MATERIAL_ID, doc: 'the material to delete (default: the current one)' } },
  run(ctx, input, call) {
    const key = externalKey(ctx, call, input.KeyId);
    const keyMaterialId = call.env.imports.delete(key, input.KeyMaterialId);
    const ids = keyMaterialId ? { keyMaterialId } : {};
    return { response: { KeyId: key.arn, ...(keyMaterialId ? { KeyMaterialId: keyMaterialId } : {}) }, responseElements: { keyId: key.arn, ...ids } };
  },
});
