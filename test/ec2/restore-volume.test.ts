// CreateVolume, recorded as AWS's "Amazon EC2 example one" shows it (the CreateVolume record, then
// the KMS calls it causes; the answer `creating`), and from a snapshot as ebsim models "How EBS
// encryption works": under the snapshot's key the same data key (ReEncrypt to the volume's ID)
// over the same ciphertext; under another key, or from an unencrypted snapshot made encrypted, a
// new data key and every written sector re-encrypted by EC2's infrastructure through grants,
// checked against OpenSSL's XTS-AES-256 under the new data key. The restored volume reads back
// the snapshot's data through the instance's host.
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, errorCode, type TestHome } from '../helpers/home.js';
import { onBehalfOf, type CallContext } from '../../src/core/call-context.js';
import type { Snapshot } from '../../src/ec2/index.js';
import {
  brief, contextOf, imageDigest, plaintextKey, readSector, recordsDuring, runInstance, writeThroughHost, writtenSectors, xtsDecryptSector, xtsEncryptSector, SECTOR,
} from '../helpers/ebs.js';

const ACCOUNT = '123456789012';
const MIB = 1 << 20;
const GIB = 1 << 30;
const WORKER = (id: string) => `arn:aws:sts::${ACCOUNT}:assumed-role/aws:ec2-infrastructure/${id}`;
const ctxOf = (id: string) => ({ 'aws:ebs:id': id });

let h: TestHome;
let alice: CallContext;
let instanceId: string;
let keyA: { KeyId: string; Arn: string };
let keyB: { KeyId: string; Arn: string };
let volumeA: string;
let snapA: Snapshot;
let plainSnap: Snapshot;

const ec2 = () => h.app.ec2();
const newKey = (description: string) => h.app.kms().call(alice, 'CreateKey', { Description: description }).KeyMetadata as { KeyId: string; Arn: string };
const createVolume = (params: Record<string, unknown>) => ec2().call(alice, 'CreateVolume', params) as { VolumeId: string; State: string; KmsKeyId?: string; Encrypted: boolean };

/** Reads `length` bytes of a volume at `offset` through the instance's host (attached, then detached). */
async function readThroughHost(volumeId: string, offset: number, length: number): Promise<string> {
  const data = await h.app.host().read(alice, volumeId, offset, length, instanceId);
  ec2().detachVolume(alice, { VolumeId: volumeId });
  return data.toString();
}

function snapshotOf(volumeId: string): Snapshot {
  return ec2().snapshot((ec2().createSnapshot(alice, { VolumeId: volumeId }) as { SnapshotId: string }).SnapshotId);
}

/** Every written sector of `to` is OpenSSL's XTS under `newKey` of `from`'s plaintext (under `oldKey`, or as stored). */
function expectReencrypted(from: string, to: string, oldKey: Buffer | null, newKey: Buffer): void {
  const sectors = writtenSectors(from);
  expect(writtenSectors(to)).toEqual(sectors);
  for (const s of sectors) {
    const before = readSector(from, s);
    const plaintext = oldKey ? xtsDecryptSector(oldKey, s, before) : before;
    const after = readSector(to, s);
    expect(after.equals(xtsEncryptSector(newKey, s, plaintext)), `sector ${s}`).toBe(true);
    expect(after.equals(before)).toBe(false);
  }
}

beforeAll(async () => {
  h = makeHome('ebsim-restore-');
  alice = h.app.as('Alice');
  keyA = newKey('the snapshot key');
  keyB = newKey('the restore key');
  instanceId = runInstance(h, alice);
  volumeA = ec2().createVolume(alice, { Size: 1, Encrypted: true, KmsKeyId: keyA.Arn }).VolumeId as string;
  await writeThroughHost(h, alice, volumeA, instanceId, [[SECTOR, Buffer.from('kept across restores')], [600 * MIB, Buffer.from('far away')]]);
  snapA = snapshotOf(volumeA);
  const plain = ec2().createVolume(alice, { Size: 1 }).VolumeId as string;
  await writeThroughHost(h, alice, plain, instanceId, [[0, Buffer.from('was never encrypted')]]);
  plainSnap = snapshotOf(plain);
});
afterAll(() => h.cleanup());

describe('a new volume, as "Amazon EC2 example one" records it', () => {
  it('CreateVolume is recorded first (status creating), then EC2\'s GenerateDataKeyWithoutPlaintext for the caller; the answer is creating', () => {
    let v: ReturnType<typeof createVolume> | undefined;
    const recs = recordsDuring(h, () => (v = createVolume({ Size: 10, Encrypted: true, AvailabilityZone: 'us-east-1a', VolumeType: 'gp2' })));
    expect(brief(recs)).toEqual([['CreateVolume', 'Alice', 'ok'], ['GenerateDataKeyWithoutPlaintext', 'Alice via EC2', 'ok']]);
    expect(recs[0]).toMatchObject({
      requestParameters: { size: 10, zone: 'us-east-1a', volumeType: 'gp2', encrypted: true },
      responseElements: { volumeId: v!.VolumeId, size: 10, zone: 'us-east-1a', status: 'creating', volumeType: 'gp2', encrypted: true },
    });
    expect(recs[1]!.requestParameters).toEqual({ encryptionContext: ctxOf(v!.VolumeId), numberOfBytes: 64, keyId: 'alias/aws/ebs' });
    expect(v).toMatchObject({ State: 'creating', Encrypted: true });
    expect(v!.KmsKeyId).toMatch(/^arn:aws:kms:us-east-1:123456789012:key\//);
    expect(ec2().volume(v!.VolumeId).state).toBe('available');
  });

  it('--kms-key-id needs --encrypted, as on AWS: InvalidParameterDependency, and no volume', () => {
    const before = ec2().volumesQuietly().length;
    expect(errorCode(() => createVolume({ Size: 1, KmsKeyId: keyB.Arn }))).toBe('InvalidParameterDependency');
    expect(ec2().volumesQuietly()).toHaveLength(before);
  });
});

describe('from an encrypted snapshot under its own key', () => {
  let volumeId: string;

  it('binds the snapshot\'s data key to the volume (ReEncrypt from the snapshot\'s context, the original volume\'s) after the CreateVolume record', () => {
    let v: ReturnType<typeof createVolume> | undefined;
    const recs = recordsDuring(h, () => (v = createVolume({ SnapshotId: snapA.snapshotId })));
    volumeId = v!.VolumeId;
    expect(brief(recs)).toEqual([['CreateVolume', 'Alice', 'ok'], ['ReEncrypt', 'Alice via EC2', 'ok']]);
    expect(recs[0]!.requestParameters).toMatchObject({ snapshotId: snapA.snapshotId, encrypted: true });
    expect(recs[1]!.requestParameters).toMatchObject({ sourceEncryptionContext: ctxOf(volumeA), destinationKeyId: keyA.Arn, destinationEncryptionContext: ctxOf(volumeId) });
    expect(v).toMatchObject({ State: 'creating', Encrypted: true, KmsKeyId: keyA.Arn, SnapshotId: snapA.snapshotId, Size: 1 });
  });

  it('has the same data key and the snapshot\'s ciphertext, and reads back the data through the host', async () => {
    const v = ec2().volume(volumeId);
    expect(v).toMatchObject({ state: 'available', kmsKeyArn: keyA.Arn, snapshotId: snapA.snapshotId });
    expect(plaintextKey(h, alice, v.encryptedDataKey!, volumeId).equals(plaintextKey(h, alice, snapA.encryptedDataKey!, volumeA))).toBe(true);
    const [from, to] = [ec2().imagePath(snapA.snapshotId), ec2().imagePath(volumeId)];
    expect(writtenSectors(to)).toEqual(writtenSectors(from));
    expect(imageDigest(to)).toBe(imageDigest(from));
    expect(await readThroughHost(volumeId, SECTOR, 20)).toBe('kept across restores');
  });
});

describe('from an encrypted snapshot under another key (--encrypted --kms-key-id)', () => {
  let volumeId: string;

  it('a new data key under key B, grants to the volume\'s infrastructure session, its Decrypts, the grants retired, all after CreateVolume', () => {
    let v: ReturnType<typeof createVolume> | undefined;
    const recs = recordsDuring(h, () => (v = createVolume({ SnapshotId: snapA.snapshotId, Encrypted: true, KmsKeyId: keyB.KeyId })));
    volumeId = v!.VolumeId;
    expect(brief(recs)).toEqual([
      ['CreateVolume', 'Alice', 'ok'],
      ['DescribeKey', 'Alice via EC2', 'ok'],
      ['GenerateDataKeyWithoutPlaintext', 'Alice via EC2', 'ok'],
      ['CreateGrant', 'Alice via EC2', 'ok'],
      ['CreateGrant', 'Alice via EC2', 'ok'],
      ['Decrypt', WORKER(volumeId), 'ok'],
      ['Decrypt', WORKER(volumeId), 'ok'],
      ['RetireGrant', 'Alice via EC2', 'ok'],
      ['RetireGrant', 'Alice via EC2', 'ok'],
    ]);
    expect(contextOf(recs[2]!)).toEqual(ctxOf(volumeId));
    expect(recs[3]!.requestParameters).toMatchObject({ keyId: keyA.Arn, constraints: { encryptionContextSubset: ctxOf(volumeA) } });
    expect(recs[4]!.requestParameters).toMatchObject({ keyId: keyB.Arn, constraints: { encryptionContextSubset: ctxOf(volumeId) } });
    expect([contextOf(recs[5]!), contextOf(recs[6]!)]).toEqual([ctxOf(volumeA), ctxOf(volumeId)]);
    expect(v).toMatchObject({ State: 'creating', KmsKeyId: keyB.Arn });
  });

  it('every written sector re-encrypted under the new data key (OpenSSL XTS), and the data reads back through the host', async () => {
    const v = ec2().volume(volumeId);
    expect(v).toMatchObject({ state: 'available', kmsKeyArn: keyB.Arn });
    const newKey = plaintextKey(h, alice, v.encryptedDataKey!, volumeId);
    const oldKey = plaintextKey(h, alice, snapA.encryptedDataKey!, volumeA);
    expect(newKey.equals(oldKey)).toBe(false);
    expectReencrypted(ec2().imagePath(snapA.snapshotId), ec2().imagePath(volumeId), oldKey, newKey);
    expect(imageDigest(ec2().imagePath(volumeId))).not.toBe(imageDigest(ec2().imagePath(snapA.snapshotId)));
    expect(await readThroughHost(volumeId, 600 * MIB, 8)).toBe('far away');
  });
});

describe('from an unencrypted snapshot', () => {
  it('--encrypted: the default key, a new data key, every written sector encrypted; larger than the snapshot, the image grows', async () => {
    let v: ReturnType<typeof createVolume> | undefined;
    const recs = recordsDuring(h, () => (v = createVolume({ SnapshotId: plainSnap.snapshotId, Encrypted: true, Size: 2 })));
    const id = v!.VolumeId;
    expect(brief(recs)).toEqual([
      ['CreateVolume', 'Alice', 'ok'],
      ['GenerateDataKeyWithoutPlaintext', 'Alice via EC2', 'ok'],
      ['CreateGrant', 'Alice via EC2', 'ok'],
      ['Decrypt', WORKER(id), 'ok'],
      ['RetireGrant', 'Alice via EC2', 'ok'],
    ]);
    expect(recs[1]!.requestParameters).toMatchObject({ keyId: 'alias/aws/ebs' });
    const vol = ec2().volume(id);
    expect(vol).toMatchObject({ state: 'available', encrypted: true, sizeGiB: 2 });
    expect(fs.statSync(ec2().imagePath(id)).size).toBe(2 * GIB);
    expectReencrypted(ec2().imagePath(plainSnap.snapshotId), ec2().imagePath(id), null, plaintextKey(h, onBehalfOf(alice, 'ec2'), vol.encryptedDataKey!, id));
    expect(await readThroughHost(id, 0, 19)).toBe('was never encrypted');
  });

  it('without encryption: an unencrypted volume with the snapshot\'s bytes, no KMS call', () => {
    let v: ReturnType<typeof createVolume> | undefined;
    const recs = recordsDuring(h, () => (v = createVolume({ SnapshotId: plainSnap.snapshotId })));
    expect(brief(recs)).toEqual([['CreateVolume', 'Alice', 'ok']]);
    expect(ec2().volume(v!.VolumeId)).toMatchObject({ state: 'available', encrypted: false, kmsKeyArn: null });
    expect(readSector(ec2().imagePath(v!.VolumeId), 0).subarray(0, 19).toString()).toBe('was never encrypted');
  });
});

describe('from a snapshot KMS will not let EC2 use', () => {
  it('a disabled snapshot key: CreateVolume is recorded, its ReEncrypt refused, the volume error and never attachable', () => {
    const k = newKey('soon disabled');
    const vol = ec2().createVolume(alice, { Size: 1, Encrypted: true, KmsKeyId: k.Arn }).VolumeId as string;
    const snap = snapshotOf(vol);
    h.app.kms().call(alice, 'DisableKey', { KeyId: k.KeyId });
    let v: ReturnType<typeof createVolume> | undefined;
    const recs = recordsDuring(h, () => (v = createVolume({ SnapshotId: snap.snapshotId })));
    expect(brief(recs)).toEqual([['CreateVolume', 'Alice', 'ok'], ['ReEncrypt', 'Alice via EC2', 'DisabledException']]);
    expect(ec2().volume(v!.VolumeId)).toMatchObject({ state: 'error', encryptedDataKey: null });
    expect(fs.existsSync(ec2().imagePath(v!.VolumeId))).toBe(false);
    expect(errorCode(() => ec2().attachVolume(alice, { VolumeId: v!.VolumeId, InstanceId: instanceId, Device: '/dev/sdg' }))).toBe('IncorrectState');
    expect(ec2().describeVolumes(alice, [v!.VolumeId]).Volumes).toMatchObject([{ State: 'error' }]);
  });
});
