// GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext (issue 14): every DataKeyPairSpec
// outside China, under a symmetric encryption key and an encryption context. OpenSSL (node:crypto)
// parses the DER SubjectPublicKeyInfo and the PKCS#8 private key (as returned, and as Decrypt
// returns it from PrivateKeyCiphertextBlob) and signs with one, verifies with the other. ML-KEM
// pairs, which OpenSSL 3.0 does not know, are checked by their seed (the key pair FIPS 203
// derives from it) and against Python `cryptography` byte for byte. Each documented error,
// grants and another account, the trail, `ebsim kms`, @aws-sdk/client-kms and boto3.
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as sdk from '@aws-sdk/client-kms';
import { GenerateDataKeyPairCommand, GenerateDataKeyPairWithoutPlaintextCommand, KMSClient } from '@aws-sdk/client-kms';
import { ml_kem512, ml_kem768, ml_kem1024 } from '@noble/post-quantum/ml-kem.js';
import type { RunningServer } from '../../src/server/index.js';
import { ebsimIn } from '../helpers/cli.js';
import { errorCode } from '../helpers/home.js';
import { failure, servedKeyTestHome, type KeyTestHome } from '../helpers/kms-keys.js';
import { hasPythonMlKem, python } from '../helpers/python-crypto.js';
import { recordsOf } from '../iam/trail.js';
import { hasBoto3, runBoto3 } from '../server/helpers.js';

/** What OpenSSL reports for each classical spec, and how to sign with it. */
const CLASSICAL = [
  { spec: 'RSA_2048', type: 'rsa', details: { modulusLength: 2048 }, hash: 'sha256' },
  { spec: 'RSA_3072', type: 'rsa', details: { modulusLength: 3072 }, hash: 'sha256' },
  { spec: 'RSA_4096', type: 'rsa', details: { modulusLength: 4096 }, hash: 'sha256' },
  { spec: 'ECC_NIST_P256', type: 'ec', details: { namedCurve: 'prime256v1' }, hash: 'sha256' },
  { spec: 'ECC_NIST_P384', type: 'ec', details: { namedCurve: 'secp384r1' }, hash: 'sha384' },
  { spec: 'ECC_NIST_P521', type: 'ec', details: { namedCurve: 'secp521r1' }, hash: 'sha512' },
  { spec: 'ECC_SECG_P256K1', type: 'ec', details: { namedCurve: 'secp256k1' }, hash: 'sha256' },
  { spec: 'ECC_NIST_EDWARDS25519', type: 'ed25519', details: {}, hash: null },
] as const;
/** ML-KEM: the PKCS#8 prefix (RFC 5958 v1, the NIST OID 2.16.840.1.101.3.4.4.x, seed [0] of 64 bytes) and the key lengths. */
const ML_KEM = [
  { spec: 'ML_KEM_512', oidLast: 1, kem: ml_kem512, publicKey: 800, py: undefined },
  { spec: 'ML_KEM_768', oidLast: 2, kem: ml_kem768, publicKey: 1184, py: 'MLKEM768' },
  { spec: 'ML_KEM_1024', oidLast: 3, kem: ml_kem1024, publicKey: 1568, py: 'MLKEM1024' },
] as const;
const CONTEXT = { purpose: 'data key pair test' };

let h: KeyTestHome;
let server: RunningServer;
let client: KMSClient;
let key: { KeyId: string; Arn: string };

let close: () => Promise<void>;

beforeAll(async () => {
  ({ h, server, client, close } = await servedKeyTestHome('ebsim-dkp-'));
  key = h.kms.call(h.alice, 'CreateKey', {}).KeyMetadata as typeof key;
});
afterAll(() => close?.());

const bytes = (v: unknown) => Buffer.from(v as Uint8Array);
const pair = (KeyPairSpec: string, extra: Record<string, unknown> = {}) => h.kms.call(h.alice, 'GenerateDataKeyPair', { KeyId: key.KeyId, KeyPairSpec, EncryptionContext: CONTEXT, ...extra });
const withoutPlaintext = (KeyPairSpec: string, extra: Record<string, unknown> = {}) =>
  h.kms.call(h.alice, 'GenerateDataKeyPairWithoutPlaintext', { KeyId: key.KeyId, KeyPairSpec, EncryptionContext: CONTEXT, ...extra });
const decrypt = (blob: unknown, EncryptionContext: Record<string, string> = CONTEXT) => bytes(h.kms.call(h.alice, 'Decrypt', { CiphertextBlob: blob, EncryptionContext }).Plaintext);

/** The private key signs, the public key verifies (OpenSSL both). */
function signsForPublicKey(privateKey: KeyObject, publicKey: KeyObject, hash: string | null): boolean {
  const message = Buffer.from('signed with a data key pair');
  return verify(hash, message, publicKey, sign(hash, message, privateKey));
}

describe('GenerateDataKeyPair', () => {
  for (const { spec, type, details, hash } of CLASSICAL) {
    it(`${spec}: a DER SubjectPublicKeyInfo and a PKCS#8 private key OpenSSL parses, that sign and verify; Decrypt of the blob returns the private key`, () => {
      const out = pair(spec);
      expect(Object.keys(out).sort()).toEqual(['KeyId', 'KeyMaterialId', 'KeyPairSpec', 'PrivateKeyCiphertextBlob', 'PrivateKeyPlaintext', 'PublicKey']);
      expect(out).toMatchObject({ KeyId: key.Arn, KeyPairSpec: spec });
      const publicKey = createPublicKey({ key: bytes(out.PublicKey), format: 'der', type: 'spki' });
      const privateKey = createPrivateKey({ key: bytes(out.PrivateKeyPlaintext), format: 'der', type: 'pkcs8' });
      expect(publicKey.asymmetricKeyType).toBe(type);
      expect(publicKey.asymmetricKeyDetails).toMatchObject(details);
      expect(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }).equals(bytes(out.PublicKey))).toBe(true);
      expect(signsForPublicKey(privateKey, publicKey, hash)).toBe(true);
      const decrypted = decrypt(out.PrivateKeyCiphertextBlob);
      expect(decrypted.equals(bytes(out.PrivateKeyPlaintext))).toBe(true);
      expect(failure(() => decrypt(out.PrivateKeyCiphertextBlob, {})).code).toBe('InvalidCiphertextException');
    });
  }

  for (const { spec, oidLast, kem, publicKey: pkLength } of ML_KEM) {
    it(`${spec}: the private key is PKCS#8 in seed form (86 bytes); its seed's FIPS 203 key pair has the public key of the SubjectPublicKeyInfo`, () => {
      const out = pair(spec);
      const pkcs8 = bytes(out.PrivateKeyPlaintext);
      expect(pkcs8.length).toBe(86);
      expect(pkcs8.subarray(0, 22).toString('hex')).toBe(`3054020100300b06096086480165030404${'0' + oidLast}04428040`);
      const seed = pkcs8.subarray(22);
      const spki = bytes(out.PublicKey);
      const fromSeed = kem.keygen(seed);
      expect(spki.subarray(-pkLength).equals(Buffer.from(fromSeed.publicKey))).toBe(true);
      // Usable: an encapsulation to the public key opens with the private key.
      const { cipherText, sharedSecret } = kem.encapsulate(spki.subarray(-pkLength));
      expect(Buffer.from(kem.decapsulate(cipherText, fromSeed.secretKey)).equals(Buffer.from(sharedSecret))).toBe(true);
      expect(decrypt(out.PrivateKeyCiphertextBlob).equals(pkcs8)).toBe(true);
    });
  }

  it.skipIf(!hasPythonMlKem())('ML_KEM_768 and ML_KEM_1024: Python cryptography (OpenSSL) reads the PKCS#8 and writes the same PKCS#8 and SubjectPublicKeyInfo back', () => {
    for (const { spec } of ML_KEM.filter((m) => m.py)) {
      const out = pair(spec);
      const r = python(
        `
import json, sys
from cryptography.hazmat.primitives import serialization as s
i = json.load(sys.stdin)
k = s.load_der_private_key(bytes.fromhex(i['pkcs8']), None)
print(json.dumps({'pkcs8': k.private_bytes(s.Encoding.DER, s.PrivateFormat.PKCS8, s.NoEncryption()).hex(),
                  'spki': k.public_key().public_bytes(s.Encoding.DER, s.PublicFormat.SubjectPublicKeyInfo).hex(),
                  'type': type(k).__name__}))
`,
        { pkcs8: bytes(out.PrivateKeyPlaintext).toString('hex') },
      );
      expect(r).toEqual({ pkcs8: bytes(out.PrivateKeyPlaintext).toString('hex'), spki: bytes(out.PublicKey).toString('hex'), type: `MLKEM${spec.slice('ML_KEM_'.length)}PrivateKey` });
    }
  });

  it('each call gives a new key pair', () => {
    expect(bytes(pair('ECC_NIST_P256').PublicKey).equals(bytes(pair('ECC_NIST_P256').PublicKey))).toBe(false);
  });
});

describe('GenerateDataKeyPairWithoutPlaintext', () => {
  it('has no plaintext private key; Decrypt of the blob gives the private key of the public key', () => {
    const out = withoutPlaintext('ECC_NIST_P384');
    expect(Object.keys(out).sort()).toEqual(['KeyId', 'KeyMaterialId', 'KeyPairSpec', 'PrivateKeyCiphertextBlob', 'PublicKey']);
    expect(out).toMatchObject({ KeyId: key.Arn, KeyPairSpec: 'ECC_NIST_P384' });
    const privateKey = createPrivateKey({ key: decrypt(out.PrivateKeyCiphertextBlob), format: 'der', type: 'pkcs8' });
    const publicKey = createPublicKey({ key: bytes(out.PublicKey), format: 'der', type: 'spki' });
    expect(signsForPublicKey(privateKey, publicKey, 'sha384')).toBe(true);
    const rsa = withoutPlaintext('RSA_2048', { EncryptionContext: undefined });
    expect(signsForPublicKey(createPrivateKey({ key: decrypt(rsa.PrivateKeyCiphertextBlob, {}), format: 'der', type: 'pkcs8' }), createPublicKey({ key: bytes(rsa.PublicKey), format: 'der', type: 'spki' }), 'sha256')).toBe(true);
  });
});

describe('documented errors', () => {
  it('SM2 outside the China Regions: UnsupportedOperationException; an unknown spec or none: ValidationException', () => {
    for (const op of ['GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext']) {
      expect(failure(() => h.kms.call(h.alice, op, { KeyId: key.KeyId, KeyPairSpec: 'SM2' }))).toEqual({ code: 'UnsupportedOperationException', message: 'KeyPairSpec SM2 is not supported in this Region' });
      expect(failure(() => h.kms.call(h.alice, op, { KeyId: key.KeyId, KeyPairSpec: 'RSA_1024' })).message).toBe(
        "1 validation error detected: Value 'RSA_1024' at 'keyPairSpec' failed to satisfy constraint: Member must satisfy enum value set: [RSA_2048, RSA_3072, RSA_4096, ECC_NIST_P256, ECC_NIST_P384, ECC_NIST_P521, ECC_SECG_P256K1, ECC_NIST_EDWARDS25519, SM2, ML_KEM_512, ML_KEM_768, ML_KEM_1024]",
      );
      expect(failure(() => h.kms.call(h.alice, op, { KeyId: key.KeyId })).message).toBe("1 validation error detected: Value 'null' at 'keyPairSpec' failed to satisfy constraint: Member must not be null");
    }
  });

  it('a key that is not a symmetric encryption key: InvalidKeyUsageException', () => {
    const rsa = h.kms.call(h.alice, 'CreateKey', { KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' }).KeyMetadata as { Arn: string };
    expect(failure(() => pair('ECC_NIST_P256', { KeyId: rsa.Arn, EncryptionContext: undefined }))).toEqual({
      code: 'InvalidKeyUsageException',
      message: `${rsa.Arn} key spec is RSA_2048 which is not valid for GenerateDataKeyPair.`,
    });
    const hmac = h.kms.call(h.alice, 'CreateKey', { KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }).KeyMetadata as { Arn: string };
    expect(failure(() => withoutPlaintext('ECC_NIST_P256', { KeyId: hmac.Arn })).message).toBe(`${hmac.Arn} key usage is GENERATE_VERIFY_MAC which is not valid for GenerateDataKeyPairWithoutPlaintext.`);
  });

  it('an unknown key: NotFoundException; disabled: DisabledException; pending deletion: KMSInvalidStateException', () => {
    expect(errorCode(() => pair('ECC_NIST_P256', { KeyId: 'alias/no-such-key' }))).toBe('NotFoundException');
    const { KeyId } = h.kms.call(h.alice, 'CreateKey', {}).KeyMetadata as { KeyId: string };
    h.kms.call(h.alice, 'DisableKey', { KeyId });
    expect(errorCode(() => pair('ECC_NIST_P256', { KeyId }))).toBe('DisabledException');
    h.kms.call(h.alice, 'ScheduleKeyDeletion', { KeyId, PendingWindowInDays: 7 });
    expect(errorCode(() => withoutPlaintext('ECC_NIST_P256', { KeyId }))).toBe('KMSInvalidStateException');
  });

  it('a Recipient (Nitro Enclaves attestation): UnsupportedOperationException, ebsim does not model attestation', () => {
    expect(failure(() => pair('ECC_NIST_P256', { Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: Buffer.from('doc') } }))).toEqual({
      code: 'UnsupportedOperationException',
      message: 'GenerateDataKeyPair with a Recipient is not supported: ebsim does not model Nitro Enclaves or NitroTPM attestation.',
    });
  });
});

describe('access', () => {
  it('grants allow each operation; kms:DataKeyPairSpec and kms:EncryptionContext:… are condition keys; another account uses the key by ARN', () => {
    const shared = h.sharedKey({});
    const params = { KeyId: shared.KeyId, KeyPairSpec: 'ECC_NIST_P256' };
    expect(errorCode(() => h.kms.call(h.bob, 'GenerateDataKeyPair', params))).toBe('AccessDeniedException');
    h.kms.call(h.alice, 'CreateGrant', { KeyId: shared.KeyId, GranteePrincipal: h.bobArn, Operations: ['GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext'] });
    expect(h.kms.call(h.bob, 'GenerateDataKeyPair', params).KeyId).toBe(shared.Arn);
    expect(h.kms.call(h.bob, 'GenerateDataKeyPairWithoutPlaintext', params).KeyId).toBe(shared.Arn);
    expect(h.otherKms.call(h.otherAlice, 'GenerateDataKeyPair', { ...params, KeyId: shared.Arn }).KeyId).toBe(shared.Arn);
    expect(errorCode(() => h.otherKms.call(h.otherAlice, 'GenerateDataKeyPairWithoutPlaintext', params))).toBe('NotFoundException');

    const { KeyId } = h.kms.call(h.alice, 'CreateKey', {}).KeyMetadata as { KeyId: string };
    const policy = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'kms:*', Resource: '*' },
        { Effect: 'Deny', Principal: { AWS: '*' }, Action: 'kms:GenerateDataKeyPair*', Resource: '*', Condition: { StringLike: { 'kms:DataKeyPairSpec': 'RSA_*' } } },
        { Effect: 'Deny', Principal: { AWS: '*' }, Action: 'kms:GenerateDataKeyPair*', Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:purpose': 'forbidden' } } },
      ],
    };
    h.kms.call(h.alice, 'PutKeyPolicy', { KeyId, PolicyName: 'default', Policy: JSON.stringify(policy) });
    expect(errorCode(() => pair('RSA_2048', { KeyId }))).toBe('AccessDeniedException');
    expect(errorCode(() => pair('ECC_NIST_P256', { KeyId, EncryptionContext: { purpose: 'forbidden' } }))).toBe('AccessDeniedException');
    expect(pair('ECC_NIST_P256', { KeyId }).KeyPairSpec).toBe('ECC_NIST_P256');
  });
});

describe('the trail', () => {
  it('records keyId, keyPairSpec and encryptionContext; never the private key', () => {
    const out = pair('ECC_NIST_P256');
    const r = recordsOf(h, 'GenerateDataKeyPair').pop()!;
    expect(r.requestParameters).toEqual({ keyId: key.KeyId, keyPairSpec: 'ECC_NIST_P256', encryptionContext: CONTEXT });
    expect(r.responseElements).toBeNull();
    const text = JSON.stringify(r);
    expect(text).not.toContain(bytes(out.PrivateKeyPlaintext).toString('base64').slice(-40));
    withoutPlaintext('ML_KEM_512');
    expect(recordsOf(h, 'GenerateDataKeyPairWithoutPlaintext').pop()!.requestParameters).toEqual({ keyId: key.KeyId, keyPairSpec: 'ML_KEM_512', encryptionContext: CONTEXT });
  });
});

describe('through the CLI and the HTTP endpoint', () => {
  it('`ebsim kms generate-data-key-pair` and `decrypt --ciphertext-blob fileb://…` with the encryption context', async () => {
    const gen = await ebsimIn(h.dir, ['kms', 'generate-data-key-pair', '--key-id', key.KeyId, '--key-pair-spec', 'ECC_NIST_EDWARDS25519', '--encryption-context', 'purpose=cli']);
    expect(gen.code, gen.stderr).toBe(0);
    const out = gen.json();
    expect(out).toMatchObject({ KeyId: key.Arn, KeyPairSpec: 'ECC_NIST_EDWARDS25519' });
    const blob = join(h.dir, 'private.blob');
    writeFileSync(blob, Buffer.from(out.PrivateKeyCiphertextBlob, 'base64'));
    const dec = await ebsimIn(h.dir, ['kms', 'decrypt', '--ciphertext-blob', `fileb://${blob}`, '--encryption-context', 'purpose=cli']);
    expect(dec.code, dec.stderr).toBe(0);
    const privateKey = createPrivateKey({ key: Buffer.from(dec.json().Plaintext, 'base64'), format: 'der', type: 'pkcs8' });
    expect(signsForPublicKey(privateKey, createPublicKey({ key: Buffer.from(out.PublicKey, 'base64'), format: 'der', type: 'spki' }), null)).toBe(true);
    const without = await ebsimIn(h.dir, ['kms', 'generate-data-key-pair-without-plaintext', '--key-id', key.KeyId, '--key-pair-spec', 'ML_KEM_768']);
    expect(without.code, without.stderr).toBe(0);
    expect(Object.keys(without.json()).sort()).toEqual(['KeyId', 'KeyMaterialId', 'KeyPairSpec', 'PrivateKeyCiphertextBlob', 'PublicKey']);
  });

  it("@aws-sdk/client-kms: responses use the model's output members", async () => {
    const outputMembers = (op: string) => (sdk as unknown as Record<string, unknown[]>)[`${op}Response$`]![4] as string[];
    const { $metadata: _a, ...withPlain } = await client.send(new GenerateDataKeyPairCommand({ KeyId: key.KeyId, KeyPairSpec: 'ECC_NIST_P521', EncryptionContext: CONTEXT }));
    expect(Object.keys(withPlain).filter((k) => !outputMembers('GenerateDataKeyPair').includes(k))).toEqual([]);
    expect(signsForPublicKey(createPrivateKey({ key: Buffer.from(withPlain.PrivateKeyPlaintext!), format: 'der', type: 'pkcs8' }), createPublicKey({ key: Buffer.from(withPlain.PublicKey!), format: 'der', type: 'spki' }), 'sha512')).toBe(true);
    const { $metadata: _b, ...without } = await client.send(new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: key.KeyId, KeyPairSpec: 'ECC_SECG_P256K1' }));
    expect(Object.keys(without).filter((k) => !outputMembers('GenerateDataKeyPairWithoutPlaintext').includes(k))).toEqual([]);
    expect('PrivateKeyPlaintext' in without).toBe(false);
  });

  it.skipIf(!hasBoto3())('boto3: generate_data_key_pair and generate_data_key_pair_without_plaintext', async () => {
    const script = join(h.dir, 'dkp.py');
    writeFileSync(
      script,
      `
import boto3, json, sys
from botocore.exceptions import ClientError
kms = boto3.session.Session(profile_name='ebsim').client('kms', endpoint_url=sys.argv[1], region_name='us-east-1')
p = kms.generate_data_key_pair(KeyId=sys.argv[2], KeyPairSpec='RSA_2048', EncryptionContext={'k': 'v'})
plain = kms.decrypt(CiphertextBlob=p['PrivateKeyCiphertextBlob'], EncryptionContext={'k': 'v'})['Plaintext']
w = kms.generate_data_key_pair_without_plaintext(KeyId=sys.argv[2], KeyPairSpec='ECC_NIST_P256')
try:
    kms.generate_data_key_pair(KeyId=sys.argv[2], KeyPairSpec='SM2')
    sm2 = None
except ClientError as e:
    sm2 = e.response['Error']['Code']
print(json.dumps({'private': p['PrivateKeyPlaintext'].hex(), 'decrypted': plain.hex(), 'public': p['PublicKey'].hex(), 'without': sorted(k for k in w if k != 'ResponseMetadata'), 'sm2': sm2}))
`,
    );
    const r = JSON.parse(await runBoto3(h.dir, script, [server.url, key.KeyId]));
    expect(r.decrypted).toBe(r.private);
    expect(signsForPublicKey(createPrivateKey({ key: Buffer.from(r.private, 'hex'), format: 'der', type: 'pkcs8' }), createPublicKey({ key: Buffer.from(r.public, 'hex'), format: 'der', type: 'spki' }), 'sha256')).toBe(true);
    expect(r.without).toEqual(['KeyId', 'KeyMaterialId', 'KeyPairSpec', 'PrivateKeyCiphertextBlob', 'PublicKey']);
    expect(r.sm2).toBe('UnsupportedOperationException');
  });
});
