// Encapsulate and Decapsulate (issue 14): ML_KEM_512/768/1024 keys. The key pair comes from the
// stored 64-byte seed d || z (postQuantumKeys), checked against FIPS 203 known answers from NIST's
// ACVP vectors (test/vectors/acvp-ml-kem-keygen.json). Secrets are checked both ways: a client
// encapsulating to the public key (GetPublicKey's SubjectPublicKeyInfo, derived from the material)
// with @noble/post-quantum and with Python `cryptography` (OpenSSL), decapsulated by ebsim; and
// ebsim's encapsulation decapsulated white-box by both. Each documented error (AWS's
// InvalidCiphertextException for a ciphertext of the wrong length, implicit rejection otherwise),
// grants and another account, the trail, `ebsim kms`, @aws-sdk/client-kms and boto3.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as sdk from '@aws-sdk/client-kms';
import { DecapsulateCommand, EncapsulateCommand, InvalidCiphertextException, KMSClient } from '@aws-sdk/client-kms';
import { ml_kem512, ml_kem768, ml_kem1024 } from '@noble/post-quantum/ml-kem.js';
import { postQuantumKeys, publicKeyDer } from '../../src/kms/key-material.js';
import type { RunningServer } from '../../src/server/index.js';
import { ebsimIn } from '../helpers/cli.js';
import { errorCode } from '../helpers/home.js';
import { failure, servedKeyTestHome, type KeyTestHome } from '../helpers/kms-keys.js';
import { hasPythonMlKem, python } from '../helpers/python-crypto.js';
import { recordsOf } from '../iam/trail.js';
import { hasBoto3, runBoto3 } from '../server/helpers.js';

const SPECS = [
  { spec: 'ML_KEM_512', kem: ml_kem512, acvp: 'ML-KEM-512', cipherText: 768, publicKey: 800, py: undefined },
  { spec: 'ML_KEM_768', kem: ml_kem768, acvp: 'ML-KEM-768', cipherText: 1088, publicKey: 1184, py: 'MLKEM768' },
  { spec: 'ML_KEM_1024', kem: ml_kem1024, acvp: 'ML-KEM-1024', cipherText: 1568, publicKey: 1568, py: 'MLKEM1024' },
] as const;
type Spec = (typeof SPECS)[number]['spec'];

const VECTORS = JSON.parse(readFileSync(new URL('../vectors/acvp-ml-kem-keygen.json', import.meta.url), 'utf8')) as {
  tests: { parameterSet: string; tcId: number; d: string; z: string; ek: string; dk: string }[];
};

let h: KeyTestHome;
let server: RunningServer;
let client: KMSClient;

let close: () => Promise<void>;

beforeAll(async () => {
  ({ h, server, client, close } = await servedKeyTestHome('ebsim-mlkem-'));
});
afterAll(() => close?.());

const kemKey = (spec: Spec = 'ML_KEM_768') => h.kms.call(h.alice, 'CreateKey', { KeySpec: spec, KeyUsage: 'ENCAPSULATE_DECAPSULATE' }).KeyMetadata as { KeyId: string; Arn: string };
const encapsulate = (KeyId: string) => h.kms.call(h.alice, 'Encapsulate', { KeyId, EncapsulationAlgorithm: 'ML_KEM' });
const decapsulate = (KeyId: string, SharedSecretCiphertextBlob: Uint8Array) => h.kms.call(h.alice, 'Decapsulate', { KeyId, SharedSecretCiphertextBlob, EncapsulationAlgorithm: 'ML_KEM' });
const bytes = (v: unknown) => Buffer.from(v as Uint8Array);
/** The raw encapsulation key inside GetPublicKey's SubjectPublicKeyInfo (its BIT STRING's last bytes). */
const encapsulationKey = (spec: Spec, keyId: string, length: number) => publicKeyDer(spec, h.material(keyId)).subarray(-length);

describe('ML-KEM key pairs (FIPS 203 known answers)', () => {
  for (const { spec, acvp } of SPECS) {
    it(`${spec}: the 64-byte seed d || z gives ACVP's ek and dk; the SubjectPublicKeyInfo carries ek`, () => {
      const v = VECTORS.tests.find((t) => t.parameterSet === acvp)!;
      const seed = Buffer.from(v.d + v.z, 'hex');
      const { publicKey, secretKey } = postQuantumKeys(spec, seed);
      expect(Buffer.from(publicKey).toString('hex').toUpperCase()).toBe(v.ek);
      expect(Buffer.from(secretKey).toString('hex').toUpperCase()).toBe(v.dk);
      expect(publicKeyDer(spec, seed).subarray(-publicKey.length).equals(Buffer.from(v.ek, 'hex'))).toBe(true);
    });
  }
});

describe('Encapsulate and Decapsulate', () => {
  for (const { spec, kem, cipherText, publicKey } of SPECS) {
    it(`${spec}: a fresh 32-byte secret and a ${cipherText}-byte encapsulation; ebsim and @noble/post-quantum recover each other's secrets`, () => {
      const { KeyId, Arn } = kemKey(spec);
      const out = encapsulate(KeyId);
      expect(Object.keys(out).sort()).toEqual(['EncapsulationAlgorithm', 'KeyId', 'SharedSecret', 'SharedSecretCiphertextBlob']);
      expect(out).toMatchObject({ KeyId: Arn, EncapsulationAlgorithm: 'ML_KEM' });
      const secret = bytes(out.SharedSecret);
      const ct = bytes(out.SharedSecretCiphertextBlob);
      expect([secret.length, ct.length]).toEqual([32, cipherText]);
      // White-box: the key pair from the stored seed opens ebsim's encapsulation.
      expect(Buffer.from(kem.decapsulate(ct, postQuantumKeys(spec, h.material(KeyId)).secretKey)).equals(secret)).toBe(true);
      expect(decapsulate(KeyId, ct)).toEqual({ KeyId: Arn, SharedSecret: new Uint8Array(secret), EncapsulationAlgorithm: 'ML_KEM' });
      // A client encapsulating to the public key alone.
      const client = kem.encapsulate(encapsulationKey(spec, KeyId, publicKey));
      expect(bytes(decapsulate(KeyId, client.cipherText).SharedSecret).equals(Buffer.from(client.sharedSecret))).toBe(true);
      // Each encapsulation is fresh.
      expect(bytes(encapsulate(KeyId).SharedSecret).equals(secret)).toBe(false);
    });
  }

  it.skipIf(!hasPythonMlKem())('ML_KEM_768 and ML_KEM_1024 against Python cryptography (OpenSSL): its encapsulation to the SubjectPublicKeyInfo, ebsim\'s to its key', () => {
    for (const { spec, py } of SPECS.filter((s) => s.py)) {
      const { KeyId } = kemKey(spec);
      const ours = encapsulate(KeyId);
      const r = python(
        `
import json, sys
from cryptography.hazmat.primitives.asymmetric import mlkem
from cryptography.hazmat.primitives.serialization import load_der_public_key
i = json.load(sys.stdin)
ss, ct = load_der_public_key(bytes.fromhex(i['spki'])).encapsulate()
key = getattr(mlkem, i['cls'] + 'PrivateKey').from_seed_bytes(bytes.fromhex(i['seed']))
print(json.dumps({'ct': ct.hex(), 'ss': ss.hex(), 'ours': key.decapsulate(bytes.fromhex(i['ct'])).hex()}))
`,
        { cls: py, spki: publicKeyDer(spec, h.material(KeyId)).toString('hex'), seed: h.material(KeyId).toString('hex'), ct: bytes(ours.SharedSecretCiphertextBlob).toString('hex') },
      );
      expect(r.ours).toBe(bytes(ours.SharedSecret).toString('hex'));
      expect(bytes(decapsulate(KeyId, Buffer.from(r.ct, 'hex')).SharedSecret).toString('hex')).toBe(r.ss);
    }
  });

  it('a changed ciphertext of the right length, or one made for another key, is answered with an unrelated secret (implicit rejection), not an error', () => {
    const { KeyId } = kemKey('ML_KEM_512');
    const other = kemKey('ML_KEM_512');
    const out = encapsulate(KeyId);
    const ct = bytes(out.SharedSecretCiphertextBlob);
    const changed = Buffer.from(ct);
    changed[100]! ^= 0x01;
    const rejected = bytes(decapsulate(KeyId, changed).SharedSecret);
    expect(rejected.length).toBe(32);
    expect(rejected.equals(bytes(out.SharedSecret))).toBe(false);
    // FIPS 203: the pseudo-random answer is J(z || c), the same each time.
    expect(bytes(decapsulate(KeyId, changed).SharedSecret).equals(rejected)).toBe(true);
    expect(bytes(decapsulate(other.KeyId, ct).SharedSecret).equals(bytes(out.SharedSecret))).toBe(false);
  });
});

describe('documented errors', () => {
  it('a ciphertext whose length is not the key spec\'s: InvalidCiphertextException with an empty message', () => {
    const k768 = kemKey('ML_KEM_768');
    const ct512 = bytes(encapsulate(kemKey('ML_KEM_512').KeyId).SharedSecretCiphertextBlob);
    for (const bad of [ct512, Buffer.alloc(1087), Buffer.alloc(1089), Buffer.alloc(1)]) {
      expect(failure(() => decapsulate(k768.KeyId, bad))).toEqual({ code: 'InvalidCiphertextException', message: '' });
    }
    expect(failure(() => decapsulate(k768.KeyId, Buffer.alloc(6145))).message).toContain(
      "at 'sharedSecretCiphertextBlob' failed to satisfy constraint: Member must have length less than or equal to 6144",
    );
  });

  it('an algorithm other than ML_KEM, or none: ValidationException', () => {
    const { KeyId } = kemKey();
    expect(failure(() => h.kms.call(h.alice, 'Encapsulate', { KeyId, EncapsulationAlgorithm: 'KYBER' })).message).toBe(
      "1 validation error detected: Value 'KYBER' at 'encapsulationAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [ML_KEM]",
    );
    expect(failure(() => h.kms.call(h.alice, 'Decapsulate', { KeyId, SharedSecretCiphertextBlob: Buffer.alloc(1088) })).message).toBe(
      "1 validation error detected: Value 'null' at 'encapsulationAlgorithm' failed to satisfy constraint: Member must not be null",
    );
  });

  it('a key of another usage: InvalidKeyUsageException naming its usage and the operation', () => {
    const symmetric = h.kms.call(h.alice, 'CreateKey', {}).KeyMetadata as { Arn: string };
    expect(failure(() => encapsulate(symmetric.Arn))).toEqual({ code: 'InvalidKeyUsageException', message: `${symmetric.Arn} key usage is ENCRYPT_DECRYPT which is not valid for Encapsulate.` });
    const signing = h.kms.call(h.alice, 'CreateKey', { KeySpec: 'ML_DSA_65', KeyUsage: 'SIGN_VERIFY' }).KeyMetadata as { Arn: string };
    expect(failure(() => decapsulate(signing.Arn, Buffer.alloc(1088))).message).toBe(`${signing.Arn} key usage is SIGN_VERIFY which is not valid for Decapsulate.`);
  });

  it('an unknown key: NotFoundException; disabled: DisabledException; pending deletion: KMSInvalidStateException', () => {
    expect(errorCode(() => encapsulate('alias/no-kem'))).toBe('NotFoundException');
    const { KeyId } = kemKey();
    const ct = bytes(encapsulate(KeyId).SharedSecretCiphertextBlob);
    h.kms.call(h.alice, 'DisableKey', { KeyId });
    expect(errorCode(() => encapsulate(KeyId))).toBe('DisabledException');
    expect(errorCode(() => decapsulate(KeyId, ct))).toBe('DisabledException');
    h.kms.call(h.alice, 'ScheduleKeyDeletion', { KeyId, PendingWindowInDays: 7 });
    expect(errorCode(() => encapsulate(KeyId))).toBe('KMSInvalidStateException');
    expect(errorCode(() => decapsulate(KeyId, ct))).toBe('KMSInvalidStateException');
  });
});

describe('access', () => {
  it('grants allow each operation to a user without permission; another account uses the key by ARN', () => {
    const { KeyId, Arn } = h.sharedKey({ KeySpec: 'ML_KEM_1024', KeyUsage: 'ENCAPSULATE_DECAPSULATE' });
    const params = { KeyId, EncapsulationAlgorithm: 'ML_KEM' };
    expect(errorCode(() => h.kms.call(h.bob, 'Encapsulate', params))).toBe('AccessDeniedException');
    h.kms.call(h.alice, 'CreateGrant', { KeyId, GranteePrincipal: h.bobArn, Operations: ['Encapsulate'] });
    const out = h.kms.call(h.bob, 'Encapsulate', params);
    const decap = { ...params, SharedSecretCiphertextBlob: out.SharedSecretCiphertextBlob };
    expect(errorCode(() => h.kms.call(h.bob, 'Decapsulate', decap))).toBe('AccessDeniedException');
    h.kms.call(h.alice, 'CreateGrant', { KeyId, GranteePrincipal: h.bobArn, Operations: ['Decapsulate'] });
    expect(bytes(h.kms.call(h.bob, 'Decapsulate', decap).SharedSecret).equals(bytes(out.SharedSecret))).toBe(true);

    const other = h.otherKms.call(h.otherAlice, 'Encapsulate', { ...params, KeyId: Arn });
    expect(other.KeyId).toBe(Arn);
    expect(bytes(h.otherKms.call(h.otherAlice, 'Decapsulate', { ...decap, KeyId: Arn, SharedSecretCiphertextBlob: other.SharedSecretCiphertextBlob }).SharedSecret).equals(bytes(other.SharedSecret))).toBe(true);
    expect(errorCode(() => h.otherKms.call(h.otherAlice, 'Encapsulate', params))).toBe('NotFoundException');
  });
});

describe('the trail', () => {
  it('records keyId and encapsulationAlgorithm; never the shared secret or the encapsulation', () => {
    const { KeyId } = kemKey();
    const out = encapsulate(KeyId);
    decapsulate(KeyId, bytes(out.SharedSecretCiphertextBlob));
    const records = [recordsOf(h, 'Encapsulate').pop()!, recordsOf(h, 'Decapsulate').pop()!];
    for (const r of records) {
      expect(r.requestParameters).toEqual({ keyId: KeyId, encapsulationAlgorithm: 'ML_KEM' });
      expect(r.responseElements).toBeNull();
    }
    const text = JSON.stringify(records);
    expect(text).not.toContain(bytes(out.SharedSecret).toString('base64'));
    expect(text).not.toContain(bytes(out.SharedSecret).toString('hex'));
    expect(text).not.toContain(bytes(out.SharedSecretCiphertextBlob).toString('base64').slice(0, 40));
  });
});

describe('through the CLI and the HTTP endpoint', () => {
  it('`ebsim kms encapsulate`, then `ebsim kms decapsulate --shared-secret-ciphertext-blob fileb://…`', async () => {
    const { KeyId, Arn } = kemKey('ML_KEM_768');
    const enc = await ebsimIn(h.dir, ['kms', 'encapsulate', '--key-id', KeyId, '--encapsulation-algorithm', 'ML_KEM']);
    expect(enc.code, enc.stderr).toBe(0);
    const out = enc.json();
    expect(out).toMatchObject({ KeyId: Arn, EncapsulationAlgorithm: 'ML_KEM' });
    const file = join(h.dir, 'ct.bin');
    writeFileSync(file, Buffer.from(out.SharedSecretCiphertextBlob, 'base64'));
    const dec = await ebsimIn(h.dir, ['kms', 'decapsulate', '--key-id', KeyId, '--encapsulation-algorithm', 'ML_KEM', '--shared-secret-ciphertext-blob', `fileb://${file}`]);
    expect(dec.code, dec.stderr).toBe(0);
    expect(dec.json()).toEqual({ KeyId: Arn, SharedSecret: out.SharedSecret, EncapsulationAlgorithm: 'ML_KEM' });
    const bad = await ebsimIn(h.dir, ['kms', 'decapsulate', '--key-id', KeyId, '--encapsulation-algorithm', 'ML_KEM', '--shared-secret-ciphertext-blob', Buffer.alloc(16).toString('base64')]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('An error occurred (InvalidCiphertextException) when calling the Decapsulate operation');
  });

  it("@aws-sdk/client-kms: the model's output members; InvalidCiphertextException for a short ciphertext", async () => {
    const { KeyId } = kemKey('ML_KEM_1024');
    const outputMembers = (op: string) => ((sdk as unknown as Record<string, unknown[]>)[`${op}Response$`]![4] as string[]).sort();
    const { $metadata: _e, ...enc } = await client.send(new EncapsulateCommand({ KeyId, EncapsulationAlgorithm: 'ML_KEM' }));
    expect(Object.keys(enc).sort()).toEqual(outputMembers('Encapsulate'));
    const { $metadata: _d, ...dec } = await client.send(new DecapsulateCommand({ KeyId, EncapsulationAlgorithm: 'ML_KEM', SharedSecretCiphertextBlob: enc.SharedSecretCiphertextBlob }));
    expect(Object.keys(dec).sort()).toEqual(outputMembers('Decapsulate'));
    expect(Buffer.from(dec.SharedSecret!).equals(Buffer.from(enc.SharedSecret!))).toBe(true);
    const err = await client.send(new DecapsulateCommand({ KeyId, EncapsulationAlgorithm: 'ML_KEM', SharedSecretCiphertextBlob: Buffer.alloc(32) })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidCiphertextException);
  });

  it.skipIf(!hasBoto3())('boto3: encapsulate and decapsulate (where the installed botocore has them)', async (ctx) => {
    const { KeyId } = kemKey('ML_KEM_512');
    const script = join(h.dir, 'kem.py');
    writeFileSync(
      script,
      `
import boto3, json, sys
kms = boto3.session.Session(profile_name='ebsim').client('kms', endpoint_url=sys.argv[1], region_name='us-east-1')
if not hasattr(kms, 'encapsulate'):
    print(json.dumps({'missing': True}))
    sys.exit(0)
e = kms.encapsulate(KeyId=sys.argv[2], EncapsulationAlgorithm='ML_KEM')
d = kms.decapsulate(KeyId=sys.argv[2], EncapsulationAlgorithm='ML_KEM', SharedSecretCiphertextBlob=e['SharedSecretCiphertextBlob'])
print(json.dumps({'same': e['SharedSecret'] == d['SharedSecret'], 'length': len(e['SharedSecret'])}))
`,
    );
    const r = JSON.parse(await runBoto3(h.dir, script, [server.url, KeyId]));
    if (r.missing) ctx.skip('the installed botocore predates Encapsulate');
    expect(r).toEqual({ same: true, length: 32 });
  });
});
