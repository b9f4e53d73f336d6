// `ebsim kms sign`, `verify`, `get-public-key` and asymmetric `encrypt`/`decrypt` as the AWS CLI
// spells them (fileb:// blobs in, base64 blobs out), checked by OpenSSL (node:crypto) and, for
// ML-DSA, @noble/post-quantum, in the same test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { constants, createHash, createPublicKey, publicEncrypt, verify as opensslVerify, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { ebsimIn } from '../helpers/cli.js';

let home: string;
const ebsim = (...args: string[]) => ebsimIn(home, args);
/** Writes bytes to a file in the home and returns its fileb:// reference. */
function fileb(name: string, bytes: Uint8Array): string {
  const path = join(home, name);
  writeFileSync(path, bytes);
  return `fileb://${path}`;
}
async function ok(...args: string[]): Promise<Record<string, any>> {
  const r = await ebsim(...args);
  expect(r.code, r.stderr).toBe(0);
  return r.json();
}
async function createKey(spec: string, usage: string): Promise<string> {
  return (await ok('kms', 'create-key', '--key-spec', spec, '--key-usage', usage)).KeyMetadata.KeyId as string;
}
/** get-public-key's answer and its DER SubjectPublicKeyInfo; `key()` parses it with OpenSSL (3.0 has no ML-DSA). */
async function publicKey(keyId: string): Promise<{ key: () => KeyObject; der: Buffer; answer: Record<string, any> }> {
  const answer = await ok('kms', 'get-public-key', '--key-id', keyId);
  const der = Buffer.from(answer.PublicKey as string, 'base64');
  return { der, answer, key: () => createPublicKey({ key: der, format: 'der', type: 'spki' }) };
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'ebsim-kms-sign-cli-'));
  expect((await ebsim('init')).code).toBe(0);
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('ebsim kms sign / verify / get-public-key', () => {
  it('signs a fileb:// message with ECDSA_SHA_256; OpenSSL verifies the base64 signature with get-public-key\'s key; verify agrees', async () => {
    const keyId = await createKey('ECC_NIST_P256', 'SIGN_VERIFY');
    const message = Buffer.from('signed through the CLI\n\x00\xff');
    const signed = await ok('kms', 'sign', '--key-id', keyId, '--message', fileb('m.bin', message), '--message-type', 'RAW', '--signing-algorithm', 'ECDSA_SHA_256');
    expect(signed).toMatchObject({ KeyId: expect.stringContaining(keyId), SigningAlgorithm: 'ECDSA_SHA_256' });
    const signature = Buffer.from(signed.Signature as string, 'base64');
    const { key, answer } = await publicKey(keyId);
    expect(answer).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', SigningAlgorithms: ['ECDSA_SHA_256'], CustomerMasterKeySpec: 'ECC_NIST_P256' });
    expect(opensslVerify('sha256', message, key(), signature)).toBe(true);

    const verified = await ok('kms', 'verify', '--key-id', keyId, '--message', fileb('m.bin', message), '--signature', fileb('s.bin', signature), '--signing-algorithm', 'ECDSA_SHA_256');
    expect(verified).toMatchObject({ SignatureValid: true, SigningAlgorithm: 'ECDSA_SHA_256' });
    const bad = await ebsim('kms', 'verify', '--key-id', keyId, '--message', fileb('other.bin', Buffer.from('other')), '--signature', fileb('s.bin', signature), '--signing-algorithm', 'ECDSA_SHA_256');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('An error occurred (KMSInvalidSignatureException) when calling the Verify operation');
  });

  it('signs a digest (--message-type DIGEST) with RSASSA_PSS_SHA_384; OpenSSL verifies it over the message with a 48-byte salt', async () => {
    const keyId = await createKey('RSA_3072', 'SIGN_VERIFY');
    const message = Buffer.from('a large document, hashed by the caller');
    const digest = createHash('sha384').update(message).digest();
    const signed = await ok('kms', 'sign', '--key-id', keyId, '--message', fileb('d.bin', digest), '--message-type', 'DIGEST', '--signing-algorithm', 'RSASSA_PSS_SHA_384');
    const { key } = await publicKey(keyId);
    expect(opensslVerify('sha384', message, { key: key(), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 }, Buffer.from(signed.Signature as string, 'base64'))).toBe(true);
    const wrong = await ebsim('kms', 'sign', '--key-id', keyId, '--message', fileb('d.bin', digest), '--message-type', 'DIGEST', '--signing-algorithm', 'RSASSA_PSS_SHA_256');
    expect(wrong.stderr).toContain('Digest is invalid length for algorithm RSASSA_PSS_SHA_256.');
  });

  it('signs with ML-DSA-65 and Ed25519: @noble/post-quantum and OpenSSL verify against get-public-key\'s key', async () => {
    const message = Buffer.from('post-quantum from the command line');
    const mlDsa = await createKey('ML_DSA_65', 'SIGN_VERIFY');
    const sig = Buffer.from((await ok('kms', 'sign', '--key-id', mlDsa, '--message', fileb('pq.bin', message), '--signing-algorithm', 'ML_DSA_SHAKE_256')).Signature as string, 'base64');
    const { der, answer } = await publicKey(mlDsa);
    expect(answer).toMatchObject({ KeySpec: 'ML_DSA_65', SigningAlgorithms: ['ML_DSA_SHAKE_256'] });
    expect(answer.CustomerMasterKeySpec).toBeUndefined();
    expect(ml_dsa65.verify(sig, message, der.subarray(der.length - ml_dsa65.lengths.publicKey!))).toBe(true);

    const ed = await createKey('ECC_NIST_EDWARDS25519', 'SIGN_VERIFY');
    const edSig = Buffer.from((await ok('kms', 'sign', '--key-id', ed, '--message', fileb('ed.bin', message), '--message-type', 'RAW', '--signing-algorithm', 'ED25519_SHA_512')).Signature as string, 'base64');
    expect(opensslVerify(null, message, (await publicKey(ed)).key(), edSig)).toBe(true);
  });

  it('get-public-key of a symmetric key is UnsupportedOperationException', async () => {
    const keyId = (await ok('kms', 'create-key')).KeyMetadata.KeyId as string;
    const r = await ebsim('kms', 'get-public-key', '--key-id', keyId);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('An error occurred (UnsupportedOperationException) when calling the GetPublicKey operation');
  });
});

describe('ebsim kms encrypt / decrypt with an RSA key', () => {
  it('decrypts (--key-id, --encryption-algorithm) what OpenSSL encrypted under get-public-key\'s key, and its own ciphertexts', async () => {
    const keyId = await createKey('RSA_2048', 'ENCRYPT_DECRYPT');
    const { key } = await publicKey(keyId);
    const plaintext = Buffer.from('sealed with the public key, offline');
    const ciphertext = publicEncrypt({ key: key(), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, plaintext);
    const dec = await ok('kms', 'decrypt', '--key-id', keyId, '--encryption-algorithm', 'RSAES_OAEP_SHA_256', '--ciphertext-blob', fileb('c.bin', ciphertext));
    expect(Buffer.from(dec.Plaintext as string, 'base64').equals(plaintext)).toBe(true);
    expect(dec.EncryptionAlgorithm).toBe('RSAES_OAEP_SHA_256');

    const enc = await ok('kms', 'encrypt', '--key-id', keyId, '--encryption-algorithm', 'RSAES_OAEP_SHA_1', '--plaintext', fileb('p.bin', plaintext));
    expect(Buffer.from(enc.CiphertextBlob as string, 'base64').length).toBe(256);
    const back = await ok('kms', 'decrypt', '--key-id', keyId, '--encryption-algorithm', 'RSAES_OAEP_SHA_1', '--ciphertext-blob', fileb('c2.bin', Buffer.from(enc.CiphertextBlob as string, 'base64')));
    expect(Buffer.from(back.Plaintext as string, 'base64').equals(plaintext)).toBe(true);
    const noAlgorithm = await ebsim('kms', 'encrypt', '--key-id', keyId, '--plaintext', fileb('p.bin', plaintext));
    expect(noAlgorithm.stderr).toContain('Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.');
  });
});
