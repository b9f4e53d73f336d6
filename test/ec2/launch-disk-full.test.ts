// A launch whose volume cannot be made because the home's disk is full (a volume from a snapshot
// whose data does not fit): the call fails saying so, and the launch ends as a failed launch
// does, the instance `terminated` with a Server.InternalError StateReason and its volumes gone
// with it, instead of an instance left `pending` for good with its root volume attached. Real
// tmpfs (root needed).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initHome, openEbsim, type Ebsim } from '../../src/app/ebsim.js';
import { runInstance, writeThroughHost } from '../helpers/ebs.js';

const MIB = 1 << 20;
const root = process.getuid?.() === 0;
let dir = '';
let app: Ebsim | undefined;

beforeAll(() => {
  if (!root) return;
  dir = fs.mkdtempSync(path.join(tmpdir(), 'ebsim-h24-launchfull-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=96m', 'ebsim-h24-launchfull', dir]);
});
afterAll(() => {
  app?.close();
  if (!root) return;
  execFileSync('umount', ['-l', dir]);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!root)('RunInstances on a home whose disk cannot hold the new volume', () => {
  it('fails, and terminates the instance (Server.InternalError) with its volumes instead of leaving it pending', async () => {
    const home = path.join(dir, 'home');
    initHome(home);
    app = openEbsim(home);
    const alice = app.as('Alice');
    const ec2 = app.ec2();
    const vol = ec2.createVolume(alice, { Size: 1, Encrypted: true }).VolumeId as string;
    await writeThroughHost({ app, dir: home, cleanup: () => {} }, alice, vol, runInstance({ app, dir: home, cleanup: () => {} }, alice), [[0, Buffer.alloc(24 * MIB, 7)]]);
    const snap = (ec2.createSnapshot(alice, { VolumeId: vol }) as { SnapshotId: string }).SnapshotId;
    expect((ec2.describeSnapshots(alice, [snap]).Snapshots as { State: string }[])[0]!.State).toBe('completed');
    // Leave 12 MiB: room for the database's writes, not for the snapshot's 24 MiB.
    const st = fs.statfsSync(dir);
    execFileSync('fallocate', ['-l', String(st.bavail * st.bsize - 12 * MIB), path.join(dir, 'filler')]);
    const before = new Set((ec2.describeInstances(alice).Reservations as { Instances: { InstanceId: string }[] }[]).flatMap((r) => r.Instances.map((i) => i.InstanceId)));
    const volumesBefore = new Set((ec2.describeVolumes(alice).Volumes as { VolumeId: string }[]).map((v) => v.VolumeId));

    let thrown: unknown;
    try {
      ec2.runInstances(alice, { ImageId: 'ami-12345678', InstanceType: 't3.micro', BlockDeviceMappings: [{ DeviceName: '/dev/sdg', Ebs: { SnapshotId: snap } }] });
    } catch (err) {
      thrown = err;
    }
    expect((thrown as NodeJS.ErrnoException | undefined)?.code).toBe('ENOSPC');

    const launched = (ec2.describeInstances(alice).Reservations as { Instances: Record<string, any>[] }[]).flatMap((r) => r.Instances).filter((i) => !before.has(i.InstanceId));
    expect(launched).toHaveLength(1);
    expect(launched[0]).toMatchObject({ State: { Name: 'terminated' }, StateReason: { Code: 'Server.InternalError' } });
    // Its volumes went with it: the root volume (DeleteOnTermination) and the one that failed.
    const left = (ec2.describeVolumes(alice).Volumes as { VolumeId: string; State: string }[]).filter((v) => !volumesBefore.has(v.VolumeId) && v.State !== 'deleted');
    expect(left).toEqual([]);
    // And the home still works once there is room again.
    fs.rmSync(path.join(dir, 'filler'));
    const ok = ec2.runInstances(alice, { ImageId: 'ami-12345678', InstanceType: 't3.micro', BlockDeviceMappings: [{ DeviceName: '/dev/sdg', Ebs: { SnapshotId: snap } }] });
    expect((ok.Instances as { State: { Name: string } }[])[0]!.State.Name).toBe('running');
  });
});
