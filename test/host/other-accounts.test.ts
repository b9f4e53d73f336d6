// The host serves every account of the home: a volume of an added account is found in its
// account and Region, its data key is decrypted by that account's aws:ec2-infrastructure role in
// that Region, and `ebsim volume write/read` round-trip through it. Attaching for a caller goes to
// the caller's account: another account's volume is not found there, and stays where it was.
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, errorCode, type TestHome } from '../helpers/home.js';
import { ebsimIn } from '../helpers/cli.js';
import { initHome } from '../../src/app/ebsim.js';
import { allRecords } from '../../src/trail/index.js';
import type { CallContext } from '../../src/core/call-context.js';

const SECOND = '210987654321';
const REGION = 'eu-west-2';
let h: TestHome;
let bob: CallContext; // Alice of the second account
let instanceId: string;
let volumeId: string;

beforeAll(() => {
  h = makeHome('ebsim-host-accounts-');
  initHome(h.dir, SECOND, REGION);
  bob = h.app.as('Alice', undefined, SECOND);
  const ec2 = h.app.ec2(SECOND);
  instanceId = (ec2.runInstances(bob, { ImageId: 'ami-0123abcd', InstanceType: 't3.micro' }).Instances as { InstanceId: string }[])[0]!.InstanceId;
  volumeId = ec2.createVolume(bob, { Size: 1, Encrypted: true }).VolumeId as string;
  ec2.attachVolume(bob, { VolumeId: volumeId, InstanceId: instanceId, Device: '/dev/sdf' });
});
afterAll(() => h.cleanup());

describe('a volume of an added account, through the host', () => {
  it('is found where it is, and the first account\'s EC2 does not see it', () => {
    expect(h.app.host().volume(volumeId)).toMatchObject({ volumeId, instanceId, availabilityZone: `${REGION}a` });
    expect(errorCode(() => h.app.ec2().volume(volumeId))).toBe('InvalidVolume.NotFound');
  });

  it('its data key is decrypted by its own account\'s host role, in its Region', async () => {
    const data = Buffer.from('second account, sector 0');
    await h.app.host().write(bob, volumeId, 0, data);
    expect((await h.app.host().read(bob, volumeId, 0, data.length)).equals(data)).toBe(true);
    h.app.trail.flush();
    const decrypts = allRecords(h.app.db).filter((r) => r.eventName === 'Decrypt' && (r.requestParameters as { encryptionContext?: Record<string, string> })?.encryptionContext?.['aws:ebs:id'] === volumeId);
    expect(decrypts.length).toBeGreaterThanOrEqual(2);
    for (const r of decrypts) {
      expect(r.userIdentity.arn).toBe(`arn:aws:sts::${SECOND}:assumed-role/aws:ec2-infrastructure/${instanceId}`);
      expect([r.awsRegion, r.recipientAccountId ?? r.userIdentity.accountId, r.errorCode]).toEqual([REGION, SECOND, undefined]);
    }
  });

  it('`ebsim volume write/read --account` round-trip the bytes', async () => {
    const payload = Buffer.from('through the CLI').toString('base64');
    const w = await ebsimIn(h.dir, ['volume', 'write', volumeId, '--offset', '8192', '--data', payload, '--account', SECOND]);
    expect(w.code, w.stderr).toBe(0);
    const r = await ebsimIn(h.dir, ['volume', 'read', volumeId, '--offset', '8192', '--length', '15', '--account', SECOND]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().Data).toBe(payload);
  });

  it('attaching for a caller goes to the caller\'s account: the first account\'s Alice does not find it, and it stays available', async () => {
    const loose = h.app.ec2(SECOND).createVolume(bob, { Size: 1 }).VolumeId as string;
    const firstAlice = h.app.as('Alice', undefined, undefined, REGION);
    expect(await h.app.host().write(firstAlice, loose, 0, Buffer.from('x'), instanceId).then(() => 'ok', (e) => (e as { code?: string }).code)).toBe('InvalidVolume.NotFound');
    expect(h.app.ec2(SECOND).volume(loose)).toMatchObject({ state: 'available', instanceId: null });
    // Its own account's caller attaches it, in its Region.
    await h.app.host().write(bob, loose, 0, Buffer.from('y'), instanceId);
    expect(h.app.ec2(SECOND).volume(loose)).toMatchObject({ state: 'in-use', instanceId });
  });

  it('another account does not find it, attached or not: no read, write, inspect, verify or mount of it', async () => {
    const firstAlice = h.app.as('Alice', undefined, undefined, REGION);
    const before = await h.app.host().read(bob, volumeId, 0, 64);
    const code = (p: Promise<unknown>) => p.then(() => 'ok', (e) => (e as { code?: string }).code ?? String(e));
    expect(await code(h.app.host().read(firstAlice, volumeId, 0, 64))).toBe('InvalidVolume.NotFound');
    expect(await code(h.app.host().write(firstAlice, volumeId, 0, Buffer.from('overwritten')))).toBe('InvalidVolume.NotFound');
    expect(errorCode(() => h.app.host().volumeFor(firstAlice, volumeId))).toBe('InvalidVolume.NotFound');
    expect((await h.app.host().read(bob, volumeId, 0, 64)).equals(before)).toBe(true);
    for (const args of [['read', volumeId, '--length', '16'], ['write', volumeId, '--data', 'AAAA'], ['inspect', volumeId], ['verify', volumeId], ['export', volumeId, `${tmpdir()}/ebsim-h25-stolen.img`]]) {
      const r = await ebsimIn(h.dir, ['volume', ...args]);
      expect([args[0], r.code, r.stderr]).toEqual([args[0], expect.any(Number), expect.stringContaining('InvalidVolume.NotFound')]);
      expect(r.code).not.toBe(0);
    }
    // And the other way round: the second account's Alice on the first account's attached volume.
    const mine = h.app.ec2().createVolume(h.app.as('Alice'), { Size: 1, Encrypted: true }).VolumeId as string;
    const firstInstance = (h.app.ec2().runInstances(h.app.as('Alice'), { ImageId: 'ami-0123abcd', InstanceType: 't3.micro' }).Instances as { InstanceId: string }[])[0]!.InstanceId;
    await h.app.host().write(h.app.as('Alice'), mine, 0, Buffer.from('first'), firstInstance);
    expect(await code(h.app.host().read(bob, mine, 0, 5))).toBe('InvalidVolume.NotFound');
    expect((await h.app.host().read(h.app.as('Alice'), mine, 0, 5)).toString()).toBe('first');
  });
});
