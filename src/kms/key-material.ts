// Key material by spec: what is stored (wrapped under the root key) for each kind of key, and
// the public half derived from it. Stored forms: 32 random bytes (symmetric), the HMAC key,
// PKCS#8 DER (RSA, ECC, Ed25519: OpenSSL's own format), the FIPS 204/203 seed (ML-DSA: 32
// bytes, ML-KEM: 64 bytes; the key pair is derived from it, as FIPS allows).
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import { ml_kem512, ml_kem768, ml_kem1024 } from '@noble/post-quantum/ml-kem.js';
import { hmacKeyBytes, isHmac, type KeySpec } from './key-specs.js';
import { newRsaPrivateKey } from './spare-rsa-keys.js';

const RSA_BITS: Partial<Record<KeySpec, number>> = { RSA_2048: 2048, RSA_3072: 3072, RSA_4096: 4096 };
/** OpenSSL's curve names. */
export const EC_CURVES: Partial<Record<KeySpec, string>> = {
  ECC_NIST_P256: 'prime256v1',
  ECC_NIST_P384: 'secp384r1',
  ECC_NIST_P521: 'secp521r1',
  ECC_SECG_P256K1: 'secp256k1',
};
export const ML_DSA = { ML_DSA_44: ml_dsa44, ML_DSA_65: ml_dsa65, ML_DSA_87: ml_dsa87 } as const;
export const ML_KEM = { ML_KEM_512: ml_kem512, ML_KEM_768: ml_kem768, ML_KEM_1024: ml_kem1024 } as const;
/** The algorithm OIDs of FIPS 204/203 keys in a SubjectPublicKeyInfo (NIST CSOR, 2.16.840.1.101.3.4.3.17… and .4.4.1…). */
const PQ_OID: Partial<Record<KeySpec, readonly number[]>> = {
  ML_DSA_44: [2, 16, 840, 1, 101, 3, 4, 3, 17],
  ML_DSA_65: [2, 16, 840, 1, 101, 3, 4, 3, 18],
  ML_DSA_87: [2, 16, 840, 1, 101, 3, 4, 3, 19],
  ML_KEM_512: [2, 16, 840, 1, 101, 3, 4, 4, 1],
  ML_KEM_768: [2, 16, 840, 1, 101, 3, 4, 4, 2],
  ML_KEM_1024: [2, 16, 840, 1, 101, 3, 4, 4, 3],
};

const isMlDsa = (spec: KeySpec): spec is keyof typeof ML_DSA => spec in ML_DSA;
const isMlKem = (spec: KeySpec): spec is keyof typeof ML_KEM => spec in ML_KEM;

/** New material for a key of this spec (the caller wraps it and zeroes it). */
export function newKeyMaterial(spec: KeySpec): Buffer {
  if (spec === 'SYMMETRIC_DEFAULT') return randomBytes(32);
  if (isHmac(spec)) return randomBytes(hmacKeyBytes(spec));
  if (isMlDsa(spec)) return randomBytes(32);
  if (isMlKem(spec)) return randomBytes(64);
  const der = { type: 'pkcs8', format: 'der' } as const;
  const bits = RSA_BITS[spec];
  if (bits) return newRsaPrivateKey(bits);
  const curve = EC_CURVES[spec];
  if (curve) return generateKeyPairSync('ec', { namedCurve: curve, privateKeyEncoding: der, publicKeyEncoding: { type: 'spki', format: 'der' } }).privateKey;
  if (spec === 'ECC_NIST_EDWARDS25519') return generateKeyPairSync('ed25519', { privateKeyEncoding: der, publicKeyEncoding: { type: 'spki', format: 'der' } }).privateKey;
  throw new Error(`no key material for ${spec}`);
}

// Derived forms are cached per material buffer (KeyStore keeps one buffer per key version).
const privateKeys = new WeakMap<Buffer, KeyObject>();
const publicDers = new WeakMap<Buffer, Buffer>();
const pqKeys = new WeakMap<Buffer, { publicKey: Uint8Array; secretKey: Uint8Array }>();

/** The private key of an RSA, ECC or Ed25519 key (OpenSSL's object, parsed once). */
export function privateKeyObject(material: Buffer): KeyObject {
  let k = privateKeys.get(material);
  if (!k) privateKeys.set(material, (k = createPrivateKey({ key: material, format: 'der', type: 'pkcs8' })));
  return k;
}

/** An ML-DSA or ML-KEM key pair, derived from its seed once. */
export function postQuantumKeys(spec: KeySpec, material: Buffer): { publicKey: Uint8Array; secretKey: Uint8Array } {
  let k = pqKeys.get(material);
  if (!k) {
    if (isMlDsa(spec)) k = ML_DSA[spec].keygen(material);
    else if (isMlKem(spec)) k = ML_KEM[spec].keygen(material);
    else throw new Error(`${spec} is not a post-quantum key spec`);
    pqKeys.set(material, k);
  }
  return k;
}

/** The DER SubjectPublicKeyInfo GetPublicKey returns, for any asymmetric spec. */
export function publicKeyDer(spec: KeySpec, material: Buffer): Buffer {
  let der = publicDers.get(material);
  if (!der) {
    const oid = PQ_OID[spec];
    der = oid ? subjectPublicKeyInfo(oid, postQuantumKeys(spec, material).publicKey) : createPublicKey(privateKeyObject(material)).export({ type: 'spki', format: 'der' });
    publicDers.set(material, der);
  }
  return der;
}

// ---- a little DER, for the SubjectPublicKeyInfo of keys OpenSSL 3.0 does not know ----------

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, body: Buffer) => Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);

function derOid(arcs: readonly number[]): Buffer {
  const out = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const groups: number[] = [];
    for (let v = arc; ; v = Math.floor(v / 128)) {
      groups.unshift(v % 128);
      if (v < 128) break;
    }
    out.push(...groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g)));
  }
  return tlv(0x06, Buffer.from(out));
}

/** SEQUENCE { SEQUENCE { algorithm OID } (no parameters, RFC 9881/9935), BIT STRING key }. */
export function subjectPublicKeyInfo(oid: readonly number[], publicKey: Uint8Array): Buffer {
  return tlv(0x30, Buffer.concat([tlv(0x30, derOid(oid)), tlv(0x03, Buffer.concat([Buffer.from([0]), Buffer.from(publicKey)]))]));
}

/**
 * OneAsymmetricKey v1 (RFC 5958, PKCS#8) holding an ML-KEM private key in seed form, the 64-byte
 * d || z as `seed [0] IMPLICIT OCTET STRING` (RFC 9935): the form AWS's ML-KEM data key pairs
 * take, 86 bytes for every parameter set.
 */
export function seedPrivateKeyInfo(spec: KeySpec, seed: Uint8Array): Buffer {
  const oid = PQ_OID[spec];
  if (!oid || !isMlKem(spec) || seed.length !== 64) throw new RangeError(`seedPrivateKeyInfo: a 64-byte ML-KEM seed expected, got ${spec} and ${seed.length} bytes`);
  const version = Buffer.from([0x02, 0x01, 0x00]);
  return tlv(0x30, Buffer.concat([version, tlv(0x30, derOid(oid)), tlv(0x04, tlv(0x80, Buffer.from(seed)))]));
}
