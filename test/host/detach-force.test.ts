// DetachVolume --force with a real mount (root, /dev/fuse, losetup): refused while mounted without
// it; with it the ebsim CLI's host unmounts the volume first (flushed: the file is there at the
// next mount), then EC2 detaches it, recording force.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { errorCode } from '../helpers/home.js';
import { ebsimIn } from '../helpers/cli.js';
import { describeRealMount, realMountHome } from '../device/real-mount.js';
import { allRecords } from '../../src/trail/index.js';

describeRealMount('detach-volume --force of a mounted volume', () => {
  const s = realMountHome('ebsim-host-detach-');

  it('refused while mounted; --force unmounts (flushing), then detaches; the file is there at the next mount', async () => {
    const ec2 = s.home.app.ec2();
    const host = s.home.app.host();
    const instanceId = (ec2.runInstances(s.alice, { ImageId: 'ami-12345678', InstanceType: 't3.micro' }).Instances as { InstanceId: string }[])[0]!.InstanceId;
    const volumeId = ec2.createVolume(s.alice, { Size: 1, Encrypted: true }).VolumeId as string;
    const mnt = path.join(s.home.dir, 'mnt');
    await host.mount(s.alice, { volumeId, instanceId, mountpoint: mnt, format: 'ext4' });
    fs.writeFileSync(path.join(mnt, 'kept.txt'), 'flushed before the detach\n');

    expect(errorCode(() => ec2.detachVolume(s.alice, { VolumeId: volumeId }))).toBe('IncorrectState');
    expect(ec2.volume(volumeId).state).toBe('in-use');

    s.home.app.trail.flush();
    const before = allRecords(s.home.app.db).length;
    const r = await ebsimIn(s.home.dir, ['ec2', 'detach-volume', '--volume-id', volumeId, '--force']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ VolumeId: volumeId, InstanceId: instanceId, State: 'detaching' });
    const recs = allRecords(s.home.app.db).slice(before);
    // The detach, then EC2 retires the instance's grant on the volume (RetireGrant in the KMS guide's shape).
    expect(recs.map((x) => [x.eventName, x.requestParameters])).toEqual([['DetachVolume', { volumeId, force: true }], ['ListGrants', expect.anything()], ['RetireGrant', null]]);
    expect(recs[2]!.additionalEventData).toEqual({ grantId: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect((await host.status()).volumes).toEqual([]);
    expect(ec2.volume(volumeId).state).toBe('available');

    await host.mount(s.alice, { volumeId, instanceId, mountpoint: mnt, format: 'none' });
    expect(fs.readFileSync(path.join(mnt, 'kept.txt'), 'utf8')).toBe('flushed before the detach\n');
    await host.unmount(volumeId);
  }, 180_000);
});
