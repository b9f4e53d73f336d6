// Sign and Verify's cryptography over a key's stored material (key-material.ts), one branch per
// family of AWS's signing algorithms, with the outputs AWS documents: RSA signatures as PKCS #1
// (RFC 8017) defines them, ECDSA signatures DER-encoded (RFC 3279 section 2.2.3), Ed25519 and
// ML-DSA signatures as RFC 8032 and FIPS 204 define them. RSA runs through OpenSSL
// (node:crypto); ECDSA (NIST curves and secp256k1), Ed25519 and Ed25519ph through @noble/curves;
// ML-DSA through @noble/post-quantum. Requests are checked first (signing-rules.ts).
import { constants, createHash, privateEncrypt, publicDecrypt, sign as opensslSign, verify as opensslVerify, type KeyObject } from 'node:crypto';
import { ed25519, ed25519ph } from '@noble/curves/ed25519.js';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { ML_DSA, postQuantumKeys, privateKeyObject } from './key-material.js';
import type { KeySpec } from './key-specs.js';
import { emsaPssEncode, emsaPssVerify } from './emsa-pss.js';
import { hashOf, type HashName, type MessageType, type SigningAlgorithm } from './signing-rules.js';

export interface SigningRequest {
  spec: KeySpec;
  algorithm: SigningAlgorithm;
  messageType: MessageType;
  message: Uint8Array;
}

const CURVES = { ECC_NIST_P256: p256, ECC_NIST_P384: p384, ECC_NIST_P521: p521, ECC_SECG_P256K1: secp256k1 } as const;
type CurveSpec = keyof typeof CURVES;
const isCurve = (spec: KeySpec): spec is CurveSpec => spec in CURVES;
type MlDsaSpec = keyof typeof ML_DSA;
const isMlDsa = (spec: KeySpec): spec is MlDsaSpec => spec in ML_DSA;

/** The raw private scalar (or Ed25519 seed) and public key @noble/curves takes, read from the PKCS#8 once per material. */
const rawKeys = new WeakMap<Buffer, { secretKey: Uint8Array; publicKey: Uint8Array }>();
function curveKeys(material: Buffer): { secretKey: Uint8Array; publicKey: Uint8Array } {
  let k = rawKeys.get(material);
  if (!k) {
    const jwk = privateKeyObject(material).export({ format: 'jwk' });
    const b = (v: string | undefined) => Buffer.from(v!, 'base64url');
    // An EC public key as SEC 1 uncompressed point; an Ed25519 one as its 32 bytes.
    k = { secretKey: b(jwk.d), publicKey: jwk.kty === 'EC' ? Buffer.concat([Buffer.from([4]), b(jwk.x), b(jwk.y)]) : b(jwk.x) };
    rawKeys.set(material, k);
  }
  return k;
}

/** The digest a RAW message is signed over, or the DIGEST as given. */
function digestOf(hash: HashName, r: SigningRequest): Uint8Array {
  return r.messageType === 'DIGEST' ? r.message : createHash(hash).update(r.message).digest();
}

/** RFC 8017 section 9.2 note 1: the DER DigestInfo prefix for each hash. */
const DIGEST_INFO: Record<HashName, Buffer> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

const rsaOptions = (key: KeyObject, pss: boolean) =>
  pss ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } : { key, padding: constants.RSA_PKCS1_PADDING };

function rsaSign(material: Buffer, r: SigningRequest, hash: HashName): Buffer {
  const key = privateKeyObject(material);
  const pss = r.algorithm.startsWith('RSASSA_PSS_');
  if (r.messageType === 'RAW') return opensslSign(hash, r.message, rsaOptions(key, pss));
  // A digest: the encoding OpenSSL would have made after hashing, then the bare RSA operation.
  if (pss) return privateEncrypt({ key, padding: constants.RSA_NO_PADDING }, leftPad(emsaPssEncode(hash, r.message, modulusBits(key)), modulusBits(key)));
  return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([DIGEST_INFO[hash], r.message]));
}

function rsaVerify(material: Buffer, r: SigningRequest, hash: HashName, signature: Uint8Array): boolean {
  // OpenSSL takes the public half from the private key.
  const key = privateKeyObject(material);
  const pss = r.algorithm.startsWith('RSASSA_PSS_');
  if (r.messageType === 'RAW') return opensslVerify(hash, r.message, rsaOptions(key, pss), signature);
  const bits = modulusBits(key);
  if (signature.length !== Math.ceil(bits / 8)) return false;
  let recovered: Buffer;
  try {
    recovered = publicDecrypt({ key, padding: pss ? constants.RSA_NO_PADDING : constants.RSA_PKCS1_PADDING }, signature);
  } catch {
    return false; // not below the modulus, or not PKCS #1 v1.5 type 1 padding
  }
  return pss ? emsaPssVerify(hash, r.message, recovered, bits) : recovered.equals(Buffer.concat([DIGEST_INFO[hash], r.message]));
}

const modulusBits = (key: KeyObject) => key.asymmetricKeyDetails!.modulusLength!;
const leftPad = (em: Buffer, bits: number) => Buffer.concat([Buffer.alloc(Math.ceil(bits / 8) - em.length), em]);

/** The signature AWS's Sign returns for this request (already checked by checkSigningRequest). */
export function signMessage(material: Buffer, r: SigningRequest): Buffer {
  const hash = hashOf(r.algorithm);
  if (r.algorithm.startsWith('RSASSA_')) return rsaSign(material, r, hash!);
  if (isCurve(r.spec)) {
    // Randomized k (extraEntropy), and no low-S normalization: an HSM's plain ECDSA, as AWS's.
    return Buffer.from(CURVES[r.spec].sign(digestOf(hash!, r), curveKeys(material).secretKey, { prehash: false, format: 'der', lowS: false, extraEntropy: true }));
  }
  if (r.spec === 'ECC_NIST_EDWARDS25519') {
    // Ed25519ph hashes its input itself: a DIGEST is hashed once more, as the API reference warns.
    const scheme = r.algorithm === 'ED25519_PH_SHA_512' ? ed25519ph : ed25519;
    return Buffer.from(scheme.sign(r.message, curveKeys(material).secretKey));
  }
  if (isMlDsa(r.spec)) {
    const { secretKey } = postQuantumKeys(r.spec, material);
    // AWS signs with an empty context string (the library's default); μ skips FIPS 204's message formatting.
    const sig = r.messageType === 'EXTERNAL_MU' ? ML_DSA[r.spec].internal.sign(r.message, secretKey, { externalMu: true }) : ML_DSA[r.spec].sign(r.message, secretKey);
    return Buffer.from(sig);
  }
  throw new Error(`no signing for ${r.spec} with ${r.algorithm}`);
}

/** Whether `signature` is this key's signature of the request's message. Malformed signatures are simply not valid. */
export function verifySignature(material: Buffer, r: SigningRequest, signature: Uint8Array): boolean {
  const hash = hashOf(r.algorithm);
  try {
    if (r.algorithm.startsWith('RSASSA_')) return rsaVerify(material, r, hash!, signature);
    if (isCurve(r.spec)) {
      return CURVES[r.spec].verify(signature, digestOf(hash!, r), curveKeys(material).publicKey, { prehash: false, format: 'der', lowS: false });
    }
    if (r.spec === 'ECC_NIST_EDWARDS25519') {
      const scheme = r.algorithm === 'ED25519_PH_SHA_512' ? ed25519ph : ed25519;
      // RFC 8032's strict verification (not ZIP 215's), as OpenSSL's.
      return scheme.verify(signature, r.message, curveKeys(material).publicKey, { zip215: false });
    }
    if (isMlDsa(r.spec)) {
      const { publicKey } = postQuantumKeys(r.spec, material);
      return r.messageType === 'EXTERNAL_MU'
        ? ML_DSA[r.spec].internal.verify(signature, r.message, publicKey, { externalMu: true })
        : ML_DSA[r.spec].verify(signature, r.message, publicKey);
    }
  } catch {
    return false; // a signature the library cannot even parse
  }
  throw new Error(`no verification for ${r.spec} with ${r.algorithm}`);
}
