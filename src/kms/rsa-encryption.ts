// Encrypt and Decrypt under an RSA ENCRYPT_DECRYPT key: RSAES-OAEP (RFC 8017 section 7.1)
// through OpenSSL, with MGF1 over the same hash and an empty label, so a ciphertext made with
// GetPublicKey's key by any standard tool decrypts here, as at AWS. The ciphertext is the bare
// RSA output (as long as the modulus): it names no key, so Decrypt needs KeyId and the algorithm.
import { constants, privateDecrypt, publicEncrypt } from 'node:crypto';
import { InvalidCiphertextException, ValidationException } from '../errors/index.js';
import { privateKeyObject } from './key-material.js';
import type { KeySpec } from './key-specs.js';

export type RsaEncryptionAlgorithm = 'RSAES_OAEP_SHA_1' | 'RSAES_OAEP_SHA_256';
export const isRsaEncryptionAlgorithm = (a: string): a is RsaEncryptionAlgorithm => a === 'RSAES_OAEP_SHA_1' || a === 'RSAES_OAEP_SHA_256';

const OAEP_HASH = { RSAES_OAEP_SHA_1: { name: 'sha1', bytes: 20 }, RSAES_OAEP_SHA_256: { name: 'sha256', bytes: 32 } } as const;
const MODULUS_BYTES: Partial<Record<KeySpec, number>> = { RSA_2048: 256, RSA_3072: 384, RSA_4096: 512 };

/**
 * The most plaintext one ciphertext holds, k − 2·hLen − 2 bytes (RFC 8017 7.1.1): the Encrypt API
 * reference's table (RSA_2048: 214 and 190 bytes; RSA_3072: 342 and 318; RSA_4096: 470 and 446).
 */
export function maxPlaintextBytes(spec: KeySpec, algorithm: RsaEncryptionAlgorithm): number {
  const k = MODULUS_BYTES[spec];
  if (k === undefined) throw new RangeError(`maxPlaintextBytes: ${spec} is not an RSA key spec`);
  return k - 2 * OAEP_HASH[algorithm].bytes - 2;
}

export function rsaEncrypt(spec: KeySpec, material: Buffer, algorithm: RsaEncryptionAlgorithm, plaintext: Uint8Array): Buffer {
  const max = maxPlaintextBytes(spec, algorithm);
  if (plaintext.length > max) throw new ValidationException(`Algorithm ${algorithm} and key spec ${spec} cannot encrypt data larger than ${max} bytes.`);
  // OpenSSL derives the public key from the private one.
  return publicEncrypt({ key: privateKeyObject(material), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: OAEP_HASH[algorithm].name }, plaintext);
}

export function rsaDecrypt(material: Buffer, algorithm: RsaEncryptionAlgorithm, ciphertext: Uint8Array): Buffer {
  try {
    return privateDecrypt({ key: privateKeyObject(material), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: OAEP_HASH[algorithm].name }, ciphertext);
  } catch {
    // Wrong key, wrong algorithm, wrong length or tampered bytes: AWS says no more than this.
    throw new InvalidCiphertextException('');
  }
}
