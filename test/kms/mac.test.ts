// GenerateMac and VerifyMac (issue 14): HMAC_224/256/384/512 keys. The key never leaves KMS, so
// the MAC is checked by VerifyMac (a flipped bit, a truncated MAC, another key or message are
// refused), for length and determinism, and white-box against OpenSSL's HMAC (node:crypto) over
// the key material. Each documented error; grants and another account; the trail holds neither
// message nor MAC; `ebsim kms` with fileb://, @aws-sdk/client-kms and boto3 over HTTP.
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as sdk from '@aws-sdk/client-kms';
import { GenerateMacCommand, KMSClient, KMSInvalidMacException, VerifyMacCommand } from '@aws-sdk/client-kms';
import type { RunningServer } from '../../src/server/index.js';
import { ebsimIn } from '../helpers/cli.js';
import { errorCode } from '../helpers/home.js';
import { failure, servedKeyTestHome, type KeyTestHome } from '../helpers/kms-keys.js';
import { recordsOf } from '../iam/trail.js';
import { hasBoto3, runBoto3 } from '../server/helpers.js';

const SPECS = [
  { spec: 'HMAC_224', alg: 'HMAC_SHA_224', hash: 'sha224', bytes: 28 },
  { spec: 'HMAC_256', alg: 'HMAC_SHA_256', hash: 'sha256', bytes: 32 },
  { spec: 'HMAC_384', alg: 'HMAC_SHA_384', hash: 'sha384', bytes: 48 },
  { spec: 'HMAC_512', alg: 'HMAC_SHA_512', hash: 'sha512', bytes: 64 },
] as const;

let h: KeyTestHome;
let server: RunningServer;
let client: KMSClient;

let close: () => Promise<void>;

beforeAll(async () => {
  ({ h, server, client, close } = await servedKeyTestHome('ebsim-mac-'));
});
afterAll(() => close?.());

const hmacKey = (spec = 'HMAC_256') => h.kms.call(h.alice, 'CreateKey', { KeySpec: spec, KeyUsage: 'GENERATE_VERIFY_MAC' }).KeyMetadata as { KeyId: string; Arn: string };
const generate = (KeyId: string, Message: Uint8Array, MacAlgorithm = 'HMAC_SHA_256') => h.kms.call(h.alice, 'GenerateMac', { KeyId, Message, MacAlgorithm });
const verify = (KeyId: string, Message: Uint8Array, Mac: Uint8Array, MacAlgorithm = 'HMAC_SHA_256') => h.kms.call(h.alice, 'VerifyMac', { KeyId, Message, Mac, MacAlgorithm });
const MESSAGE = Buffer.from('Hi There: an HMAC in the manner of RFC 4231');

describe('GenerateMac', () => {
  for (const { spec, alg, hash, bytes } of SPECS) {
    it(`${spec}: ${alg} is the RFC 2104 HMAC of the key material (OpenSSL agrees), ${bytes} bytes, the same each time`, () => {
      const { KeyId, Arn } = hmacKey(spec);
      const out = generate(KeyId, MESSAGE, alg);
      expect(Object.keys(out).sort()).toEqual(['KeyId', 'Mac', 'MacAlgorithm']);
      expect(out).toMatchObject({ KeyId: Arn, MacAlgorithm: alg });
      const mac = Buffer.from(out.Mac as Uint8Array);
      expect(mac.length).toBe(bytes);
      expect(mac.equals(createHmac(hash, h.material(KeyId)).update(MESSAGE).digest())).toBe(true);
      expect(Buffer.from(generate(KeyId, MESSAGE, alg).Mac as Uint8Array).equals(mac)).toBe(true);
      expect(verify(KeyId, MESSAGE, mac, alg)).toEqual({ KeyId: Arn, MacValid: true, MacAlgorithm: alg });
    });
  }

  it('messages of 1 and 4096 bytes are taken; two keys of one spec give different MACs', () => {
    const a = hmacKey();
    const b = hmacKey();
    for (const m of [Buffer.from([0]), Buffer.alloc(4096, 0x61)]) {
      expect(Buffer.from(generate(a.KeyId, m).Mac as Uint8Array).equals(createHmac('sha256', h.material(a.KeyId)).update(m).digest())).toBe(true);
    }
    expect(Buffer.from(generate(a.KeyId, MESSAGE).Mac as Uint8Array).equals(Buffer.from(generate(b.KeyId, MESSAGE).Mac as Uint8Array))).toBe(false);
  });

  it('an alias names the key; the response names the key ARN', () => {
    const { KeyId, Arn } = hmacKey();
    h.kms.call(h.alice, 'CreateAlias', { AliasName: 'alias/mac-key', TargetKeyId: KeyId });
    expect(generate('alias/mac-key', MESSAGE).KeyId).toBe(Arn);
  });
});

describe('VerifyMac', () => {
  it('a flipped bit, a truncated or extended MAC, another message or another key: KMSInvalidMacException with an empty message', () => {
    const { KeyId } = hmacKey();
    const other = hmacKey();
    const mac = Buffer.from(generate(KeyId, MESSAGE).Mac as Uint8Array);
    const flipped = Buffer.from(mac);
    flipped[7]! ^= 0x01;
    for (const [message, m, key] of [
      [MESSAGE, flipped, KeyId],
      [MESSAGE, mac.subarray(0, 31), KeyId],
      [MESSAGE, Buffer.concat([mac, Buffer.from([0])]), KeyId],
      [Buffer.from('Hi There'), mac, KeyId],
      [MESSAGE, mac, other.KeyId],
    ] as const) {
      expect(failure(() => verify(key, message, m))).toEqual({ code: 'KMSInvalidMacException', message: '' });
    }
  });
});

describe('documented errors', () => {
  it('an algorithm of another HMAC spec: InvalidKeyUsageException "Algorithm … is incompatible with key spec …."', () => {
    const { KeyId } = hmacKey('HMAC_256');
    expect(failure(() => generate(KeyId, MESSAGE, 'HMAC_SHA_384'))).toEqual({
      code: 'InvalidKeyUsageException',
      message: 'Algorithm HMAC_SHA_384 is incompatible with key spec HMAC_256.',
    });
    expect(failure(() => verify(KeyId, MESSAGE, Buffer.alloc(32), 'HMAC_SHA_512')).message).toBe('Algorithm HMAC_SHA_512 is incompatible with key spec HMAC_256.');
  });

  it('a key of another usage: InvalidKeyUsageException naming the key, its usage and the operation', () => {
    const { Arn } = h.kms.call(h.alice, 'CreateKey', {}).KeyMetadata as { Arn: string };
    expect(failure(() => generate(Arn, MESSAGE))).toEqual({ code: 'InvalidKeyUsageException', message: `${Arn} key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac.` });
    expect(failure(() => verify(Arn, MESSAGE, Buffer.alloc(32))).message).toBe(`${Arn} key usage is ENCRYPT_DECRYPT which is not valid for VerifyMac.`);
  });

  it("the model's bounds and enum: ValidationException naming the member", () => {
    const { KeyId } = hmacKey();
    expect(failure(() => generate(KeyId, new Uint8Array(0))).message).toBe(
      "1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
    expect(failure(() => generate(KeyId, Buffer.alloc(4097))).message).toContain("at 'message' failed to satisfy constraint: Member must have length less than or equal to 4096");
    expect(failure(() => verify(KeyId, MESSAGE, Buffer.alloc(6145))).message).toContain("at 'mac' failed to satisfy constraint: Member must have length less than or equal to 6144");
    expect(failure(() => generate(KeyId, MESSAGE, 'HMAC_SHA_1'))).toEqual({
      code: 'ValidationException',
      message: "1 validation error detected: Value 'HMAC_SHA_1' at 'macAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [HMAC_SHA_224, HMAC_SHA_256, HMAC_SHA_384, HMAC_SHA_512]",
    });
    expect(failure(() => h.kms.call(h.alice, 'GenerateMac', { KeyId, Message: MESSAGE })).message).toBe(
      "1 validation error detected: Value 'null' at 'macAlgorithm' failed to satisfy constraint: Member must not be null",
    );
    expect(errorCode(() => h.kms.call(h.alice, 'VerifyMac', { KeyId, Message: MESSAGE, MacAlgorithm: 'HMAC_SHA_256' }))).toBe('ValidationException');
  });

  it('an unknown key: NotFoundException; a disabled key: DisabledException; a key pending deletion: KMSInvalidStateException', () => {
    expect(errorCode(() => generate('alias/no-such-key', MESSAGE))).toBe('NotFoundException');
    const { KeyId } = hmacKey();
    const mac = generate(KeyId, MESSAGE).Mac as Uint8Array;
    h.kms.call(h.alice, 'DisableKey', { KeyId });
    expect(errorCode(() => generate(KeyId, MESSAGE))).toBe('DisabledException');
    expect(errorCode(() => verify(KeyId, MESSAGE, mac))).toBe('DisabledException');
    h.kms.call(h.alice, 'ScheduleKeyDeletion', { KeyId, PendingWindowInDays: 7 });
    expect(errorCode(() => generate(KeyId, MESSAGE))).toBe('KMSInvalidStateException');
    expect(errorCode(() => verify(KeyId, MESSAGE, mac))).toBe('KMSInvalidStateException');
  });
});

describe('access', () => {
  it('a user without permission is refused until a grant for the operation allows it; kms:MacAlgorithm conditions a grant-free policy', () => {
    const { KeyId, Arn } = hmacKey();
    const params = { KeyId, Message: MESSAGE, MacAlgorithm: 'HMAC_SHA_256' };
    expect(errorCode(() => h.kms.call(h.bob, 'GenerateMac', params))).toBe('AccessDeniedException');
    h.kms.call(h.alice, 'CreateGrant', { KeyId, GranteePrincipal: h.bobArn, Operations: ['GenerateMac'] });
    const mac = h.kms.call(h.bob, 'GenerateMac', params).Mac as Uint8Array;
    expect(errorCode(() => h.kms.call(h.bob, 'VerifyMac', { ...params, Mac: mac }))).toBe('AccessDeniedException');
    h.kms.call(h.alice, 'CreateGrant', { KeyId, GranteePrincipal: h.bobArn, Operations: ['VerifyMac'] });
    expect(h.kms.call(h.bob, 'VerifyMac', { ...params, Mac: mac })).toMatchObject({ KeyId: Arn, MacValid: true });

    const deny = (alg: string) => ({ Effect: 'Deny', Principal: { AWS: '*' }, Action: 'kms:GenerateMac', Resource: '*', Condition: { StringEquals: { 'kms:MacAlgorithm': alg } } });
    const allowAll = { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'kms:*', Resource: '*' };
    h.kms.call(h.alice, 'PutKeyPolicy', { KeyId, PolicyName: 'default', Policy: JSON.stringify({ Version: '2012-10-17', Statement: [allowAll, deny('HMAC_SHA_256')] }) });
    expect(errorCode(() => generate(KeyId, MESSAGE))).toBe('AccessDeniedException');
    h.kms.call(h.alice, 'PutKeyPolicy', { KeyId, PolicyName: 'default', Policy: JSON.stringify({ Version: '2012-10-17', Statement: [allowAll, deny('HMAC_SHA_512')] }) });
    expect(generate(KeyId, MESSAGE).KeyId).toBe(Arn);
  });

  it('another account uses the key by its ARN (not by its bare key ID)', () => {
    const { KeyId, Arn } = h.sharedKey({ KeySpec: 'HMAC_384', KeyUsage: 'GENERATE_VERIFY_MAC' });
    const params = { Message: MESSAGE, MacAlgorithm: 'HMAC_SHA_384' };
    const mac = h.otherKms.call(h.otherAlice, 'GenerateMac', { ...params, KeyId: Arn }).Mac as Uint8Array;
    expect(h.otherKms.call(h.otherAlice, 'VerifyMac', { ...params, KeyId: Arn, Mac: mac }).MacValid).toBe(true);
    expect(errorCode(() => h.otherKms.call(h.otherAlice, 'GenerateMac', { ...params, KeyId }))).toBe('NotFoundException');
  });
});

describe('the trail', () => {
  it('records keyId and macAlgorithm only: never the message or the MAC, on success or failure', () => {
    const { KeyId, Arn } = hmacKey();
    const message = Buffer.from('a message the trail must not hold');
    const mac = Buffer.from(generate(KeyId, message).Mac as Uint8Array);
    expect(() => verify(KeyId, message, Buffer.alloc(32, 1))).toThrow();
    verify(KeyId, message, mac);
    const generated = recordsOf(h, 'GenerateMac').pop()!;
    expect(generated.requestParameters).toEqual({ keyId: KeyId, macAlgorithm: 'HMAC_SHA_256' });
    expect(generated.responseElements).toBeNull();
    expect(generated.resources).toEqual([{ ARN: Arn, accountId: '123456789012' }]);
    const [failed, valid] = recordsOf(h, 'VerifyMac').slice(-2);
    expect(failed).toMatchObject({ errorCode: 'KMSInvalidMacException', requestParameters: { keyId: KeyId, macAlgorithm: 'HMAC_SHA_256' } });
    expect(valid!.requestParameters).toEqual({ keyId: KeyId, macAlgorithm: 'HMAC_SHA_256' });
    const text = JSON.stringify([generated, failed, valid]);
    for (const secret of [message.toString('base64'), message.toString(), mac.toString('base64'), mac.toString('hex')]) expect(text).not.toContain(secret);
  });
});

describe('through the CLI and the HTTP endpoint', () => {
  it('`ebsim kms generate-mac` and `verify-mac` take fileb:// and base64, and answer as the AWS CLI does', async () => {
    const { KeyId, Arn } = hmacKey('HMAC_512');
    const file = join(h.dir, 'message.bin');
    writeFileSync(file, MESSAGE);
    const generated = await ebsimIn(h.dir, ['kms', 'generate-mac', '--key-id', KeyId, '--message', `fileb://${file}`, '--mac-algorithm', 'HMAC_SHA_512']);
    expect(generated.code, generated.stderr).toBe(0);
    const out = generated.json();
    expect(out).toMatchObject({ KeyId: Arn, MacAlgorithm: 'HMAC_SHA_512' });
    expect(Buffer.from(out.Mac, 'base64').equals(createHmac('sha512', h.material(KeyId)).update(MESSAGE).digest())).toBe(true);
    const macFile = join(h.dir, 'mac.bin');
    writeFileSync(macFile, Buffer.from(out.Mac, 'base64'));
    const verified = await ebsimIn(h.dir, ['kms', 'verify-mac', '--key-id', KeyId, '--message', MESSAGE.toString('base64'), '--mac-algorithm', 'HMAC_SHA_512', '--mac', `fileb://${macFile}`]);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.json()).toEqual({ KeyId: Arn, MacValid: true, MacAlgorithm: 'HMAC_SHA_512' });
    const refused = await ebsimIn(h.dir, ['kms', 'verify-mac', '--key-id', KeyId, '--message', `fileb://${file}`, '--mac-algorithm', 'HMAC_SHA_512', '--mac', Buffer.alloc(64).toString('base64')]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('An error occurred (KMSInvalidMacException) when calling the VerifyMac operation');
  });

  it('@aws-sdk/client-kms: GenerateMac and VerifyMac answer with the model\'s output members; a bad MAC is KMSInvalidMacException', async () => {
    const { KeyId, Arn } = hmacKey('HMAC_224');
    const out = await client.send(new GenerateMacCommand({ KeyId, Message: MESSAGE, MacAlgorithm: 'HMAC_SHA_224' }));
    expect(Buffer.from(out.Mac!).equals(createHmac('sha224', h.material(KeyId)).update(MESSAGE).digest())).toBe(true);
    const outputMembers = (op: string) => ((sdk as unknown as Record<string, unknown[]>)[`${op}Response$`]![4] as string[]).sort();
    const { $metadata: _m, ...generated } = out;
    expect(Object.keys(generated).sort()).toEqual(outputMembers('GenerateMac'));
    const { $metadata: _v, ...verified } = await client.send(new VerifyMacCommand({ KeyId, Message: MESSAGE, MacAlgorithm: 'HMAC_SHA_224', Mac: out.Mac }));
    expect(verified).toEqual({ KeyId: Arn, MacValid: true, MacAlgorithm: 'HMAC_SHA_224' });
    expect(Object.keys(verified).sort()).toEqual(outputMembers('VerifyMac'));
    const err = await client.send(new VerifyMacCommand({ KeyId, Message: Buffer.from('other'), MacAlgorithm: 'HMAC_SHA_224', Mac: out.Mac })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KMSInvalidMacException);
  });

  it.skipIf(!hasBoto3())('boto3: generate_mac, verify_mac, and KMSInvalidMacException', async () => {
    const { KeyId } = hmacKey('HMAC_256');
    const script = join(h.dir, 'mac.py');
    writeFileSync(
      script,
      `
import boto3, json, sys
from botocore.exceptions import ClientError
kms = boto3.session.Session(profile_name='ebsim').client('kms', endpoint_url=sys.argv[1], region_name='us-east-1')
mac = kms.generate_mac(KeyId=sys.argv[2], Message=b'boto message', MacAlgorithm='HMAC_SHA_256')['Mac']
out = {'mac': mac.hex(), 'valid': kms.verify_mac(KeyId=sys.argv[2], Message=b'boto message', MacAlgorithm='HMAC_SHA_256', Mac=mac)['MacValid']}
try:
    kms.verify_mac(KeyId=sys.argv[2], Message=b'other message', MacAlgorithm='HMAC_SHA_256', Mac=mac)
    out['bad'] = None
except ClientError as e:
    out['bad'] = e.response['Error']['Code']
print(json.dumps(out))
`,
    );
    const r = JSON.parse(await runBoto3(h.dir, script, [server.url, KeyId]));
    expect(r).toEqual({ mac: createHmac('sha256', h.material(KeyId)).update('boto message').digest('hex'), valid: true, bad: 'KMSInvalidMacException' });
  });
});
