// Members several KMS operations share, with the bounds, patterns and enums of AWS's KMS model
// (test/kms/model.test.ts checks every declaration against the SDK's model).
import { validateContext } from '../context.js';

export const KEY_ID = { kind: 'string', required: true, min: 1, max: 2048, doc: 'key ID, key ARN, alias name or alias ARN' } as const;
export const OPTIONAL_KEY_ID = { kind: 'string', min: 1, max: 2048, doc: 'key ID, key ARN, alias name or alias ARN' } as const;
/** Operations AWS documents as taking only a key ID or key ARN. */
export const KEY_ID_OR_ARN = { kind: 'string', required: true, min: 1, max: 2048, doc: 'key ID or key ARN' } as const;

export const ENCRYPTION_CONTEXT = {
  kind: 'map',
  value: { kind: 'string' },
  doc: 'k=v,k2=v2 or JSON',
  check: (v: unknown, field: string) => validateContext(v, field),
} as const;

/** Grant tokens are secrets: whoever holds one may use the grant. */
export const GRANT_TOKENS = { kind: 'list', member: { kind: 'string', min: 1, max: 8192 }, max: 10, secret: true, doc: 'space-separated grant tokens' } as const;

export const ENCRYPTION_ALGORITHM = { kind: 'string', enum: ['SYMMETRIC_DEFAULT', 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'SM2PKE'] } as const;

/** AWS's SigningAlgorithmSpec. */
export const SIGNING_ALGORITHM = {
  kind: 'string',
  required: true,
  enum: [
    'RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_384', 'RSASSA_PSS_SHA_512', 'RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PKCS1_V1_5_SHA_512',
    'ECDSA_SHA_256', 'ECDSA_SHA_384', 'ECDSA_SHA_512', 'ED25519_SHA_512', 'ED25519_PH_SHA_512', 'ML_DSA_SHAKE_256', 'SM2DSA',
  ],
} as const;
/** RAW (KMS hashes), DIGEST (the caller did), EXTERNAL_MU (ML-DSA's μ, FIPS 204 section 6.2); RAW when absent. */
export const MESSAGE_TYPE = { kind: 'string', enum: ['RAW', 'DIGEST', 'EXTERNAL_MU'], doc: 'RAW (default), DIGEST or EXTERNAL_MU' } as const;
/** The message Sign and Verify take: up to 4096 bytes, never logged. */
export const SIGNED_MESSAGE = { kind: 'blob', required: true, min: 1, max: 4096, secret: true } as const;

export const LIMIT = { kind: 'integer', min: 1, max: 1000, doc: 'at most this many items per page' } as const;
export const MARKER = { kind: 'string', min: 1, max: 1024, doc: 'NextMarker of the previous page' } as const;

/**
 * A key policy document. The model's pattern admits tab, LF, CR and U+0020-U+00FF only (AWS: "A key
 * policy document can include only the following characters"); not secret: CloudTrail logs it
 * (CreateKey and PutKeyPolicy examples in the KMS Developer Guide).
 */
export const POLICY = { kind: 'string', min: 1, max: 131072, pattern: /^[\u0009\u000A\u000D\u0020-\u00FF]+$/, doc: 'key policy JSON (or file://PATH)' } as const;
export const POLICY_NAME = { kind: 'string', min: 1, max: 128, pattern: /^[\w]+$/, doc: 'key policy name (the only one is default)' } as const;
export const BYPASS_LOCKOUT_CHECK = { kind: 'boolean', doc: 'skip the check that the new policy still lets you call PutKeyPolicy' } as const;

export const PRINCIPAL = { kind: 'string', min: 1, max: 256, pattern: /^[\w+=,.@:/-]+$/ } as const;
export const GRANT_NAME = { kind: 'string', min: 1, max: 256, pattern: /^[a-zA-Z0-9:/_-]+$/ } as const;
export const GRANT_ID = { kind: 'string', min: 1, max: 128 } as const;
export const ALIAS_NAME = { kind: 'string', required: true, min: 1, max: 256, pattern: /^[a-zA-Z0-9:/_-]+$/, doc: 'alias/NAME' } as const;

/** The operations a grant may allow (AWS's GrantOperation enum). */
export const GRANT_OPERATIONS = [
  'Decrypt', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'ReEncryptFrom', 'ReEncryptTo',
  'Sign', 'Verify', 'GetPublicKey', 'CreateGrant', 'RetireGrant', 'DescribeKey', 'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext', 'GenerateMac', 'VerifyMac', 'DeriveSharedSecret', 'Encapsulate', 'Decapsulate',
] as const;

/** AWS's TagKeyType and TagValueType; the tag rules beyond lengths (TagException) are kms/tags.ts's. */
export const TAG_KEY = { kind: 'string', min: 1, max: 128 } as const;
export const TAGS = {
  kind: 'list',
  member: { kind: 'structure', members: { TagKey: { ...TAG_KEY, required: true }, TagValue: { kind: 'string', required: true, min: 0, max: 256 } } },
  doc: 'TagKey=K,TagValue=V items (space-separated), or a JSON list of {"TagKey","TagValue"}',
} as const;
