// What the cryptographic operations share: the algorithm check, sealing under a key's current
// material, unsealing a blob whose header names its key and version, and the routing by key spec
// between those (symmetric keys) and RSAES-OAEP (RSA ENCRYPT_DECRYPT keys).
import type { CallContext } from '../../core/call-context.js';
import { IncorrectKeyException, InvalidCiphertextException, InvalidKeyUsageException, UnsupportedOperationException, ValidationException } from '../../errors/index.js';
import { openBlob, parseBlobHeader, sealBlob } from '../blob.js';
import type { EncryptionContext } from '../context.js';
import { algorithmsOf } from '../key-specs.js';
import type { KmsKey } from '../keys.js';
import type { KmsRequestFacts } from '../condition-keys.js';
import type { KmsCall } from '../operation.js';
import { isRsaEncryptionAlgorithm, rsaDecrypt, rsaEncrypt } from '../rsa-encryption.js';
import { checkKey, requireSymmetric, requireUsage, touch, usableKey } from '../usable-key.js';

export type EncryptionAlgorithm = 'SYMMETRIC_DEFAULT' | 'RSAES_OAEP_SHA_1' | 'RSAES_OAEP_SHA_256' | 'SM2PKE';

/**
 * The algorithm must be one of the key's (DescribeKey's EncryptionAlgorithms): else AWS's
 * InvalidKeyUsageException, "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_4096."
 */
function requireEncryptionAlgorithm(key: KmsKey, algorithm: EncryptionAlgorithm): void {
  if (!(algorithmsOf(key.keySpec, key.keyUsage).EncryptionAlgorithms ?? []).includes(algorithm)) {
    throw new InvalidKeyUsageException(`Algorithm ${algorithm} is incompatible with key spec ${key.keySpec}.`);
  }
}

/** An encryption context is a symmetric key's only: AWS refuses one with an asymmetric key. */
function refuseContext(context: EncryptionContext): void {
  if (Object.keys(context).length) throw new ValidationException('EncryptionContext is not supported when encrypting/decrypting with asymmetric CMKs.');
}

function rsaAlgorithm(algorithm: EncryptionAlgorithm) {
  if (!isRsaEncryptionAlgorithm(algorithm)) throw new UnsupportedOperationException(`ebsim does not model ${algorithm} (SM2 keys exist only in AWS China Regions).`);
  return algorithm;
}

/**
 * The ciphertext of Encrypt (and ReEncrypt's destination) under a key already found and
 * authorized: a sealed blob for a symmetric key, the bare RSAES-OAEP ciphertext for an RSA key.
 */
export function encryptUnder(call: KmsCall, key: KmsKey, plaintext: Uint8Array, context: EncryptionContext, algorithm: EncryptionAlgorithm): Buffer {
  requireUsage(key, 'ENCRYPT_DECRYPT', call.operation);
  requireEncryptionAlgorithm(key, algorithm);
  if (algorithm === 'SYMMETRIC_DEFAULT') return seal(call, key, plaintext, context);
  refuseContext(context);
  return rsaEncrypt(key.keySpec, call.env.keys.material(key, key.currentVersion)!, rsaAlgorithm(algorithm), plaintext);
}

/**
 * Decrypt's (and ReEncrypt's source) work. SYMMETRIC_DEFAULT: the blob names its key, KeyId only
 * has to agree. An asymmetric algorithm: the ciphertext names nothing, so KeyId says which key.
 */
export function decryptAny(
  ctx: CallContext,
  call: KmsCall,
  p: { blob: Uint8Array; context: EncryptionContext; keyIdParam: string | undefined; algorithm: EncryptionAlgorithm; action: string },
  facts: KmsRequestFacts = {},
): { key: KmsKey; version: number; plaintext: Buffer } {
  if (p.algorithm === 'SYMMETRIC_DEFAULT') return unseal(ctx, call, p.blob, p.context, p.keyIdParam, p.action, { ...facts, encryptionAlgorithm: p.algorithm });
  if (p.keyIdParam === undefined) {
    throw new ValidationException(`${p.action === 'Decrypt' ? 'KeyId' : 'SourceKeyId'} is required when the ciphertext was encrypted under an asymmetric KMS key (EncryptionAlgorithm ${p.algorithm}).`);
  }
  const key = usableKey(ctx, call, p.keyIdParam, { ...facts, action: p.action, context: p.context, encryptionAlgorithm: p.algorithm });
  requireUsage(key, 'ENCRYPT_DECRYPT', call.operation);
  requireEncryptionAlgorithm(key, p.algorithm);
  refuseContext(p.context);
  return { key, version: key.currentVersion, plaintext: rsaDecrypt(call.env.keys.material(key, key.currentVersion)!, rsaAlgorithm(p.algorithm), p.blob) };
}

export function seal(call: KmsCall, key: KmsKey, plaintext: Uint8Array, context: EncryptionContext): Buffer {
  const material = call.env.keys.material(key, key.currentVersion)!;
  return sealBlob(material, { keyId: key.keyId, version: key.currentVersion }, plaintext, context);
}

/** The key ID a blob's header names, if it is a blob at all (no error: the operation reports that). */
export function blobKeyId(blobBytes: Uint8Array): string | undefined {
  try {
    return parseBlobHeader(blobBytes).keyId;
  } catch {
    return undefined;
  }
}

/** Finds, authorizes and opens a blob: the key and version come from the blob itself. `facts` are the request's other condition-key facts. */
export function unseal(ctx: CallContext, call: KmsCall, blobBytes: Uint8Array, context: EncryptionContext, keyIdParam: string | undefined, action: string, facts: KmsRequestFacts = {}) {
  const { keys } = call.env;
  const header = parseBlobHeader(blobBytes);
  // The blob names only its key ID: a key of another account of the home is found by it (AWS's
  // blob carries the key ARN), as Decrypt and ReEncrypt may use keys across accounts.
  const key = keys.getInHome(header.keyId);
  if (!key) throw new InvalidCiphertextException(''); // AWS says no more for a blob of an unknown key
  if (keyIdParam !== undefined) {
    const named = keys.resolve(keyIdParam, true, true);
    if (named.keyId !== key.keyId) {
      touch(call, named);
      // AWS's recorded wording still says CMK.
      throw new IncorrectKeyException('The key ID in the request does not identify a CMK that can perform this operation.');
    }
  }
  // Only a symmetric encryption key seals blobs: a header naming any other key is refused before
  // its material is used as an AES key.
  const usable = requireSymmetric(checkKey(ctx, call, key, { ...facts, action, context, keyIdParam }), call.operation);
  const material = keys.material(usable, header.version);
  if (!material) throw new InvalidCiphertextException('');
  return { key: usable, version: header.version, plaintext: openBlob(material, blobBytes, context) };
}

/** The KeyMaterialId of one version of a symmetric key's material (Decrypt, ReEncrypt and GenerateDataKey name it). */
export function keyMaterialIdOf(call: KmsCall, key: KmsKey, version = key.currentVersion): { KeyMaterialId?: string } {
  // "present only when the operation uses a symmetric encryption KMS key"
  if (key.keySpec !== 'SYMMETRIC_DEFAULT') return {};
  const id = call.env.imports.materialIdAt(key, version);
  return id ? { KeyMaterialId: id } : {};
}
