// What Sign and Verify accept, before any cryptography: the signing algorithm must be one of the
// key's (DescribeKey's SigningAlgorithms), and the message type and length must fit the
// algorithm, as the API reference's MessageType documents (API_Sign.html, API_Verify.html).
// Pure: a key spec, an algorithm, a message type and a length in; AWS's error out.
import { InvalidKeyUsageException, ValidationException } from '../errors/index.js';
import { algorithmsOf, type KeySpec } from './key-specs.js';

export type SigningAlgorithm =
  | 'RSASSA_PSS_SHA_256' | 'RSASSA_PSS_SHA_384' | 'RSASSA_PSS_SHA_512' | 'RSASSA_PKCS1_V1_5_SHA_256' | 'RSASSA_PKCS1_V1_5_SHA_384' | 'RSASSA_PKCS1_V1_5_SHA_512'
  | 'ECDSA_SHA_256' | 'ECDSA_SHA_384' | 'ECDSA_SHA_512' | 'ED25519_SHA_512' | 'ED25519_PH_SHA_512' | 'ML_DSA_SHAKE_256' | 'SM2DSA';
export type MessageType = 'RAW' | 'DIGEST' | 'EXTERNAL_MU';
export type HashName = 'sha256' | 'sha384' | 'sha512';

/** "Signing algorithms that end in SHA_256 use the SHA_256 hashing algorithm", and so on; none for ML-DSA (SHAKE256, inside FIPS 204) and SM2DSA. */
export function hashOf(algorithm: SigningAlgorithm): HashName | undefined {
  const m = /_SHA_(256|384|512)$/.exec(algorithm);
  return m ? (`sha${m[1]}` as HashName) : undefined;
}

const HASH_BYTES: Record<HashName, number> = { sha256: 32, sha384: 48, sha512: 64 };
/** FIPS 204 section 6.2: μ is 64 bytes. */
export const EXTERNAL_MU_BYTES = 64;

const isMlDsa = (spec: KeySpec) => spec.startsWith('ML_DSA_');

/**
 * Throws AWS's error for a request the key cannot serve: an algorithm not among the key's
 * (InvalidKeyUsageException, worded as AWS words "Algorithm SYMMETRIC_DEFAULT is incompatible
 * with key spec RSA_4096."), a message type the algorithm does not take, or a digest or μ of the
 * wrong length (ValidationException, "Digest is invalid length for algorithm ECDSA_SHA_256.").
 */
export function checkSigningRequest(spec: KeySpec, algorithm: SigningAlgorithm, messageType: MessageType, messageLength: number): void {
  if (!(algorithmsOf(spec, 'SIGN_VERIFY').SigningAlgorithms ?? []).includes(algorithm)) {
    throw new InvalidKeyUsageException(`Algorithm ${algorithm} is incompatible with key spec ${spec}.`);
  }
  const typeRefused = (what: string) => new ValidationException(`Message type ${messageType} is incompatible with ${what}.`);
  // Ed25519: "ED25519_SHA_512 signing algorithm requires KMS MessageType:RAW; ED25519_PH_SHA_512
  // signing algorithm requires KMS MessageType:DIGEST" (and KMS still applies Ed25519ph's prehash).
  if (algorithm === 'ED25519_SHA_512' && messageType !== 'RAW') throw typeRefused(`algorithm ${algorithm}`);
  if (algorithm === 'ED25519_PH_SHA_512' && messageType !== 'DIGEST') throw typeRefused(`algorithm ${algorithm}`);
  // ML-DSA takes RAW or EXTERNAL_MU; EXTERNAL_MU is ML-DSA's alone.
  if (isMlDsa(spec) ? messageType === 'DIGEST' : messageType === 'EXTERNAL_MU') throw typeRefused(`key spec ${spec}`);
  if (messageType === 'DIGEST' && messageLength !== HASH_BYTES[hashOf(algorithm)!]) {
    throw new ValidationException(`Digest is invalid length for algorithm ${algorithm}.`);
  }
  if (messageType === 'EXTERNAL_MU' && messageLength !== EXTERNAL_MU_BYTES) {
    throw new ValidationException(`External mu is invalid length for algorithm ${algorithm}: it must be ${EXTERNAL_MU_BYTES} bytes.`);
  }
}
