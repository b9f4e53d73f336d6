// What each KeySpec may be used for, and with which algorithms: the CreateKey API reference's
// table as data. Pure: no keys, no storage. SM2 exists only in AWS's China Regions.
import { UnsupportedOperationException, ValidationException } from '../errors/index.js';

export const KEY_SPECS = [
  'SYMMETRIC_DEFAULT', 'RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1', 'ECC_NIST_EDWARDS25519',
  'HMAC_224', 'HMAC_256', 'HMAC_384', 'HMAC_512', 'SM2', 'ML_DSA_44', 'ML_DSA_65', 'ML_DSA_87', 'ML_KEM_512', 'ML_KEM_768', 'ML_KEM_1024',
] as const;
export type KeySpec = (typeof KEY_SPECS)[number];

export const KEY_USAGES = ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT', 'ENCAPSULATE_DECAPSULATE'] as const;
export type KeyUsage = (typeof KEY_USAGES)[number];

/** The algorithm lists DescribeKey shows for a key of one spec and usage. */
export interface KeyAlgorithms {
  EncryptionAlgorithms?: readonly string[];
  SigningAlgorithms?: readonly string[];
  MacAlgorithms?: readonly string[];
  KeyAgreementAlgorithms?: readonly string[];
  EncapsulationAlgorithms?: readonly string[];
}

const RSA_USAGES = {
  ENCRYPT_DECRYPT: { EncryptionAlgorithms: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] },
  SIGN_VERIFY: {
    SigningAlgorithms: ['RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PKCS1_V1_5_SHA_512', 'RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_384', 'RSASSA_PSS_SHA_512'],
  },
} as const;
const ecdsa = (alg: string) => ({ SIGN_VERIFY: { SigningAlgorithms: [alg] }, KEY_AGREEMENT: { KeyAgreementAlgorithms: ['ECDH'] } });
const mac = (alg: string) => ({ GENERATE_VERIFY_MAC: { MacAlgorithms: [alg] } });
const mlDsa = { SIGN_VERIFY: { SigningAlgorithms: ['ML_DSA_SHAKE_256'] } };
const mlKem = { ENCAPSULATE_DECAPSULATE: { EncapsulationAlgorithms: ['ML_KEM'] } };

/** Per spec: the usages it allows (with their algorithms); the first is the spec's own default where AWS has one. */
export const SPEC_USAGES: Readonly<Record<KeySpec, Partial<Record<KeyUsage, KeyAlgorithms | undefined>>>> = {
  SYMMETRIC_DEFAULT: { ENCRYPT_DECRYPT: { EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'] } },
  RSA_2048: RSA_USAGES,
  RSA_3072: RSA_USAGES,
  RSA_4096: RSA_USAGES,
  ECC_NIST_P256: ecdsa('ECDSA_SHA_256'),
  ECC_NIST_P384: ecdsa('ECDSA_SHA_384'),
  ECC_NIST_P521: ecdsa('ECDSA_SHA_512'),
  ECC_SECG_P256K1: { SIGN_VERIFY: { SigningAlgorithms: ['ECDSA_SHA_256'] } },
  ECC_NIST_EDWARDS25519: { SIGN_VERIFY: { SigningAlgorithms: ['ED25519_SHA_512', 'ED25519_PH_SHA_512'] } },
  HMAC_224: mac('HMAC_SHA_224'),
  HMAC_256: mac('HMAC_SHA_256'),
  HMAC_384: mac('HMAC_SHA_384'),
  HMAC_512: mac('HMAC_SHA_512'),
  SM2: { ENCRYPT_DECRYPT: { EncryptionAlgorithms: ['SM2PKE'] }, SIGN_VERIFY: { SigningAlgorithms: ['SM2DSA'] }, KEY_AGREEMENT: { KeyAgreementAlgorithms: ['ECDH'] } },
  ML_DSA_44: mlDsa,
  ML_DSA_65: mlDsa,
  ML_DSA_87: mlDsa,
  ML_KEM_512: mlKem,
  ML_KEM_768: mlKem,
  ML_KEM_1024: mlKem,
};

/** AWS's China Regions, the only ones with SM2 keys. */
export const isChinaRegion = (region: string) => region.startsWith('cn-');

export const isSymmetric = (spec: KeySpec) => spec === 'SYMMETRIC_DEFAULT';
export const isHmac = (spec: KeySpec) => spec.startsWith('HMAC_');
/** Asymmetric: a key pair, with a public key GetPublicKey returns. */
export const isAsymmetric = (spec: KeySpec) => !isSymmetric(spec) && !isHmac(spec);

/**
 * The spec and usage CreateKey makes from its parameters, or AWS's ValidationException. KeyUsage
 * defaults to ENCRYPT_DECRYPT (the API reference's default) except for the specs that allow only
 * one usage (HMAC, Ed25519, secp256k1, ML-DSA, ML-KEM), where AWS's console picks it; a spec
 * allowing several (RSA, NIST ECC) takes ENCRYPT_DECRYPT, which the NIST curves then refuse.
 */
export function createKeySpec(specParam: string | undefined, usageParam: string | undefined, region: string): { keySpec: KeySpec; keyUsage: KeyUsage } {
  const keySpec = (specParam ?? 'SYMMETRIC_DEFAULT') as KeySpec;
  if (keySpec === 'SM2' && !isChinaRegion(region)) {
    // A peer emulator's recorded AWS answer; SM2 keys exist only in AWS's China Regions.
    throw new UnsupportedOperationException('KeySpec SM2 is not supported in this Region');
  }
  const allowed = SPEC_USAGES[keySpec];
  const usages = Object.keys(allowed) as KeyUsage[];
  const keyUsage = (usageParam ?? (usages.length === 1 ? usages[0] : 'ENCRYPT_DECRYPT')) as KeyUsage;
  if (!allowed[keyUsage]) {
    throw new ValidationException(`KeyUsage ${keyUsage} is not compatible with KeySpec ${keySpec}`);
  }
  return { keySpec, keyUsage };
}

/** The algorithm lists of DescribeKey's KeyMetadata for a key of this spec and usage. */
export function algorithmsOf(spec: KeySpec, usage: KeyUsage): KeyAlgorithms {
  return SPEC_USAGES[spec]?.[usage] ?? {};
}

/** Length in bytes of an HMAC key's material (AWS: HMAC_224 keys are 224 bits, and so on). */
export function hmacKeyBytes(spec: KeySpec): number {
  return Number(spec.slice('HMAC_'.length)) / 8;
}
