// CreateKey: a symmetric customer managed key (the only kind ebsim models).
import { UnsupportedOperationException } from '../../errors/index.js';
import { authorizeAccountAction } from '../authorize.js';
import { keyMetadata } from '../keys.js';
import { kmsOperation } from '../operation.js';
import { touch } from '../usable-key.js';
import { camelMetadata } from './metadata.js';

export const CreateKey = kmsOperation({
  name: 'CreateKey',
  description: 'Create a symmetric customer managed key',
  readOnly: false,
  ext: { grantable: false, awsManagedKey: 'none' },
  input: {
    Description: { kind: 'string', min: 0, max: 8192 },
    KeyUsage: { kind: 'string', enum: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT', 'ENCAPSULATE_DECAPSULATE'] },
    KeySpec: {
      kind: 'string',
      enum: [
        'RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1', 'ECC_NIST_EDWARDS25519',
        'SYMMETRIC_DEFAULT', 'HMAC_224', 'HMAC_256', 'HMAC_384', 'HMAC_512', 'SM2', 'ML_DSA_44', 'ML_DSA_65', 'ML_DSA_87', 'ML_KEM_512', 'ML_KEM_768', 'ML_KEM_1024',
      ],
    },
    CustomerMasterKeySpec: {
      kind: 'string',
      enum: ['RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1', 'SYMMETRIC_DEFAULT', 'HMAC_224', 'HMAC_256', 'HMAC_384', 'HMAC_512', 'SM2'],
    },
    Origin: { kind: 'string', enum: ['AWS_KMS', 'EXTERNAL', 'AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE'] },
    Policy: { kind: 'string', min: 1, max: 131072, secret: true, doc: 'key policy JSON (ebsim keeps the default policy)' },
    Tags: {
      kind: 'list',
      member: { kind: 'structure', members: { TagKey: { kind: 'string', required: true, min: 1, max: 128 }, TagValue: { kind: 'string', required: true, min: 0, max: 256 } } },
      doc: 'JSON list of {"TagKey","TagValue"}',
    },
    MultiRegion: { kind: 'boolean' },
    BypassPolicyLockoutSafetyCheck: { kind: 'boolean' },
  },
  run(ctx, input, call) {
    const usage = input.KeyUsage;
    const spec = input.KeySpec ?? input.CustomerMasterKeySpec;
    if ((usage && usage !== 'ENCRYPT_DECRYPT') || (spec && spec !== 'SYMMETRIC_DEFAULT') || (input.Origin && input.Origin !== 'AWS_KMS') || input.MultiRegion) {
      throw new UnsupportedOperationException('ebsim supports only symmetric encryption keys (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT) with AWS_KMS origin in a single Region.');
    }
    const { keys } = call.env;
    authorizeAccountAction(ctx, keys.accountId, 'CreateKey');
    const key = keys.create({ description: input.Description ?? '', keyManager: 'CUSTOMER' });
    touch(call, key);
    const metadata = keyMetadata(key);
    return { response: { KeyMetadata: metadata }, responseElements: { keyMetadata: camelMetadata(metadata) } };
  },
});
