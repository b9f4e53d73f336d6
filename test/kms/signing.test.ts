// Sign, Verify and GetPublicKey through the domain service: every signing algorithm of every key
// spec signed by ebsim and verified by OpenSSL (node:crypto) with GetPublicKey's key, signatures
// OpenSSL makes with the same private key verified by ebsim, ML-DSA checked by OpenSSL 4 (Python's
// cryptography) and NIST's ACVP vectors, Ed25519ph by RFC 8032's vector, and each documented error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { constants, createHash, createPrivateKey, createPublicKey, randomBytes, sign as opensslSign, verify as opensslVerify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ed25519ph } from '@noble/curves/ed25519.js';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import { errorCode, makeHome, type TestHome } from '../helpers/home.js';
import { hasPythonMlDsa, pythonVerify } from '../helpers/python-crypto.js';
import { storedPrivateKey } from '../helpers/stored-key.js';
import type { CallContext } from '../../src/core/call-context.js';
import { algorithmsOf, type KeySpec } from '../../src/kms/key-specs.js';
import { postQuantumKeys, publicKeyDer } from '../../src/kms/key-material.js';
import type { KmsService } from '../../src/kms/service.js';
import { signMessage } from '../../src/kms/signing.js';

let h: TestHome;
let kms: KmsService;
let alice: CallContext;

const SIGNING_SPECS: KeySpec[] = [
  'RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1', 'ECC_NIST_EDWARDS25519', 'ML_DSA_44', 'ML_DSA_65', 'ML_DSA_87',
];
const keyOf = new Map<KeySpec, { KeyId: string; Arn: string }>();
const ML_DSA = { ML_DSA_44: ml_dsa44, ML_DSA_65: ml_dsa65, ML_DSA_87: ml_dsa87 } as const;

beforeAll(() => {
  h = makeHome();
  kms = h.app.kms();
  alice = h.app.as('Alice');
  for (const KeySpec of SIGNING_SPECS) keyOf.set(KeySpec, kms.call(alice, 'CreateKey', { KeySpec, KeyUsage: 'SIGN_VERIFY' }).KeyMetadata as { KeyId: string; Arn: string });
});
afterAll(() => h.cleanup());

const keyId = (spec: KeySpec) => keyOf.get(spec)!.KeyId;
const hashOf = (alg: string) => `sha${/_SHA_(\d+)$/.exec(alg)![1]}`;
const digest = (alg: string, m: Uint8Array) => createHash(hashOf(alg)).update(m).digest();
const hashBytes = (alg: string) => Number(hashOf(alg).slice(3)) / 8;

function sign(spec: KeySpec, SigningAlgorithm: string, Message: Uint8Array, MessageType?: string): Buffer {
  const r = kms.call(alice, 'Sign', { KeyId: keyId(spec), Message, SigningAlgorithm, ...(MessageType ? { MessageType } : {}) });
  expect(r).toMatchObject({ KeyId: keyOf.get(spec)!.Arn, SigningAlgorithm });
  return Buffer.from(r.Signature as Uint8Array);
}

function verify(spec: KeySpec, SigningAlgorithm: string, Message: Uint8Array, Signature: Uint8Array, MessageType?: string): Record<string, unknown> {
  return kms.call(alice, 'Verify', { KeyId: keyId(spec), Message, Signature, SigningAlgorithm, ...(MessageType ? { MessageType } : {}) });
}

/** GetPublicKey's key, parsed by OpenSSL. */
function publicKey(spec: KeySpec): KeyObject {
  return createPublicKey({ key: Buffer.from(kms.call(alice, 'GetPublicKey', { KeyId: keyId(spec) }).PublicKey as Uint8Array), format: 'der', type: 'spki' });
}

/** The key's private half from the store: only so that OpenSSL can sign with the same key. */
const privateKey = (spec: KeySpec) => storedPrivateKey(h, keyId(spec));

/** OpenSSL's options for an algorithm: PSS with the salt as long as the hash, as AWS's. */
function opensslKey(alg: string, key: KeyObject) {
  if (alg.startsWith('RSASSA_PSS_')) return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: hashBytes(alg) };
  if (alg.startsWith('RSASSA_PKCS1_')) return { key, padding: constants.RSA_PKCS1_PADDING };
  return key; // ECDSA: DER signatures, OpenSSL's default encoding
}
const opensslHash = (alg: string) => (alg.startsWith('ED25519') ? null : hashOf(alg));

const classical = SIGNING_SPECS.filter((s) => !s.startsWith('ML_DSA_'));
const pairs = (specs: KeySpec[]) => specs.flatMap((spec) => algorithmsOf(spec, 'SIGN_VERIFY').SigningAlgorithms!.map((alg) => [spec, alg] as const));

describe('GetPublicKey', () => {
  it('returns a DER SubjectPublicKeyInfo OpenSSL reads as the key spec says, with the key usage and signing algorithms', () => {
    const expected: Partial<Record<KeySpec, { type: string; detail: Record<string, unknown> }>> = {
      RSA_2048: { type: 'rsa', detail: { modulusLength: 2048, publicExponent: 65537n } },
      RSA_3072: { type: 'rsa', detail: { modulusLength: 3072 } },
      RSA_4096: { type: 'rsa', detail: { modulusLength: 4096 } },
      ECC_NIST_P256: { type: 'ec', detail: { namedCurve: 'prime256v1' } },
      ECC_NIST_P384: { type: 'ec', detail: { namedCurve: 'secp384r1' } },
      ECC_NIST_P521: { type: 'ec', detail: { namedCurve: 'secp521r1' } },
      ECC_SECG_P256K1: { type: 'ec', detail: { namedCurve: 'secp256k1' } },
      ECC_NIST_EDWARDS25519: { type: 'ed25519', detail: {} },
    };
    for (const [spec, e] of Object.entries(expected) as [KeySpec, { type: string; detail: Record<string, unknown> }][]) {
      const r = kms.call(alice, 'GetPublicKey', { KeyId: keyOf.get(spec)!.Arn });
      expect(r).toMatchObject({ KeyId: keyOf.get(spec)!.Arn, KeySpec: spec, KeyUsage: 'SIGN_VERIFY', SigningAlgorithms: algorithmsOf(spec, 'SIGN_VERIFY').SigningAlgorithms });
      expect(r.EncryptionAlgorithms).toBeUndefined();
      // The deprecated member names only the specs it had.
      expect(r.CustomerMasterKeySpec).toBe(spec === 'ECC_NIST_EDWARDS25519' ? undefined : spec);
      const k = createPublicKey({ key: Buffer.from(r.PublicKey as Uint8Array), format: 'der', type: 'spki' });
      expect(k.asymmetricKeyType).toBe(e.type);
      expect(k.asymmetricKeyDetails).toMatchObject(e.detail);
    }
  });

  it('answers the other asymmetric usages with their algorithm lists, and refuses symmetric and HMAC keys (UnsupportedOperationException)', () => {
    const rsa = kms.call(alice, 'CreateKey', { KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' }).KeyMetadata as { KeyId: string };
    expect(kms.call(alice, 'GetPublicKey', { KeyId: rsa.KeyId })).toMatchObject({ KeyUsage: 'ENCRYPT_DECRYPT', EncryptionAlgorithms: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'], CustomerMasterKeySpec: 'RSA_2048' });
    const ecdh = kms.call(alice, 'CreateKey', { KeySpec: 'ECC_NIST_P384', KeyUsage: 'KEY_AGREEMENT' }).KeyMetadata as { KeyId: string };
    expect(kms.call(alice, 'GetPublicKey', { KeyId: ecdh.KeyId })).toMatchObject({ KeyUsage: 'KEY_AGREEMENT', KeyAgreementAlgorithms: ['ECDH'] });
    const kem = kms.call(alice, 'CreateKey', { KeySpec: 'ML_KEM_768' }).KeyMetadata as { KeyId: string };
    const kemKey = kms.call(alice, 'GetPublicKey', { KeyId: kem.KeyId });
    expect(kemKey).toMatchObject({ KeySpec: 'ML_KEM_768', KeyUsage: 'ENCAPSULATE_DECAPSULATE', EncapsulationAlgorithms: ['ML_KEM'] });
    expect(kemKey.CustomerMasterKeySpec).toBeUndefined();
    for (const KeySpec of ['SYMMETRIC_DEFAULT', 'HMAC_256']) {
      const k = kms.call(alice, 'CreateKey', { KeySpec }).KeyMetadata as { KeyId: string; Arn: string };
      expect(() => kms.call(alice, 'GetPublicKey', { KeyId: k.KeyId })).toThrow(`${k.Arn} key spec ${KeySpec} does not support GetPublicKey`);
      expect(errorCode(() => kms.call(alice, 'GetPublicKey', { KeyId: k.KeyId }))).toBe('UnsupportedOperationException');
    }
  });
});

describe('RSA, ECDSA and Ed25519 against OpenSSL', () => {
  it('every algorithm ebsim signs verifies with OpenSSL and GetPublicKey\'s key, for a RAW message and for its DIGEST', () => {
    for (const [spec, alg] of pairs(classical)) {
      if (alg === 'ED25519_PH_SHA_512') continue; // OpenSSL 3.0 has no Ed25519ph: RFC 8032's vector below
      const pub = publicKey(spec);
      const message = randomBytes(1 + (alg.length % 7) * 300);
      const raw = sign(spec, alg, message, alg.startsWith('ED') ? undefined : 'RAW');
      expect(opensslVerify(opensslHash(alg), message, opensslKey(alg, pub), raw), `${spec} ${alg} RAW`).toBe(true);
      expect(opensslVerify(opensslHash(alg), Buffer.concat([message, Buffer.from([0])]), opensslKey(alg, pub), raw)).toBe(false);
      if (alg.startsWith('ECDSA_')) expect(raw[0]).toBe(0x30); // a DER SEQUENCE, as AWS returns
      if (alg.startsWith('RSASSA_')) expect(raw.length).toBe((pub.asymmetricKeyDetails!.modulusLength as number) / 8);
      if (alg === 'ED25519_SHA_512') {
        expect(raw.length).toBe(64);
        continue;
      }
      // The caller hashed: the signature is the same algorithm's over the message.
      const fromDigest = sign(spec, alg, digest(alg, message), 'DIGEST');
      expect(opensslVerify(opensslHash(alg), message, opensslKey(alg, pub), fromDigest), `${spec} ${alg} DIGEST`).toBe(true);
    }
  });

  it('signatures OpenSSL makes with the same private key verify in ebsim, RAW and as DIGEST; altered ones are KMSInvalidSignatureException', () => {
    for (const [spec, alg] of pairs(classical)) {
      if (alg === 'ED25519_PH_SHA_512') continue;
      const priv = privateKey(spec);
      const message = randomBytes(200);
      const sig = opensslSign(opensslHash(alg), message, opensslKey(alg, priv));
      expect(verify(spec, alg, message, sig), `${spec} ${alg}`).toMatchObject({ KeyId: keyOf.get(spec)!.Arn, SignatureValid: true, SigningAlgorithm: alg });
      if (alg !== 'ED25519_SHA_512') expect(verify(spec, alg, digest(alg, message), sig, 'DIGEST').SignatureValid).toBe(true);
      const altered = Buffer.from(sig);
      altered[altered.length - 2]! ^= 1;
      expect(errorCode(() => verify(spec, alg, message, altered)), `${spec} ${alg} altered`).toBe('KMSInvalidSignatureException');
      expect(errorCode(() => verify(spec, alg, randomBytes(200), sig))).toBe('KMSInvalidSignatureException');
      if (alg !== 'ED25519_SHA_512') expect(errorCode(() => verify(spec, alg, digest(alg, randomBytes(9)), sig, 'DIGEST'))).toBe('KMSInvalidSignatureException');
    }
  });

  it('a signature made for one RSA padding does not verify as the other; garbage is KMSInvalidSignatureException, not an internal error', () => {
    const message = Buffer.from('padding matters');
    const pss = sign('RSA_2048', 'RSASSA_PSS_SHA_256', message);
    expect(errorCode(() => verify('RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_256', message, pss))).toBe('KMSInvalidSignatureException');
    expect(errorCode(() => verify('RSA_2048', 'RSASSA_PSS_SHA_384', message, pss))).toBe('KMSInvalidSignatureException');
    expect(errorCode(() => verify('RSA_2048', 'RSASSA_PSS_SHA_256', createHash('sha256').update(message).digest(), pss.subarray(1), 'DIGEST'))).toBe('KMSInvalidSignatureException');
    for (const spec of ['RSA_2048', 'ECC_NIST_P256', 'ECC_SECG_P256K1', 'ECC_NIST_EDWARDS25519', 'ML_DSA_44'] as KeySpec[]) {
      const alg = algorithmsOf(spec, 'SIGN_VERIFY').SigningAlgorithms![0]!;
      expect(errorCode(() => verify(spec, alg, message, Buffer.from('not a signature at all'))), spec).toBe('KMSInvalidSignatureException');
    }
  });

  it('ECDSA over secp256k1 hashes with SHA-256, as ECDSA_SHA_256 says: OpenSSL verifies it with sha256 only', () => {
    const message = Buffer.from('secp256k1, as Ethereum and Bitcoin signers use it');
    const der = sign('ECC_SECG_P256K1', 'ECDSA_SHA_256', message);
    const pub = publicKey('ECC_SECG_P256K1');
    expect(pub.asymmetricKeyDetails!.namedCurve).toBe('secp256k1');
    expect(opensslVerify('sha256', message, pub, der)).toBe(true);
    expect(opensslVerify('sha384', message, pub, der)).toBe(false);
  });
});

describe('Ed25519ph (ED25519_PH_SHA_512)', () => {
  const vectors = JSON.parse(readFileSync(new URL('../vectors/rfc8032-ed25519ph.json', import.meta.url), 'utf8')).tests as { secretKey: string; publicKey: string; message: string; signature: string }[];

  it("ebsim's signing is RFC 8032's Ed25519ph: the section 7.3 vector, from a PKCS#8 key as ebsim stores it", () => {
    for (const v of vectors) {
      // RFC 8410's PKCS#8 for an Ed25519 private key: the fixed prefix, then the 32-byte seed.
      const material = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(v.secretKey, 'hex')]);
      expect(createPublicKey(createPrivateKey({ key: material, format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex')).toBe(v.publicKey);
      const sig = signMessage(material, { spec: 'ECC_NIST_EDWARDS25519', algorithm: 'ED25519_PH_SHA_512', messageType: 'DIGEST', message: Buffer.from(v.message, 'hex') });
      expect(sig.toString('hex')).toBe(v.signature);
    }
  });

  it('signs a 64-byte SHA-512 digest as Ed25519ph of that digest (KMS hashes it once more, as the API reference says)', () => {
    const message = Buffer.from('prehashed by the caller');
    const d = createHash('sha512').update(message).digest();
    const sig = sign('ECC_NIST_EDWARDS25519', 'ED25519_PH_SHA_512', d, 'DIGEST');
    const rawPublic = publicKey('ECC_NIST_EDWARDS25519').export({ format: 'der', type: 'spki' }).subarray(-32);
    expect(ed25519ph.verify(sig, d, rawPublic)).toBe(true);
    expect(ed25519ph.verify(sig, message, rawPublic)).toBe(false);
    // Not pure Ed25519 over the digest: OpenSSL's Ed25519 refuses it.
    expect(opensslVerify(null, d, publicKey('ECC_NIST_EDWARDS25519'), sig)).toBe(false);
    expect(verify('ECC_NIST_EDWARDS25519', 'ED25519_PH_SHA_512', d, sig, 'DIGEST').SignatureValid).toBe(true);
    expect(errorCode(() => verify('ECC_NIST_EDWARDS25519', 'ED25519_PH_SHA_512', createHash('sha512').update('other').digest(), sig, 'DIGEST'))).toBe('KMSInvalidSignatureException');
  });
});

describe('ML-DSA', () => {
  const acvp = JSON.parse(readFileSync(new URL('../vectors/acvp-ml-dsa-keygen.json', import.meta.url), 'utf8')).tests as { parameterSet: string; seed: string; pk: string }[];
  const specOf = (set: string) => set.replace(/-/g, '_') as 'ML_DSA_44' | 'ML_DSA_65' | 'ML_DSA_87';
  const rawPublic = (spec: 'ML_DSA_44' | 'ML_DSA_65' | 'ML_DSA_87', spki: Uint8Array) => Buffer.from(spki).subarray(spki.length - ML_DSA[spec].lengths.publicKey!);

  it("key generation from the stored seed is FIPS 204's: NIST's ACVP keyGen vectors, one per parameter set", () => {
    expect(acvp.map((t) => t.parameterSet)).toEqual(['ML-DSA-44', 'ML-DSA-65', 'ML-DSA-87']);
    for (const t of acvp) {
      const spec = specOf(t.parameterSet);
      const seed = Buffer.from(t.seed, 'hex');
      expect(Buffer.from(postQuantumKeys(spec, seed).publicKey).toString('hex').toUpperCase(), t.parameterSet).toBe(t.pk);
      expect(rawPublic(spec, publicKeyDer(spec, seed)).toString('hex').toUpperCase()).toBe(t.pk);
    }
  });

  it.skipIf(!hasPythonMlDsa())('OpenSSL 4 (python3 cryptography) reads the SubjectPublicKeyInfo of an ACVP key as that public key', () => {
    const cases = acvp.map((t) => ({ spki: publicKeyDer(specOf(t.parameterSet), Buffer.from(t.seed, 'hex')), message: Buffer.alloc(1), signature: Buffer.alloc(1) }));
    const verdicts = pythonVerify(cases);
    expect(verdicts.map((v) => v.type)).toEqual(['MLDSA44PublicKey', 'MLDSA65PublicKey', 'MLDSA87PublicKey']);
    expect(verdicts.map((v) => v.raw.toUpperCase())).toEqual(acvp.map((t) => t.pk));
  });

  it('RAW signatures (empty context) verify with @noble/post-quantum, and with OpenSSL 4 when python3 cryptography is there', () => {
    const cases = (['ML_DSA_44', 'ML_DSA_65', 'ML_DSA_87'] as const).map((spec) => {
      const message = randomBytes(4096);
      const signature = sign(spec, 'ML_DSA_SHAKE_256', message, 'RAW');
      expect(signature.length, spec).toBe(ML_DSA[spec].lengths.signature);
      const spki = Buffer.from(kms.call(alice, 'GetPublicKey', { KeyId: keyId(spec) }).PublicKey as Uint8Array);
      expect(ML_DSA[spec].verify(signature, message, rawPublic(spec, spki))).toBe(true);
      expect(ML_DSA[spec].verify(signature, message, rawPublic(spec, spki), { context: Buffer.from('x') })).toBe(false);
      expect(verify(spec, 'ML_DSA_SHAKE_256', message, signature).SignatureValid).toBe(true);
      return { spki, message, signature };
    });
    if (hasPythonMlDsa()) {
      expect(pythonVerify(cases).map((v) => v.valid)).toEqual([true, true, true]);
      const wrong = cases.map((c) => ({ ...c, message: Buffer.concat([c.message.subarray(1), Buffer.from([1])]) }));
      expect(pythonVerify(wrong).map((v) => v.valid)).toEqual([false, false, false]);
    }
  });

  it("EXTERNAL_MU signs the μ a caller computed (FIPS 204 section 6.2, with node:crypto's SHAKE256): the signature is the message's", () => {
    const cases = (['ML_DSA_44', 'ML_DSA_65', 'ML_DSA_87'] as const).map((spec) => {
      const spki = Buffer.from(kms.call(alice, 'GetPublicKey', { KeyId: keyId(spec) }).PublicKey as Uint8Array);
      const message = Buffer.from(`a message too large to send, signed by its representative μ (${spec})`);
      // tr = H(pk, 64); M' = 0 ‖ |ctx| ‖ ctx ‖ M with the empty context; μ = H(tr ‖ M', 64).
      const tr = createHash('shake256', { outputLength: 64 }).update(rawPublic(spec, spki)).digest();
      const mu = createHash('shake256', { outputLength: 64 }).update(tr).update(Buffer.from([0, 0])).update(message).digest();
      const signature = sign(spec, 'ML_DSA_SHAKE_256', mu, 'EXTERNAL_MU');
      expect(ML_DSA[spec].verify(signature, message, rawPublic(spec, spki))).toBe(true);
      // Either form verifies in ebsim: the message as RAW, or its μ.
      expect(verify(spec, 'ML_DSA_SHAKE_256', message, signature, 'RAW').SignatureValid).toBe(true);
      expect(verify(spec, 'ML_DSA_SHAKE_256', mu, signature, 'EXTERNAL_MU').SignatureValid).toBe(true);
      expect(errorCode(() => verify(spec, 'ML_DSA_SHAKE_256', Buffer.from(mu).fill(1, 0, 1), signature, 'EXTERNAL_MU'))).toBe('KMSInvalidSignatureException');
      return { spki, message, signature };
    });
    if (hasPythonMlDsa()) expect(pythonVerify(cases).map((v) => v.valid)).toEqual([true, true, true]);
  });
});

describe('errors', () => {
  it("an algorithm the key does not have is InvalidKeyUsageException in AWS's words", () => {
    expect(() => sign('RSA_2048', 'ECDSA_SHA_256', Buffer.from('x'))).toThrow('Algorithm ECDSA_SHA_256 is incompatible with key spec RSA_2048.');
    expect(() => sign('ECC_NIST_P256', 'ECDSA_SHA_384', Buffer.from('x'))).toThrow('Algorithm ECDSA_SHA_384 is incompatible with key spec ECC_NIST_P256.');
    expect(() => sign('ECC_SECG_P256K1', 'ECDSA_SHA_512', Buffer.from('x'))).toThrow('Algorithm ECDSA_SHA_512 is incompatible with key spec ECC_SECG_P256K1.');
    expect(errorCode(() => verify('ML_DSA_65', 'ED25519_SHA_512', Buffer.from('x'), Buffer.alloc(64)))).toBe('InvalidKeyUsageException');
    expect(errorCode(() => sign('ECC_NIST_EDWARDS25519', 'SM2DSA', Buffer.from('x')))).toBe('InvalidKeyUsageException');
  });

  it('a key whose usage is not SIGN_VERIFY is InvalidKeyUsageException, whatever the algorithm', () => {
    const rsa = kms.call(alice, 'CreateKey', { KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' }).KeyMetadata as { KeyId: string; Arn: string };
    expect(() => kms.call(alice, 'Sign', { KeyId: rsa.KeyId, Message: Buffer.from('x'), SigningAlgorithm: 'RSASSA_PSS_SHA_256' })).toThrow(
      `${rsa.Arn} key usage is ENCRYPT_DECRYPT which is not valid for Sign.`,
    );
    for (const KeySpec of ['SYMMETRIC_DEFAULT', 'HMAC_256']) {
      const k = kms.call(alice, 'CreateKey', { KeySpec }).KeyMetadata as { KeyId: string };
      expect(errorCode(() => kms.call(alice, 'Verify', { KeyId: k.KeyId, Message: Buffer.from('x'), Signature: Buffer.alloc(64), SigningAlgorithm: 'ECDSA_SHA_256' })), KeySpec).toBe('InvalidKeyUsageException');
    }
  });

  it("message types and lengths the algorithm does not take are ValidationException in AWS's words", () => {
    expect(() => sign('ECC_SECG_P256K1', 'ECDSA_SHA_256', Buffer.alloc(20), 'DIGEST')).toThrow('Digest is invalid length for algorithm ECDSA_SHA_256.');
    expect(() => sign('RSA_2048', 'RSASSA_PSS_SHA_384', Buffer.alloc(32), 'DIGEST')).toThrow('Digest is invalid length for algorithm RSASSA_PSS_SHA_384.');
    expect(() => sign('ECC_NIST_EDWARDS25519', 'ED25519_PH_SHA_512', Buffer.alloc(32), 'DIGEST')).toThrow('Digest is invalid length for algorithm ED25519_PH_SHA_512.');
    expect(() => sign('ML_DSA_44', 'ML_DSA_SHAKE_256', Buffer.alloc(64), 'DIGEST')).toThrow('Message type DIGEST is incompatible with key spec ML_DSA_44.');
    expect(() => sign('ECC_NIST_EDWARDS25519', 'ED25519_SHA_512', Buffer.alloc(64), 'DIGEST')).toThrow('Message type DIGEST is incompatible with algorithm ED25519_SHA_512.');
    expect(() => sign('ECC_NIST_EDWARDS25519', 'ED25519_PH_SHA_512', Buffer.alloc(64))).toThrow('Message type RAW is incompatible with algorithm ED25519_PH_SHA_512.');
    expect(() => sign('ECC_NIST_P256', 'ECDSA_SHA_256', Buffer.alloc(64), 'EXTERNAL_MU')).toThrow('Message type EXTERNAL_MU is incompatible with key spec ECC_NIST_P256.');
    expect(errorCode(() => sign('ML_DSA_87', 'ML_DSA_SHAKE_256', Buffer.alloc(32), 'EXTERNAL_MU'))).toBe('ValidationException');
    // The model's bounds and enums.
    expect(() => sign('ECC_NIST_P256', 'ECDSA_SHA_256', Buffer.alloc(4097))).toThrow("at 'message' failed to satisfy constraint: Member must have length less than or equal to 4096");
    expect(errorCode(() => sign('ECC_NIST_P256', 'ECDSA_SHA_256', Buffer.alloc(0)))).toBe('ValidationException');
    expect(errorCode(() => sign('ECC_NIST_P256', 'ECDSA_SHA_256', Buffer.alloc(32), 'HASHED'))).toBe('ValidationException');
    expect(errorCode(() => sign('ECC_NIST_P256', 'ECDSA_SHA_1', Buffer.alloc(32)))).toBe('ValidationException');
    expect(errorCode(() => kms.call(alice, 'Sign', { KeyId: keyId('ECC_NIST_P256'), Message: Buffer.from('x') }))).toBe('ValidationException');
    expect(errorCode(() => kms.call(alice, 'Verify', { KeyId: keyId('ECC_NIST_P256'), Message: Buffer.from('x'), SigningAlgorithm: 'ECDSA_SHA_256' }))).toBe('ValidationException');
  });

  it('unknown keys are NotFoundException; a disabled key DisabledException; a key pending deletion KMSInvalidStateException', () => {
    expect(errorCode(() => kms.call(alice, 'Sign', { KeyId: 'alias/no-such-signer', Message: Buffer.from('x'), SigningAlgorithm: 'ECDSA_SHA_256' }))).toBe('NotFoundException');
    const k = kms.call(alice, 'CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }).KeyMetadata as { KeyId: string };
    const sig = kms.call(alice, 'Sign', { KeyId: k.KeyId, Message: Buffer.from('x'), SigningAlgorithm: 'ECDSA_SHA_256' }).Signature;
    kms.call(alice, 'DisableKey', { KeyId: k.KeyId });
    expect(errorCode(() => kms.call(alice, 'Sign', { KeyId: k.KeyId, Message: Buffer.from('x'), SigningAlgorithm: 'ECDSA_SHA_256' }))).toBe('DisabledException');
    expect(errorCode(() => kms.call(alice, 'Verify', { KeyId: k.KeyId, Message: Buffer.from('x'), Signature: sig, SigningAlgorithm: 'ECDSA_SHA_256' }))).toBe('DisabledException');
    expect(errorCode(() => kms.call(alice, 'GetPublicKey', { KeyId: k.KeyId }))).toBe('DisabledException');
    kms.call(alice, 'ScheduleKeyDeletion', { KeyId: k.KeyId, PendingWindowInDays: 7 });
    expect(errorCode(() => kms.call(alice, 'Sign', { KeyId: k.KeyId, Message: Buffer.from('x'), SigningAlgorithm: 'ECDSA_SHA_256' }))).toBe('KMSInvalidStateException');
    expect(errorCode(() => kms.call(alice, 'GetPublicKey', { KeyId: k.KeyId }))).toBe('KMSInvalidStateException');
  });
});

describe('authorization and the trail', () => {
  it('a role may sign only through a grant for Sign; kms:SigningAlgorithm and kms:MessageType reach key policy conditions', () => {
    h.app.iam.createRole(alice, 'Signer');
    const role = h.app.as('role/Signer/s1');
    const k = kms.call(alice, 'CreateKey', { KeySpec: 'ECC_NIST_P384', KeyUsage: 'SIGN_VERIFY' }).KeyMetadata as { KeyId: string; Arn: string };
    const req = { KeyId: k.Arn, Message: Buffer.from('m'), SigningAlgorithm: 'ECDSA_SHA_384' };
    expect(() => kms.call(role, 'Sign', req)).toThrow(`is not authorized to perform: kms:Sign on resource: ${k.Arn}`);
    kms.call(alice, 'CreateGrant', { KeyId: k.KeyId, GranteePrincipal: 'arn:aws:iam::123456789012:role/Signer', Operations: ['Sign', 'GetPublicKey'] });
    const sig = kms.call(role, 'Sign', req).Signature as Uint8Array;
    expect(opensslVerify('sha384', Buffer.from('m'), createPublicKey({ key: Buffer.from(kms.call(role, 'GetPublicKey', { KeyId: k.Arn }).PublicKey as Uint8Array), format: 'der', type: 'spki' }), sig)).toBe(true);
    expect(errorCode(() => kms.call(role, 'Verify', { ...req, Signature: sig }))).toBe('AccessDeniedException');

    const rsa = kms.call(alice, 'CreateKey', { KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' }).KeyMetadata as { KeyId: string };
    const policy = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'kms:*', Resource: '*' },
        { Effect: 'Deny', Principal: '*', Action: 'kms:Sign', Resource: '*', Condition: { StringEquals: { 'kms:SigningAlgorithm': 'RSASSA_PKCS1_V1_5_SHA_256' } } },
        { Effect: 'Deny', Principal: '*', Action: 'kms:Sign', Resource: '*', Condition: { StringEquals: { 'kms:MessageType': 'DIGEST' } } },
      ],
    };
    kms.call(alice, 'PutKeyPolicy', { KeyId: rsa.KeyId, Policy: JSON.stringify(policy) });
    const m = Buffer.from('policy');
    expect(errorCode(() => kms.call(alice, 'Sign', { KeyId: rsa.KeyId, Message: m, SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' }))).toBe('AccessDeniedException');
    expect(errorCode(() => kms.call(alice, 'Sign', { KeyId: rsa.KeyId, Message: createHash('sha256').update(m).digest(), MessageType: 'DIGEST', SigningAlgorithm: 'RSASSA_PSS_SHA_256' }))).toBe('AccessDeniedException');
    expect(kms.call(alice, 'Sign', { KeyId: rsa.KeyId, Message: m, SigningAlgorithm: 'RSASSA_PSS_SHA_256' }).Signature).toBeInstanceOf(Uint8Array);
  });

  it("Sign and Verify records carry keyId, signingAlgorithm and messageType, never the message or the signature", () => {
    const message = Buffer.from('trail-secret-message-7f3a');
    const sig = sign('ECC_NIST_P521', 'ECDSA_SHA_512', message, 'RAW');
    verify('ECC_NIST_P521', 'ECDSA_SHA_512', message, sig, 'RAW');
    expect(errorCode(() => verify('ECC_NIST_P521', 'ECDSA_SHA_512', Buffer.from('other'), sig, 'RAW'))).toBe('KMSInvalidSignatureException');
    h.app.trail.flush();
    const records = (name: string) =>
      (h.app.db.prepare('SELECT record FROM trail_events WHERE event_name = ? ORDER BY seq DESC').all(name) as { record: string }[]).map((r) => JSON.parse(r.record));
    const [signed] = records('Sign');
    expect(signed.requestParameters).toEqual({ keyId: keyId('ECC_NIST_P521'), signingAlgorithm: 'ECDSA_SHA_512', messageType: 'RAW' });
    expect(signed.responseElements).toBeNull();
    expect(signed.resources).toMatchObject([{ ARN: keyOf.get('ECC_NIST_P521')!.Arn, accountId: '123456789012' }]);
    const [failed, verified] = records('Verify');
    expect(verified.requestParameters).toEqual({ keyId: keyId('ECC_NIST_P521'), signingAlgorithm: 'ECDSA_SHA_512', messageType: 'RAW' });
    expect(failed.errorCode).toBe('KMSInvalidSignatureException');
    const all = JSON.stringify([...records('Sign'), ...records('Verify')]);
    expect(all).not.toContain(message.toString('base64'));
    expect(all).not.toContain('trail-secret-message');
    expect(all).not.toContain(sig.toString('base64'));
  });
});
