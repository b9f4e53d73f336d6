// What the block device promises a writer whose daemon is killed: every write the kernel
// acknowledged (O_DIRECT on the loop device, no fsync: the daemon answers after its pwrite, so the
// ciphertext is in the host's page cache) is there after kill -9, and no sector is torn (half one
// write, half another, or half a hole: an XTS sector mixed that way decrypts to noise). Three
// writers on disjoint regions keep several requests in flight when the daemon dies; each writes
// round after round over its region, every 4 KiB sector holding one 16-byte header (round,
// sector) repeated, and prints each write once the kernel has acknowledged it.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { SECTOR_SIZE } from '../../src/device/block-device.js';
import { pidAlive, waitFor } from '../../src/device/host.js';
import { cleanupStale, mountVolume, openVolumeDevice } from '../../src/device/mount.js';
import { xtsKey } from './helpers.js';
import { describeRealMount, realMountSandbox, tearDownAll } from './real-mount.js';

const MiB = 1 << 20;
const REGION_SECTORS = 2048; // 8 MiB per writer
const WRITE_SECTORS = 16; // 64 KiB per write

// argv: device, first sector, sectors, sectors per write. One line "round first count" per acknowledged write.
const WRITER = `
import mmap, os, struct, sys
dev, first, n, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
fd = os.open(dev, os.O_WRONLY | os.O_DIRECT)
buf = mmap.mmap(-1, per * 4096)  # page-aligned, as O_DIRECT needs
r = 0
while True:
    r += 1
    for s0 in range(first, first + n, per):
        for i in range(per):
            buf[i * 4096:(i + 1) * 4096] = struct.pack('<QQ', r, s0 + i) * 256
        os.pwrite(fd, buf, s0 * 4096)
        sys.stdout.write('%d %d %d\\n' % (r, s0, per))
        sys.stdout.flush()
`;

describeRealMount('real mounts: acknowledged writes and kill -9 of the daemon', () => {
  const box = realMountSandbox('ebsim-h24-ack-');
  const writers: ChildProcess[] = [];

  afterEach(async () => {
    for (const w of writers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await tearDownAll(box.stateDir);
  });

  it('keeps every acknowledged O_DIRECT write, and tears no sector, when the daemon dies mid-stream', { timeout: 120_000 }, async () => {
    const volumeId = 'vol-0000000000000h24a';
    const v = { volumeId, imagePath: path.join(box.root, 'volumes', `${volumeId}.img`), sizeBytes: 32 * MiB, key: xtsKey(), stateDir: box.stateDir, mountpoint: path.join(box.root, 'mnt', volumeId) };
    const m = await mountVolume({ ...v, format: 'none', attachOnly: true });
    const script = path.join(box.root, 'writer.py');
    fs.writeFileSync(script, WRITER);
    // Highest acknowledged round per sector.
    const acked = new Map<number, number>();
    const exits: Promise<unknown>[] = [];
    for (let w = 0; w < 3; w++) {
      const child = spawn('python3', [script, m.loopDevice!, String(w * REGION_SECTORS), String(REGION_SECTORS), String(WRITE_SECTORS)], { stdio: ['ignore', 'pipe', 'ignore'] });
      writers.push(child);
      exits.push(new Promise((r) => child.once('exit', r)));
      let rest = '';
      child.stdout!.on('data', (d: Buffer) => {
        const lines = (rest + d.toString()).split('\n');
        rest = lines.pop()!;
        for (const line of lines) {
          const [r, s0, count] = line.split(' ').map(Number) as [number, number, number];
          for (let s = s0; s < s0 + count; s++) acked.set(s, Math.max(acked.get(s) ?? 0, r));
        }
      });
    }
    // Let them run past their first round, so that old and new writes overlap.
    await waitFor('the writers to start a second round', () => [...acked.values()].some((r) => r >= 2), 60_000);
    process.kill(m.daemonPid!, 'SIGKILL');
    await waitFor('the daemon to die', () => !pidAlive(m.daemonPid!));
    // Each was writing when the daemon died: its next write fails (EIO/ENOTCONN) and it exits 1.
    expect(await Promise.all(exits)).toEqual([1, 1, 1]);
    expect(acked.size).toBeGreaterThan(0);
    expect(await cleanupStale(box.stateDir)).toContain(volumeId);

    const dev = openVolumeDevice(v.imagePath, v.sizeBytes, v.key);
    try {
      const problems: string[] = [];
      const data = await dev.read(0, 3 * REGION_SECTORS * SECTOR_SIZE);
      for (let s = 0; s < 3 * REGION_SECTORS; s++) {
        const sector = data.subarray(s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE);
        const want = acked.get(s) ?? 0;
        if (sector.every((b) => b === 0)) {
          if (want > 0) problems.push(`sector ${s}: never written, but round ${want} was acknowledged`);
          continue;
        }
        const round = Number(sector.readBigUInt64LE(0));
        const whole = sector.equals(Buffer.alloc(SECTOR_SIZE, sector.subarray(0, 16)));
        if (!whole || Number(sector.readBigUInt64LE(8)) !== s) problems.push(`sector ${s}: torn or foreign (${sector.subarray(0, 32).toString('hex')}…)`);
        else if (round < want) problems.push(`sector ${s}: round ${round}, but round ${want} was acknowledged`);
      }
      expect(problems.slice(0, 10)).toEqual([]);
    } finally {
      await dev.close();
    }
  });
});
