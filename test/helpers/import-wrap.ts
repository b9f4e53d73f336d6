// The client's side of importing key material, as the KMS Developer Guide's OpenSSL steps do it,
// with node:crypto: RSAES_OAEP_* wraps the material under the public key; RSA_AES_KEY_WRAP_*
// wraps an ephemeral AES-256 key so, followed by the material under AES key wrap with padding
// (RFC 5649, OpenSSL's id-aes256-wrap-pad).
import { constants, createCipheriv, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';

export type WrappingAlgorithm = 'RSAES_OAEP_SHA_1' | 'RSAES_OAEP_SHA_256' | 'RSA_AES_KEY_WRAP_SHA_1' | 'RSA_AES_KEY_WRAP_SHA_256';

export function wrapMaterial(publicKeyDer: Uint8Array, material: Uint8Array, algorithm: WrappingAlgorithm): Buffer {
  const key = createPublicKey({ key: Buffer.from(publicKeyDer), format: 'der', type: 'spki' });
  const oaep = (bytes: Uint8Array) => publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: algorithm.endsWith('SHA_1') ? 'sha1' : 'sha256' }, bytes);
  if (algorithm.startsWith('RSAES_OAEP')) return oaep(material);
  const aesKey = randomBytes(32);
  const kwp = createCipheriv('id-aes256-wrap-pad', aesKey, Buffer.from('A65959A6', 'hex'));
  return Buffer.concat([oaep(aesKey), kwp.update(material), kwp.final()]);
}

/** ebsim's ciphertext blob (kms/blob.ts: 33-byte header, nonce at 21, tag last) as the AAD and parts @noble/ciphers' gcm needs, for an empty context. */
export function blobParts(blob: Uint8Array): { nonce: Buffer; aad: Buffer; sealed: Buffer } {
  const b = Buffer.from(blob);
  return { nonce: b.subarray(21, 33), aad: Buffer.concat([b.subarray(0, 33), Buffer.alloc(4)]), sealed: b.subarray(33) };
}
