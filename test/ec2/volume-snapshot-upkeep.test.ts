// The rest of the snapshot and volume lifecycle: DeleteSnapshot (no KMS call; refused while a copy
// or a new volume is being made from the snapshot), ModifyVolume growing a volume (the image grows
// sparse, the data key and data stay, no KMS call), and DetachVolume's Force on the control plane
// (recorded; a volume open on its host is still refused: the ebsim CLI's host unmounts it first,
// test/host/detach-force.test.ts).
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, errorCode, type TestHome } from '../helpers/home.js';
import { ebsimIn } from '../helpers/cli.js';
import type { CallContext } from '../../src/core/call-context.js';
import { Ec2Store } from '../../src/ec2/store.js';
import { reserveImage } from '../../src/ec2/image-jobs.js';
import { ExclusiveLock, imageLockFile } from '../../src/device/lock.js';
import { brief, recordsDuring, runInstance, writeThroughHost } from '../helpers/ebs.js';

const GIB = 1 << 30;
let h: TestHome;
let alice: CallContext;
let instanceId: string;
const ec2 = () => h.app.ec2();

beforeAll(() => {
  h = makeHome('ebsim-upkeep-');
  alice = h.app.as('Alice');
  instanceId = runInstance(h, alice);
});
afterAll(() => h.cleanup());

describe('DeleteSnapshot', () => {
  it('deletes the snapshot and its image with one record and no KMS call; a volume restored from it is untouched', async () => {
    const vol = ec2().createVolume(alice, { Size: 1, Encrypted: true }).VolumeId as string;
    await writeThroughHost(h, alice, vol, instanceId, [[0, Buffer.from('outlives the snapshot')]]);
    const snap = (ec2().createSnapshot(alice, { VolumeId: vol }) as { SnapshotId: string }).SnapshotId;
    const restored = ec2().createVolume(alice, { SnapshotId: snap }).VolumeId as string;
    const recs = recordsDuring(h, () => expect(ec2().deleteSnapshot(alice, { SnapshotId: snap })).toEqual({}));
    expect(brief(recs)).toEqual([['DeleteSnapshot', 'Alice', 'ok']]);
    expect(recs[0]).toMatchObject({ requestParameters: { snapshotId: snap }, responseElements: { _return: true } });
    expect(fs.existsSync(ec2().imagePath(snap))).toBe(false);
    expect(errorCode(() => ec2().describeSnapshots(alice, [snap]))).toBe('InvalidSnapshot.NotFound');
    expect(errorCode(() => ec2().deleteSnapshot(alice, { SnapshotId: snap }))).toBe('InvalidSnapshot.NotFound');
    expect((await h.app.host().read(alice, restored, 0, 21, instanceId)).toString()).toBe('outlives the snapshot');
    ec2().detachVolume(alice, { VolumeId: restored });
  });

  it('refused (InvalidSnapshot.InUse) while a copy of it is being made by a live process; allowed once that copy is settled', () => {
    const vol = ec2().createVolume(alice, { Size: 1 }).VolumeId as string;
    const src = ec2().snapshot((ec2().createSnapshot(alice, { VolumeId: vol }) as { SnapshotId: string }).SnapshotId);
    // A copy in progress, as another process has it: its row pending, its image's lock held.
    const copyId = 'snap-0a0a0a0a0a0a0a0a0';
    const lock = reserveImage(ec2().imagePath(copyId));
    new Ec2Store(h.app.db, '123456789012', 'us-east-1').insertSnapshot({ ...src, snapshotId: copyId, state: 'pending', progress: 10, contextId: copyId, sourceId: src.snapshotId, volumeId: 'vol-ffffffff' });
    const recs = recordsDuring(h, () => expect(errorCode(() => ec2().deleteSnapshot(alice, { SnapshotId: src.snapshotId }))).toBe('InvalidSnapshot.InUse'));
    expect(recs[0]!.errorMessage).toBe(`The snapshot ${src.snapshotId} is currently in use by ${copyId}`);
    expect(errorCode(() => ec2().deleteSnapshot(alice, { SnapshotId: copyId }))).toBe('IncorrectState');
    lock.release(); // its maker is gone: the next call settles the copy as error
    expect(ec2().deleteSnapshot(alice, { SnapshotId: src.snapshotId })).toEqual({});
    expect(ec2().snapshot(copyId).state).toBe('error');
    expect(ec2().deleteSnapshot(alice, { SnapshotId: copyId })).toEqual({});
  });
});

describe('ModifyVolume (growing)', () => {
  it('grows the image (sparse), keeps the data key and the data, with one record in EC2\'s wrapped form and no KMS call', async () => {
    const vol = ec2().createVolume(alice, { Size: 1, Encrypted: true }).VolumeId as string;
    await writeThroughHost(h, alice, vol, instanceId, [[4096, Buffer.from('before growing')]]);
    const before = ec2().volume(vol);
    let r: Record<string, unknown> = {};
    const recs = recordsDuring(h, () => (r = ec2().modifyVolume(alice, { VolumeId: vol, Size: 3 })));
    expect(brief(recs)).toEqual([['ModifyVolume', 'Alice', 'ok']]);
    expect(recs[0]!.requestParameters).toEqual({ ModifyVolumeRequest: { VolumeId: vol, Size: 3 } });
    expect(recs[0]!.responseElements).toMatchObject({ ModifyVolumeResponse: { volumeModification: { volumeId: vol, modificationState: 'modifying', targetSize: 3, originalSize: 1 } } });
    expect(r.VolumeModification).toMatchObject({ VolumeId: vol, ModificationState: 'modifying', TargetSize: 3, OriginalSize: 1, TargetVolumeType: 'gp2', OriginalVolumeType: 'gp2' });
    const after = ec2().volume(vol);
    expect(after.sizeGiB).toBe(3);
    expect(Buffer.from(after.encryptedDataKey!).equals(before.encryptedDataKey!)).toBe(true);
    expect(fs.statSync(ec2().imagePath(vol)).size).toBe(3 * GIB);
    expect(fs.statSync(ec2().imagePath(vol)).blocks * 512).toBeLessThan(1 << 20);
    // The old data is where it was; the new space reads as zeros and takes writes.
    expect((await h.app.host().read(alice, vol, 4096, 14, instanceId)).toString()).toBe('before growing');
    expect((await h.app.host().read(alice, vol, 2.5 * GIB, 8, instanceId)).equals(Buffer.alloc(8))).toBe(true);
    await h.app.host().write(alice, vol, 2.5 * GIB, Buffer.from('new room'), instanceId);
    expect((await h.app.host().read(alice, vol, 2.5 * GIB, 8, instanceId)).toString()).toBe('new room');
    ec2().detachVolume(alice, { VolumeId: vol });
  });

  it('refuses to shrink, to keep the size, or to change nothing (InvalidParameterValue), and leaves the volume as it was', () => {
    const vol = ec2().createVolume(alice, { Size: 2 }).VolumeId as string;
    expect(errorCode(() => ec2().modifyVolume(alice, { VolumeId: vol, Size: 1 }))).toBe('InvalidParameterValue');
    expect(errorCode(() => ec2().modifyVolume(alice, { VolumeId: vol, Size: 2 }))).toBe('InvalidParameterValue');
    expect(errorCode(() => ec2().modifyVolume(alice, { VolumeId: vol }))).toBe('InvalidParameterValue');
    expect(ec2().volume(vol).sizeGiB).toBe(2);
    expect(fs.statSync(ec2().imagePath(vol)).size).toBe(2 * GIB);
  });

  it('through the CLI: modify-volume --size', async () => {
    const vol = ec2().createVolume(alice, { Size: 1 }).VolumeId as string;
    const r = await ebsimIn(h.dir, ['ec2', 'modify-volume', '--volume-id', vol, '--size', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().VolumeModification).toMatchObject({ VolumeId: vol, TargetSize: 2 });
    expect((await ebsimIn(h.dir, ['ec2', 'describe-volumes', '--volume-ids', vol])).json().Volumes[0].Size).toBe(2);
  });
});

describe('DetachVolume with Force, on the control plane', () => {
  it('records force; a volume open on its host is still refused, one that is not is detached', () => {
    const vol = ec2().createVolume(alice, { Size: 1 }).VolumeId as string;
    ec2().attachVolume(alice, { VolumeId: vol, InstanceId: instanceId, Device: '/dev/sdk' });
    const open = ExclusiveLock.tryAcquire(imageLockFile(ec2().imagePath(vol)))!; // as a mount's device daemon holds it
    const refused = recordsDuring(h, () => expect(errorCode(() => ec2().detachVolume(alice, { VolumeId: vol, Force: true }))).toBe('IncorrectState'));
    expect(refused[0]).toMatchObject({ requestParameters: { volumeId: vol, force: true }, errorCode: 'Client.IncorrectState' });
    open.release();
    const recs = recordsDuring(h, () => ec2().detachVolume(alice, { VolumeId: vol, Force: true }));
    expect(recs[0]).toMatchObject({ eventName: 'DetachVolume', requestParameters: { volumeId: vol, force: true } });
    expect(ec2().volume(vol).state).toBe('available');
  });
});
