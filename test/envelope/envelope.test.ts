// `ebsim explain`: the envelope of a volume, link by link. A healthy chain, then each broken link,
// and for each the consequence it states is checked against what really happens next.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, makeHome, type TestHome } from '../helpers/home.js';
import { ebsimIn } from '../helpers/cli.js';
import { explainVolume, renderEnvelope, summarizePolicy } from '../../src/envelope/index.js';
import { allRecords } from '../../src/trail/index.js';
import type { CallContext } from '../../src/core/call-context.js';

let home: TestHome;
let alice: CallContext;
let instanceId: string;

beforeAll(() => {
  home = makeHome('ebsim-explain-');
  alice = home.app.as('Alice');
  instanceId = (home.app.ec2().runInstances(alice, { ImageId: 'ami-12345678', InstanceType: 't3.micro' }).Instances as { InstanceId: string }[])[0]!.InstanceId;
});
afterAll(() => home.cleanup());

/** A new encrypted 1 GiB volume under `keyId` (default aws/ebs), attached to the instance. */
function attached(keyId?: string): string {
  const ec2 = home.app.ec2();
  const vol = ec2.createVolume(alice, { Size: 1, Encrypted: true, ...(keyId ? { KmsKeyId: keyId } : {}) }).VolumeId as string;
  ec2.attachVolume(alice, { VolumeId: vol, InstanceId: instanceId, Device: freeDevice() });
  return vol;
}

let device = 0;
const freeDevice = () => `/dev/sd${'fghijklmnop'[device++]}`;

function customerKey(): string {
  return (home.app.kms().call(alice, 'CreateKey', {}).KeyMetadata as { KeyId: string }).KeyId;
}

/** The host's next mount, as far as KMS goes: its Decrypt of the data key. */
const nextMount = (vol: string) => errorCode(() => home.app.host().dataKey(home.app.host().volume(vol)));

describe('ebsim explain: a healthy chain', () => {
  it('names every link: the CMK and its policy, the blob\'s header, the live grant, the host, the image', async () => {
    const vol = attached();
    await home.app.host().write(alice, vol, 0, Buffer.alloc(8192, 1));
    const e = await explainVolume(home.app, vol);
    const keyArn = home.app.host().volume(vol).kmsKeyArn!;
    expect(e).toMatchObject({
      VolumeId: vol, Encrypted: true, Healthy: true, Broken: [],
      Key: { KeyArn: keyArn, Aliases: ['alias/aws/ebs'], KeyState: 'Enabled', KeyManager: 'AWS', KeyVersions: 1 },
      DataKey: { KeyId: keyArn.split('/').pop(), KeyVersion: 1, EncryptionContext: { 'aws:ebs:id': vol } },
      Grant: { State: 'live', GranteePrincipal: `123456789012:aws:ec2-infrastructure:${instanceId}`, Operations: ['Decrypt'], Constraints: { EncryptionContextSubset: { 'aws:ebs:id': vol } } },
      Host: { InstanceId: instanceId, InstanceState: 'running', Mounted: null, PlaintextKeyIn: null },
      Image: { Exists: true, SizeBytes: 1 << 30, WrittenSectors: 2, HoleSectors: (1 << 18) - 2 },
    });
    expect(e.Key!.Policy.join('\n')).toContain('kms:ViaService = ec2.us-east-1.amazonaws.com');
    expect(renderEnvelope(e)).toMatch(/every link holds/);
    expect(renderEnvelope(e).split('\n').filter((l) => [...l].length > 100)).toEqual([]);
  });

  it('is a pure read: no trail record, no KMS call', async () => {
    const vol = attached();
    home.app.trail.flush();
    const before = allRecords(home.app.db).length;
    await explainVolume(home.app, vol);
    home.app.trail.flush();
    expect(allRecords(home.app.db).length).toBe(before);
  });

  it('an unencrypted volume has no envelope, and says so', async () => {
    const vol = home.app.ec2().createVolume(alice, { Size: 1 }).VolumeId as string;
    const e = await explainVolume(home.app, vol);
    expect(e).toMatchObject({ Encrypted: false, Key: null, DataKey: null, Grant: null, Healthy: true });
    expect(e.Notes.join()).toContain('not encrypted');
    expect(e.Notes.join()).toContain('not attached');
  });
});

describe('ebsim explain: each broken link, its consequence, and the record that broke it', () => {
  it('a disabled key: the next mount fails with DisabledException; broken by DisableKey', async () => {
    const key = customerKey();
    const vol = attached(key);
    home.app.kms().call(alice, 'DisableKey', { KeyId: key });
    const e = await explainVolume(home.app, vol);
    expect(e.Healthy).toBe(false);
    expect(e.Broken).toEqual([
      { Link: 'Key', Problem: 'the key is disabled', Consequence: 'the next mount fails with DisabledException (until EnableKey)', BrokenBy: expect.objectContaining({ EventName: 'DisableKey', Caller: 'Alice' }) },
    ]);
    expect(nextMount(vol)).toBe('DisabledException');
    expect(renderEnvelope(e)).toMatch(/✗ the key is disabled: the next mount fails with DisabledException[\s\S]*broken by DisableKey \(Alice, /);
  });

  it('a key pending deletion: KMSInvalidStateException, the deletion date; broken by ScheduleKeyDeletion', async () => {
    const key = customerKey();
    const vol = attached(key);
    home.app.kms().call(alice, 'ScheduleKeyDeletion', { KeyId: key, PendingWindowInDays: 7 });
    const e = await explainVolume(home.app, vol);
    expect(e.Broken).toHaveLength(1);
    expect(e.Broken[0]).toMatchObject({ Link: 'Key', BrokenBy: { EventName: 'ScheduleKeyDeletion' } });
    expect(e.Broken[0]!.Problem).toMatch(/^the key is pending deletion \(on \d{4}-\d\d-\d\d/);
    expect(e.Broken[0]!.Consequence).toMatch(/^the next mount fails with KMSInvalidStateException; once deleted, the data is lost for good/);
    expect(nextMount(vol)).toBe('KMSInvalidStateException');
  });

  it('a revoked grant: AccessDeniedException; broken by RevokeGrant', async () => {
    const vol = attached();
    const v = home.app.host().volume(vol);
    home.app.kms().call(alice, 'RevokeGrant', { KeyId: v.kmsKeyArn!, GrantId: v.grantId! });
    const e = await explainVolume(home.app, vol);
    expect(e.Grant!.State).toBe('revoked');
    expect(e.Broken).toEqual([
      { Link: 'Grant', Problem: 'the grant was revoked', Consequence: 'the next mount fails with AccessDeniedException', BrokenBy: expect.objectContaining({ EventName: 'RevokeGrant', Caller: 'Alice' }) },
    ]);
    expect(nextMount(vol)).toBe('AccessDeniedException');
  });

  it('a stopped instance: its host serves nothing until it runs; the retired grant is a note, not a fault', async () => {
    const run = home.app.ec2().runInstances(alice, { ImageId: 'ami-12345678', InstanceType: 't3.micro' });
    const other = (run.Instances as { InstanceId: string }[])[0]!.InstanceId;
    const vol = home.app.ec2().createVolume(alice, { Size: 1, Encrypted: true }).VolumeId as string;
    home.app.ec2().attachVolume(alice, { VolumeId: vol, InstanceId: other, Device: '/dev/sdf' });
    home.app.ec2().stopInstances(alice, { InstanceIds: [other] });
    const e = await explainVolume(home.app, vol);
    expect(e.Broken).toEqual([
      { Link: 'Host', Problem: `${other} is stopped`, Consequence: 'its host serves no volume until it runs (StartInstances gives the volume a new grant)', BrokenBy: expect.objectContaining({ EventName: 'StopInstances' }) },
    ]);
    expect(e.Grant).toBeNull();
    expect(e.Notes.join()).toContain('no grant while the instance is not running (a stop retires it)');
    expect(errorCode(() => home.app.host().dataKey(home.app.host().volume(vol)))).toBe('UserError');
  });

  it('a missing image: the data is gone', async () => {
    const vol = attached();
    await home.app.host().write(alice, vol, 0, Buffer.alloc(4096, 1));
    rmSync(home.app.host().imagePath(vol));
    const e = await explainVolume(home.app, vol);
    expect(e.Broken).toEqual([{ Link: 'Image', Problem: 'the backing image is missing', Consequence: 'the data is gone: there is nothing left to decrypt', BrokenBy: null }]);
  });
});

describe('ebsim explain on the command line', () => {
  it('draws the chain by default, prints JSON with --output json, and answers an unknown volume as EC2 would', async () => {
    const vol = attached();
    const text = await ebsimIn(home.dir, ['explain', vol]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^vol-[0-9a-f]{17} \(1 GiB, in-use\): every link holds\n {2}CMK {7}alias\/aws\/ebs/);
    const json = await ebsimIn(home.dir, ['explain', vol, '--output', 'json']);
    expect(json.json()).toMatchObject({ VolumeId: vol, Healthy: true, Grant: { State: 'live' } });
    const q = await ebsimIn(home.dir, ['explain', vol, '--query', 'Grant.State']);
    expect(q.stdout).toBe('"live"');
    const missing = await ebsimIn(home.dir, ['explain', 'vol-00000000000000000']);
    expect(missing.code).toBe(254);
    expect(missing.stderr).toContain("An error occurred (InvalidVolume.NotFound) when calling the DescribeVolumes operation: The volume 'vol-00000000000000000' does not exist.");
  });
});

describe('ebsim explain --account', () => {
  it('explains a volume of another account of the home, which the first account does not have', async () => {
    expect((await ebsimIn(home.dir, ['init', '--account-id', '210987654321'])).code).toBe(0);
    const made = await ebsimIn(home.dir, ['ec2', 'create-volume', '--size', '1', '--encrypted', '--account', '210987654321']);
    const vol = made.json().VolumeId as string;
    const e = await ebsimIn(home.dir, ['explain', vol, '--account', '210987654321', '--output', 'json']);
    expect(e.json()).toMatchObject({ VolumeId: vol, Key: { KeyArn: expect.stringContaining(':210987654321:key/'), Aliases: ['alias/aws/ebs'] } });
    expect((await ebsimIn(home.dir, ['explain', vol])).stderr).toContain('(InvalidVolume.NotFound)');
  });
});

describe('policy summaries', () => {
  it('one line per statement: effect, principal, actions, conditions', () => {
    const lines = summarizePolicy(JSON.stringify({
      Statement: [
        { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'kms:*', Resource: '*' },
        { Effect: 'Deny', Principal: '*', Action: ['kms:Decrypt'], Resource: '*', Condition: { StringNotEquals: { 'kms:ViaService': 'ec2.us-east-1.amazonaws.com' } } },
      ],
    }));
    expect(lines).toEqual(['Allow account 111122223333: kms:*', 'Deny anyone: kms:Decrypt when kms:ViaService ≠ ec2.us-east-1.amazonaws.com']);
    expect(summarizePolicy('{')).toEqual(['(the policy is not valid JSON)']);
  });
});
