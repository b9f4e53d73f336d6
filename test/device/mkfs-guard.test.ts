// A mount with format 'ext4' formats only a volume that holds nothing: mkfs.ext4 over data would
// destroy it (its superblock backups, group descriptors and journal land all over the device, and
// ext4 then hands the "free" blocks out). The volume below holds data 100 MiB in, none in its
// first MiB and no file system blkid knows (raw data, as `ebsim volume write` leaves it): the
// mount is refused and the data stays; a never-written volume is still formatted.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { mountVolume, openVolumeDevice, unmountVolume } from '../../src/device/mount.js';
import { BLANK_READ_BUDGET } from '../../src/device/blank.js';
import { xtsKey } from './helpers.js';
import { describeRealMount, realMountSandbox } from './real-mount.js';

const MiB = 1 << 20;

describeRealMount('real mounts: mkfs.ext4 only over a volume that holds nothing', () => {
  const box = realMountSandbox('ebsim-h24-mkfs-');

  const vol = (volumeId: string) => ({ volumeId, imagePath: path.join(box.root, 'volumes', `${volumeId}.img`), sizeBytes: 256 * MiB, key: xtsKey(), stateDir: box.stateDir, mountpoint: path.join(box.root, 'mnt', volumeId) });

  it('refuses to format a volume holding raw data past its first MiB, and leaves the data as it was', { timeout: 120_000 }, async () => {
    const v = vol('vol-00000000000h24mk1');
    fs.mkdirSync(path.dirname(v.imagePath), { recursive: true });
    const data = randomBytes(64 * 1024);
    const dev = openVolumeDevice(v.imagePath, v.sizeBytes, v.key, { create: true });
    await dev.write(100 * MiB, data);
    await dev.close();
    const err = await mountVolume({ ...v, format: 'ext4' }).then(() => undefined, (e: Error & { userError?: boolean }) => e);
    expect(err?.message).toMatch(/holds data but no file system that blkid recognises; refusing to mkfs.ext4 over it/);
    expect(err?.userError).toBe(true); // one sentence in the CLI, no stack trace
    const back = openVolumeDevice(v.imagePath, v.sizeBytes, v.key);
    try {
      expect((await back.read(100 * MiB, data.length)).equals(data)).toBe(true);
    } finally {
      await back.close();
    }
  });

  // A prefilled volume reads zeros everywhere, but every sector is written: checking it would read
  // the whole volume (hours at 16 TiB), so written sectors past a budget count as data.
  it('refuses a volume with more written sectors than the check reads (prefilled), naming the way out', { timeout: 120_000 }, async () => {
    const v = vol('vol-00000000000h25mk3');
    fs.mkdirSync(path.dirname(v.imagePath), { recursive: true });
    const dev = openVolumeDevice(v.imagePath, v.sizeBytes, v.key, { create: true });
    await dev.write(MiB, Buffer.alloc(BLANK_READ_BUDGET + MiB)); // encrypted zeros
    await dev.close();
    const err = await mountVolume({ ...v, format: 'ext4' }).then(() => undefined, (e: Error & { userError?: boolean }) => e);
    expect(err?.message).toMatch(/refusing to mkfs.ext4 over it .*--format none.*formatted by hand/);
  });

  it('still formats a never-written volume', { timeout: 120_000 }, async () => {
    const v = vol('vol-00000000000h24mk2');
    const m = await mountVolume({ ...v, format: 'ext4' });
    expect(m.fsType).toBe('ext4');
    await unmountVolume(v.volumeId, box.stateDir);
  });
});
