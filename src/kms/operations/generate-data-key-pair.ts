// GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext: a fresh key pair for use outside
// KMS, the private key sealed under a symmetric encryption key (so Decrypt returns it). Formats
// are AWS's: the public key a DER SubjectPublicKeyInfo, the private key a DER PKCS#8
// PrivateKeyInfo (for ML-KEM, the seed form: "the length of the private key is the same for all
// ML-KEM key pair specs").
import type { CallContext } from '../../core/call-context.js';
import { UnsupportedOperationException } from '../../errors/index.js';
import type { EncryptionContext } from '../context.js';
import { newKeyMaterial, publicKeyDer, seedPrivateKeyInfo } from '../key-material.js';
import { isChinaRegion, type KeySpec } from '../key-specs.js';
import { kmsOperation, type KmsCall } from '../operation.js';
import { RECIPIENT, refuseRecipient } from '../recipient.js';
import { requireSymmetric, usableKey } from '../usable-key.js';
import { ENCRYPTION_CONTEXT, GRANT_TOKENS, KEY_ID } from './members.js';
import { keyMaterialIdOf, seal } from './sealing.js';

/** AWS's DataKeyPairSpec. */
const KEY_PAIR_SPEC = {
  kind: 'string',
  required: true,
  enum: [
    'RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1', 'ECC_NIST_EDWARDS25519',
    'SM2', 'ML_KEM_512', 'ML_KEM_768', 'ML_KEM_1024',
  ],
} as const;
type KeyPairSpec = (typeof KEY_PAIR_SPEC.enum)[number];

const input = { EncryptionContext: ENCRYPTION_CONTEXT, KeyId: KEY_ID, KeyPairSpec: KEY_PAIR_SPEC, GrantTokens: GRANT_TOKENS } as const;
const ext = { keyStates: ['Enabled'], grantable: true, crossAccount: true } as const;

/**
 * SM2 exists only in AWS's China Regions, ML-KEM everywhere else (the API reference's KeyPairSpec
 * note); ebsim generates no SM2 keys in any Region.
 */
function checkSpecInRegion(spec: KeyPairSpec, region: string): void {
  const china = isChinaRegion(region);
  if ((spec === 'SM2' && !china) || (spec.startsWith('ML_KEM') && china)) throw new UnsupportedOperationException(`KeyPairSpec ${spec} is not supported in this Region`);
  if (spec === 'SM2') throw new UnsupportedOperationException('KeyPairSpec SM2 is not supported by ebsim: it does not generate SM2 key pairs.');
}

/** A new key pair: PKCS#8 private key (the caller zeroes it) and SubjectPublicKeyInfo public key. */
function newKeyPair(spec: KeySpec): { privateKey: Buffer; publicKey: Buffer } {
  const material = newKeyMaterial(spec);
  const publicKey = publicKeyDer(spec, material);
  if (!spec.startsWith('ML_KEM')) return { privateKey: material, publicKey };
  const privateKey = seedPrivateKeyInfo(spec, material);
  material.fill(0);
  return { privateKey, publicKey };
}

function newDataKeyPair(ctx: CallContext, call: KmsCall, p: { KeyId: string; KeyPairSpec: KeyPairSpec; EncryptionContext?: EncryptionContext; Recipient?: object }) {
  const context = p.EncryptionContext ?? {};
  const facts = { context, encryptionAlgorithm: 'SYMMETRIC_DEFAULT', dataKeyPairSpec: p.KeyPairSpec };
  const key = requireSymmetric(usableKey(ctx, call, p.KeyId, facts), call.operation);
  refuseRecipient(p.Recipient, call.operation);
  checkSpecInRegion(p.KeyPairSpec, call.env.keys.region);
  const pair = newKeyPair(p.KeyPairSpec);
  return { key, ...pair, blob: seal(call, key, pair.privateKey, context) };
}

export const GenerateDataKeyPair = kmsOperation({
  name: 'GenerateDataKeyPair',
  description: 'A data key pair: public key, private key, and the private key encrypted',
  readOnly: true,
  ext,
  input: { ...input, Recipient: RECIPIENT },
  run(ctx, p, call) {
    const { key, privateKey, publicKey, blob } = newDataKeyPair(ctx, call, p);
    return { response: { PrivateKeyCiphertextBlob: blob, PrivateKeyPlaintext: privateKey, PublicKey: publicKey, KeyId: key.arn, KeyPairSpec: p.KeyPairSpec, ...keyMaterialIdOf(call, key) } };
  },
});

export const GenerateDataKeyPairWithoutPlaintext = kmsOperation({
  name: 'GenerateDataKeyPairWithoutPlaintext',
  description: 'A data key pair: public key and the private key encrypted (no plaintext private key)',
  readOnly: true,
  ext,
  input,
  run(ctx, p, call) {
    const { key, privateKey, publicKey, blob } = newDataKeyPair(ctx, call, p);
    privateKey.fill(0);
    return { response: { PrivateKeyCiphertextBlob: blob, PublicKey: publicKey, KeyId: key.arn, KeyPairSpec: p.KeyPairSpec, ...keyMaterialIdOf(call, key) } };
  },
});
