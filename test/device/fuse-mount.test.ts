import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { SECTOR_SIZE } from '../../src/device/block-device.js';
import { daemonReadPages, fuseInitPreload } from '../../src/device/daemon-client.js';
import { pidAlive, waitFor, which } from '../../src/device/host.js';
import { cleanupStale, mountVolume, openVolumeDevice, unmountVolume, volumeStatus } from '../../src/device/mount.js';
import { opensslSector, prng, xtsKey } from './helpers.js';
import { describeRealMount, leftovers, realMountSandbox, sh } from './real-mount.js';

const MiB = 1 << 20;

describeRealMount('real mounts: FUSE + loop + ext4', () => {
  const box = realMountSandbox('ebsim-mount-');
  let n = 0;
  const vol = (sizeBytes = 64 * MiB) => {
    const volumeId = `vol-${(n++).toString(16).padStart(17, '0')}`;
    return { volumeId, imagePath: path.join(box.root, 'volumes', `${volumeId}.img`), sizeBytes, key: xtsKey(), stateDir: box.stateDir, mountpoint: path.join(box.root, 'mnt', volumeId) };
  };
  const sha = (p: string) => createHash('sha256').update(fs.readFileSync(p)).digest('hex');


  it('mounts ext4, keeps files across unmount and mount, and receives 128 KiB writes', async () => {
    const v = vol();
    const m = await mountVolume({ ...v, format: 'ext4' });
    expect(m.fsType).toBe('ext4');
    expect(m.loopDevice).toMatch(/^\/dev\/loop\d+$/);
    expect(sh('losetup', ['-l', '-n', '-O', 'DIO,LOG-SEC', m.loopDevice!]).trim().split(/\s+/)).toEqual(['1', '4096']);
    const rnd = prng(11);
    const files: Record<string, string> = {};
    for (let i = 0; i < 5; i++) {
      const data = Buffer.alloc(Math.floor(rnd() * 3 * MiB) + 1);
      for (let j = 0; j < data.length; j += 13) data[j] = Math.floor(rnd() * 256);
      const p = path.join(v.mountpoint, `file-${i}.bin`);
      fs.writeFileSync(p, data);
      files[p] = sha(p);
    }
    sh('dd', ['if=/dev/urandom', `of=${v.mountpoint}/big.bin`, 'bs=1M', 'count=8', 'oflag=direct', 'status=none']);
    files[`${v.mountpoint}/big.bin`] = sha(`${v.mountpoint}/big.bin`);
    const [status] = await volumeStatus(box.stateDir);
    expect(status?.healthy).toBe(true);
    // The key reached the daemon over IPC only: not in its argv, environment or the state files.
    for (const f of [`/proc/${m.daemonPid}/cmdline`, `/proc/${m.daemonPid}/environ`, ...fs.readdirSync(box.stateDir).map((f) => path.join(box.stateDir, f)).filter((f) => fs.statSync(f).isFile())]) {
      const text = fs.readFileSync(f);
      for (const form of [v.key, Buffer.from(v.key.toString('hex')), Buffer.from(v.key.toString('base64'))]) expect(text.includes(form)).toBe(false);
    }
    await unmountVolume(v.volumeId, box.stateDir);
    expect(fs.existsSync(path.join(v.mountpoint, 'big.bin'))).toBe(false);
    // The daemon logs its request-size histogram when it stops: writes arrived at 128 KiB.
    const log = fs.readFileSync(path.join(box.stateDir, `${v.volumeId}.log`), 'utf8');
    expect(log).toMatch(/request sizes: writes .*<=128K:\d+/);

    await mountVolume({ ...v, format: 'ext4' });
    for (const [p, h] of Object.entries(files)) expect(sha(p)).toBe(h);
    await unmountVolume(v.volumeId, box.stateDir);
    expect(await volumeStatus(box.stateDir)).toEqual([]);
  });

  it('asks the kernel for asynchronous direct I/O and reads above 128 KiB when ebsim_fuse_init.so is built (FUSE_ASYNC_DIO, FUSE_MAX_PAGES)', async () => {
    const preload = fuseInitPreload();
    const v = vol();
    const m = await mountVolume({ ...v, format: 'ext4' });
    // The preload is in the daemon only while it runs, not in its environment for others.
    const maps = fs.readFileSync(`/proc/${m.daemonPid}/maps`, 'utf8');
    if (preload) expect(maps).toContain(preload);
    sh('fio', ['--name=qd', `--filename=${v.mountpoint}/r.bin`, '--size=16M', '--rw=randrw', '--bs=4k,128k', '--direct=1', '--ioengine=libaio', '--iodepth=16', '--verify=crc32c', '--verify_fatal=1', '--output-format=terse']);
    // Large direct reads, checked against the data written: with max_pages they reach the daemon
    // in requests above 128 KiB.
    sh('fio', ['--name=big', `--filename=${v.mountpoint}/big.bin`, '--size=24M', '--rw=write', '--bs=1M', '--direct=1', '--ioengine=libaio', '--iodepth=4', '--verify=crc32c', '--verify_fatal=1', '--do_verify=1', '--verify_backlog=0', '--output-format=terse']);
    await unmountVolume(v.volumeId, box.stateDir);
    const log = fs.readFileSync(path.join(box.stateDir, `${v.volumeId}.log`), 'utf8');
    const readSizes = /request sizes: writes .* \| reads (.*)/.exec(log)?.[1] ?? '';
    const largeReads = [...readSizes.matchAll(/<=(\d+)K:(\d+)/g)].filter(([, k, n]) => Number(k) > 128 && Number(n) > 0);
    // 256 pages unless EBSIM_FUSE_MAX_PAGES says otherwise or the kernel predates FUSE_MAX_PAGES.
    const pages = daemonReadPages();
    if (preload) {
      expect(log).toContain(`O_DIRECT from the loop device: asynchronous (FUSE_ASYNC_DIO requested by ${preload})`);
      expect(log).toMatch(new RegExp(`ebsim_fuse_init: FUSE_INIT reply \\(protocol 7\\.\\d+\\) sent with FUSE_ASYNC_DIO, flags 0x[0-9a-f]+, max_pages ${pages}\\n`));
      expect(log).toContain(`max_read=${pages * 4096}`);
      if (pages > 32) expect(largeReads.length).toBeGreaterThan(0);
      else expect(largeReads).toEqual([]);
      // fio's verify pass read its 1 MiB blocks back from the page cache: on the JS thread with
      // preadv2, decrypted by the libfuse workers (ebsim_fuse_read.c), and the data checked out.
      const io = /preadv2 reads (\d+) \(decrypted by libfuse workers (\d+)\)/.exec(log);
      expect(Number(io?.[1])).toBeGreaterThan(0);
      expect(Number(io?.[2])).toBeGreaterThan(0);
    } else {
      expect(log).toMatch(/O_DIRECT from the loop device: synchronous/);
      expect(largeReads).toEqual([]);
    }
  });

  it('keeps its FUSE worker threads for the life of the mount when ebsim_fuse_init.so is built (no churn, so no leaked libuv handles)', async () => {
    const preload = fuseInitPreload();
    const v = vol();
    const m = await mountVolume({ ...v, format: 'ext4' });
    const logPath = path.join(box.stateDir, `${v.volumeId}.log`);
    const workers = () =>
      new Set(
        fs.readdirSync(`/proc/${m.daemonPid}/task`).filter((tid) => {
          try {
            return fs.readFileSync(`/proc/${m.daemonPid}/task/${tid}/comm`, 'utf8').startsWith('ebsim-fuse-');
          } catch {
            return false; // a thread that ended between readdir and read
          }
        }),
      );
    const startedPerLog = () => Math.max(0, ...[...fs.readFileSync(logPath, 'utf8').matchAll(/ebsim_fuse_init: FUSE workers now (\d+)/g)].map((x) => Number(x[1])));
    // A burst fills the loop device's queue and drains it; libfuse 2.9's own loop ends every
    // worker beyond ten idle ones after each burst and starts new ones for the next.
    const burst = (i: number) =>
      sh('fio', [`--name=burst${i}`, `--filename=${v.mountpoint}/burst.bin`, '--size=16M', '--rw=randrw', '--bs=4k', '--direct=1', '--ioengine=libaio', '--iodepth=32', '--io_size=8M', '--output-format=terse']);
    burst(0);
    const first = workers();
    if (!preload) {
      expect(first.size).toBe(0); // libfuse's own loop: its threads are not ours
      await unmountVolume(v.volumeId, box.stateDir);
      return;
    }
    // Enough workers that libfuse's rule (end one while more than ten are idle) would have
    // ended some once the burst drained.
    expect(first.size).toBeGreaterThanOrEqual(12);
    for (let i = 1; i <= 3; i++) burst(i);
    const later = workers();
    for (const tid of first) expect(later.has(tid)).toBe(true); // no worker ended
    // And every worker ever started is still there (polled: background I/O such as an ext4
    // journal commit may start one between the two reads).
    await waitFor('the worker count to settle', () => workers().size === startedPerLog(), 2000).catch(() => {});
    expect(workers().size).toBe(startedPerLog());
    expect(workers().size).toBeGreaterThanOrEqual(first.size);
    expect(later.size).toBeLessThanOrEqual(64);
    await unmountVolume(v.volumeId, box.stateDir);
    expect(pidAlive(m.daemonPid!)).toBe(false);
  });

  it('keeps plaintext off the backing image, whose sectors are node:crypto AES-256-XTS', async () => {
    const v = vol();
    await mountVolume({ ...v, format: 'ext4' });
    const marker = 'EBSIM-MARKER-7f3a9c-plaintext-must-not-reach-disk';
    fs.writeFileSync(path.join(v.mountpoint, 'marker.txt'), marker.repeat(5000));
    sh('sync', []);
    await unmountVolume(v.volumeId, box.stateDir);
    const img = fs.readFileSync(v.imagePath);
    expect(img.includes(Buffer.from(marker))).toBe(false);
    // Decrypting every written sector with node:crypto (not src/xts) finds the marker.
    let found = 0;
    let written = 0;
    const zero = Buffer.alloc(SECTOR_SIZE);
    for (let s = 0; s < img.length / SECTOR_SIZE; s++) {
      const c = img.subarray(s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE);
      if (c.equals(zero)) continue;
      written++;
      if (opensslSector(v.key, s, c, true).includes(marker)) found++;
    }
    expect(written).toBeGreaterThan(0);
    expect(found).toBeGreaterThanOrEqual(Math.floor((marker.length * 5000) / SECTOR_SIZE) - 1);
    // The in-process device (ebsim volume read) sees the same file system.
    const dev = openVolumeDevice(v.imagePath, v.sizeBytes, v.key);
    const sb = await dev.read(1024, 1024); // ext4 superblock
    expect(sb.readUInt16LE(0x38)).toBe(0xef53);
    await dev.close();
  });

  it('matches a model under unaligned dd through the FUSE file and direct dd through the loop device', async () => {
    const v = vol(16 * MiB);
    const m = await mountVolume({ ...v, format: 'none', attachOnly: true });
    const model = Buffer.alloc(v.sizeBytes);
    const rnd = prng(5);
    const src = path.join(box.root, 'dd-src.bin');
    for (let i = 0; i < 25; i++) {
      const bs = 1 + Math.floor(rnd() * 9000);
      const count = 1 + Math.floor(rnd() * 4);
      const seek = Math.floor(rnd() * ((v.sizeBytes - bs * count) / bs));
      const data = Buffer.alloc(bs * count);
      for (let j = 0; j < data.length; j += 7) data[j] = Math.floor(rnd() * 256);
      fs.writeFileSync(src, data);
      sh('dd', [`if=${src}`, `of=${m.devicePath}`, `bs=${bs}`, `seek=${seek}`, 'conv=notrunc', 'status=none']);
      data.copy(model, seek * bs);
    }
    // Aligned direct I/O through the loop device, several writers at once.
    const writers = [0, 1, 2, 3].map((k) => {
      const data = Buffer.alloc(256 * 1024, 0x40 + k);
      const f = path.join(box.root, `w${k}.bin`);
      fs.writeFileSync(f, data);
      data.copy(model, (8 + k) * MiB);
      return new Promise<void>((resolve, reject) => {
        const p = spawn('dd', [`if=${f}`, `of=${m.loopDevice}`, 'bs=64K', `seek=${(8 + k) * 16}`, 'oflag=direct', 'conv=notrunc', 'status=none']);
        p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`dd exit ${code}`))));
      });
    });
    await Promise.all(writers);
    const back = path.join(box.root, 'dd-back.bin');
    sh('dd', [`if=${m.loopDevice}`, `of=${back}`, 'bs=1M', 'iflag=direct', 'status=none']);
    expect(fs.readFileSync(back).equals(model)).toBe(true);
    // Unaligned reads through the FUSE file.
    for (let i = 0; i < 10; i++) {
      const bs = 1 + Math.floor(rnd() * 7000);
      const skip = Math.floor(rnd() * (v.sizeBytes / bs - 2));
      sh('dd', [`if=${m.devicePath}`, `of=${back}`, `bs=${bs}`, `skip=${skip}`, 'count=2', 'status=none']);
      expect(fs.readFileSync(back).equals(model.subarray(skip * bs, skip * bs + 2 * bs))).toBe(true);
    }
    // The size is fixed: growing the file fails.
    expect(() => fs.truncateSync(m.devicePath, v.sizeBytes + 4096)).toThrow(/EPERM|EINVAL/);
    await unmountVolume(v.volumeId, box.stateDir);
  });

  it.runIf(which('fio') !== null)('passes fio --verify=crc32c on the mounted ext4', async () => {
    const v = vol(128 * MiB);
    await mountVolume({ ...v, format: 'ext4' });
    const out = sh('fio', [
      '--name=verify', `--directory=${v.mountpoint}`, '--size=24M', '--bs=4k,64k', '--rw=randwrite', '--direct=1',
      '--ioengine=psync', '--numjobs=2', '--verify=crc32c', '--do_verify=1', '--verify_fatal=1', '--output-format=terse',
    ]);
    expect(out).not.toMatch(/verify:.*bad/i);
    await unmountVolume(v.volumeId, box.stateDir);
  });

  it('survives kill -9 of the daemon: cleanup, remount, fsynced data intact, e2fsck clean', async () => {
    const v = vol(128 * MiB);
    const m = await mountVolume({ ...v, format: 'ext4' });
    const safe = path.join(v.mountpoint, 'fsynced.bin');
    sh('dd', ['if=/dev/urandom', `of=${safe}`, 'bs=1M', 'count=6', 'conv=fsync', 'status=none']);
    const want = sha(safe);
    // Writes in flight when the daemon dies: a writer that keeps going until killed (its own
    // process group, so that the kill reaches dd too).
    const loop = `while :; do dd if=/dev/urandom of=${v.mountpoint}/inflight.bin bs=1M count=32 oflag=direct conv=notrunc status=none || exit 1; done`;
    const writer = spawn('bash', ['-c', loop], { detached: true, stdio: 'ignore' });
    const writerExited = new Promise((r) => writer.once('exit', r));
    await new Promise((r) => setTimeout(r, 300));
    process.kill(m.daemonPid!, 'SIGKILL');
    process.kill(-writer.pid!, 'SIGKILL');
    await writerExited;
    await waitFor('the daemon to die', () => !pidAlive(m.daemonPid!));

    const [st] = await volumeStatus(box.stateDir);
    expect(st?.healthy).toBe(false);
    expect(st?.daemonAlive).toBe(false);
    expect(await cleanupStale(box.stateDir)).toContain(v.volumeId);
    expect(leftovers(box.root)).toEqual([]);

    await mountVolume({ ...v, format: 'ext4' }); // ext4 replays its journal
    expect(sha(safe)).toBe(want);
    await unmountVolume(v.volumeId, box.stateDir);
    const raw = await mountVolume({ ...v, format: 'none', attachOnly: true });
    sh('e2fsck', ['-fn', raw.loopDevice!]); // throws on a non-zero exit (errors found)
    await unmountVolume(v.volumeId, box.stateDir);
  });
});
