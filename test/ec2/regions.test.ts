// EC2 and EBS per account and Region: instances, volumes, snapshots and encryption by default
// belong to the Region they were made in, EC2 answers for them only there (another Region's IDs
// are not found, as on AWS), and each Region's EC2 calls that Region's KMS (its own aws/ebs).
// Then CopySnapshot across Regions, called in the destination with SourceRegion ("Copy an Amazon
// EBS snapshot"): KMS keys are Regional, so an encrypted copy gets a new data key from
// GenerateDataKeyWithoutPlaintext in the destination, the source's data key is decrypted in the
// source's Region through a grant made there, and every written sector is re-encrypted; each KMS
// call is in the trail with its awsRegion, and the copy's sectors are checked against OpenSSL's
// XTS-AES-256 under the new data key.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, errorCode, type TestHome } from '../helpers/home.js';
import { ebsimIn } from '../helpers/cli.js';
import { onBehalfOf, type CallContext } from '../../src/core/call-context.js';
import { allRecords, type TrailRecord } from '../../src/trail/index.js';
import type { Snapshot } from '../../src/ec2/index.js';
import { Ec2Store } from '../../src/ec2/store.js';
import { reserveImage, writeImageCopy } from '../../src/ec2/image-jobs.js';
import { brief, contextOf, readSector, recordsDuring, writtenSectors, xtsDecryptSector, xtsEncryptSector, SECTOR } from '../helpers/ebs.js';

const ACCOUNT = '123456789012';
const HOME = 'us-east-1';
const SRC = 'eu-west-1';
const DST = 'us-west-2';
const MIB = 1 << 20;
const WORKER = (id: string) => `arn:aws:sts::${ACCOUNT}:assumed-role/aws:ec2-infrastructure/${id}`;
const GRANTEE = (id: string) => `${ACCOUNT}:aws:ec2-infrastructure:${id}`;
const ctxOf = (id: string) => ({ 'aws:ebs:id': id });

let h: TestHome;
/** Alice calling each Region. */
const alice: Record<string, CallContext> = {};
const ec2 = (region: string) => h.app.ec2(undefined, region);
const kms = (region: string) => h.app.kms(undefined, region);
const keyArnOf = (r: TrailRecord) => r.resources?.[0]?.ARN;
/** Event name, who made it, its outcome and its Region. */
const briefIn = (recs: TrailRecord[]) => brief(recs).map((b, i) => [...b, recs[i]!.awsRegion]);
const newKey = (region: string, description: string) => kms(region).call(alice[region]!, 'CreateKey', { Description: description }).KeyMetadata as { KeyId: string; Arn: string };
const instanceIn = (region: string) => ((ec2(region).runInstances(alice[region]!, { ImageId: 'ami-0123abcd', InstanceType: 't3.micro' }).Instances as { InstanceId: string }[])[0]!.InstanceId);
const idsOf = (r: Record<string, unknown>, list: string, key: string) => (r[list] as Record<string, unknown>[]).map((x) => x[key]);
/** A data key's plaintext, decrypted in `region` by `ctx` with its EBS context. */
const plaintextIn = (region: string, ctx: CallContext, blob: Uint8Array, contextId: string) =>
  Buffer.from(kms(region).call(ctx, 'Decrypt', { CiphertextBlob: blob, EncryptionContext: ctxOf(contextId) }).Plaintext as Uint8Array);
const copyIn = (region: string, params: Record<string, unknown>) => ec2(region).call(alice[region]!, 'CopySnapshot', params) as { SnapshotId: string };

/** Writes through the host of an instance in `region`, then detaches. */
async function writeIn(region: string, volumeId: string, instanceId: string, writes: [number, Buffer][]): Promise<void> {
  for (const [offset, data] of writes) await h.app.host().write(alice[region]!, volumeId, offset, data, instanceId);
  ec2(region).detachVolume(alice[region]!, { VolumeId: volumeId });
}

/** The copy's written sectors are the source's, each OpenSSL's XTS under `newKey` of the source's plaintext; returns the plaintexts. */
function expectReencrypted(sourceImage: string, copyImage: string, oldKey: Buffer | null, newKey: Buffer): string[] {
  const sectors = writtenSectors(sourceImage);
  expect(sectors.length).toBeGreaterThan(0);
  expect(writtenSectors(copyImage)).toEqual(sectors);
  return sectors.map((s) => {
    const before = readSector(sourceImage, s);
    const plaintext = oldKey ? xtsDecryptSector(oldKey, s, before) : before;
    const after = readSector(copyImage, s);
    expect(after.equals(xtsEncryptSector(newKey, s, plaintext)), `sector ${s}`).toBe(true);
    expect(after.equals(before)).toBe(false);
    return plaintext.toString('latin1').replace(/\0+$/, '');
  });
}

/** In the source Region: a volume under a customer key with data in four sectors, and its snapshot. */
let srcKey: { KeyId: string; Arn: string };
let srcVolume: string;
let srcSnap: Snapshot;
/** An unencrypted snapshot in the source Region. */
let plainSnap: Snapshot;
let srcInstance: string;

beforeAll(async () => {
  h = makeHome('ebsim-h4-regions-');
  for (const r of [HOME, SRC, DST]) alice[r] = h.app.as('Alice', undefined, undefined, r);
  srcKey = newKey(SRC, 'source key in eu-west-1');
  srcInstance = instanceIn(SRC);
  srcVolume = ec2(SRC).createVolume(alice[SRC]!, { Size: 1, Encrypted: true, KmsKeyId: srcKey.Arn }).VolumeId as string;
  await writeIn(SRC, srcVolume, srcInstance, [[0, Buffer.from('alpha')], [SECTOR, Buffer.from('alpha two')], [300 * MIB, Buffer.from('beta')], [700 * MIB + 8192, Buffer.from('gamma')]]);
  srcSnap = ec2(SRC).snapshot(ec2(SRC).createSnapshot(alice[SRC]!, { VolumeId: srcVolume }).SnapshotId as string);
  const plainVolume = ec2(SRC).createVolume(alice[SRC]!, { Size: 1 }).VolumeId as string;
  await writeIn(SRC, plainVolume, srcInstance, [[4096, Buffer.from('plain delta')], [512 * MIB, Buffer.from('plain epsilon')]]);
  plainSnap = ec2(SRC).snapshot(ec2(SRC).createSnapshot(alice[SRC]!, { VolumeId: plainVolume }).SnapshotId as string);
});
afterAll(() => h.cleanup());

describe('resources belong to the Region they were made in', () => {
  it('describe-* list only the Region called; the other Region\'s IDs are not found there', () => {
    const dstInstance = instanceIn(DST);
    expect(idsOf(ec2(SRC).describeVolumes(alice[SRC]!), 'Volumes', 'VolumeId')).toContain(srcVolume);
    expect(idsOf(ec2(DST).describeVolumes(alice[DST]!), 'Volumes', 'VolumeId')).not.toContain(srcVolume);
    expect(idsOf(ec2(HOME).describeVolumes(alice[HOME]!), 'Volumes', 'VolumeId')).toEqual([]);
    expect(idsOf(ec2(HOME).describeSnapshots(alice[HOME]!), 'Snapshots', 'SnapshotId')).toEqual([]);
    expect(idsOf(ec2(SRC).describeSnapshots(alice[SRC]!), 'Snapshots', 'SnapshotId')).toEqual([srcSnap.snapshotId, plainSnap.snapshotId]);
    const reservations = (r: Record<string, unknown>) => (r.Reservations as { Instances: { InstanceId: string; Placement: { AvailabilityZone: string } }[] }[]).flatMap((x) => x.Instances);
    expect(reservations(ec2(DST).describeInstances(alice[DST]!)).map((i) => [i.InstanceId, i.Placement.AvailabilityZone])).toEqual([[dstInstance, `${DST}a`]]);
    expect(errorCode(() => ec2(DST).describeVolumes(alice[DST]!, [srcVolume]))).toBe('InvalidVolume.NotFound');
    expect(errorCode(() => ec2(SRC).describeInstances(alice[SRC]!, [dstInstance]))).toBe('InvalidInstanceID.NotFound');
    expect(errorCode(() => ec2(DST).describeSnapshots(alice[DST]!, [srcSnap.snapshotId]))).toBe('InvalidSnapshot.NotFound');
  });

  it('an instance in us-west-2 cannot attach a volume of eu-west-1: whichever Region is called, one of the two is not found', () => {
    const dstInstance = instanceIn(DST);
    const recs = recordsDuring(h, () => {
      expect(errorCode(() => ec2(DST).attachVolume(alice[DST]!, { VolumeId: srcVolume, InstanceId: dstInstance, Device: '/dev/sdf' }))).toBe('InvalidVolume.NotFound');
      expect(errorCode(() => ec2(SRC).attachVolume(alice[SRC]!, { VolumeId: srcVolume, InstanceId: dstInstance, Device: '/dev/sdf' }))).toBe('InvalidInstanceID.NotFound');
    });
    expect(recs.map((r) => [r.eventName, r.errorCode, r.errorMessage, r.awsRegion])).toEqual([
      ['AttachVolume', 'Client.InvalidVolume.NotFound', `The volume '${srcVolume}' does not exist.`, DST],
      ['AttachVolume', 'Client.InvalidInstanceID.NotFound', `The instance ID '${dstInstance}' does not exist`, SRC],
    ]);
    expect(ec2(SRC).volume(srcVolume).state).toBe('available');
  });

  it('Availability Zones: a volume is made in one of the Region called, and attaches only to an instance in its zone', () => {
    expect(errorCode(() => ec2(DST).createVolume(alice[DST]!, { Size: 1, AvailabilityZone: `${SRC}a` }))).toBe('InvalidParameterValue');
    const inB = ec2(DST).createVolume(alice[DST]!, { Size: 1, AvailabilityZone: `${DST}b` }).VolumeId as string;
    expect(ec2(DST).volume(inB).availabilityZone).toBe(`${DST}b`);
    const inst = instanceIn(DST);
    let message = '';
    try {
      ec2(DST).attachVolume(alice[DST]!, { VolumeId: inB, InstanceId: inst, Device: '/dev/sdf' });
    } catch (err) {
      message = `${(err as { code: string }).code}: ${(err as Error).message}`;
    }
    expect(message).toBe(`InvalidVolume.ZoneMismatch: The volume '${inB}' is not in the same availability zone as instance '${inst}'`);
  });

  it('RunInstances --placement AvailabilityZone: the instance and the volumes it launches with are in that zone, and so is what attaches to it', () => {
    const zoneB = `${DST}b`;
    const run = ec2(DST).runInstances(alice[DST]!, { ImageId: 'ami-0123abcd', InstanceType: 't3.micro', Placement: { AvailabilityZone: zoneB } });
    const inst = (run.Instances as { InstanceId: string; Placement: { AvailabilityZone: string } }[])[0]!;
    expect(inst.Placement.AvailabilityZone).toBe(zoneB);
    const root = (ec2(DST).describeVolumes(alice[DST]!).Volumes as { Attachments: { InstanceId: string }[]; AvailabilityZone: string }[]).filter((v) => v.Attachments.some((a) => a.InstanceId === inst.InstanceId));
    expect(root.map((v) => v.AvailabilityZone)).toEqual([zoneB]);
    // A volume in the default zone (a) does not attach to it; one in b does.
    const inA = ec2(DST).createVolume(alice[DST]!, { Size: 1 }).VolumeId as string;
    expect(errorCode(() => ec2(DST).attachVolume(alice[DST]!, { VolumeId: inA, InstanceId: inst.InstanceId, Device: '/dev/sdf' }))).toBe('InvalidVolume.ZoneMismatch');
    const inB = ec2(DST).createVolume(alice[DST]!, { Size: 1, AvailabilityZone: zoneB }).VolumeId as string;
    ec2(DST).attachVolume(alice[DST]!, { VolumeId: inB, InstanceId: inst.InstanceId, Device: '/dev/sdf' });
    expect(ec2(DST).volume(inB).instanceId).toBe(inst.InstanceId);
    // The record says where it was asked for, as CloudTrail's RunInstances requestParameters do.
    h.app.trail.flush();
    const record = allRecords(h.app.db).filter((r) => r.eventName === 'RunInstances' && r.awsRegion === DST).at(-1)!;
    expect((record.requestParameters as Record<string, unknown>).placement).toEqual({ availabilityZone: zoneB });
    // A zone of another Region, or none at all, is refused in EC2's words, and nothing is launched.
    const before = ec2(DST).describeInstances(alice[DST]!).Reservations as unknown[];
    for (const bad of [`${SRC}a`, 'us-west-2', `${DST}bb`]) {
      let message = '';
      try {
        ec2(DST).runInstances(alice[DST]!, { ImageId: 'ami-0123abcd', InstanceType: 't3.micro', Placement: { AvailabilityZone: bad } });
      } catch (err) {
        message = `${(err as { code: string }).code}: ${(err as Error).message}`;
      }
      expect(message).toBe(`InvalidParameterValue: Invalid availability zone: [${bad}]`);
    }
    expect((ec2(DST).describeInstances(alice[DST]!).Reservations as unknown[]).length).toBe(before.length);
  });

  it('`ebsim ec2 run-instances --placement AvailabilityZone=…` takes the AWS CLI shorthand', async () => {
    const r = await ebsimIn(h.dir, ['ec2', 'run-instances', '--image-id', 'ami-0123abcd', '--instance-type', 't3.micro', '--placement', 'AvailabilityZone=us-east-1c']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().Instances[0].Placement.AvailabilityZone).toBe('us-east-1c');
  });

  it('EC2 records carry the Region called; the host decrypts a volume\'s key in the volume\'s Region', async () => {
    const inst = instanceIn(DST);
    const key = newKey(DST, 'in us-west-2');
    let vol = '';
    const recs = recordsDuring(h, () => (vol = ec2(DST).createVolume(alice[DST]!, { Size: 1, Encrypted: true, KmsKeyId: key.KeyId }).VolumeId as string));
    expect(briefIn(recs)).toEqual([['CreateVolume', 'Alice', 'ok', DST], ['GenerateDataKeyWithoutPlaintext', 'Alice via EC2', 'ok', DST]]);
    // `volume write` names no Region: the host attaches in the volume's Region and decrypts there.
    h.app.trail.flush();
    const before = allRecords(h.app.db).length;
    await h.app.host().write(alice[HOME]!, vol, 0, Buffer.from('west'), inst);
    h.app.trail.flush();
    const last = allRecords(h.app.db).slice(before);
    const role = `arn:aws:sts::${ACCOUNT}:assumed-role/aws:ec2-infrastructure/${inst}`;
    expect(briefIn(last)).toEqual([
      ['CreateGrant', 'Alice via EC2', 'ok', DST],
      ['Decrypt', role, 'ok', DST],
      ['AttachVolume', 'Alice', 'ok', DST],
      ['Decrypt', role, 'ok', DST],
    ]);
    expect(keyArnOf(last[3]!)).toBe(key.Arn);
    expect((await h.app.host().read(alice[HOME]!, vol, 0, 4)).toString()).toBe('west');
  });

  it('every call naming another Region\'s volume, snapshot or instance is not found there, and changes nothing', () => {
    const inst = instanceIn(SRC);
    const volBefore = ec2(SRC).volume(srcVolume);
    const snapBefore = ec2(SRC).snapshot(srcSnap.snapshotId);
    const calls: [string, Record<string, unknown>, string][] = [
      ['ModifyVolume', { VolumeId: srcVolume, Size: 2 }, 'InvalidVolume.NotFound'],
      ['DeleteVolume', { VolumeId: srcVolume }, 'InvalidVolume.NotFound'],
      ['DetachVolume', { VolumeId: srcVolume }, 'InvalidVolume.NotFound'],
      ['CreateSnapshot', { VolumeId: srcVolume }, 'InvalidVolume.NotFound'],
      ['CreateVolume', { SnapshotId: srcSnap.snapshotId }, 'InvalidSnapshot.NotFound'],
      ['CopySnapshot', { SourceSnapshotId: srcSnap.snapshotId }, 'InvalidSnapshot.NotFound'],
      ['ModifySnapshotAttribute', { SnapshotId: srcSnap.snapshotId, CreateVolumePermission: { Add: [{ UserId: '210987654321' }] } }, 'InvalidSnapshot.NotFound'],
      ['DescribeSnapshotAttribute', { SnapshotId: srcSnap.snapshotId, Attribute: 'createVolumePermission' }, 'InvalidSnapshot.NotFound'],
      ['DeleteSnapshot', { SnapshotId: srcSnap.snapshotId }, 'InvalidSnapshot.NotFound'],
      ['StopInstances', { InstanceIds: [inst] }, 'InvalidInstanceID.NotFound'],
      ['TerminateInstances', { InstanceIds: [inst] }, 'InvalidInstanceID.NotFound'],
    ];
    const recs = recordsDuring(h, () => {
      for (const [op, params, code] of calls) expect(errorCode(() => ec2(DST).call(alice[DST]!, op, params)), op).toBe(code);
    });
    expect(recs.map((r) => [r.eventName, r.awsRegion])).toEqual(calls.map(([op]) => [op, DST]));
    expect(ec2(SRC).volume(srcVolume)).toEqual(volBefore);
    expect(ec2(SRC).snapshot(srcSnap.snapshotId)).toEqual(snapBefore);
    expect(ec2(SRC).call(alice[SRC]!, 'DescribeSnapshotAttribute', { SnapshotId: srcSnap.snapshotId, Attribute: 'createVolumePermission' })).toMatchObject({ CreateVolumePermissions: [] });
    expect(ec2(SRC).instance(inst).state).not.toMatch(/stopp|terminat/);
  });

  it('IDs stay unique in the home across Regions', () => {
    const ids = [HOME, SRC, DST].flatMap((r) => idsOf(ec2(r).describeVolumes(alice[r]!), 'Volumes', 'VolumeId'));
    expect(new Set(ids).size).toBe(ids.length);
    // Random IDs alone would pass the above: the store itself refuses an ID another Region holds.
    const taken = ec2(SRC).volume(srcVolume);
    expect(() => new Ec2Store(h.app.db, ACCOUNT, DST).insertVolume(taken)).toThrow(/UNIQUE constraint failed: ec2_volumes.volume_id/);
    expect(() => new Ec2Store(h.app.db, ACCOUNT, DST).insertSnapshot(srcSnap)).toThrow(/UNIQUE constraint failed: ec2_snapshots.snapshot_id/);
    expect(ec2(SRC).volume(srcVolume)).toEqual(taken);
  });
});

describe('encryption by default and the aws/ebs key, per Region', () => {
  it('enabled in one Region only: new volumes there are encrypted under that Region\'s aws/ebs, elsewhere not', () => {
    ec2(SRC).call(alice[SRC]!, 'EnableEbsEncryptionByDefault');
    try {
      expect(ec2(SRC).call(alice[SRC]!, 'GetEbsEncryptionByDefault')).toEqual({ EbsEncryptionByDefault: true });
      expect(ec2(HOME).call(alice[HOME]!, 'GetEbsEncryptionByDefault')).toEqual({ EbsEncryptionByDefault: false });
      expect(ec2(SRC).call(alice[SRC]!, 'GetEbsDefaultKmsKeyId')).toEqual({ KmsKeyId: `arn:aws:kms:${SRC}:${ACCOUNT}:alias/aws/ebs` });
      let there = '';
      const recs = recordsDuring(h, () => (there = ec2(SRC).createVolume(alice[SRC]!, { Size: 1 }).VolumeId as string));
      expect(briefIn(recs)).toEqual([['CreateVolume', 'Alice', 'ok', SRC], ['GenerateDataKeyWithoutPlaintext', 'Alice via EC2', 'ok', SRC]]);
      expect(recs[1]!.requestParameters).toMatchObject({ keyId: 'alias/aws/ebs', encryptionContext: ctxOf(there) });
      const managedSrc = (kms(SRC).call(onBehalfOf(alice[SRC]!, 'ec2'), 'DescribeKey', { KeyId: 'alias/aws/ebs' }).KeyMetadata as { Arn: string }).Arn;
      expect(managedSrc).toMatch(new RegExp(`^arn:aws:kms:${SRC}:${ACCOUNT}:key/`));
      expect(ec2(SRC).volume(there)).toMatchObject({ encrypted: true, kmsKeyArn: managedSrc });
      const here = ec2(HOME).createVolume(alice[HOME]!, { Size: 1 }).VolumeId as string;
      expect(ec2(HOME).volume(here)).toMatchObject({ encrypted: false, kmsKeyArn: null });
      // Each Region has its own AWS managed key for EBS.
      const inHome = ec2(HOME).createVolume(alice[HOME]!, { Size: 1, Encrypted: true }).VolumeId as string;
      const managedHome = ec2(HOME).volume(inHome).kmsKeyArn!;
      expect(managedHome).toMatch(new RegExp(`^arn:aws:kms:${HOME}:${ACCOUNT}:key/`));
      expect(managedHome.split('/')[1]).not.toBe(managedSrc.split('/')[1]);
    } finally {
      ec2(SRC).call(alice[SRC]!, 'DisableEbsEncryptionByDefault');
    }
  });

  it('a default key chosen in one Region is that Region\'s (an alias resolves to its ARN there)', () => {
    const k = newKey(DST, 'DST default');
    kms(DST).call(alice[DST]!, 'CreateAlias', { AliasName: 'alias/ebs-default', TargetKeyId: k.KeyId });
    try {
      expect(ec2(DST).call(alice[DST]!, 'ModifyEbsDefaultKmsKeyId', { KmsKeyId: 'alias/ebs-default' })).toEqual({ KmsKeyId: `arn:aws:kms:${DST}:${ACCOUNT}:alias/ebs-default` });
      expect(ec2(HOME).call(alice[HOME]!, 'GetEbsDefaultKmsKeyId')).toEqual({ KmsKeyId: `arn:aws:kms:${HOME}:${ACCOUNT}:alias/aws/ebs` });
      const v = ec2(DST).createVolume(alice[DST]!, { Size: 1, Encrypted: true }).VolumeId as string;
      expect(ec2(DST).volume(v).kmsKeyArn).toBe(k.Arn);
    } finally {
      ec2(DST).call(alice[DST]!, 'ResetEbsDefaultKmsKeyId');
    }
  });
});

describe('copy-snapshot --source-region, called in the destination Region', () => {
  describe('an encrypted snapshot, no --kms-key-id: the destination\'s aws/ebs', () => {
    let id: string;
    let recs: TrailRecord[];
    beforeAll(() => {
      recs = recordsDuring(h, () => (id = copyIn(DST, { SourceRegion: SRC, SourceSnapshotId: srcSnap.snapshotId, Description: 'to the west' }).SnapshotId));
    });

    it('leaves the trail: the new data key in the destination, a grant and a Decrypt in each Region, the grants retired', () => {
      expect(briefIn(recs)).toEqual([
        ['CopySnapshot', 'Alice', 'ok', DST],
        ['GenerateDataKeyWithoutPlaintext', 'Alice via EC2', 'ok', DST],
        ['CreateGrant', 'Alice via EC2', 'ok', SRC],
        ['CreateGrant', 'Alice via EC2', 'ok', DST],
        ['Decrypt', WORKER(id), 'ok', SRC],
        ['Decrypt', WORKER(id), 'ok', DST],
        ['RetireGrant', 'Alice via EC2', 'ok', SRC],
        ['RetireGrant', 'Alice via EC2', 'ok', DST],
      ]);
      const [copy, generate, grantSrc, grantDst, decryptSrc, decryptDst, retireSrc, retireDst] = recs;
      expect(copy!.requestParameters).toEqual({ sourceRegion: SRC, sourceSnapshotId: srcSnap.snapshotId, description: 'to the west' });
      expect(copy!.responseElements).toEqual({ snapshotId: id });
      expect(generate!.requestParameters).toEqual({ keyId: 'alias/aws/ebs', numberOfBytes: 64, encryptionContext: ctxOf(id) });
      const managed = keyArnOf(generate!)!;
      expect(managed).toMatch(new RegExp(`^arn:aws:kms:${DST}:${ACCOUNT}:key/`));
      expect(grantSrc!.requestParameters).toMatchObject({ keyId: srcKey.Arn, granteePrincipal: GRANTEE(id), operations: ['Decrypt'], constraints: { encryptionContextSubset: ctxOf(srcVolume) } });
      expect(grantDst!.requestParameters).toMatchObject({ keyId: managed, granteePrincipal: GRANTEE(id), operations: ['Decrypt'], constraints: { encryptionContextSubset: ctxOf(id) } });
      expect([grantSrc, grantDst].map((g) => g!.requestID)).toEqual([copy!.requestID, copy!.requestID]);
      expect([contextOf(decryptSrc!), keyArnOf(decryptSrc!)]).toEqual([ctxOf(srcVolume), srcKey.Arn]);
      expect([contextOf(decryptDst!), keyArnOf(decryptDst!)]).toEqual([ctxOf(id), managed]);
      expect([keyArnOf(retireSrc!), keyArnOf(retireDst!)]).toEqual([srcKey.Arn, managed]);
      expect(kms(SRC).call(alice[SRC]!, 'ListGrants', { KeyId: srcKey.KeyId, GranteePrincipal: GRANTEE(id) }).Grants).toEqual([]);
    });

    it('the copy is in the destination only, completed under the destination\'s aws/ebs, bound to its own ID', () => {
      const s = ec2(DST).snapshot(id);
      expect(s).toMatchObject({ state: 'completed', encrypted: true, contextId: id, volumeId: 'vol-ffffffff', sourceId: srcSnap.snapshotId });
      expect(s.kmsKeyArn).toMatch(new RegExp(`^arn:aws:kms:${DST}:`));
      expect(idsOf(ec2(DST).describeSnapshots(alice[DST]!), 'Snapshots', 'SnapshotId')).toContain(id);
      expect(errorCode(() => ec2(SRC).describeSnapshots(alice[SRC]!, [id]))).toBe('InvalidSnapshot.NotFound');
    });

    it('every written sector is OpenSSL\'s XTS-AES-256 under the new data key of the source\'s plaintext', () => {
      const s = ec2(DST).snapshot(id);
      // aws/ebs is used through EC2 only: Alice decrypts it as EC2 does for her, in its Region.
      const newKey = plaintextIn(DST, onBehalfOf(alice[DST]!, 'ec2'), s.encryptedDataKey!, id);
      const oldKey = plaintextIn(SRC, alice[SRC]!, srcSnap.encryptedDataKey!, srcVolume);
      expect(newKey.equals(oldKey)).toBe(false);
      const plaintexts = expectReencrypted(ec2(SRC).imagePath(srcSnap.snapshotId), ec2(DST).imagePath(id), oldKey, newKey);
      expect(plaintexts.map((p) => p.slice(0, 5))).toEqual(['alpha', 'alpha', 'beta', 'gamma']);
      // The source's data key is under a key of eu-west-1: KMS in us-west-2 cannot open it.
      expect(errorCode(() => plaintextIn(DST, alice[DST]!, srcSnap.encryptedDataKey!, srcVolume))).toBe('InvalidCiphertextException');
    });

    it('a volume restored from the copy in the destination reads the source\'s data', async () => {
      const inst = instanceIn(DST);
      const v = ec2(DST).createVolume(alice[DST]!, { SnapshotId: id }).VolumeId as string;
      expect(ec2(DST).volume(v).state).toBe('available');
      expect((await h.app.host().read(alice[DST]!, v, 700 * MIB + 8192, 5, inst)).toString()).toBe('gamma');
    });
  });

  it('--encrypted --kms-key-id names a key of the destination: no DescribeKey (another Region\'s key is never "the same key")', () => {
    const dstKey = newKey(DST, 'copy key in us-west-2');
    let id = '';
    const recs = recordsDuring(h, () => (id = copyIn(DST, { SourceRegion: SRC, SourceSnapshotId: srcSnap.snapshotId, Encrypted: true, KmsKeyId: dstKey.KeyId }).SnapshotId));
    expect(briefIn(recs).map((b) => [b[0], b[3]])).toEqual([
      ['CopySnapshot', DST], ['GenerateDataKeyWithoutPlaintext', DST], ['CreateGrant', SRC], ['CreateGrant', DST], ['Decrypt', SRC], ['Decrypt', DST], ['RetireGrant', SRC], ['RetireGrant', DST],
    ]);
    const s = ec2(DST).snapshot(id);
    expect(s).toMatchObject({ state: 'completed', kmsKeyArn: dstKey.Arn });
    expectReencrypted(ec2(SRC).imagePath(srcSnap.snapshotId), ec2(DST).imagePath(id), plaintextIn(SRC, alice[SRC]!, srcSnap.encryptedDataKey!, srcVolume), plaintextIn(DST, alice[DST]!, s.encryptedDataKey!, id));
  });

  it('--kms-key-id naming the source Region\'s key: KMS in the destination does not find it, the copy is error', () => {
    let id = '';
    const recs = recordsDuring(h, () => (id = copyIn(DST, { SourceRegion: SRC, SourceSnapshotId: srcSnap.snapshotId, Encrypted: true, KmsKeyId: srcKey.Arn }).SnapshotId));
    expect(briefIn(recs)).toEqual([['CopySnapshot', 'Alice', 'ok', DST], ['GenerateDataKeyWithoutPlaintext', 'Alice via EC2', 'NotFoundException', DST]]);
    const [d] = ec2(DST).describeSnapshots(alice[DST]!, [id]).Snapshots as Record<string, unknown>[];
    expect(d).toMatchObject({ State: 'error' });
    expect(d!.StateMessage).toMatch(/^The KMS call GenerateDataKeyWithoutPlaintext failed: \(NotFoundException\) /);
  });

  it('an unencrypted snapshot: copied as it is, no KMS call; with --encrypted, the destination\'s encryption-by-default key and no call in the source Region', () => {
    let plain = '';
    const recs = recordsDuring(h, () => (plain = copyIn(DST, { SourceRegion: SRC, SourceSnapshotId: plainSnap.snapshotId }).SnapshotId));
    expect(briefIn(recs)).toEqual([['CopySnapshot', 'Alice', 'ok', DST]]);
    expect(ec2(DST).snapshot(plain)).toMatchObject({ encrypted: false, state: 'completed' });
    expect(readSector(ec2(DST).imagePath(plain), 1).subarray(0, 11).toString()).toBe('plain delta');

    const chosen = newKey(DST, 'EBS default in us-west-2');
    ec2(DST).call(alice[DST]!, 'ModifyEbsDefaultKmsKeyId', { KmsKeyId: chosen.KeyId });
    try {
      let id = '';
      const enc = recordsDuring(h, () => (id = copyIn(DST, { SourceRegion: SRC, SourceSnapshotId: plainSnap.snapshotId, Encrypted: true }).SnapshotId));
      expect(briefIn(enc)).toEqual([
        ['CopySnapshot', 'Alice', 'ok', DST],
        ['GenerateDataKeyWithoutPlaintext', 'Alice via EC2', 'ok', DST],
        ['CreateGrant', 'Alice via EC2', 'ok', DST],
        ['Decrypt', WORKER(id), 'ok', DST],
        ['RetireGrant', 'Alice via EC2', 'ok', DST],
      ]);
      expect(keyArnOf(enc[1]!)).toBe(chosen.Arn);
      const s = ec2(DST).snapshot(id);
      const plaintexts = expectReencrypted(ec2(SRC).imagePath(plainSnap.snapshotId), ec2(DST).imagePath(id), null, plaintextIn(DST, alice[DST]!, s.encryptedDataKey!, id));
      expect(plaintexts).toEqual(['plain delta', 'plain epsilon']);
    } finally {
      ec2(DST).call(alice[DST]!, 'ResetEbsDefaultKmsKeyId');
    }
  });

  it('refuses, as EC2: a snapshot not in the source Region, a Region that is none, KmsKeyId without Encrypted', () => {
    const recs = recordsDuring(h, () => {
      expect(errorCode(() => copyIn(DST, { SourceRegion: HOME, SourceSnapshotId: srcSnap.snapshotId }))).toBe('InvalidSnapshot.NotFound');
      expect(errorCode(() => copyIn(DST, { SourceRegion: 'moon-1', SourceSnapshotId: srcSnap.snapshotId }))).toBe('InvalidParameterValue');
      expect(errorCode(() => copyIn(DST, { SourceRegion: SRC, SourceSnapshotId: srcSnap.snapshotId, KmsKeyId: 'alias/aws/ebs' }))).toBe('InvalidParameterDependency');
    });
    expect(recs.map((r) => [r.eventName, r.errorCode, r.awsRegion])).toEqual([
      ['CopySnapshot', 'Client.InvalidSnapshot.NotFound', DST],
      ['CopySnapshot', 'Client.InvalidParameterValue', DST],
      ['CopySnapshot', 'Client.InvalidParameterDependency', DST],
    ]);
  });

  it('the source cannot be deleted while a copy of it is being made in another Region', () => {
    // A copy in progress in the destination: its row pending, its maker alive (it holds the image lock).
    const copyId = 'snap-0123456789abcdef9';
    const lock = reserveImage(ec2(DST).imagePath(copyId));
    new Ec2Store(h.app.db, ACCOUNT, DST).insertSnapshot({ ...srcSnap, snapshotId: copyId, state: 'pending', progress: 10, contextId: copyId, sourceId: plainSnap.snapshotId, volumeId: 'vol-ffffffff' });
    try {
      expect(errorCode(() => ec2(SRC).deleteSnapshot(alice[SRC]!, { SnapshotId: plainSnap.snapshotId }))).toBe('InvalidSnapshot.InUse');
    } finally {
      lock.release();
    }
    // Its maker gone, the next call in the destination settles it (error); the source may then go.
    ec2(DST).describeSnapshots(alice[DST]!, [copyId]);
    expect(ec2(DST).snapshot(copyId).state).toBe('error');
  });

  describe('a copy that fails after its grants: both Regions\' grants retired, the copy error', () => {
    /** A new snapshot of the source volume, in the source Region. */
    const freshSource = () => ec2(SRC).snapshot(ec2(SRC).createSnapshot(alice[SRC]!, { VolumeId: srcVolume }).SnapshotId as string);
    const liveGrants = (region: string, keyId: string, id: string) => kms(region).call(alice[region]!, 'ListGrants', { KeyId: keyId, GranteePrincipal: GRANTEE(id) }).Grants;

    function expectUndone(recs: TrailRecord[], id: string, failed: [string, string, string, string], dstKey: string) {
      expect(briefIn(recs)).toEqual([
        ['CopySnapshot', 'Alice', 'ok', DST],
        ['GenerateDataKeyWithoutPlaintext', 'Alice via EC2', 'ok', DST],
        ['CreateGrant', 'Alice via EC2', 'ok', SRC],
        ['CreateGrant', 'Alice via EC2', 'ok', DST],
        ...(failed[0] === 'Decrypt' ? [failed] : [['Decrypt', WORKER(id), 'ok', SRC], ['Decrypt', WORKER(id), 'ok', DST]]),
        ['RetireGrant', 'Alice via EC2', 'ok', SRC],
        ['RetireGrant', 'Alice via EC2', 'ok', DST],
      ]);
      expect(liveGrants(SRC, srcKey.KeyId, id)).toEqual([]);
      expect(liveGrants(DST, dstKey, id)).toEqual([]);
      expect(ec2(DST).snapshot(id).state).toBe('error');
    }

    it('the source\'s data key refused by KMS in the source Region (Decrypt)', () => {
      const source = freshSource();
      // A data key KMS cannot open: the blob's last byte changed.
      const bad = Buffer.from(source.encryptedDataKey!);
      bad[bad.length - 1]! ^= 1;
      new Ec2Store(h.app.db, ACCOUNT, SRC).setSnapshotKey(source.snapshotId, source.kmsKeyArn!, bad);
      const dstKey = newKey(DST, 'copy key, failing copy');
      let id = '';
      const recs = recordsDuring(h, () => (id = copyIn(DST, { SourceRegion: SRC, SourceSnapshotId: source.snapshotId, Encrypted: true, KmsKeyId: dstKey.KeyId }).SnapshotId));
      expectUndone(recs, id, ['Decrypt', WORKER(id), 'InvalidCiphertextException', SRC], dstKey.KeyId);
    });

    it('the source\'s image gone when the sectors are copied (after both Decrypts)', () => {
      const source = freshSource();
      rmSync(ec2(SRC).imagePath(source.snapshotId));
      const dstKey = newKey(DST, 'copy key, lost image');
      let id = '';
      const recs = recordsDuring(h, () => (id = copyIn(DST, { SourceRegion: SRC, SourceSnapshotId: source.snapshotId, Encrypted: true, KmsKeyId: dstKey.KeyId }).SnapshotId));
      expectUndone(recs, id, ['', '', '', ''], dstKey.KeyId);
    });
  });

  it('a copy whose maker died in another Region does not keep its source from being deleted', () => {
    const source = ec2(SRC).createSnapshot(alice[SRC]!, { VolumeId: srcVolume }).SnapshotId as string;
    // A copy in the destination left pending by a process that ended (no image lock held), no call made there since.
    const copyId = 'snap-0123456789abcdef8';
    new Ec2Store(h.app.db, ACCOUNT, DST).insertSnapshot({ ...srcSnap, snapshotId: copyId, state: 'pending', progress: 10, contextId: copyId, sourceId: source, volumeId: 'vol-ffffffff' });
    expect(ec2(SRC).call(alice[SRC]!, 'DeleteSnapshot', { SnapshotId: source })).toEqual({});
    expect(errorCode(() => ec2(SRC).describeSnapshots(alice[SRC]!, [source]))).toBe('InvalidSnapshot.NotFound');
    // The destination's next call settles the copy: error, never completed.
    expect(ec2(DST).describeSnapshots(alice[DST]!, [copyId]).Snapshots).toMatchObject([{ SnapshotId: copyId, State: 'error' }]);
  });

  it('a source whose maker died after committing its image, no call made in its Region since: copied from the destination', () => {
    // As a maker killed between the commit and the row's update leaves it: pending, the image whole, no lock.
    const sourceId = 'snap-0123456789abcdef7';
    new Ec2Store(h.app.db, ACCOUNT, SRC).insertSnapshot({ ...plainSnap, snapshotId: sourceId, state: 'pending', progress: 99, contextId: sourceId, sourceId: plainSnap.snapshotId });
    writeImageCopy(ec2(SRC).imagePath(plainSnap.snapshotId), ec2(SRC).imagePath(sourceId), {});
    const id = copyIn(DST, { SourceRegion: SRC, SourceSnapshotId: sourceId }).SnapshotId;
    expect(ec2(DST).snapshot(id)).toMatchObject({ state: 'completed', encrypted: false });
    expect(ec2(SRC).snapshot(sourceId).state).toBe('completed');
    expect(readSector(ec2(DST).imagePath(id), 1).subarray(0, 11).toString()).toBe('plain delta');
  });

  it('through the CLI: ebsim ec2 copy-snapshot --region DST --source-region SRC', async () => {
    const cli = (...args: string[]) => ebsimIn(h.dir, args);
    const out = await cli('ec2', 'copy-snapshot', '--region', DST, '--source-region', SRC, '--source-snapshot-id', srcSnap.snapshotId);
    expect(out.code, out.stderr).toBe(0);
    const id = out.json().SnapshotId as string;
    const d = (await cli('ec2', 'describe-snapshots', '--region', DST, '--snapshot-ids', id)).json().Snapshots[0];
    expect(d).toMatchObject({ State: 'completed', Encrypted: true, VolumeId: 'vol-ffffffff', Progress: '100%' });
    expect(d.KmsKeyId).toMatch(new RegExp(`^arn:aws:kms:${DST}:`));
    const home = await cli('ec2', 'describe-snapshots', '--snapshot-ids', id);
    expect(home.stderr).toContain(`An error occurred (InvalidSnapshot.NotFound) when calling the DescribeSnapshots operation: The snapshot '${id}' does not exist.`);
  });

  it('--destination-region as the AWS CLI sends it (the Region called) is taken; another Region is refused and nothing is copied', async () => {
    const cli = (...args: string[]) => ebsimIn(h.dir, args);
    const ok = await cli('ec2', 'copy-snapshot', '--region', DST, '--destination-region', DST, '--source-region', SRC, '--source-snapshot-id', srcSnap.snapshotId);
    expect(ok.code, ok.stderr).toBe(0);
    const before = (await cli('ec2', 'describe-snapshots', '--region', DST)).json().Snapshots.length;
    const bad = await cli('ec2', 'copy-snapshot', '--region', DST, '--destination-region', SRC, '--source-region', SRC, '--source-snapshot-id', srcSnap.snapshotId);
    expect(bad.code).toBe(254);
    expect(bad.stderr).toContain(`An error occurred (InvalidParameterValue) when calling the CopySnapshot operation: Value (${SRC}) for parameter destinationRegion is invalid.`);
    expect((await cli('ec2', 'describe-snapshots', '--region', DST)).json().Snapshots.length).toBe(before);
  });
});
