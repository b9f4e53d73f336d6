// The cryptography of importing key material: the RSA wrapping key pair GetParametersForImport
// hands out, the import token that carries its private half back (wrapped under the root key, so
// it is never stored, and never on disk in plaintext), unwrapping EncryptedKeyMaterial by the
// algorithm AWS documents, and checking the material's format for the key's spec.
// https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-get-public-key-and-token.html
import { constants, createDecipheriv, createPrivateKey, createPublicKey, privateDecrypt, type KeyObject } from 'node:crypto';
import { newRsaPrivateKey } from './spare-rsa-keys.js';
import { ExpiredImportTokenException, IncorrectKeyMaterialException, InvalidCiphertextException, InvalidImportTokenException } from '../errors/index.js';
import type { RootKey } from '../store/root-key.js';
import { EC_CURVES } from './key-material.js';
import { hmacKeyBytes, isHmac, type KeySpec } from './key-specs.js';

export const WRAPPING_ALGORITHMS = ['RSAES_PKCS1_V1_5', 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'RSA_AES_KEY_WRAP_SHA_1', 'RSA_AES_KEY_WRAP_SHA_256', 'SM2PKE'] as const;
export type WrappingAlgorithm = (typeof WRAPPING_ALGORITHMS)[number];
export const WRAPPING_KEY_SPECS = ['RSA_2048', 'RSA_3072', 'RSA_4096', 'SM2'] as const;
export type WrappingKeySpec = (typeof WRAPPING_KEY_SPECS)[number];

/** "Each public key and import token set is valid for 24 hours." */
export const IMPORT_PARAMETERS_LIFETIME_MS = 24 * 3600_000;

const TOKEN_LABEL = 'ebsim import token';
const TOKEN_VERSION = 1;
const RSA_BITS: Record<string, number> = { RSA_2048: 2048, RSA_3072: 3072, RSA_4096: 4096 };

/** What an import token binds together: the key, the wrapping algorithm, the private half of the wrapping key, the expiry. */
interface TokenContents {
  keyArn: string;
  algorithm: WrappingAlgorithm;
  validTo: number;
  privateKey: Buffer;
}

/** An RSA key pair in DER (a server's spare when one is ready, see spare-rsa-keys.ts). */
function rsaKeyPair(bits: number): { privateKey: Buffer; publicKey: Buffer } {
  const privateKey = newRsaPrivateKey(bits);
  return { privateKey, publicKey: createPublicKey(createPrivateKey({ key: privateKey, format: 'der', type: 'pkcs8' })).export({ type: 'spki', format: 'der' }) };
}

/** A fresh RSA wrapping key pair and the import token for it (the caller has checked the algorithm and spec). */
export function importParameters(rootKey: RootKey, keyArn: string, algorithm: WrappingAlgorithm, spec: WrappingKeySpec, now = Date.now()) {
  const der = rsaKeyPair(RSA_BITS[spec]!);
  const validTo = now + IMPORT_PARAMETERS_LIFETIME_MS;
  const header = Buffer.from(JSON.stringify({ k: keyArn, a: algorithm, v: validTo }));
  const length = Buffer.alloc(2);
  length.writeUInt16BE(header.length);
  const payload = Buffer.concat([length, header, der.privateKey]);
  const token = Buffer.concat([Buffer.from([TOKEN_VERSION]), rootKey.wrap(payload, TOKEN_LABEL)]);
  payload.fill(0);
  der.privateKey.fill(0);
  return { publicKey: der.publicKey, importToken: token, parametersValidTo: new Date(validTo) };
}

/**
 * The wrapping private key and algorithm of an import token given back for `keyArn`. A token this
 * home did not make, or made for another key: InvalidImportTokenException; one past its 24 hours:
 * ExpiredImportTokenException.
 */
export function openImportToken(rootKey: RootKey, token: Uint8Array, keyArn: string, now = Date.now()): { algorithm: WrappingAlgorithm; privateKey: KeyObject } {
  const invalid = () => new InvalidImportTokenException('Import token is invalid or expired, or is not associated with this KMS key.');
  const payload = token[0] === TOKEN_VERSION ? rootKey.open(token.subarray(1), TOKEN_LABEL) : undefined;
  if (!payload) throw invalid();
  try {
    const length = payload.readUInt16BE(0);
    const t = JSON.parse(payload.subarray(2, 2 + length).toString('utf8')) as { k: string; a: WrappingAlgorithm; v: number };
    const contents: TokenContents = { keyArn: t.k, algorithm: t.a, validTo: t.v, privateKey: payload.subarray(2 + length) };
    if (contents.keyArn !== keyArn) throw invalid();
    if (contents.validTo <= now) throw new ExpiredImportTokenException('The import token has expired. Use GetParametersForImport to get a new import token and public key.');
    return { algorithm: contents.algorithm, privateKey: createPrivateKey({ key: contents.privateKey, format: 'der', type: 'pkcs8' }) };
  } finally {
    payload.fill(0);
  }
}

/** KWP's alternative initial value (RFC 5649, section 3). */
const KWP_IV = Buffer.from('A65959A6', 'hex');

/**
 * The key material inside EncryptedKeyMaterial. RSAES_OAEP_*: the material under RSA-OAEP (MGF1
 * with the same hash, empty label). RSA_AES_KEY_WRAP_*: an ephemeral AES-256 key under RSA-OAEP,
 * followed by the material under AES key wrap with padding (RFC 5649), as the Developer Guide's
 * OpenSSL steps concatenate them. Anything that does not open: InvalidCiphertextException.
 */
export function unwrapKeyMaterial(encrypted: Uint8Array, algorithm: WrappingAlgorithm, privateKey: KeyObject): Buffer {
  const oaepHash = algorithm.endsWith('SHA_1') ? 'sha1' : 'sha256';
  const rsa = (bytes: Uint8Array) => privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, bytes);
  try {
    if (algorithm.startsWith('RSAES_OAEP')) return rsa(encrypted);
    const modulusBytes = (privateKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8;
    if (encrypted.length <= modulusBytes) throw new Error('no wrapped material after the wrapped AES key');
    const aesKey = rsa(encrypted.subarray(0, modulusBytes));
    try {
      if (aesKey.length !== 32) throw new Error('the ephemeral key is not AES-256');
      const d = createDecipheriv('id-aes256-wrap-pad', aesKey, KWP_IV);
      return Buffer.concat([d.update(encrypted.subarray(modulusBytes)), d.final()]);
    } finally {
      aesKey.fill(0);
    }
  } catch {
    throw new InvalidCiphertextException('');
  }
}

/**
 * HMAC key material lengths AWS accepts for import, in bytes (Developer Guide, "Requirements for
 * imported key material"): at least the digest length, at most the hash's block size.
 */
const HMAC_IMPORT_BYTES: Partial<Record<KeySpec, [number, number]>> = { HMAC_224: [28, 64], HMAC_256: [32, 64], HMAC_384: [48, 128], HMAC_512: [64, 128] };

/** The specs whose material can be imported (and the form ebsim stores for them). */
export function importableSpec(spec: KeySpec): boolean {
  return spec === 'SYMMETRIC_DEFAULT' || isHmac(spec) || spec.startsWith('RSA_') || spec in EC_CURVES || spec === 'ECC_NIST_EDWARDS25519';
}

/**
 * The material as ebsim stores it for `spec`, or IncorrectKeyMaterialException: 256 bits for a
 * symmetric key; the raw key for HMAC; an unencrypted PKCS#8 DER private key of the key's own
 * type, curve and size for RSA, ECC and Ed25519 (re-encoded by OpenSSL).
 */
export function checkImportedMaterial(spec: KeySpec, material: Buffer): Buffer {
  const wrong = (why: string) => new IncorrectKeyMaterialException(`The key material is not valid for a ${spec} KMS key: ${why}.`);
  if (spec === 'SYMMETRIC_DEFAULT') {
    if (material.length !== 32) throw wrong(`it must be 256 bits, not ${material.length * 8}`);
    return Buffer.from(material);
  }
  if (isHmac(spec)) {
    const [min, max] = HMAC_IMPORT_BYTES[spec] ?? [hmacKeyBytes(spec), hmacKeyBytes(spec)];
    if (material.length < min || material.length > max) throw wrong(`it must be ${min} to ${max} bytes, not ${material.length}`);
    return Buffer.from(material);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: material, format: 'der', type: 'pkcs8' });
  } catch {
    throw wrong('it is not a DER-encoded PKCS #8 private key');
  }
  const details = key.asymmetricKeyDetails ?? {};
  const curve = EC_CURVES[spec];
  const fits =
    spec.startsWith('RSA_') ? key.asymmetricKeyType === 'rsa' && details.modulusLength === RSA_BITS[spec]
    : curve ? key.asymmetricKeyType === 'ec' && details.namedCurve === curve
    : spec === 'ECC_NIST_EDWARDS25519' && key.asymmetricKeyType === 'ed25519';
  if (!fits) throw wrong(`it is a ${key.asymmetricKeyType}${details.modulusLength ? ` ${details.modulusLength}-bit` : details.namedCurve ? ` ${details.namedCurve}` : ''} key`);
  return key.export({ type: 'pkcs8', format: 'der' });
}
