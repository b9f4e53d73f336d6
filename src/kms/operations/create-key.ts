// CreateKey: a customer managed key of any spec AWS offers outside China (kms/key-specs.ts), with
// the key policy given (checked as PutKeyPolicy checks it) or the default key policy, and its
// tags (kms/tags.ts). MultiRegion makes the primary key of a multi-Region set (kms/multi-region.ts),
// of any spec: "You can create multi-Region KMS keys for all supported KMS key types".
import { UnsupportedOperationException, ValidationException } from '../../errors/index.js';
import { createKeySpec, KEY_SPECS, KEY_USAGES } from '../key-specs.js';
import { authorizeAccountAction } from '../authorize.js';
import { describedMetadata } from '../multi-region-metadata.js';
import { newMultiRegionKeyId } from '../multi-region.js';
import { kmsOperation } from '../operation.js';
import { requestTags } from '../tags.js';
import { touch } from '../usable-key.js';
import { acceptPolicy } from './key-policy.js';
import { BYPASS_LOCKOUT_CHECK, POLICY, TAGS } from './members.js';
import { camelMetadata } from './metadata.js';

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
    Origin: { kind: 'string', enum: ['AWS_KMS', 'EXTERNAL', 'AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE'] },
    Policy: POLICY,
    Tags: TAGS,
    MultiRegion: { kind: 'boolean' },
    BypassPolicyLockoutSafetyCheck: BYPASS_LOCKOUT_CHECK,
  },
  run(ctx, input, call) {
    const { keys } = call.env;
    if (input.KeySpec !== undefined && input.CustomerMasterKeySpec !== undefined) {
      throw new ValidationException('You cannot specify both KeySpec and CustomerMasterKeySpec. CustomerMasterKeySpec is deprecated; use KeySpec.');
    }
    const { keySpec, keyUsage } = createKeySpec(input.KeySpec ?? input.CustomerMasterKeySpec, input.KeyUsage, keys.region);
    const usage = input.KeyUsage;
    const spec = input.KeySpec ?? input.CustomerMasterKeySpec;
    if (input.Origin && input.Origin !== 'AWS_KMS') {
      throw new UnsupportedOperationException('ebsim does not yet model imported key material.');
    }
    const tags = requestTags(input.Tags);
    const tagFacts = tags.size ? { requestTags: tags, tagKeys: [...tags.keys()] } : {};
    authorizeAccountAction(call.env, ctx, 'CreateKey', {
      keySpec: spec, keyUsage: usage, origin: input.Origin, multiRegion: input.MultiRegion, bypassPolicyLockoutSafetyCheck: input.BypassPolicyLockoutSafetyCheck, ...tagFacts,
    });
    // "To add tags when creating a KMS key, the caller must have kms:TagResource permission in an
    // IAM policy" (Tags in AWS KMS, "Controlling access to tags"): the key does not exist yet.
    if (tags.size) authorizeAccountAction(call.env, ctx, 'TagResource', tagFacts);
    // The lockout check needs the key's ARN: choose its ID first.
    const keyId = input.MultiRegion ? newMultiRegionKeyId() : keys.newKeyId();
    if (input.Policy !== undefined) acceptPolicy(call.env, ctx, { keyId, arn: keys.keyArn(keyId), accountId: keys.accountId, region: keys.region }, input.Policy, input.BypassPolicyLockoutSafetyCheck);
    const key = keys.create({ keyId, description: input.Description ?? '', keyManager: 'CUSTOMER', keySpec, keyUsage, policy: input.Policy, tags });
    touch(call, key);
    const metadata = describedMetadata(keys, key);
    return { response: { KeyMetadata: metadata }, responseElements: { keyMetadata: camelMetadata(metadata) } };
  },
});
