// Stop and start with a real mount (root, /dev/fuse, losetup): a mounted volume keeps its
// instance from stopping unless --force, which unmounts it first (the device daemon, and its copy
// of the data key, are gone); a reboot leaves the mount serving with no KMS call; after a start
// the file system is there again, its key decrypted anew as the instance's role.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { errorCode } from '../helpers/home.js';
import { ebsimIn } from '../helpers/cli.js';
import { allRecords, type TrailRecord } from '../../src/trail/index.js';
import { describeRealMount, realMountHome } from '../device/real-mount.js';

describeRealMount('stop and start an instance whose volume is mounted', () => {
  const s = realMountHome('ebsim-host-stop-');

  function recordsDuring<T>(fn: () => Promise<T>): Promise<{ value: T; recs: TrailRecord[] }> {
    s.home.app.trail.flush();
    const before = allRecords(s.home.app.db).length;
    return fn().then((value) => {
      s.home.app.trail.flush();
      return { value, recs: allRecords(s.home.app.db).slice(before) };
    });
  }
  const state = (instanceId: string) => s.home.app.ec2().instance(instanceId).state;

  it('refused while mounted; --force unmounts, stops, and retires the grant; start and mount again find the file; reboot makes no KMS call', async () => {
    const ec2 = s.home.app.ec2();
    const host = s.home.app.host();
    const instanceId = (ec2.runInstances(s.alice, { ImageId: 'ami-12345678', InstanceType: 't3.micro' }).Instances as { InstanceId: string }[])[0]!.InstanceId;
    const volumeId = ec2.createVolume(s.alice, { Size: 1, Encrypted: true }).VolumeId as string;
    const mnt = path.join(s.home.dir, 'mnt');
    const m = await host.mount(s.alice, { volumeId, instanceId, mountpoint: mnt, format: 'ext4' });
    fs.writeFileSync(path.join(mnt, 'kept.txt'), 'survives stop and start\n');

    // A reboot: the daemon keeps serving with the key it has; no KMS call.
    const reboot = await recordsDuring(async () => ec2.rebootInstances(s.alice, [instanceId]));
    expect(reboot.recs.map((r) => r.eventName)).toEqual(['RebootInstances']);
    expect((await host.status()).volumes).toEqual([expect.objectContaining({ volumeId, healthy: true, daemonPids: [m.daemonPid] })]);

    // Without --force: refused, the mount untouched.
    expect(errorCode(() => ec2.stopInstances(s.alice, { InstanceIds: [instanceId] }))).toBe('IncorrectInstanceState');
    expect(state(instanceId)).toBe('running');
    expect((await host.status()).volumes).toEqual([expect.objectContaining({ volumeId, healthy: true })]);

    // --force through the CLI: the host unmounts first, then EC2 finishes the stop.
    const forced = await recordsDuring(() => ebsimIn(s.home.dir, ['ec2', 'stop-instances', '--instance-ids', instanceId, '--force']));
    expect(forced.value.code, forced.value.stderr).toBe(0);
    expect(forced.value.json()).toEqual({ StoppingInstances: [{ InstanceId: instanceId, CurrentState: { Code: 64, Name: 'stopping' }, PreviousState: { Code: 16, Name: 'running' } }] });
    expect(forced.recs.map((r) => r.eventName)).toEqual(['StopInstances', 'ListGrants', 'RetireGrant']);
    expect(forced.recs[0]!.requestParameters).toEqual({ instancesSet: { items: [{ instanceId }] }, force: true });
    expect((await host.status()).volumes).toEqual([]);
    expect(fs.existsSync(path.join(mnt, 'kept.txt'))).toBe(false);
    expect(state(instanceId)).toBe('stopped');
    await expect(host.mount(s.alice, { volumeId, mountpoint: mnt, format: 'none' })).rejects.toThrow(`which is stopped`);

    // Start: a new grant and the role's Decrypt; the file system is intact.
    const start = await recordsDuring(async () => ec2.startInstances(s.alice, [instanceId]));
    expect(start.recs.map((r) => r.eventName)).toEqual(['StartInstances', 'CreateGrant', 'Decrypt']);
    await host.mount(s.alice, { volumeId, mountpoint: mnt, format: 'none' });
    expect(fs.readFileSync(path.join(mnt, 'kept.txt'), 'utf8')).toBe('survives stop and start\n');
    await host.unmount(volumeId);
  }, 180_000);
});
