// A 16 TiB volume (EBS gp3's largest, 16384 GiB) for real: created, mounted through FUSE, a loop
// device and ext4, written at its last sector, unmounted, read back in process, snapshotted and exported,
// with nothing proportional to its size in time, memory or disk. The home is on a tmpfs of its
// own: ext4 (this machine's /tmp) holds files up to 16 TiB - 4 KiB, one block short (see
// test/ec2/failed-calls.test.ts for the refusal there).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { initHome, openEbsim, type Ebsim } from '../../src/app/ebsim.js';
import type { CallContext } from '../../src/core/call-context.js';
import { describeRealMount, leftovers, tearDownAll } from '../device/real-mount.js';

const GIB = 1024 ** 3;
const SIZE_GIB = 16384;
const SIZE = SIZE_GIB * GIB;
const SECTOR = 4096;
const LAST = SIZE / SECTOR - 1; // 2^32 - 1
const allocated = (p: string) => fs.statSync(p).blocks * 512;

/** VmRSS of a process in bytes. */
function rss(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

describeRealMount('a 16 TiB volume', () => {
  let root: string;
  let home: string;
  let app: Ebsim;
  let alice: CallContext;

  beforeAll(() => {
    root = fs.mkdtempSync('/tmp/ebsim-huge-');
    // A tmpfs of its own: holds sparse files of any size, and is gone with its unmount.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2g,mode=0700', 'ebsim-huge-test', root]);
    home = path.join(root, 'home');
    initHome(home);
    app = openEbsim(home);
    alice = app.as('Alice');
  });
  afterAll(async () => {
    try {
      if (app) {
        await tearDownAll(app.paths.run);
        const left = leftovers(home);
        app.close();
        expect(left).toEqual([]);
      }
    } finally {
      execFileSync('umount', ['-l', root]);
      fs.rmdirSync(root);
    }
  });

  it('is created, mounted (ext4, lazy init), written at its last sector, read back, snapshotted and exported, sparse throughout', async () => {
    const ec2 = app.ec2();
    const host = app.host();
    const instanceId = (ec2.runInstances(alice, { ImageId: 'ami-12345678', InstanceType: 't3.micro' }).Instances as { InstanceId: string }[])[0]!.InstanceId;

    // Create: a sparse image of the full size, nothing allocated.
    const vol = ec2.createVolume(alice, { Size: SIZE_GIB, Encrypted: true, VolumeType: 'gp3' }) as { VolumeId: string; Size: number; State: string };
    expect(vol).toMatchObject({ Size: SIZE_GIB });
    const image = host.imagePath(vol.VolumeId);
    expect(fs.statSync(image).size).toBe(SIZE);
    expect(allocated(image)).toBe(0);

    // Mount: FUSE file of 16 TiB, loop device, mkfs.ext4 with the tables assumed zeroed.
    const mnt = path.join(home, 'mnt');
    const t0 = performance.now();
    await host.mount(alice, { volumeId: vol.VolumeId, instanceId, mountpoint: mnt, format: 'ext4' });
    const mountMs = performance.now() - t0;
    const st = fs.statfsSync(mnt);
    expect(st.blocks * st.bsize).toBeGreaterThan(0.99 * SIZE); // ext4 reports its size less its own metadata
    const status = (await host.status()).volumes.find((v) => v.volumeId === vol.VolumeId)!;
    expect(status.healthy).toBe(true);
    const loop = status.state.loopDevice!;
    expect(Number(execFileSync('blockdev', ['--getsize64', loop], { encoding: 'utf8' }).trim())).toBe(SIZE);
    // mkfs wrote ext4's own metadata (group descriptors and their backups: ~250 MB for 16 TiB),
    // not the 64 GiB of inode tables nor a zeroed journal.
    const afterMkfs = allocated(image);
    expect(afterMkfs).toBeLessThan(512 * 1024 ** 2);

    // A file in ext4, then the device's very last sector, through the loop device (O_DIRECT).
    fs.writeFileSync(path.join(mnt, 'note.txt'), 'on a 16 TiB volume\n');
    const pattern = path.join(root, 'pattern');
    const plain = randomBytes(SECTOR);
    fs.writeFileSync(pattern, plain);
    execFileSync('dd', [`if=${pattern}`, `of=${loop}`, 'bs=4096', `seek=${LAST}`, 'count=1', 'oflag=direct', 'conv=notrunc', 'status=none']);
    const back = path.join(root, 'back');
    execFileSync('dd', [`if=${loop}`, `of=${back}`, 'bs=4096', `skip=${LAST}`, 'count=1', 'iflag=direct', 'status=none']);
    expect(fs.readFileSync(back).equals(plain)).toBe(true);
    // The daemon maps the whole image but holds only what was touched.
    expect(rss(status.state.daemonPid!)).toBeLessThan(512 * 1024 ** 2);
    await host.unmount(vol.VolumeId);

    // On disk: the last sector is ciphertext at the image's last 4 KiB, and in process it decrypts to what was written.
    const fd = fs.openSync(image, 'r');
    const onDisk = Buffer.alloc(SECTOR);
    fs.readSync(fd, onDisk, 0, SECTOR, SIZE - SECTOR);
    fs.closeSync(fd);
    expect(onDisk.equals(plain)).toBe(false);
    expect(onDisk.equals(Buffer.alloc(SECTOR))).toBe(false);
    expect((await host.read(alice, vol.VolumeId, SIZE - SECTOR, SECTOR)).equals(plain)).toBe(true);
    expect(allocated(image)).toBeLessThan(afterMkfs + 64 * 1024 ** 2);

    // Mounted again, the file system is intact and 16 TiB.
    await host.mount(alice, { volumeId: vol.VolumeId, mountpoint: mnt, format: 'none' });
    expect(fs.readFileSync(path.join(mnt, 'note.txt'), 'utf8')).toBe('on a 16 TiB volume\n');
    await host.unmount(vol.VolumeId);

    // Snapshot: a copy of the data extents only (lseek SEEK_DATA), so seconds, not the hours 16 TiB of holes would take.
    const t1 = performance.now();
    const snap = ec2.createSnapshot(alice, { VolumeId: vol.VolumeId }) as { SnapshotId: string };
    const snapMs = performance.now() - t1;
    const snapState = (ec2.describeSnapshots(alice, [snap.SnapshotId]).Snapshots as { State: string; VolumeSize: number }[])[0]!;
    expect(snapState).toMatchObject({ State: 'completed', VolumeSize: SIZE_GIB });
    const snapImage = host.imagePath(snap.SnapshotId);
    expect(fs.statSync(snapImage).size).toBe(SIZE);
    expect(allocated(snapImage)).toBeLessThanOrEqual(allocated(image));
    const sfd = fs.openSync(snapImage, 'r');
    const snapLast = Buffer.alloc(SECTOR);
    fs.readSync(sfd, snapLast, 0, SECTOR, SIZE - SECTOR);
    fs.closeSync(sfd);
    expect(snapLast.equals(onDisk)).toBe(true);

    // Generous bounds: a scan of 16 TiB would take hours; these take seconds.
    expect(mountMs).toBeLessThan(180_000);
    expect(snapMs).toBeLessThan(120_000);

    // Export: the written extents only (lseek SEEK_DATA), decrypted into an output as sparse as the image.
    const out = path.join(root, 'export.img');
    const t2 = performance.now();
    const exported = await host.export(alice, vol.VolumeId, out);
    const exportMs = performance.now() - t2;
    expect(exported.method).toBe('SEEK_DATA');
    expect(exported.bytesSkipped).toBeGreaterThan(SIZE - GIB);
    expect(fs.statSync(out).size).toBe(SIZE);
    expect(allocated(out)).toBeLessThanOrEqual(allocated(image));
    const ofd = fs.openSync(out, 'r');
    const outLast = Buffer.alloc(SECTOR);
    fs.readSync(ofd, outLast, 0, SECTOR, SIZE - SECTOR);
    fs.closeSync(ofd);
    expect(outLast.equals(plain)).toBe(true);
    expect(exportMs).toBeLessThan(120_000);
    fs.rmSync(out);

    ec2.deleteSnapshot(alice, { SnapshotId: snap.SnapshotId });
    ec2.detachVolume(alice, { VolumeId: vol.VolumeId });
    ec2.deleteVolume(alice, { VolumeId: vol.VolumeId });
    expect(fs.existsSync(image)).toBe(false);
  }, 600_000);
});
