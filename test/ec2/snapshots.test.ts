// CreateSnapshot as the KMS developer guide describes it: the snapshot of an encrypted volume
// shares the volume's data key and encryption context (aws:ebs:id = the volume's ID), so no KMS
// call is made; its image is a sparse copy (holes stay holes), `pending` with AWS's Progress while
// it is copied, `completed` after.
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, errorCode, type TestHome } from '../helpers/home.js';
import { openEbsim } from '../../src/app/ebsim.js';
import { onBehalfOf, type CallContext } from '../../src/core/call-context.js';
import { brief, plaintextKey, readSector, recordsDuring, runInstance, writeThroughHost, writtenSectors, xtsDecryptSector, SECTOR } from '../helpers/ebs.js';

const MIB = 1 << 20;
let h: TestHome;
let alice: CallContext;
let volumeId: string;
let volumeBlob: Buffer;
let volumeKey: string;
const payload = (tag: string, n: number) => Buffer.alloc(n, `${tag} `);
// Written far apart, so the copy reports progress along the way (1 GiB volume).
const WRITES: [number, Buffer][] = [[0, payload('first', 2 * SECTOR)], [300 * MIB + 5000, payload('middle', 10)], [700 * MIB, payload('last', SECTOR)]];

beforeAll(async () => {
  h = makeHome('ebsim-snapshots-');
  alice = h.app.as('Alice');
  const vol = h.app.ec2().createVolume(alice, { Size: 1, Encrypted: true }) as { VolumeId: string; KmsKeyId: string };
  volumeId = vol.VolumeId;
  volumeKey = vol.KmsKeyId;
  await writeThroughHost(h, alice, volumeId, runInstance(h, alice), WRITES);
  volumeBlob = h.app.ec2().volume(volumeId).encryptedDataKey!;
});
afterAll(() => h.cleanup());

describe('CreateSnapshot of an encrypted volume', () => {
  let snapshotId: string;
  let response: Record<string, unknown>;
  let seenWhileCopying: Record<string, unknown> | undefined;

  it('is one CreateSnapshot record: no KMS call, no new data key', () => {
    const progress: CallContext['progress'] = (p) => {
      if (seenWhileCopying || p.done === 0 || p.done >= p.total) return;
      // Another process's view while the copy runs: its own connection to the home.
      const other = openEbsim(h.dir);
      try {
        seenWhileCopying = (other.ec2().describeSnapshots(other.as('Alice'), [p.resourceId]).Snapshots as Record<string, unknown>[])[0];
      } finally {
        other.close();
      }
    };
    const recs = recordsDuring(h, () => (response = h.app.ec2().createSnapshot({ ...alice, progress }, { VolumeId: volumeId, Description: 'before the upgrade' })));
    snapshotId = response.SnapshotId as string;
    expect(brief(recs.filter((r) => r.eventName !== 'DescribeSnapshots'))).toEqual([['CreateSnapshot', 'Alice', 'ok']]);
    expect(recs[0]).toMatchObject({
      requestParameters: { volumeId, description: 'before the upgrade' },
      responseElements: { snapshotId, volumeId, status: 'pending', progress: '', volumeSize: 1, encrypted: true },
    });
  });

  it('answers pending with an empty Progress, as the AWS CLI example shows', () => {
    expect(response).toMatchObject({ SnapshotId: snapshotId, State: 'pending', Progress: '', VolumeId: volumeId, Encrypted: true, KmsKeyId: volumeKey, VolumeSize: 1 });
  });

  it('is pending with a percentage Progress while its image is copied, seen from another connection', () => {
    expect(seenWhileCopying).toBeDefined();
    expect(seenWhileCopying).toMatchObject({ SnapshotId: snapshotId, State: 'pending' });
    expect(seenWhileCopying!.Progress).toMatch(/^(\d|[1-9]\d)%$/);
  });

  it('is completed at 100% once copied, under the volume\'s KMS key', () => {
    const [s] = h.app.ec2().describeSnapshots(alice, [snapshotId]).Snapshots as Record<string, unknown>[];
    expect(s).toMatchObject({ State: 'completed', Progress: '100%', KmsKeyId: volumeKey, Encrypted: true, VolumeId: volumeId, Description: 'before the upgrade' });
  });

  it('holds the volume\'s encrypted data key itself, bound to the volume\'s ID (not the snapshot\'s)', () => {
    const snap = h.app.ec2().snapshot(snapshotId);
    expect(Buffer.from(snap.encryptedDataKey!).equals(volumeBlob)).toBe(true);
    expect(snap.contextId).toBe(volumeId);
    const viaEc2 = onBehalfOf(alice, 'ec2'); // alias/aws/ebs's policy allows its use through EC2 only
    const key = plaintextKey(h, viaEc2, snap.encryptedDataKey!, volumeId);
    expect(key.length).toBe(64);
    expect(errorCode(() => plaintextKey(h, viaEc2, snap.encryptedDataKey!, snapshotId))).toBe('InvalidCiphertextException');
  });

  it('is a sparse copy of the volume\'s image: the same ciphertext in the written sectors, holes still holes', () => {
    const volImage = h.app.ec2().imagePath(volumeId);
    const snapImage = h.app.ec2().imagePath(snapshotId);
    const written = writtenSectors(volImage);
    expect(written).toEqual([0, 1, (300 * MIB + 5000 - 904) / SECTOR, (700 * MIB) / SECTOR]);
    expect(writtenSectors(snapImage)).toEqual(written);
    for (const s of written) expect(readSector(snapImage, s).equals(readSector(volImage, s))).toBe(true);
    expect(fs.statSync(snapImage).size).toBe(fs.statSync(volImage).size);
    expect(fs.statSync(snapImage).blocks * 512).toBeLessThanOrEqual(64 * SECTOR);
    // And the data is the volume's: decrypted with the shared key (OpenSSL), sector 0 reads "first".
    const key = plaintextKey(h, onBehalfOf(alice, 'ec2'), volumeBlob, volumeId);
    expect(xtsDecryptSector(key, 0, readSector(snapImage, 0)).subarray(0, 6).toString()).toBe('first ');
    expect(fs.existsSync(`${snapImage}.partial`)).toBe(false);
  });

  it('a snapshot of an unencrypted volume is unencrypted, and its image the volume\'s bytes', async () => {
    const plain = h.app.ec2().createVolume(alice, { Size: 1 }).VolumeId as string;
    await writeThroughHost(h, alice, plain, runInstance(h, alice), [[8192, Buffer.from('in the clear')]]);
    const recs = recordsDuring(h, () => h.app.ec2().createSnapshot(alice, { VolumeId: plain }));
    expect(brief(recs)).toEqual([['CreateSnapshot', 'Alice', 'ok']]);
    const id = recs[0]!.responseElements as { snapshotId: string };
    const s = h.app.ec2().snapshot(id.snapshotId);
    expect(s).toMatchObject({ encrypted: false, kmsKeyArn: null, state: 'completed' });
    expect(readSector(h.app.ec2().imagePath(id.snapshotId), 2).subarray(0, 12).toString()).toBe('in the clear');
  });
});
