// A copy that re-encrypts (CopySnapshot, CreateVolume from a snapshot) killed with SIGKILL half-way
// never passes for a finished one: the child process below stops inside the copy (at its first
// progress report, with the first written sectors copied and the last not), the test checks what
// another process sees then, kills it with -9, and the next EC2 call settles the target as
// `error`, its temporary image removed and no image under its name. A target whose image was
// committed before its maker died is `completed` / `available` (resumable), never lost. The grants
// the dead copy's worker had (one per key, in each key's Region) are noted with the copy before it
// starts, and the settling call retires them as the copy's end would have (RetireGrant, EC2 for
// Alice, in the trail): ListGrants shows none left.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, errorCode, type TestHome } from '../helpers/home.js';
import { assertBuilt, REPO } from '../helpers/cli.js';
import { brief, recordsDuring, runInstance, writeThroughHost, readSector, SECTOR } from '../helpers/ebs.js';
import type { TrailRecord } from '../../src/trail/index.js';
import { INTERRUPTED, writeImageCopy } from '../../src/ec2/image-jobs.js';
import { Ec2Store } from '../../src/ec2/store.js';
import type { CallContext } from '../../src/core/call-context.js';

const MIB = 1 << 20;
const ACCOUNT = '123456789012';
let h: TestHome;
let alice: CallContext;
let snapshotId: string;
let targetKey: string;
const children: ChildProcess[] = [];

// Runs one copy in this child, as Alice, and holds still inside it at its first progress report
// until it is killed: the copy is then part-way, its first sectors written and its last not.
const CHILD = `
import { openEbsim } from ${JSON.stringify(`${REPO}dist/src/app/ebsim.js`)};
const [home, op, source, keyArn] = process.argv.slice(2);
const app = openEbsim(home);
const progress = (p) => {
  if (p.done === 0 || p.done >= p.total) return;
  process.stdout.write('MID ' + p.resourceId + '\\n');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120000);
};
const ctx = { ...app.as('Alice'), progress };
if (op === 'copy') app.ec2().copySnapshot(ctx, { SourceSnapshotId: source, Encrypted: true, KmsKeyId: keyArn });
// From the home's Region to us-west-2, called there, under us-west-2's aws/ebs.
else if (op === 'copy-to-region') app.ec2(undefined, 'us-west-2').copySnapshot({ ...app.as('Alice', undefined, undefined, 'us-west-2'), progress }, { SourceRegion: 'us-east-1', SourceSnapshotId: source });
else app.ec2().createVolume(ctx, { SnapshotId: source, Encrypted: true, KmsKeyId: keyArn });
process.stdout.write('DONE\\n');
`;

/** Starts the child and resolves with the ID of what it is making, once it is inside the copy. */
function startCopy(op: 'copy' | 'copy-to-region' | 'restore'): Promise<{ child: ChildProcess; id: string }> {
  const script = path.join(h.dir, 'copy-child.mjs');
  fs.writeFileSync(script, CHILD);
  const child = spawn(process.execPath, [script, h.dir, op, snapshotId, targetKey], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /MID (\S+)\n/.exec(out);
      if (m) resolve({ child, id: m[1]! });
      if (out.includes('DONE')) reject(new Error('the copy finished before it could be stopped'));
    });
    child.on('exit', (code) => reject(new Error(`child exited (${code}) before the copy: ${err}`)));
  });
}

/** The live grants of `keyArn` to the infrastructure session making `id` (ListGrants, as Alice, in the key's Region). */
function workerGrants(keyArn: string, id: string, region = 'us-east-1'): { GrantId: string; Operations: string[]; RetiringPrincipal: string }[] {
  const ctx = h.app.as('Alice', undefined, undefined, region);
  return h.app.kms(undefined, region).call(ctx, 'ListGrants', { KeyId: keyArn, GranteePrincipal: `${ACCOUNT}:aws:ec2-infrastructure:${id}` }).Grants as never;
}

/** The grants the copy noted (ec2_copy_grants): what a settling call retires. */
function notedGrants(id: string, region = 'us-east-1'): string[] {
  return new Ec2Store(h.app.db, ACCOUNT, region).copyGrantsOf(id).map((g) => g.grantId);
}

/** Checks the RetireGrant records of a settling call: one per grant, EC2 for Alice, each in its key's Region, before the call's own record. */
function expectRetired(recs: TrailRecord[], grants: { grantId: string; keyArn: string; region: string }[], call: string): void {
  expect(brief(recs)).toEqual([...grants.map(() => ['RetireGrant', 'Alice via EC2', 'ok']), [call, 'Alice', 'ok']]);
  grants.forEach((g, i) => {
    expect(recs[i]).toMatchObject({ awsRegion: g.region, additionalEventData: { grantId: g.grantId }, resources: [{ ARN: g.keyArn }], userIdentity: { invokedBy: 'AWS Internal' } });
  });
}

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

beforeAll(async () => {
  assertBuilt();
  h = makeHome('ebsim-crash-');
  alice = h.app.as('Alice');
  targetKey = (h.app.kms().call(alice, 'CreateKey', {}).KeyMetadata as { Arn: string }).Arn;
  const vol = h.app.ec2().createVolume(alice, { Size: 1, Encrypted: true }).VolumeId as string;
  await writeThroughHost(h, alice, vol, runInstance(h, alice), [[0, Buffer.from('first sector')], [900 * MIB, Buffer.from('last sector')]]);
  snapshotId = (h.app.ec2().createSnapshot(alice, { VolumeId: vol }) as { SnapshotId: string }).SnapshotId;
});
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  h.cleanup();
});

describe('a re-encrypting copy killed with SIGKILL', () => {
  it('CopySnapshot: pending while its maker lives (another process leaves it be), error after kill -9, no half image left', async () => {
    const { child, id } = await startCopy('copy');
    const image = h.app.ec2().imagePath(id);
    // Seen from this process while the child holds the copy: pending, the temporary image part-written.
    const [during] = h.app.ec2().describeSnapshots(alice, [id]).Snapshots as Record<string, unknown>[];
    expect(during).toMatchObject({ State: 'pending', Progress: '0%' });
    expect(fs.existsSync(`${image}.partial`)).toBe(true);
    expect(fs.existsSync(image)).toBe(false);
    expect(readSector(`${image}.partial`, 0).equals(Buffer.alloc(SECTOR))).toBe(false);
    expect(readSector(`${image}.partial`, (900 * MIB) / SECTOR).equals(Buffer.alloc(SECTOR))).toBe(true);
    // The worker's grants, one per key, Decrypt only, live and noted with the copy before it started.
    const sourceKey = h.app.ec2().snapshot(snapshotId).kmsKeyArn!;
    const live = [workerGrants(sourceKey, id), workerGrants(targetKey, id)];
    expect(live.map((g) => g.map((x) => x.Operations))).toEqual([[['Decrypt']], [['Decrypt']]]);
    expect(live[0]![0]!.RetiringPrincipal).toBe(`arn:aws:iam::${ACCOUNT}:root`);
    const grants = [{ grantId: live[0]![0]!.GrantId, keyArn: sourceKey, region: 'us-east-1' }, { grantId: live[1]![0]!.GrantId, keyArn: targetKey, region: 'us-east-1' }];
    expect(notedGrants(id)).toEqual(grants.map((g) => g.grantId));

    await kill9(child);
    let settled: Record<string, unknown>[] = [];
    const recs = recordsDuring(h, () => (settled = h.app.ec2().describeSnapshots(alice, [id]).Snapshots as Record<string, unknown>[]));
    expect(settled[0]).toMatchObject({ State: 'error', StateMessage: INTERRUPTED });
    expect(settled[0]!.State).not.toBe('completed');
    expect(fs.existsSync(`${image}.partial`)).toBe(false);
    expect(fs.existsSync(image)).toBe(false);
    expectRetired(recs, grants, 'DescribeSnapshots');
    expect([workerGrants(sourceKey, id), workerGrants(targetKey, id)]).toEqual([[], []]);
    expect(notedGrants(id)).toEqual([]);
    // Settled once: the next call retires nothing more.
    expect(brief(recordsDuring(h, () => h.app.ec2().describeSnapshots(alice, [id])))).toEqual([['DescribeSnapshots', 'Alice', 'ok']]);
  });

  it('CreateVolume from the snapshot under another key: creating while its maker lives, error after kill -9, never attachable', async () => {
    const { child, id } = await startCopy('restore');
    expect(h.app.ec2().describeVolumes(alice, [id]).Volumes).toMatchObject([{ State: 'creating' }]);
    const sourceKey = h.app.ec2().snapshot(snapshotId).kmsKeyArn!;
    const grants = [sourceKey, targetKey].map((keyArn) => ({ grantId: workerGrants(keyArn, id)[0]!.GrantId, keyArn, region: 'us-east-1' }));
    expect(notedGrants(id)).toEqual(grants.map((g) => g.grantId));
    await kill9(child);
    let volumes: unknown;
    const recs = recordsDuring(h, () => (volumes = h.app.ec2().describeVolumes(alice, [id]).Volumes));
    expect(volumes).toMatchObject([{ State: 'error' }]);
    expectRetired(recs, grants, 'DescribeVolumes');
    expect([workerGrants(sourceKey, id), workerGrants(targetKey, id)]).toEqual([[], []]);
    expect(h.app.ec2().volume(id).stateMessage).toBe(INTERRUPTED);
    expect(fs.existsSync(h.app.ec2().imagePath(id))).toBe(false);
    expect(fs.existsSync(`${h.app.ec2().imagePath(id)}.partial`)).toBe(false);
    expect(errorCode(() => h.app.ec2().attachVolume(alice, { VolumeId: id, InstanceId: runInstance(h, alice), Device: '/dev/sdf' }))).toBe('IncorrectState');
  });

  it('CopySnapshot to another Region: pending there while its maker lives (its source not deletable), error there after kill -9', async () => {
    const { child, id } = await startCopy('copy-to-region');
    const west = h.app.as('Alice', undefined, undefined, 'us-west-2');
    const dst = h.app.ec2(undefined, 'us-west-2');
    expect(dst.describeSnapshots(west, [id]).Snapshots).toMatchObject([{ State: 'pending' }]);
    expect(errorCode(() => h.app.ec2().describeSnapshots(alice, [id]))).toBe('InvalidSnapshot.NotFound');
    expect(errorCode(() => h.app.ec2().deleteSnapshot(alice, { SnapshotId: snapshotId }))).toBe('InvalidSnapshot.InUse');
    // A grant in each Region: on the source's key in us-east-1, on us-west-2's aws/ebs there; both noted with the copy.
    const sourceKey = h.app.ec2().snapshot(snapshotId).kmsKeyArn!;
    const westKey = dst.snapshot(id).kmsKeyArn!;
    expect(westKey).toMatch(/^arn:aws:kms:us-west-2:/);
    const grants = [
      { grantId: workerGrants(sourceKey, id)[0]!.GrantId, keyArn: sourceKey, region: 'us-east-1' },
      { grantId: workerGrants(westKey, id, 'us-west-2')[0]!.GrantId, keyArn: westKey, region: 'us-west-2' },
    ];
    expect(notedGrants(id, 'us-west-2')).toEqual(grants.map((g) => g.grantId));
    await kill9(child);
    let settled: Record<string, unknown>[] = [];
    const recs = recordsDuring(h, () => (settled = dst.describeSnapshots(west, [id]).Snapshots as Record<string, unknown>[]));
    expect(settled[0]).toMatchObject({ State: 'error', StateMessage: INTERRUPTED });
    expect(fs.existsSync(dst.imagePath(id))).toBe(false);
    expect(fs.existsSync(`${dst.imagePath(id)}.partial`)).toBe(false);
    // The settling call (in us-west-2) retires the source Region's grant there, and its own Region's.
    expectRetired(recs, grants, 'DescribeSnapshots');
    expect([workerGrants(sourceKey, id), workerGrants(westKey, id, 'us-west-2')]).toEqual([[], []]);
    const retirable = (region: string) =>
      (h.app.kms(undefined, region).call(h.app.as('Alice', undefined, undefined, region), 'ListRetirableGrants', { RetiringPrincipal: `arn:aws:iam::${ACCOUNT}:root` }).Grants as { GranteePrincipal: string }[])
        .filter((g) => g.GranteePrincipal === `${ACCOUNT}:aws:ec2-infrastructure:${id}`);
    expect([retirable('us-east-1'), retirable('us-west-2')]).toEqual([[], []]);
  });

  it('a maker that died after committing its image but before recording it: the next call finds the image whole and completes it', () => {
    // As the child would leave it: the row pending, the image committed under its name, no lock.
    const id = 'snap-0123456789abcdef0';
    const src = h.app.ec2().snapshot(snapshotId);
    new Ec2Store(h.app.db, '123456789012', 'us-east-1').insertSnapshot({ ...src, snapshotId: id, state: 'pending', progress: 40, contextId: id, sourceId: snapshotId, volumeId: 'vol-ffffffff' });
    writeImageCopy(h.app.ec2().imagePath(snapshotId), h.app.ec2().imagePath(id), {});
    const [s] = h.app.ec2().describeSnapshots(alice, [id]).Snapshots as Record<string, unknown>[];
    expect(s).toMatchObject({ State: 'completed', Progress: '100%' });
  });
  it('a delete that died between its row and its image: the next delete removes the orphan image, and no live one nor one the database never knew', () => {
    // As a DeleteVolume / DeleteSnapshot killed after its SQLite commit would leave them.
    const ec2 = h.app.ec2();
    const store = new Ec2Store(h.app.db, ACCOUNT, 'us-east-1');
    const goneVol = ec2.createVolume(alice, { Size: 1, Encrypted: true }).VolumeId as string;
    store.updateVolume(goneVol, { state: 'deleted' });
    const source = ec2.createVolume(alice, { Size: 1 }).VolumeId as string;
    const goneSnap = (ec2.createSnapshot(alice, { VolumeId: source }) as { SnapshotId: string }).SnapshotId;
    store.deleteSnapshot(goneSnap);
    // Images this database never had a row for (a home database restored from an older backup):
    // not known to be deleted, so they stay.
    const unknown = [`${ec2.imagePath('snap-0fedcba987654321f')}.partial`, ec2.imagePath('snap-0fedcba987654321e'), ec2.imagePath('vol-0fedcba987654321d')];
    for (const f of unknown) fs.writeFileSync(f, 'x');
    for (const id of [goneVol, goneSnap]) expect(fs.existsSync(ec2.imagePath(id)), id).toBe(true);
    const keep = ec2.createVolume(alice, { Size: 1 }).VolumeId as string;
    const west = h.app.ec2(undefined, 'us-west-2').createVolume(h.app.as('Alice', undefined, undefined, 'us-west-2'), { Size: 1 }).VolumeId as string;
    const other = ec2.createVolume(alice, { Size: 1 }).VolumeId as string;
    ec2.deleteVolume(alice, { VolumeId: other });
    for (const id of [goneVol, goneSnap, other]) expect(fs.existsSync(ec2.imagePath(id)), id).toBe(false);
    for (const f of unknown) expect(fs.existsSync(f), f).toBe(true);
    // Live images stay: the volume kept, the snapshot of the suite, a volume of another Region.
    for (const id of [keep, source, west, snapshotId]) expect(fs.existsSync(ec2.imagePath(id)), id).toBe(true);
  });

  it('the orphan cleanup after a committed delete never fails it: an orphan it cannot remove is noted on stderr once; no lock file is left per orphan removed', () => {
    const ec2 = h.app.ec2();
    const store = new Ec2Store(h.app.db, ACCOUNT, 'us-east-1');
    // An orphan whose lock cannot be opened (CANTOPEN: a directory stands where its lock file goes).
    const stuck = ec2.createVolume(alice, { Size: 1 }).VolumeId as string;
    store.updateVolume(stuck, { state: 'deleted' });
    fs.rmSync(`${ec2.imagePath(stuck)}.lock`, { force: true }); // the make's
    fs.mkdirSync(`${ec2.imagePath(stuck)}.lock`);
    // An orphan it can remove, whose lock file was there before (a mount took it).
    const gone = ec2.createVolume(alice, { Size: 1 }).VolumeId as string;
    store.updateVolume(gone, { state: 'deleted' });
    expect(fs.existsSync(`${ec2.imagePath(gone)}.lock`)).toBe(true); // the make's
    const writes: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (writes.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      for (let i = 0; i < 2; i++) {
        const v = ec2.createVolume(alice, { Size: 1 }).VolumeId as string;
        expect(() => ec2.deleteVolume(alice, { VolumeId: v })).not.toThrow();
        expect(store.volume(v)?.state).toBe('deleted');
      }
    } finally {
      process.stderr.write = write;
      fs.rmSync(`${ec2.imagePath(stuck)}.lock`, { recursive: true, force: true });
    }
    expect(writes.filter((w) => w.includes('the call itself is done'))).toHaveLength(1);
    expect(fs.existsSync(ec2.imagePath(gone))).toBe(false);
    expect(fs.existsSync(`${ec2.imagePath(gone)}.lock`)).toBe(false);
  });
});
