// A refused EC2 call is recorded once, as AWS records it: errorCode "Client.CODE", the message,
// the request in EC2's shape, and no responseElements. Through the CLI and in-process alike.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { imageSizeProblem } from '../../src/device/image-store.js';
import { main } from '../../src/cli/main.js';
import { makeHome, errorCode, type TestHome } from '../helpers/home.js';
import { allRecords, type TrailRecord } from '../../src/trail/index.js';

let h: TestHome;
beforeAll(() => {
  h = makeHome('ebsim-ec2-failed-');
});
afterAll(() => h.cleanup());

function recordsDuring(fn: () => unknown): TrailRecord[] {
  h.app.trail.flush();
  const before = allRecords(h.app.db).length;
  fn();
  h.app.trail.flush();
  return allRecords(h.app.db).slice(before);
}

async function ebsim(...args: string[]) {
  const err: string[] = [];
  const code = await main([...args, '--home', h.dir], { out: () => {}, err: (t) => err.push(t) });
  return { code, stderr: err.join('\n') };
}

describe('failed EC2 calls in the trail', () => {
  it('AttachVolume of a volume that does not exist: one record with Client.InvalidVolume.NotFound', () => {
    const alice = h.app.as();
    const inst = ((h.app.ec2().runInstances(alice, { ImageId: 'ami-0123abcd', InstanceType: 't3.micro' }).Instances as { InstanceId: string }[])[0]!).InstanceId;
    const recs = recordsDuring(() => {
      expect(errorCode(() => h.app.ec2().attachVolume(alice, { VolumeId: 'vol-00000000000000000', InstanceId: inst, Device: '/dev/sdf' }))).toBe('InvalidVolume.NotFound');
    });
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({
      eventSource: 'ec2.amazonaws.com',
      eventName: 'AttachVolume',
      errorCode: 'Client.InvalidVolume.NotFound',
      errorMessage: "The volume 'vol-00000000000000000' does not exist.",
      requestParameters: { volumeId: 'vol-00000000000000000', instanceId: inst, device: '/dev/sdf' },
      responseElements: null,
      userIdentity: { userName: 'Alice' },
    });
  });

  it('AttachVolume with a device name EC2 refuses: Client.InvalidParameterValue, and no KMS call is made', () => {
    const alice = h.app.as();
    const ec2 = h.app.ec2();
    const vol = ec2.createVolume(alice, { Size: 1, Encrypted: true }) as { VolumeId: string };
    const inst = ((ec2.runInstances(alice, { ImageId: 'ami-0123abcd', InstanceType: 't3.micro' }).Instances as { InstanceId: string }[])[0]!).InstanceId;
    const recs = recordsDuring(() => {
      expect(errorCode(() => ec2.attachVolume(alice, { VolumeId: vol.VolumeId, InstanceId: inst, Device: '/dev/nope' }))).toBe('InvalidParameterValue');
    });
    expect(recs.map((r) => [r.eventName, r.errorCode])).toEqual([['AttachVolume', 'Client.InvalidParameterValue']]);
    expect(recs[0]!.errorMessage).toContain('/dev/nope is not a valid EBS device name');
  });

  it('CreateVolume of 16384 GiB (EBS gp3 maximum) on a home whose file system cannot hold it (ext4): Server.InsufficientVolumeCapacity saying why, no volume left behind; 16385 GiB is InvalidParameterValue', () => {
    const alice = h.app.as();
    const ec2 = h.app.ec2();
    const before = (ec2.describeVolumes(alice).Volumes as unknown[]).length;
    expect(errorCode(() => ec2.createVolume(alice, { Size: 16385 }))).toBe('InvalidParameterValue');
    const problem = imageSizeProblem(path.join(h.dir, 'volumes', 'probe.img'), 16384 * 1024 ** 3);
    const recs = recordsDuring(() => {
      if (problem) expect(errorCode(() => ec2.createVolume(alice, { Size: 16384, Encrypted: true }))).toBe('InsufficientVolumeCapacity');
      else ec2.createVolume(alice, { Size: 16384, Encrypted: true }); // XFS, btrfs, tmpfs: it fits
    });
    if (!problem) return; // test/device/huge-volume.test.ts covers a 16 TiB volume for real
    expect(problem).toMatch(/cannot hold a file of 17592186044416 bytes \(EFBIG\); put the ebsim home on XFS, btrfs or tmpfs/);
    // Refused before anything was made: no volume, no data key (no KMS call), no probe file.
    expect(recs.map((r) => [r.eventName, r.errorCode])).toEqual([['CreateVolume', 'Server.InsufficientVolumeCapacity']]);
    expect(recs[0]!.errorMessage).toContain('There is not enough capacity to fulfill your EBS volume provision request. (ebsim: ');
    expect((ec2.describeVolumes(alice).Volumes as unknown[]).length).toBe(before);
    expect(readdirSync(path.join(h.dir, 'volumes')).filter((f) => f.startsWith('.size-probe'))).toEqual([]);
    // Growing a volume to 16 TiB there: the same answer, the volume unchanged.
    const small = ec2.createVolume(alice, { Size: 1 }) as { VolumeId: string };
    expect(errorCode(() => ec2.modifyVolume(alice, { VolumeId: small.VolumeId, Size: 16384 }))).toBe('InsufficientVolumeCapacity');
    expect((ec2.describeVolumes(alice, [small.VolumeId]).Volumes as { Size: number }[])[0]!.Size).toBe(1);
  });

  it('RunInstances with an invalid image ID: one record, the request as EC2 logs it', () => {
    const recs = recordsDuring(() => {
      expect(errorCode(() => h.app.ec2().runInstances(h.app.as(), { ImageId: 'not-an-ami', InstanceType: 't3.micro' }))).toBe('InvalidParameterValue');
    });
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({
      eventName: 'RunInstances',
      errorCode: 'Client.InvalidParameterValue',
      requestParameters: { instancesSet: { items: [{ imageId: 'not-an-ami', minCount: 1, maxCount: 1 }] }, instanceType: 't3.micro' },
      responseElements: null,
    });
  });

  it('a request the declaration refuses: EC2\'s MissingParameter and InvalidParameterValue, not the JSON protocol\'s ValidationException', () => {
    const alice = h.app.as();
    const ec2 = h.app.ec2();
    const recs = recordsDuring(() => {
      expect(errorCode(() => ec2.call(alice, 'AttachVolume', { InstanceId: 'i-00000000000000000', Device: '/dev/sdf' }))).toBe('MissingParameter');
      expect(errorCode(() => ec2.call(alice, 'CreateVolume', { Size: 'ten' }))).toBe('InvalidParameterValue');
    });
    expect(recs.map((r) => [r.eventName, r.errorCode])).toEqual([
      ['AttachVolume', 'Client.MissingParameter'],
      ['CreateVolume', 'Client.InvalidParameterValue'],
    ]);
    expect(recs[0]!.errorMessage).toBe('The request must contain the parameter VolumeId');
  });

  it('from the CLI: the AWS CLI\'s error line, and one record', async () => {
    h.app.trail.flush();
    const before = allRecords(h.app.db).filter((r) => r.eventName === 'DescribeVolumes').length;
    const r = await ebsim('ec2', 'describe-volumes', '--volume-ids', 'vol-0000000000000000f');
    expect(r.code).toBe(254);
    expect(r.stderr).toContain('An error occurred (InvalidVolume.NotFound) when calling the DescribeVolumes operation');
    h.app.trail.flush();
    const recs = allRecords(h.app.db).filter((x) => x.eventName === 'DescribeVolumes').slice(before);
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ errorCode: 'Client.InvalidVolume.NotFound', requestParameters: { volumeSet: { items: [{ volumeId: 'vol-0000000000000000f' }] } } });
  });

  it('a successful launch still leaves RunInstances first, then the calls it caused, sharing its request ID', () => {
    const recs = recordsDuring(() =>
      h.app.ec2().runInstances(h.app.as(), { ImageId: 'ami-0123abcd', InstanceType: 't3.micro', BlockDeviceMappings: [{ DeviceName: '/dev/sdb', Ebs: { VolumeSize: 1, Encrypted: true } }] }),
    );
    expect(recs.map((r) => r.eventName)).toEqual(['RunInstances', 'GenerateDataKeyWithoutPlaintext', 'CreateGrant', 'Decrypt']);
    expect(recs[2]!.requestID).toBe(recs[0]!.requestID);
    // The RunInstances record has the seed's top-level fields, no more (no readOnly, no resources).
    const seed = (JSON.parse(readFileSync(new URL('../fixtures/seed-ec2-example-two.json', import.meta.url), 'utf8')) as { Records: TrailRecord[] }).Records;
    expect(Object.keys(recs[0]!).sort()).toEqual(Object.keys(seed.find((r) => r.eventName === 'RunInstances')!).sort());
  });
});
