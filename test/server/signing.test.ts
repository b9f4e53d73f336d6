// Sign, Verify, GetPublicKey and asymmetric Encrypt/Decrypt over the HTTP endpoint, as the AWS SDK
// for JavaScript, boto3 and the AWS CLI send them; every signature and ciphertext checked by
// OpenSSL (node:crypto) in the same test, and the trail's Sign record by what it leaves out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { constants, createHash, createPublicKey, publicEncrypt, randomBytes, verify as opensslVerify, type KeyObject } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import {
  CreateKeyCommand, DecryptCommand, EncryptCommand, GetPublicKeyCommand, KMSClient, SignCommand, VerifyCommand, type SigningAlgorithmSpec,
} from '@aws-sdk/client-kms';
import type { RunningServer } from '../../src/server/index.js';
import { AWS, aliceCredentials, aws, hasBoto3, inProcess, newHome, removeHome, runBoto3, trailRecords } from './helpers.js';

let home: string;
let server: RunningServer;
let kms: KMSClient;

beforeAll(async () => {
  home = newHome('ebsim-server-sign-');
  server = await inProcess(home);
  kms = new KMSClient({ endpoint: server.url, region: 'us-east-1', credentials: aliceCredentials(home), maxAttempts: 1 });
});
afterAll(async () => {
  kms?.destroy();
  await server?.close();
  if (home) removeHome(home);
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as { name: string }).name;
  }
  throw new Error('expected an error');
}
async function createKey(KeySpec: string, KeyUsage: 'SIGN_VERIFY' | 'ENCRYPT_DECRYPT'): Promise<{ KeyId: string; Arn: string }> {
  const m = (await kms.send(new CreateKeyCommand({ KeySpec: KeySpec as never, KeyUsage }))).KeyMetadata!;
  return { KeyId: m.KeyId!, Arn: m.Arn! };
}
async function publicKey(KeyId: string): Promise<KeyObject> {
  return createPublicKey({ key: Buffer.from((await kms.send(new GetPublicKeyCommand({ KeyId }))).PublicKey!), format: 'der', type: 'spki' });
}

describe('@aws-sdk/client-kms', () => {
  it('Sign and Verify for RSA (PSS and PKCS #1), ECDSA over secp256k1 and Ed25519; OpenSSL verifies each signature with GetPublicKey\'s key', async () => {
    const cases: [string, SigningAlgorithmSpec, string | null, object?][] = [
      ['RSA_2048', 'RSASSA_PSS_SHA_512', 'sha512', { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 }],
      ['RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_384', 'sha384', { padding: constants.RSA_PKCS1_PADDING }],
      ['ECC_SECG_P256K1', 'ECDSA_SHA_256', 'sha256'],
      ['ECC_NIST_P384', 'ECDSA_SHA_384', 'sha384'],
      ['ECC_NIST_EDWARDS25519', 'ED25519_SHA_512', null],
    ];
    for (const [spec, SigningAlgorithm, hash, options] of cases) {
      const k = await createKey(spec, 'SIGN_VERIFY');
      const Message = randomBytes(300);
      const signed = await kms.send(new SignCommand({ KeyId: k.Arn, Message, SigningAlgorithm, MessageType: 'RAW' }));
      expect(signed).toMatchObject({ KeyId: k.Arn, SigningAlgorithm });
      const key = await publicKey(k.KeyId);
      expect(opensslVerify(hash, Message, { key, ...options }, signed.Signature!), `${spec} ${SigningAlgorithm}`).toBe(true);
      const verified = await kms.send(new VerifyCommand({ KeyId: k.KeyId, Message, Signature: signed.Signature, SigningAlgorithm }));
      expect(verified).toMatchObject({ KeyId: k.Arn, SignatureValid: true, SigningAlgorithm });
      expect(await codeOf(kms.send(new VerifyCommand({ KeyId: k.KeyId, Message: randomBytes(300), Signature: signed.Signature, SigningAlgorithm })))).toBe('KMSInvalidSignatureException');
      if (hash) {
        const fromDigest = await kms.send(new SignCommand({ KeyId: k.KeyId, Message: createHash(hash).update(Message).digest(), MessageType: 'DIGEST', SigningAlgorithm }));
        expect(opensslVerify(hash, Message, { key, ...options }, fromDigest.Signature!)).toBe(true);
      }
    }
  });

  it('ML-DSA-87 with EXTERNAL_MU through the SDK; @noble/post-quantum verifies against GetPublicKey\'s key', async () => {
    const k = await createKey('ML_DSA_87', 'SIGN_VERIFY');
    const pub = await kms.send(new GetPublicKeyCommand({ KeyId: k.KeyId }));
    expect(pub).toMatchObject({ KeySpec: 'ML_DSA_87', KeyUsage: 'SIGN_VERIFY', SigningAlgorithms: ['ML_DSA_SHAKE_256'] });
    const raw = Buffer.from(pub.PublicKey!).subarray(pub.PublicKey!.length - ml_dsa87.lengths.publicKey!);
    const message = Buffer.from('over the wire');
    const tr = createHash('shake256', { outputLength: 64 }).update(raw).digest();
    const mu = createHash('shake256', { outputLength: 64 }).update(tr).update(Buffer.from([0, 0])).update(message).digest();
    const signed = await kms.send(new SignCommand({ KeyId: k.KeyId, Message: mu, MessageType: 'EXTERNAL_MU', SigningAlgorithm: 'ML_DSA_SHAKE_256' }));
    expect(ml_dsa87.verify(signed.Signature!, message, raw)).toBe(true);
    expect(await codeOf(kms.send(new SignCommand({ KeyId: k.KeyId, Message: mu, MessageType: 'DIGEST', SigningAlgorithm: 'ML_DSA_SHAKE_256' })))).toBe('ValidationException');
    expect(await codeOf(kms.send(new SignCommand({ KeyId: k.KeyId, Message: mu, SigningAlgorithm: 'ECDSA_SHA_256' })))).toBe('InvalidKeyUsageException');
  });

  it('RSA Encrypt/Decrypt: OpenSSL\'s ciphertext under GetPublicKey\'s key decrypts; ebsim\'s is plain RSAES-OAEP', async () => {
    const k = await createKey('RSA_4096', 'ENCRYPT_DECRYPT');
    const key = await publicKey(k.KeyId);
    const plaintext = randomBytes(446);
    const ciphertext = publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, plaintext);
    const dec = await kms.send(new DecryptCommand({ KeyId: k.KeyId, CiphertextBlob: ciphertext, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }));
    expect(Buffer.from(dec.Plaintext!).equals(plaintext)).toBe(true);
    expect(dec).toMatchObject({ KeyId: k.Arn, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' });
    const enc = await kms.send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: plaintext, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }));
    expect(enc.CiphertextBlob!.length).toBe(512);
    expect(Buffer.from((await kms.send(new DecryptCommand({ KeyId: k.Arn, CiphertextBlob: enc.CiphertextBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }))).Plaintext!).equals(plaintext)).toBe(true);
    expect(await codeOf(kms.send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: randomBytes(447), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })))).toBe('ValidationException');
    expect(await codeOf(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob })))).toBe('InvalidCiphertextException');
    // Another RSA key cannot open it.
    const other = await createKey('RSA_4096', 'ENCRYPT_DECRYPT');
    expect(await codeOf(kms.send(new DecryptCommand({ KeyId: other.KeyId, CiphertextBlob: enc.CiphertextBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })))).toBe('InvalidCiphertextException');
  });

  it("the trail's Sign record has keyId, signingAlgorithm and messageType, and neither message nor signature", async () => {
    const k = await createKey('ECC_NIST_P256', 'SIGN_VERIFY');
    const Message = Buffer.from('wire-trail-secret-5d1e');
    const signed = await kms.send(new SignCommand({ KeyId: k.KeyId, Message, SigningAlgorithm: 'ECDSA_SHA_256', MessageType: 'RAW' }));
    server.app.trail.flush(); // every record of the calls above committed (the server group-commits them)
    const record = trailRecords(home, 'Sign').find((r) => r.requestParameters?.keyId === k.KeyId)!;
    expect(record).toMatchObject({ eventSource: 'kms.amazonaws.com', readOnly: true, requestParameters: { keyId: k.KeyId, signingAlgorithm: 'ECDSA_SHA_256', messageType: 'RAW' } });
    expect(Object.keys(record.requestParameters).sort()).toEqual(['keyId', 'messageType', 'signingAlgorithm']);
    const text = JSON.stringify(record);
    expect(text).not.toContain(Message.toString('base64'));
    expect(text).not.toContain(Buffer.from(signed.Signature!).toString('base64'));
  });
});

// boto3 may not be installed where the tests run; skipped with that reason when it is not.
describe.skipIf(!hasBoto3())('boto3 (python3 -c "import boto3" works)', () => {
  it('sign, verify and get_public_key; OpenSSL verifies what boto3 got back', async () => {
    const k = await createKey('ECC_NIST_P521', 'SIGN_VERIFY');
    const script = join(home, 'boto-sign.py');
    writeFileSync(
      script,
      `
import boto3, json, sys
from botocore.exceptions import ClientError
s = boto3.session.Session(profile_name='ebsim')
kms = s.client('kms', endpoint_url=sys.argv[1])
key = sys.argv[2]
message = b'boto3 signs \\x00\\x01'
sig = kms.sign(KeyId=key, Message=message, MessageType='RAW', SigningAlgorithm='ECDSA_SHA_512')['Signature']
out = {'message': message.hex(), 'signature': sig.hex()}
out['public'] = kms.get_public_key(KeyId=key)['PublicKey'].hex()
out['valid'] = kms.verify(KeyId=key, Message=message, Signature=sig, SigningAlgorithm='ECDSA_SHA_512')['SignatureValid']
try:
    kms.verify(KeyId=key, Message=b'other', Signature=sig, SigningAlgorithm='ECDSA_SHA_512')
    out['invalid'] = None
except ClientError as e:
    out['invalid'] = e.response['Error']['Code']
print(json.dumps(out))
`,
    );
    const r = JSON.parse(await runBoto3(home, script, [server.url, k.Arn]));
    expect(r).toMatchObject({ valid: true, invalid: 'KMSInvalidSignatureException' });
    const key = createPublicKey({ key: Buffer.from(r.public, 'hex'), format: 'der', type: 'spki' });
    expect(opensslVerify('sha512', Buffer.from(r.message, 'hex'), key, Buffer.from(r.signature, 'hex'))).toBe(true);
  });
});

describe.skipIf(!existsSync(AWS))('the AWS CLI (aws kms sign / get-public-key)', () => {
  it('signs a fileb:// message; OpenSSL verifies the signature with the public key the CLI fetched', async () => {
    const k = await createKey('RSA_2048', 'SIGN_VERIFY');
    const message = join(home, 'awscli-message.bin');
    writeFileSync(message, Buffer.from('the AWS CLI signs this'));
    const signed = await aws(server.url, home, ['kms', 'sign', '--key-id', k.KeyId, '--message', `fileb://${message}`, '--message-type', 'RAW', '--signing-algorithm', 'RSASSA_PSS_SHA_256']);
    expect(signed.code, signed.stderr).toBe(0);
    const pub = await aws(server.url, home, ['kms', 'get-public-key', '--key-id', k.KeyId]);
    expect(pub.code, pub.stderr).toBe(0);
    const key = createPublicKey({ key: Buffer.from(JSON.parse(pub.stdout).PublicKey, 'base64'), format: 'der', type: 'spki' });
    const signature = Buffer.from(JSON.parse(signed.stdout).Signature, 'base64');
    expect(opensslVerify('sha256', Buffer.from('the AWS CLI signs this'), { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signature)).toBe(true);
  });
});
