// CreateKey: a customer managed key of any spec AWS offers outside China (kms/key-specs.ts), with
// the key policy given (checked as PutKeyPolicy checks it) or the default key policy, and its
// tags (kms/tags.ts). MultiRegion makes the primary key of a multi-Region set (kms/multi-region.ts),
// of any spec: "You can create multi-Region KMS keys for all supported KMS key types". Origin
// EXTERNAL makes a key without material, for imported material (operations/import-key-material.ts);
// custom key stores do not exist in ebsim.
import { CustomKeyStoreNotFoundException, UnsupportedOperationException, ValidationException } from '../../errors/index.js';
import { importableSpec } from '../import-wrapping.js';
import { createKeySpec, KEY_SPECS, KEY_USAGES } from '../key-specs.js';
import { authorizeAccountAction } from '../authorize.js';
import { newMultiRegionKeyId } from '../multi-region.js';
import { kmsOperation } from '../operation.js';
import { requestTags } from '../tags.js';
import { touch } from '../usable-key.js';
import { acceptPolicy } from './key-policy.js';
import { BYPASS_LOCKOUT_CHECK, POLICY, TAGS } from './members.js';
import { camelMetadata, describedKey } from './metadata.js';
import { CUSTOM_KEY_STORE_ID } from './custom-key-stores.js';

export const CreateKey = kmsOperation({
  name: 'CreateKey',
  description: 'Create a customer managed key (symmetric, RSA, ECC, Ed25519, HMAC, ML-DSA or ML-KEM)',
  readOnly: false,
  ext: { grantable: false },
  input: {
    Description: { kind: 'string', min: 0, max: 8192 },
    KeyUsage: { kind: 'string', enum: KEY_USAGES },
    KeySpec: { kind: 'string', enum: KEY_SPECS },
    CustomerMasterKeySpec: {
      kind: 'string',
      enum: ['RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1', 'SYMMETRIC_DEFAULT', 'HMAC_224', 'HMAC_256', 'HMAC_384', 'HMAC_512', 'SM2'],
    },
    Origin: { kind: 'string', enum: ['AWS_KMS', 'EXTERNAL', 'AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE'], doc: 'AWS_KMS (default) or EXTERNAL (imported key material)' },
    CustomKeyStoreId: CUSTOM_KEY_STORE_ID,
    Policy: POLICY,
    Tags: TAGS,
    MultiRegion: { kind: 'boolean' },
    BypassPolicyLockoutSafetyCheck: BYPASS_LOCKOUT_CHECK,
    XksKeyId: { kind: 'string', min: 1, max: 128, pattern: /^[a-zA-Z0-9-_.]+$/ },
  },
  run(ctx, input, call) {
    const { keys } = call.env;
    if (input.KeySpec !== undefined && input.CustomerMasterKeySpec !== undefined) {
      throw new ValidationException('You cannot specify both KeySpec and CustomerMasterKeySpec. CustomerMasterKeySpec is deprecated; use KeySpec.');
    }
    const { keySpec, keyUsage } = createKeySpec(input.KeySpec ?? input.CustomerMasterKeySpec, input.KeyUsage, keys.region);
    const usage = input.KeyUsage;
    const spec = input.KeySpec ?? input.CustomerMasterKeySpec;
    const origin = input.Origin ?? 'AWS_KMS';
    checkKeyStore(origin, input.CustomKeyStoreId, input.XksKeyId);
    if (origin === 'EXTERNAL' && !importableSpec(keySpec)) {
      throw new UnsupportedOperationException(`KeySpec ${keySpec} is not supported for KMS keys with imported key material (Origin EXTERNAL).`);
    }
    if (input.MultiRegion && origin === 'EXTERNAL') {
      throw new UnsupportedOperationException('ebsim does not model multi-Region keys with imported key material.');
    }
    const tags = requestTags(input.Tags);
    const tagFacts = tags.size ? { requestTags: tags, tagKeys: [...tags.keys()] } : {};
    authorizeAccountAction(call.env, ctx, 'CreateKey', {
      keySpec: spec, keyUsage: usage, origin: input.Origin, multiRegion: input.MultiRegion, bypassPolicyLockoutSafetyCheck: input.BypassPolicyLockoutSafetyCheck, ...tagFacts,
    });
    // "To add tags when creating a KMS key, the caller must have kms:TagResource permission in an
    // IAM policy" (Tags in AWS KMS, "Controlling access to tags"): the key does not exist yet.
    if (tags.size) authorizeAccountAction(call.env, ctx, 'TagResource', tagFacts);
    // ebsim has no custom key stores: one named does not exist.
    if (input.CustomKeyStoreId !== undefined) throw new CustomKeyStoreNotFoundException(`Custom key store ${input.CustomKeyStoreId} does not exist in this account and Region.`);
    // The lockout check needs the key's ARN: choose its ID first.
    const keyId = input.MultiRegion ? newMultiRegionKeyId() : keys.newKeyId();
    if (input.Policy !== undefined) acceptPolicy(call.env, ctx, { keyId, arn: keys.keyArn(keyId), accountId: keys.accountId, region: keys.region }, input.Policy, input.BypassPolicyLockoutSafetyCheck);
    const key = keys.create({ keyId, description: input.Description ?? '', keyManager: 'CUSTOMER', keySpec, keyUsage, policy: input.Policy, tags, origin: origin === 'EXTERNAL' ? 'EXTERNAL' : 'AWS_KMS' });
    touch(call, key);
    const metadata = describedKey(call.env, key);
    return { response: { KeyMetadata: metadata }, responseElements: { keyMetadata: camelMetadata(metadata) } };
  },
});

/** Keys in a custom key store (Origin AWS_CLOUDHSM or EXTERNAL_KEY_STORE) must name one (and an XKS key, an external key). */
function checkKeyStore(origin: string, customKeyStoreId: string | undefined, xksKeyId: string | undefined): void {
  const inStore = origin === 'AWS_CLOUDHSM' || origin === 'EXTERNAL_KEY_STORE';
  if (inStore && customKeyStoreId === undefined) throw new ValidationException(`A CustomKeyStoreId is required when Origin is ${origin}.`);
  if (xksKeyId !== undefined && origin !== 'EXTERNAL_KEY_STORE') throw new ValidationException('XksKeyId is valid only when Origin is EXTERNAL_KEY_STORE.');
  if (origin === 'EXTERNAL_KEY_STORE' && xksKeyId === undefined) throw new ValidationException('An XksKeyId is required when Origin is EXTERNAL_KEY_STORE.');
}
