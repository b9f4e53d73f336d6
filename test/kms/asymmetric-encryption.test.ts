// Encrypt, Decrypt and ReEncrypt with RSA ENCRYPT_DECRYPT keys through the domain service:
// RSAES-OAEP that OpenSSL (node:crypto) interoperates with in both directions (a ciphertext made
// with GetPublicKey's key decrypts in ebsim; ebsim's ciphertexts decrypt with the same private
// key in OpenSSL), AWS's plaintext limits, and AWS's errors for the asymmetric cases.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { constants, createPublicKey, privateDecrypt, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import { errorCode, makeHome, type TestHome } from '../helpers/home.js';
import { storedPrivateKey } from '../helpers/stored-key.js';
import type { CallContext } from '../../src/core/call-context.js';
import type { KmsService } from '../../src/kms/service.js';

let h: TestHome;
let kms: KmsService;
let alice: CallContext;
const RSA_SPECS = ['RSA_2048', 'RSA_3072', 'RSA_4096'] as const;
type RsaSpec = (typeof RSA_SPECS)[number];
const rsaKey = new Map<RsaSpec, { KeyId: string; Arn: string }>();
let symmetric: { KeyId: string; Arn: string };

/** The Encrypt API reference's table of the most plaintext each spec and algorithm take. */
const LIMITS: Record<RsaSpec, Record<'RSAES_OAEP_SHA_1' | 'RSAES_OAEP_SHA_256', number>> = {
  RSA_2048: { RSAES_OAEP_SHA_1: 214, RSAES_OAEP_SHA_256: 190 },
  RSA_3072: { RSAES_OAEP_SHA_1: 342, RSAES_OAEP_SHA_256: 318 },
  RSA_4096: { RSAES_OAEP_SHA_1: 470, RSAES_OAEP_SHA_256: 446 },
};
const oaepHash = (alg: string) => (alg === 'RSAES_OAEP_SHA_1' ? 'sha1' : 'sha256');

beforeAll(() => {
  h = makeHome();
  kms = h.app.kms();
  alice = h.app.as('Alice');
  for (const KeySpec of RSA_SPECS) rsaKey.set(KeySpec, kms.call(alice, 'CreateKey', { KeySpec, KeyUsage: 'ENCRYPT_DECRYPT' }).KeyMetadata as { KeyId: string; Arn: string });
  symmetric = kms.call(alice, 'CreateKey', {}).KeyMetadata as { KeyId: string; Arn: string };
});
afterAll(() => h.cleanup());

const key = (spec: RsaSpec = 'RSA_2048') => rsaKey.get(spec)!;
function publicKeyOf(spec: RsaSpec): KeyObject {
  return createPublicKey({ key: Buffer.from(kms.call(alice, 'GetPublicKey', { KeyId: key(spec).KeyId }).PublicKey as Uint8Array), format: 'der', type: 'spki' });
}
const encrypt = (spec: RsaSpec, alg: string, Plaintext: Uint8Array) =>
  kms.call(alice, 'Encrypt', { KeyId: key(spec).KeyId, Plaintext, EncryptionAlgorithm: alg });
const decrypt = (spec: RsaSpec, alg: string, CiphertextBlob: Uint8Array) =>
  kms.call(alice, 'Decrypt', { KeyId: key(spec).Arn, CiphertextBlob, EncryptionAlgorithm: alg });

describe('RSAES-OAEP with OpenSSL', () => {
  it('a ciphertext OpenSSL makes with GetPublicKey\'s key decrypts in ebsim, for every RSA spec and both algorithms, up to AWS\'s limit', () => {
    for (const spec of RSA_SPECS) {
      const pub = publicKeyOf(spec);
      for (const alg of ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] as const) {
        const plaintext = randomBytes(LIMITS[spec][alg]);
        const ciphertext = publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: oaepHash(alg) }, plaintext);
        const r = decrypt(spec, alg, ciphertext);
        expect(r).toMatchObject({ KeyId: key(spec).Arn, EncryptionAlgorithm: alg });
        expect(Buffer.from(r.Plaintext as Uint8Array).equals(plaintext), `${spec} ${alg}`).toBe(true);
        // The other OAEP hash does not open it.
        expect(errorCode(() => decrypt(spec, alg === 'RSAES_OAEP_SHA_1' ? 'RSAES_OAEP_SHA_256' : 'RSAES_OAEP_SHA_1', ciphertext))).toBe('InvalidCiphertextException');
      }
    }
  });

  it("ebsim's ciphertexts are the bare RSA output, which OpenSSL decrypts with the same private key; ebsim decrypts them too", () => {
    for (const spec of RSA_SPECS) {
      const priv = storedPrivateKey(h, key(spec).KeyId);
      for (const alg of ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] as const) {
        const plaintext = randomBytes(LIMITS[spec][alg]);
        const r = encrypt(spec, alg, plaintext);
        expect(r).toMatchObject({ KeyId: key(spec).Arn, EncryptionAlgorithm: alg });
        const blob = Buffer.from(r.CiphertextBlob as Uint8Array);
        expect(blob.length).toBe(Number(spec.slice(4)) / 8);
        expect(privateDecrypt({ key: priv, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: oaepHash(alg) }, blob).equals(plaintext), `${spec} ${alg}`).toBe(true);
        expect(Buffer.from(decrypt(spec, alg, blob).Plaintext as Uint8Array).equals(plaintext)).toBe(true);
        // Randomized padding: the same plaintext never encrypts the same way twice.
        expect(Buffer.from(encrypt(spec, alg, plaintext).CiphertextBlob as Uint8Array).equals(blob)).toBe(false);
      }
    }
  });

  it("more plaintext than one ciphertext holds is ValidationException, one byte over each limit", () => {
    for (const spec of RSA_SPECS) {
      for (const alg of ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] as const) {
        const max = LIMITS[spec][alg];
        expect(() => encrypt(spec, alg, Buffer.alloc(max + 1))).toThrow(`Algorithm ${alg} and key spec ${spec} cannot encrypt data larger than ${max} bytes.`);
        expect(errorCode(() => encrypt(spec, alg, Buffer.alloc(max + 1)))).toBe('ValidationException');
      }
    }
  });
});

describe('errors', () => {
  it("an algorithm the key does not have is InvalidKeyUsageException in AWS's words, both ways", () => {
    // AWS: "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_4096."
    expect(() => kms.call(alice, 'Encrypt', { KeyId: key('RSA_4096').KeyId, Plaintext: Buffer.from('x') })).toThrow('Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_4096.');
    expect(() => kms.call(alice, 'Encrypt', { KeyId: symmetric.KeyId, Plaintext: Buffer.from('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })).toThrow(
      'Algorithm RSAES_OAEP_SHA_256 is incompatible with key spec SYMMETRIC_DEFAULT.',
    );
    expect(errorCode(() => encrypt('RSA_2048', 'SM2PKE', Buffer.from('x')))).toBe('InvalidKeyUsageException');
    expect(errorCode(() => kms.call(alice, 'Decrypt', { KeyId: symmetric.KeyId, CiphertextBlob: randomBytes(256), EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' }))).toBe('InvalidKeyUsageException');
    const signer = kms.call(alice, 'CreateKey', { KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' }).KeyMetadata as { KeyId: string; Arn: string };
    expect(() => kms.call(alice, 'Encrypt', { KeyId: signer.KeyId, Plaintext: Buffer.from('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' })).toThrow(
      `${signer.Arn} key usage is SIGN_VERIFY which is not valid for Encrypt.`,
    );
  });

  it('an encryption context with an asymmetric key is ValidationException, on Encrypt and on Decrypt', () => {
    const msg = 'EncryptionContext is not supported when encrypting/decrypting with asymmetric CMKs.';
    expect(() => kms.call(alice, 'Encrypt', { KeyId: key().KeyId, Plaintext: Buffer.from('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_1', EncryptionContext: { a: 'b' } })).toThrow(msg);
    const blob = encrypt('RSA_2048', 'RSAES_OAEP_SHA_1', Buffer.from('x')).CiphertextBlob as Uint8Array;
    expect(() => kms.call(alice, 'Decrypt', { KeyId: key().KeyId, CiphertextBlob: blob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_1', EncryptionContext: { a: 'b' } })).toThrow(msg);
    // An empty context is no context.
    expect(Buffer.from(kms.call(alice, 'Decrypt', { KeyId: key().KeyId, CiphertextBlob: blob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_1', EncryptionContext: {} }).Plaintext as Uint8Array).toString()).toBe('x');
  });

  it('an RSA ciphertext names no key: without KeyId and EncryptionAlgorithm Decrypt cannot open it', () => {
    const blob = encrypt('RSA_2048', 'RSAES_OAEP_SHA_256', Buffer.from('needs its key')).CiphertextBlob as Uint8Array;
    // Read as a symmetric blob (the default algorithm), as AWS does: InvalidCiphertextException.
    expect(errorCode(() => kms.call(alice, 'Decrypt', { CiphertextBlob: blob }))).toBe('InvalidCiphertextException');
    expect(errorCode(() => kms.call(alice, 'Decrypt', { CiphertextBlob: blob, KeyId: key().KeyId }))).toBe('InvalidCiphertextException');
    expect(() => kms.call(alice, 'Decrypt', { CiphertextBlob: blob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })).toThrow('KeyId is required when the ciphertext was encrypted under an asymmetric KMS key');
    expect(errorCode(() => kms.call(alice, 'Decrypt', { CiphertextBlob: blob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }))).toBe('ValidationException');
  });

  it('a wrong ciphertext is InvalidCiphertextException with AWS\'s empty message: garbage, altered, another key\'s', () => {
    const blob = Buffer.from(encrypt('RSA_2048', 'RSAES_OAEP_SHA_256', Buffer.from('x')).CiphertextBlob as Uint8Array);
    const altered = Buffer.from(blob);
    altered[100]! ^= 1;
    for (const bad of [altered, randomBytes(256), randomBytes(12), Buffer.alloc(256, 0xff)]) {
      expect(() => decrypt('RSA_2048', 'RSAES_OAEP_SHA_256', bad)).toThrow(expect.objectContaining({ code: 'InvalidCiphertextException', message: '' }));
    }
    expect(errorCode(() => decrypt('RSA_3072', 'RSAES_OAEP_SHA_256', blob))).toBe('InvalidCiphertextException');
  });

  it('a disabled RSA key is DisabledException for Encrypt and Decrypt', () => {
    const k = kms.call(alice, 'CreateKey', { KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' }).KeyMetadata as { KeyId: string };
    const blob = kms.call(alice, 'Encrypt', { KeyId: k.KeyId, Plaintext: Buffer.from('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' }).CiphertextBlob;
    kms.call(alice, 'DisableKey', { KeyId: k.KeyId });
    expect(errorCode(() => kms.call(alice, 'Encrypt', { KeyId: k.KeyId, Plaintext: Buffer.from('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' }))).toBe('DisabledException');
    expect(errorCode(() => kms.call(alice, 'Decrypt', { KeyId: k.KeyId, CiphertextBlob: blob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' }))).toBe('DisabledException');
  });
});

describe('ReEncrypt across symmetric and RSA keys', () => {
  it('symmetric → RSA: the result is an RSAES-OAEP ciphertext OpenSSL opens with the RSA private key', () => {
    const blob = kms.call(alice, 'Encrypt', { KeyId: symmetric.KeyId, Plaintext: Buffer.from('to rsa'), EncryptionContext: { v: '1' } }).CiphertextBlob as Uint8Array;
    const r = kms.call(alice, 'ReEncrypt', { CiphertextBlob: blob, SourceEncryptionContext: { v: '1' }, DestinationKeyId: key('RSA_3072').Arn, DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' });
    expect(r).toMatchObject({ SourceKeyId: symmetric.Arn, KeyId: key('RSA_3072').Arn, SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT', DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' });
    const priv = storedPrivateKey(h, key('RSA_3072').KeyId);
    expect(privateDecrypt({ key: priv, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, r.CiphertextBlob as Uint8Array).toString()).toBe('to rsa');
  });

  it('RSA → symmetric and RSA → RSA: SourceKeyId and SourceEncryptionAlgorithm say how to open the source', () => {
    const ciphertext = publicEncrypt({ key: publicKeyOf('RSA_2048'), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, Buffer.from('from rsa'));
    const toSym = kms.call(alice, 'ReEncrypt', {
      CiphertextBlob: ciphertext, SourceKeyId: key('RSA_2048').KeyId, SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_1', DestinationKeyId: symmetric.KeyId, DestinationEncryptionContext: { to: 'sym' },
    });
    expect(toSym).toMatchObject({ SourceKeyId: key('RSA_2048').Arn, KeyId: symmetric.Arn, SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_1', DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT' });
    expect(Buffer.from(kms.call(alice, 'Decrypt', { CiphertextBlob: toSym.CiphertextBlob, EncryptionContext: { to: 'sym' } }).Plaintext as Uint8Array).toString()).toBe('from rsa');
    const toRsa = kms.call(alice, 'ReEncrypt', {
      CiphertextBlob: ciphertext, SourceKeyId: key('RSA_2048').Arn, SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_1', DestinationKeyId: key('RSA_4096').KeyId, DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_1',
    });
    expect(privateDecrypt({ key: storedPrivateKey(h, key('RSA_4096').KeyId), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, toRsa.CiphertextBlob as Uint8Array).toString()).toBe('from rsa');
  });

  it("ReEncrypt's asymmetric errors: no SourceKeyId, no destination algorithm, a destination context", () => {
    const ciphertext = encrypt('RSA_2048', 'RSAES_OAEP_SHA_256', Buffer.from('x')).CiphertextBlob as Uint8Array;
    expect(() => kms.call(alice, 'ReEncrypt', { CiphertextBlob: ciphertext, SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', DestinationKeyId: symmetric.KeyId })).toThrow(
      'SourceKeyId is required when the ciphertext was encrypted under an asymmetric KMS key',
    );
    const source = { CiphertextBlob: ciphertext, SourceKeyId: key().KeyId, SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' };
    expect(() => kms.call(alice, 'ReEncrypt', { ...source, DestinationKeyId: key('RSA_3072').KeyId })).toThrow('Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_3072.');
    expect(errorCode(() => kms.call(alice, 'ReEncrypt', { ...source, DestinationKeyId: key('RSA_3072').KeyId, DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_1', DestinationEncryptionContext: { a: 'b' } }))).toBe('ValidationException');
    expect(errorCode(() => kms.call(alice, 'ReEncrypt', { ...source, SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_1', DestinationKeyId: symmetric.KeyId }))).toBe('InvalidCiphertextException');
  });

  it('kms:ReEncryptOnSameKey names an RSA source by SourceKeyId', () => {
    const k = kms.call(alice, 'CreateKey', { KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' }).KeyMetadata as { KeyId: string; Arn: string };
    kms.call(alice, 'PutKeyPolicy', {
      KeyId: k.KeyId,
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'kms:*', Resource: '*' },
          { Effect: 'Deny', Principal: '*', Action: 'kms:ReEncryptFrom', Resource: '*', Condition: { Bool: { 'kms:ReEncryptOnSameKey': 'true' } } },
        ],
      }),
    });
    const ciphertext = kms.call(alice, 'Encrypt', { KeyId: k.KeyId, Plaintext: Buffer.from('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' }).CiphertextBlob;
    const source = { CiphertextBlob: ciphertext, SourceKeyId: k.KeyId, SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_1', DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' };
    expect(errorCode(() => kms.call(alice, 'ReEncrypt', { ...source, DestinationKeyId: k.Arn }))).toBe('AccessDeniedException');
    expect(kms.call(alice, 'ReEncrypt', { ...source, DestinationKeyId: key().KeyId }).KeyId).toBe(key().Arn);
  });
});

describe('the trail', () => {
  it('an RSA Encrypt record has keyId and encryptionAlgorithm, not the plaintext', () => {
    encrypt('RSA_2048', 'RSAES_OAEP_SHA_256', Buffer.from('trail-plaintext-91c2'));
    h.app.trail.flush();
    const rec = JSON.parse((h.app.db.prepare("SELECT record FROM trail_events WHERE event_name = 'Encrypt' ORDER BY seq DESC LIMIT 1").get() as { record: string }).record);
    expect(rec.requestParameters).toEqual({ keyId: key().KeyId, encryptionAlgorithm: 'RSAES_OAEP_SHA_256' });
    expect(JSON.stringify(rec)).not.toContain(Buffer.from('trail-plaintext-91c2').toString('base64'));
  });
});
