// DeriveSharedSecret (issue 14): ECDH with ECC_NIST_P256/P384/P521 KEY_AGREEMENT keys. ebsim
// computes with @noble/curves; each secret is checked against OpenSSL's ECDH (node:crypto) from
// the other side: the peer's private key with the KMS key's public key (GetPublicKey's DER
// SubjectPublicKeyInfo, derived here from the key material). Each documented error, the peer key
// checks, grants and another account, the trail, `ebsim kms`, @aws-sdk/client-kms and boto3.
import { createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as sdk from '@aws-sdk/client-kms';
import { DeriveSharedSecretCommand, KMSClient } from '@aws-sdk/client-kms';
import { publicKeyDer } from '../../src/kms/key-material.js';
import type { RunningServer } from '../../src/server/index.js';
import { ebsimIn } from '../helpers/cli.js';
import { errorCode } from '../helpers/home.js';
import { failure, servedKeyTestHome, type KeyTestHome } from '../helpers/kms-keys.js';
import { recordsOf } from '../iam/trail.js';
import { hasBoto3, runBoto3 } from '../server/helpers.js';

const CURVES = [
  { spec: 'ECC_NIST_P256', curve: 'prime256v1', bytes: 32 },
  { spec: 'ECC_NIST_P384', curve: 'secp384r1', bytes: 48 },
  { spec: 'ECC_NIST_P521', curve: 'secp521r1', bytes: 66 },
] as const;
type Spec = (typeof CURVES)[number]['spec'];

let h: KeyTestHome;
let server: RunningServer;
let client: KMSClient;

let close: () => Promise<void>;

beforeAll(async () => {
  ({ h, server, client, close } = await servedKeyTestHome('ebsim-ecdh-'));
});
afterAll(() => close?.());

const agreementKey = (spec: Spec = 'ECC_NIST_P256') => h.kms.call(h.alice, 'CreateKey', { KeySpec: spec, KeyUsage: 'KEY_AGREEMENT' }).KeyMetadata as { KeyId: string; Arn: string };
const peerOf = (curve: string) => generateKeyPairSync('ec', { namedCurve: curve });
const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
/** The KMS key's public key as GetPublicKey returns it (DER SubjectPublicKeyInfo), from its material. */
const kmsPublicKey = (spec: Spec, keyId: string) => createPublicKey({ key: publicKeyDer(spec, h.material(keyId)), format: 'der', type: 'spki' });
const derive = (KeyId: string, PublicKey: Uint8Array, extra: Record<string, unknown> = {}) =>
  h.kms.call(h.alice, 'DeriveSharedSecret', { KeyId, KeyAgreementAlgorithm: 'ECDH', PublicKey, ...extra });

describe('DeriveSharedSecret', () => {
  for (const { spec, curve, bytes } of CURVES) {
    it(`${spec}: the raw x coordinate OpenSSL derives from the peer's side, ${bytes} bytes`, () => {
      const { KeyId, Arn } = agreementKey(spec);
      const peer = peerOf(curve);
      const out = derive(KeyId, spki(peer.publicKey));
      expect(Object.keys(out).sort()).toEqual(['KeyAgreementAlgorithm', 'KeyId', 'KeyOrigin', 'SharedSecret']);
      expect(out).toMatchObject({ KeyId: Arn, KeyAgreementAlgorithm: 'ECDH', KeyOrigin: 'AWS_KMS' });
      const secret = Buffer.from(out.SharedSecret as Uint8Array);
      expect(secret.length).toBe(bytes);
      expect(secret.equals(diffieHellman({ privateKey: peer.privateKey, publicKey: kmsPublicKey(spec, KeyId) }))).toBe(true);
    });
  }

  it("two KMS keys agree: each derives the same secret from the other's public key", () => {
    const a = agreementKey('ECC_NIST_P384');
    const b = agreementKey('ECC_NIST_P384');
    const ab = Buffer.from(derive(a.KeyId, publicKeyDer('ECC_NIST_P384', h.material(b.KeyId))).SharedSecret as Uint8Array);
    const ba = Buffer.from(derive(b.KeyId, publicKeyDer('ECC_NIST_P384', h.material(a.KeyId))).SharedSecret as Uint8Array);
    expect(ab.equals(ba)).toBe(true);
    // A peer key on the same curve in compressed form (SEC 1) is the same point.
    const peer = peerOf('secp384r1');
    const { x, y } = peer.publicKey.export({ format: 'jwk' });
    const compressed = createPublicKey({ key: { kty: 'EC', crv: 'P-384', x, y }, format: 'jwk' });
    expect(Buffer.from(derive(a.KeyId, spki(compressed)).SharedSecret as Uint8Array).equals(diffieHellman({ privateKey: peer.privateKey, publicKey: kmsPublicKey('ECC_NIST_P384', a.KeyId) }))).toBe(true);
  });
});

describe('documented errors', () => {
  it('a PublicKey that is not a DER SubjectPublicKeyInfo of a point on the key\'s curve: ValidationException', () => {
    const { KeyId } = agreementKey('ECC_NIST_P256');
    const p256 = spki(peerOf('prime256v1').publicKey);
    const offCurve = Buffer.from(p256);
    offCurve[offCurve.length - 1]! ^= 0x01; // y no longer on the curve
    for (const bad of [
      Buffer.from('InvalidPublicKey'),
      p256.subarray(0, p256.length - 1),
      offCurve,
      spki(peerOf('secp384r1').publicKey),
      spki(peerOf('secp256k1').publicKey),
      spki(generateKeyPairSync('ed25519').publicKey),
      spki(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey),
    ]) {
      expect(failure(() => derive(KeyId, bad))).toEqual({ code: 'ValidationException', message: '' });
    }
    expect(failure(() => derive(KeyId, Buffer.alloc(8193))).message).toContain("at 'publicKey' failed to satisfy constraint: Member must have length less than or equal to 8192");
  });

  it('an algorithm other than ECDH, or none: ValidationException', () => {
    const { KeyId } = agreementKey();
    const pub = spki(peerOf('prime256v1').publicKey);
    expect(failure(() => derive(KeyId, pub, { KeyAgreementAlgorithm: 'INVALID' })).message).toBe(
      "1 validation error detected: Value 'INVALID' at 'keyAgreementAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [ECDH]",
    );
    expect(failure(() => h.kms.call(h.alice, 'DeriveSharedSecret', { KeyId, PublicKey: pub })).message).toBe(
      "1 validation error detected: Value 'null' at 'keyAgreementAlgorithm' failed to satisfy constraint: Member must not be null",
    );
  });

  it('a key of another usage (ECC for signing, symmetric): InvalidKeyUsageException naming the usage', () => {
    const pub = spki(peerOf('prime256v1').publicKey);
    const signing = h.kms.call(h.alice, 'CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }).KeyMetadata as { Arn: string };
    expect(failure(() => derive(signing.Arn, pub))).toEqual({ code: 'InvalidKeyUsageException', message: `${signing.Arn} key usage is SIGN_VERIFY which is not valid for DeriveSharedSecret.` });
    const symmetric = h.kms.call(h.alice, 'CreateKey', {}).KeyMetadata as { Arn: string };
    expect(failure(() => derive(symmetric.Arn, pub)).message).toBe(`${symmetric.Arn} key usage is ENCRYPT_DECRYPT which is not valid for DeriveSharedSecret.`);
  });

  it('an unknown key: NotFoundException; disabled: DisabledException; pending deletion: KMSInvalidStateException', () => {
    const pub = spki(peerOf('prime256v1').publicKey);
    expect(errorCode(() => derive('alias/nothing-here', pub))).toBe('NotFoundException');
    const { KeyId } = agreementKey();
    h.kms.call(h.alice, 'DisableKey', { KeyId });
    expect(errorCode(() => derive(KeyId, pub))).toBe('DisabledException');
    h.kms.call(h.alice, 'ScheduleKeyDeletion', { KeyId, PendingWindowInDays: 7 });
    expect(errorCode(() => derive(KeyId, pub))).toBe('KMSInvalidStateException');
  });

  it('a Recipient (Nitro Enclaves attestation): UnsupportedOperationException, ebsim does not model attestation', () => {
    const { KeyId } = agreementKey();
    const recipient = { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: Buffer.from('attestation document') };
    expect(failure(() => derive(KeyId, spki(peerOf('prime256v1').publicKey), { Recipient: recipient }))).toEqual({
      code: 'UnsupportedOperationException',
      message: 'DeriveSharedSecret with a Recipient is not supported: ebsim does not model Nitro Enclaves or NitroTPM attestation.',
    });
  });
});

describe('access', () => {
  it('a grant allows a user without permission; kms:KeyAgreementAlgorithm is a condition key; another account uses the key by ARN', () => {
    const { KeyId, Arn } = h.sharedKey({ KeySpec: 'ECC_NIST_P521', KeyUsage: 'KEY_AGREEMENT' });
    const peer = peerOf('secp521r1');
    const params = { KeyId, KeyAgreementAlgorithm: 'ECDH', PublicKey: spki(peer.publicKey) };
    expect(errorCode(() => h.kms.call(h.bob, 'DeriveSharedSecret', params))).toBe('AccessDeniedException');
    h.kms.call(h.alice, 'CreateGrant', { KeyId, GranteePrincipal: h.bobArn, Operations: ['DeriveSharedSecret'] });
    const expected = diffieHellman({ privateKey: peer.privateKey, publicKey: kmsPublicKey('ECC_NIST_P521', KeyId) });
    expect(Buffer.from(h.kms.call(h.bob, 'DeriveSharedSecret', params).SharedSecret as Uint8Array).equals(expected)).toBe(true);
    expect(Buffer.from(h.otherKms.call(h.otherAlice, 'DeriveSharedSecret', { ...params, KeyId: Arn }).SharedSecret as Uint8Array).equals(expected)).toBe(true);
    expect(errorCode(() => h.otherKms.call(h.otherAlice, 'DeriveSharedSecret', params))).toBe('NotFoundException');

    const other = agreementKey();
    const policy = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'kms:*', Resource: '*' },
        { Effect: 'Deny', Principal: { AWS: '*' }, Action: 'kms:DeriveSharedSecret', Resource: '*', Condition: { StringEquals: { 'kms:KeyAgreementAlgorithm': 'ECDH' } } },
      ],
    };
    h.kms.call(h.alice, 'PutKeyPolicy', { KeyId: other.KeyId, PolicyName: 'default', Policy: JSON.stringify(policy) });
    expect(errorCode(() => derive(other.KeyId, spki(peerOf('prime256v1').publicKey)))).toBe('AccessDeniedException');
  });
});

describe('the trail', () => {
  it('records keyId and keyAgreementAlgorithm; never the shared secret', () => {
    const { KeyId } = agreementKey();
    const secret = Buffer.from(derive(KeyId, spki(peerOf('prime256v1').publicKey)).SharedSecret as Uint8Array);
    const record = recordsOf(h, 'DeriveSharedSecret').pop()!;
    expect(record.requestParameters).toEqual({ keyId: KeyId, keyAgreementAlgorithm: 'ECDH' });
    expect(record.responseElements).toBeNull();
    const text = JSON.stringify(record);
    expect(text).not.toContain(secret.toString('base64'));
    expect(text).not.toContain(secret.toString('hex'));
  });
});

describe('through the CLI and the HTTP endpoint', () => {
  it('`ebsim kms derive-shared-secret --public-key fileb://peer.der`', async () => {
    const { KeyId, Arn } = agreementKey('ECC_NIST_P256');
    const peer = peerOf('prime256v1');
    const file = join(h.dir, 'peer.der');
    writeFileSync(file, spki(peer.publicKey));
    const r = await ebsimIn(h.dir, ['kms', 'derive-shared-secret', '--key-id', KeyId, '--key-agreement-algorithm', 'ECDH', '--public-key', `fileb://${file}`]);
    expect(r.code, r.stderr).toBe(0);
    const out = r.json();
    expect(out).toMatchObject({ KeyId: Arn, KeyAgreementAlgorithm: 'ECDH', KeyOrigin: 'AWS_KMS' });
    expect(Buffer.from(out.SharedSecret, 'base64').equals(diffieHellman({ privateKey: peer.privateKey, publicKey: kmsPublicKey('ECC_NIST_P256', KeyId) }))).toBe(true);
    const bad = await ebsimIn(h.dir, ['kms', 'derive-shared-secret', '--key-id', KeyId, '--key-agreement-algorithm', 'ECDH', '--public-key', Buffer.from('not a key').toString('base64')]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('An error occurred (ValidationException) when calling the DeriveSharedSecret operation');
  });

  it("@aws-sdk/client-kms: the model's output members, the secret OpenSSL derives", async () => {
    const { KeyId } = agreementKey('ECC_NIST_P384');
    const peer = peerOf('secp384r1');
    const { $metadata: _m, ...out } = await client.send(new DeriveSharedSecretCommand({ KeyId, KeyAgreementAlgorithm: 'ECDH', PublicKey: spki(peer.publicKey) }));
    const members = ((sdk as unknown as Record<string, unknown[]>)['DeriveSharedSecretResponse$']![4] as string[]).filter((m) => m !== 'CiphertextForRecipient');
    expect(Object.keys(out).sort()).toEqual(members.sort());
    expect(Buffer.from(out.SharedSecret!).equals(diffieHellman({ privateKey: peer.privateKey, publicKey: kmsPublicKey('ECC_NIST_P384', KeyId) }))).toBe(true);
  });

  it.skipIf(!hasBoto3())('boto3: derive_shared_secret (where the installed botocore has it)', async (ctx) => {
    const { KeyId } = agreementKey('ECC_NIST_P256');
    const peer = peerOf('prime256v1');
    const file = join(h.dir, 'boto-peer.der');
    writeFileSync(file, spki(peer.publicKey));
    const script = join(h.dir, 'ecdh.py');
    writeFileSync(
      script,
      `
import boto3, json, sys
kms = boto3.session.Session(profile_name='ebsim').client('kms', endpoint_url=sys.argv[1], region_name='us-east-1')
if not hasattr(kms, 'derive_shared_secret'):
    print(json.dumps({'missing': True}))
    sys.exit(0)
r = kms.derive_shared_secret(KeyId=sys.argv[2], KeyAgreementAlgorithm='ECDH', PublicKey=open(sys.argv[3], 'rb').read())
print(json.dumps({'secret': r['SharedSecret'].hex(), 'origin': r['KeyOrigin']}))
`,
    );
    const r = JSON.parse(await runBoto3(h.dir, script, [server.url, KeyId, file]));
    if (r.missing) ctx.skip('the installed botocore predates DeriveSharedSecret');
    expect(r).toEqual({ secret: diffieHellman({ privateKey: peer.privateKey, publicKey: kmsPublicKey('ECC_NIST_P256', KeyId) }).toString('hex'), origin: 'AWS_KMS' });
  });
});
