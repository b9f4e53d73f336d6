// The host's mounts on a real FUSE block device, loop device and ext4 (root, /dev/fuse, losetup):
// mount decrypts the data key as the instance's role, the file system keeps its files across
// unmount and mount, and a mount and in-process access never have one image open at once.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { allRecords } from '../../src/trail/index.js';
import { VolumeBusyError } from '../../src/device/errors.js';
import { describeRealMount, realMountHome } from '../device/real-mount.js';

describeRealMount('the host mounts volumes', () => {
  const s = realMountHome('ebsim-host-mount-');

  function launch(): { instanceId: string; volumeId: string } {
    const run = s.home.app.ec2().runInstances(s.alice, { ImageId: 'ami-12345678', InstanceType: 't3.micro' });
    const instanceId = (run.Instances as { InstanceId: string }[])[0]!.InstanceId;
    const volumeId = s.home.app.ec2().createVolume(s.alice, { Size: 1, Encrypted: true }).VolumeId as string;
    return { instanceId, volumeId };
  }

  it('attaches, decrypts as the instance\'s role, mounts ext4, and keeps files across unmount and mount', async () => {
    const { instanceId, volumeId } = launch();
    const host = s.home.app.host();
    const mnt = path.join(s.home.dir, 'mnt');
    const m = await host.mount(s.alice, { volumeId, instanceId, mountpoint: mnt, format: 'ext4' });
    expect(m).toEqual(expect.objectContaining({ volumeId, instanceId, mountpoint: mnt, fsType: 'ext4', stage: 'ready' }));
    expect(host.volume(volumeId).device).toBe('/dev/sdf');
    s.home.app.trail.flush();
    const decrypt = allRecords(s.home.app.db).filter((r) => r.eventName === 'Decrypt').at(-1)!;
    expect(decrypt.userIdentity.arn).toBe(`arn:aws:sts::123456789012:assumed-role/aws:ec2-infrastructure/${instanceId}`);

    fs.writeFileSync(path.join(mnt, 'note.txt'), 'kept across mounts\n');
    const { volumes } = await host.status();
    expect(volumes).toEqual([expect.objectContaining({ volumeId, healthy: true })]);
    await host.unmount(volumeId);
    expect((await host.status()).volumes).toEqual([]);
    expect(fs.readFileSync(host.imagePath(volumeId)).includes(Buffer.from('kept across mounts'))).toBe(false);

    await host.mount(s.alice, { volumeId, mountpoint: mnt, format: 'none' });
    expect(fs.readFileSync(path.join(mnt, 'note.txt'), 'utf8')).toBe('kept across mounts\n');
    await host.unmount(volumeId);
  }, 120_000);

  it('refuses in-process access while mounted, and a mount while in-process access has the image', async () => {
    const { instanceId, volumeId } = launch();
    const host = s.home.app.host();
    const mnt = path.join(s.home.dir, 'mnt-2');
    await host.mount(s.alice, { volumeId, instanceId, mountpoint: mnt, format: 'ext4' });
    const refused = await host.write(s.alice, volumeId, 0, Buffer.from('x')).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(VolumeBusyError);
    expect((refused as Error).message).toMatch(new RegExp(`${volumeId} is mounted \\(pid \\d+, its device daemon\\); unmount it first`));
    await host.unmount(volumeId);

    const during = await host.withDevice(s.alice, volumeId, undefined, () => host.mount(s.alice, { volumeId, mountpoint: mnt, format: 'none' }).catch((err: unknown) => err));
    expect(during).toBeInstanceOf(VolumeBusyError);
    expect((await host.status()).volumes).toEqual([]);
  }, 120_000);
});
