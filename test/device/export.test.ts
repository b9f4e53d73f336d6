// Export skips holes: the image's data extents (lseek SEEK_DATA/SEEK_HOLE through the addon, or
// a scan) are the only sectors read; the output stays sparse; an 8 GiB volume with a few KiB
// written exports in seconds and bounded memory, measured in a child process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpdir } from 'node:os';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dataExtents } from '../../src/device/data-extents.js';
import { BlockDevice } from '../../src/device/block-device.js';
import { exportVolume } from '../../src/device/export.js';
import { xtsKey } from './helpers.js';
import { loadAddon } from '../../src/xts/addon.js';
import { makeHome, type TestHome } from '../helpers/home.js';
import { assertBuilt, REPO } from '../helpers/cli.js';

const MIB = 1 << 20;
const HAVE_SEEK = typeof (loadAddon().addon as unknown as { seekData?: unknown } | null)?.seekData === 'function';
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(tmpdir(), 'ebsim-h16-export-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function sparseFile(name: string, size: number, writes: [number, Buffer][]): string {
  const file = path.join(dir, name);
  const fd = fs.openSync(file, 'w');
  fs.ftruncateSync(fd, size);
  for (const [off, b] of writes) fs.writeSync(fd, b, 0, b.length, off);
  fs.closeSync(fd);
  return file;
}

function extentsOf(file: string, method?: 'scan'): { extents: [number, number][]; method: string } {
  const fd = fs.openSync(file, 'r');
  try {
    const it = dataExtents(fd, fs.statSync(file).size, { method });
    const extents: [number, number][] = [];
    for (let n = it.next(); ; n = it.next()) {
      if (n.done) return { extents, method: n.value };
      extents.push(n.value);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** The sectors covered by extents, as a set of sector numbers. */
const sectors = (extents: [number, number][]) => new Set(extents.flatMap(([s, e]) => Array.from({ length: (e - s) / 4096 }, (_, i) => s / 4096 + i)));

describe('data extents of a sparse image', () => {
  it.skipIf(!HAVE_SEEK)('SEEK_DATA finds each written sector and skips the holes between them', () => {
    const size = 64 * MIB;
    const file = sparseFile('a.img', size, [[0, randomBytes(100)], [10 * MIB + 5000, randomBytes(9000)], [size - 4096, randomBytes(4096)]]);
    const { extents, method } = extentsOf(file);
    expect(method).toBe('SEEK_DATA');
    const s = sectors(extents);
    for (const sector of [0, (10 * MIB + 5000) >> 12, (10 * MIB + 13999) >> 12, size / 4096 - 1]) expect(s.has(sector), `sector ${sector}`).toBe(true);
    // ext4 and tmpfs allocate in 4 KiB blocks: a few sectors, nowhere near the 16384 of the file.
    expect(s.size).toBeLessThan(64);
    for (const [a, b] of extents) expect(a % 4096 === 0 && b % 4096 === 0 && b > a).toBe(true);
  });

  it('the scan finds the same written sectors (non-zero ones) as SEEK_DATA', () => {
    const size = 16 * MIB;
    const file = sparseFile('b.img', size, [[4096 * 3, randomBytes(4096 * 2)], [7 * MIB, randomBytes(1)], [size - 1, Buffer.from([9])]]);
    const scanned = sectors(extentsOf(file, 'scan').extents);
    expect([...scanned].sort((x, y) => x - y)).toEqual([3, 4, (7 * MIB) / 4096, size / 4096 - 1]);
    if (HAVE_SEEK) for (const s of scanned) expect(sectors(extentsOf(file).extents).has(s)).toBe(true);
  });
});

describe('ebsim volume export of a sparse 8 GiB volume', { timeout: 240_000 }, () => {
  let h: TestHome;
  let volumeId = '';
  const marks: [number, string][] = [[0, 'first sector'], [4 * 1024 ** 3 + 12345, 'in the middle'], [8 * 1024 ** 3 - 4096, 'last sector']];
  beforeAll(async () => {
    assertBuilt();
    h = makeHome('ebsim-h16-export8-');
    const alice = h.app.as('Alice');
    const run = h.app.ec2().runInstances(alice, { ImageId: 'ami-12345678', InstanceType: 't3.micro', BlockDeviceMappings: [{ DeviceName: '/dev/sdb', Ebs: { VolumeSize: 8, Encrypted: true } }] });
    const inst = (run.Instances as Record<string, any>[])[0]!;
    volumeId = (inst.BlockDeviceMappings as { DeviceName: string; Ebs: { VolumeId: string } }[]).find((m) => m.DeviceName === '/dev/sdb')!.Ebs.VolumeId;
    for (const [off, text] of marks) await h.app.host().write(() => alice, volumeId, off, Buffer.from(text));
    h.app.close();
  });
  afterAll(() => h?.cleanup());

  it('reads only the written sectors, writes a sparse file, in seconds and under 200 MB of RSS', () => {
    const out = path.join(dir, 'plain.img');
    // The real CLI in a child process, so its peak RSS is its own.
    const script = `import(${JSON.stringify(path.join(REPO, 'dist/src/cli/main.js'))}).then(async (m) => {
      const code = await m.main(['volume', 'export', ${JSON.stringify(volumeId)}, ${JSON.stringify(out)}, '--home', ${JSON.stringify(h.dir)}]);
      process.stderr.write('MAXRSS_KB ' + process.resourceUsage().maxRSS + '\\n');
      process.exitCode = code;
    });`;
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    const seconds = (Date.now() - t0) / 1000;
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, any>;
    const rssMb = Number(/MAXRSS_KB (\d+)/.exec(r.stderr)![1]) / 1024;
    expect(report).toMatchObject({ VolumeId: volumeId, SizeBytes: 8 * 1024 ** 3 });
    // Three written sectors: a few KiB decrypted, the rest skipped as holes without being read.
    expect(report.BytesDecrypted).toBeLessThanOrEqual(HAVE_SEEK ? 64 * 4096 : 8 * 1024 ** 3);
    expect(report.HoleBytesSkipped).toBeGreaterThan(HAVE_SEEK ? 8 * 1024 ** 3 - 64 * 4096 : 0);
    expect(rssMb).toBeLessThan(200);
    expect(seconds).toBeLessThan(HAVE_SEEK ? 30 : 120);
    const st = fs.statSync(out);
    expect(st.size).toBe(8 * 1024 ** 3);
    expect(st.blocks * 512).toBeLessThan(MIB);
    const fd = fs.openSync(out, 'r');
    try {
      for (const [off, text] of marks) {
        const b = Buffer.alloc(text.length);
        fs.readSync(fd, b, 0, b.length, off);
        expect(b.toString()).toBe(text);
      }
    } finally {
      fs.closeSync(fd);
    }
    console.log(`export 8 GiB: ${seconds.toFixed(1)} s, peak RSS ${rssMb.toFixed(0)} MB, ${report.BytesDecrypted} bytes decrypted (${report.HolesFoundBy})`);
  });
});

// The export's target filling up: write(2) takes what fits and answers a short count; taken for
// the whole, the export "succeeded" with the chunk's tail left a hole (zeros where data was).
// Needs root for the small tmpfs.
describe.skipIf(process.getuid?.() !== 0)('exportVolume onto a file system that fills up', () => {
  it('fails with ENOSPC naming the output, and removes the half-written output', async () => {
    const fsDir = fs.mkdtempSync(path.join(tmpdir(), 'ebsim-h24-exportfull-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'ebsim-h24-exportfull', fsDir]);
    const dev = BlockDevice.open({ imagePath: path.join(dir, 'fills.img'), sizeBytes: 4 * MIB, key: xtsKey() });
    try {
      await dev.write(3 * MIB, randomBytes(MIB)); // one extent of 1 MiB, the last: 256 KiB fit
      const out = path.join(fsDir, 'plain.img');
      const err = await exportVolume(dev, path.join(dir, 'fills.img'), out).then(() => undefined, (e: NodeJS.ErrnoException) => e);
      expect(err?.code).toBe('ENOSPC');
      expect(err?.path).toBe(out); // the CLI says "cannot write OUT: no space left", not "the home is full"
      expect(fs.existsSync(out)).toBe(false);
    } finally {
      await dev.close();
      execFileSync('umount', ['-l', fsDir]);
      fs.rmSync(fsDir, { recursive: true, force: true });
    }
  });
});
