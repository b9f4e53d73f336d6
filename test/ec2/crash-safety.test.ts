// A copy that re-encrypts (CopySnapshot, CreateVolume from a snapshot) killed with SIGKILL half-way
// never passes for a finished one: the child process below stops inside the copy (at its first
// progress report, with the first written sectors copied and the last not), the test checks what
// another process sees then, kills it with -9, and the next EC2 call settles the target as
// `error`, its temporary image removed and no image under its name. A target whose image was
// committed before its maker died is `completed` / `available` (resumable), never lost.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, errorCode, type TestHome } from '../helpers/home.js';
import { assertBuilt, REPO } from '../helpers/cli.js';
import { runInstance, writeThroughHost, readSector, SECTOR } from '../helpers/ebs.js';
import { INTERRUPTED, writeImageCopy } from '../../src/ec2/image-jobs.js';
import { Ec2Store } from '../../src/ec2/store.js';
import type { CallContext } from '../../src/core/call-context.js';

const MIB = 1 << 20;
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

    await kill9(child);
    const [after] = h.app.ec2().describeSnapshots(alice, [id]).Snapshots as Record<string, unknown>[];
    expect(after).toMatchObject({ State: 'error', StateMessage: INTERRUPTED });
    expect(after!.State).not.toBe('completed');
    expect(fs.existsSync(`${image}.partial`)).toBe(false);
    expect(fs.existsSync(image)).toBe(false);
  });

  it('CreateVolume from the snapshot under another key: creating while its maker lives, error after kill -9, never attachable', async () => {
    const { child, id } = await startCopy('restore');
    expect(h.app.ec2().describeVolumes(alice, [id]).Volumes).toMatchObject([{ State: 'creating' }]);
    await kill9(child);
    expect(h.app.ec2().describeVolumes(alice, [id]).Volumes).toMatchObject([{ State: 'error' }]);
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
    await kill9(child);
    const [after] = dst.describeSnapshots(west, [id]).Snapshots as Record<string, unknown>[];
    expect(after).toMatchObject({ State: 'error', StateMessage: INTERRUPTED });
    expect(fs.existsSync(dst.imagePath(id))).toBe(false);
    expect(fs.existsSync(`${dst.imagePath(id)}.partial`)).toBe(false);
    // Settling makes no KMS call: the worker's grants, one in each Region, stay live (docs/known-differences.md).
    const grants = (region: string) =>
      (h.app.kms(undefined, region).call(h.app.as('Alice', undefined, undefined, region), 'ListRetirableGrants', { RetiringPrincipal: 'arn:aws:iam::123456789012:root' }).Grants as { GranteePrincipal: string }[])
        .filter((g) => g.GranteePrincipal === `123456789012:aws:ec2-infrastructure:${id}`);
    expect([grants('us-east-1').length, grants('us-west-2').length]).toEqual([1, 1]);
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
});
