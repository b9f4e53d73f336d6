// What the cryptographic operations share: the algorithm check, sealing under a key's current
// material, and unsealing a blob whose header names its key and version.
import type { CallContext } from '../../core/call-context.js';
import { IncorrectKeyException, InvalidCiphertextException, ValidationException } from '../../errors/index.js';
import { openBlob, parseBlobHeader, sealBlob } from '../blob.js';
import type { EncryptionContext } from '../context.js';
import type { KmsKey } from '../keys.js';
import type { KmsRequestFacts } from '../condition-keys.js';
import type { KmsCall } from '../operation.js';
import { checkKey, touch } from '../usable-key.js';

/** Symmetric keys take only SYMMETRIC_DEFAULT (the enum itself is checked by the declaration). */
export function symmetricAlgorithm(a: string | undefined): 'SYMMETRIC_DEFAULT' {
  if (a !== undefined && a !== 'SYMMETRIC_DEFAULT') {
    throw new ValidationException(`The encryption algorithm ${a} is not valid for a symmetric encryption KMS key. Use SYMMETRIC_DEFAULT.`);
  }
  return 'SYMMETRIC_DEFAULT';
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
  if (!key) throw new InvalidCiphertextException('The ciphertext refers to a KMS key that does not exist in this account and Region.');
  if (keyIdParam !== undefined) {
    const named = keys.resolve(keyIdParam, true, true);
    if (named.keyId !== key.keyId) {
      touch(call, named);
      throw new IncorrectKeyException('The key ID in the request does not identify a KMS key that can perform this operation.');
    }
  }
  const usable = checkKey(ctx, call, key, { ...facts, action, context, keyIdParam });
  const material = keys.material(usable, header.version);
  if (!material) throw new InvalidCiphertextException('');
  return { key: usable, version: header.version, plaintext: openBlob(material, blobBytes, context) };
}

/** The KeyMaterialId of one version of a symmetric key's material (Decrypt, ReEncrypt and GenerateDataKey name it). */
export function keyMaterialIdOf(call: KmsCall, key: KmsKey, version = key.currentVersion): { KeyMaterialId?: string } {
  const id = call.env.imports.materialIdAt(key, version);
  return id ? { KeyMaterialId: id } : {};
}
