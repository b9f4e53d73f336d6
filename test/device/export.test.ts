// Export skips holes: the image's data extents (lseek SEEK_DATA/SEEK_HOLE through the addon, or
// a scan) are the only sectors read; the output stays sparse; an 8 GiB volume with a few KiB
// written exports in seconds and bounded memory, measured in a child process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpdir } from 'node:os';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dataExtents } from '../../src/device/data-extents.js';
import { BlockDevice } from '../../src/device/block-device.js';
import { exportVolume } from '../../src/device/export.js';
import { xtsKey, sparseFile as makeSparseFile } from './helpers.js';
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

const sparseFile = (name: string, size: number, writes: [number, Buffer][]): string => makeSparseFile(dir, name, size, writes);

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
      expect(fs.existsSync(`${out}.partial`)).toBe(false);
      // A file the user already had there is left as it was.
      fs.writeFileSync(out, 'the user had this');
      const again = await exportVolume(dev, path.join(dir, 'fills.img'), out).then(() => undefined, (e: NodeJS.ErrnoException) => e);
      expect(again?.code).toBe('ENOSPC');
      expect(fs.readFileSync(out, 'utf8')).toBe('the user had this');
      expect(fs.existsSync(`${out}.partial`)).toBe(false);
    } finally {
      await dev.close();
      execFileSync('umount', ['-l', fsDir]);
      fs.rmSync(fsDir, { recursive: true, force: true });
    }
  });
});

// OUT is the user's: a failed export never unlinks or truncates what was there. A device or a
// FIFO is written in order (holes as zeros) and stays what it was; a regular file is replaced
// only by a complete export (built as OUT.partial, renamed).
describe('exportVolume never destroys its target', () => {
  const isRoot = process.getuid?.() === 0;
  async function written(name: string, size = 4 * MIB): Promise<{ dev: BlockDevice; img: string }> {
    const img = path.join(dir, name);
    const dev = BlockDevice.open({ imagePath: img, sizeBytes: size, key: xtsKey() });
    await dev.write(MIB + 7, Buffer.from('inside the volume'));
    await dev.flush();
    return { dev, img };
  }

  it.skipIf(!isRoot)('exports onto a character device (a mknod of /dev/null) and leaves the node in place', async () => {
    const node = path.join(dir, 'null-h25');
    execFileSync('mknod', [node, 'c', '1', '3']);
    const { dev, img } = await written('to-null.img');
    try {
      const r = await exportVolume(dev, img, node);
      expect(r.bytesWritten).toBeGreaterThan(0);
      expect(fs.statSync(node).isCharacterDevice()).toBe(true);
      // and through a symlink to it, as /dev/stdout is
      fs.symlinkSync(node, path.join(dir, 'null-link-h25'));
      await exportVolume(dev, img, path.join(dir, 'null-link-h25'));
      expect(fs.lstatSync(path.join(dir, 'null-link-h25')).isSymbolicLink()).toBe(true);
      expect(fs.statSync(node).isCharacterDevice()).toBe(true);
    } finally {
      await dev.close();
      fs.rmSync(node, { force: true });
      fs.rmSync(path.join(dir, 'null-link-h25'), { force: true });
    }
  });

  it('a partial file left by an interrupted export is named, with what to do; a dangling symlink OUT is refused, not replaced', async () => {
    const { dev, img } = await written('partial-h25.img');
    const out = path.join(dir, 'left-partial.img');
    const dangling = path.join(dir, 'dangling-h25.img');
    try {
      fs.writeFileSync(`${out}.partial`, 'left by a crash');
      const err = await exportVolume(dev, img, out).then(() => undefined, (e: Error & { userError?: boolean }) => e);
      expect(err?.message).toBe(`${out}.partial already exists: an export of ${out} is running, or one was interrupted (remove the file and export again)`);
      expect(err?.userError).toBe(true);
      expect(fs.readFileSync(`${out}.partial`, 'utf8')).toBe('left by a crash');
      fs.symlinkSync(path.join(dir, 'no-such-dir-h25', 'x.img'), dangling);
      const e2 = await exportVolume(dev, img, dangling).then(() => undefined, (e: Error) => e);
      expect(e2?.message).toBe(`${dangling} is a symbolic link to a file that does not exist: name the file itself`);
      expect(fs.lstatSync(dangling).isSymbolicLink()).toBe(true);
    } finally {
      await dev.close();
      fs.rmSync(`${out}.partial`, { force: true });
      fs.rmSync(dangling, { force: true });
    }
  });

  it('a new OUT is 0600; an OUT replaced keeps its mode, and as root its owner (not the exporter\'s)', async () => {
    const { dev, img } = await written('modes-h26.img');
    const fresh = path.join(dir, 'fresh-h26.img');
    const kept = path.join(dir, 'kept-h26.img');
    const linked = path.join(dir, 'link-to-kept-h26.img');
    try {
      const old = process.umask(0o022);
      try {
        await exportVolume(dev, img, fresh);
        expect(fs.statSync(fresh).mode & 0o7777).toBe(0o600);
        fs.writeFileSync(kept, 'the user\'s file');
        fs.chmodSync(kept, 0o640);
        if (isRoot) fs.chownSync(kept, 1234, 5678);
        await exportVolume(dev, img, kept);
        const st = fs.statSync(kept);
        expect(st.size).toBe(4 * MIB); // replaced by the export
        expect(st.mode & 0o7777).toBe(0o640);
        if (isRoot) expect([st.uid, st.gid]).toEqual([1234, 5678]);
        // Through a symlink: the file it names keeps its mode.
        fs.chmodSync(kept, 0o604);
        fs.symlinkSync(kept, linked);
        await exportVolume(dev, img, linked);
        expect(fs.lstatSync(linked).isSymbolicLink()).toBe(true);
        expect(fs.statSync(kept).mode & 0o7777).toBe(0o604);
      } finally {
        process.umask(old);
      }
    } finally {
      await dev.close();
      for (const f of [fresh, kept, linked]) fs.rmSync(f, { force: true });
    }
  });

  it('exports into a FIFO every byte in order, holes as zeros, and leaves the FIFO', async () => {
    const fifo = path.join(dir, 'fifo-h25');
    execFileSync('mkfifo', [fifo]);
    const size = 4 * MIB;
    const { dev, img } = await written('to-fifo.img', size);
    try {
      const copy = path.join(dir, 'from-fifo');
      // The reader in another process: the export's writes block this one until they are read.
      const cat = spawn('sh', ['-c', 'exec cat "$1" > "$2"', 'sh', fifo, copy], { stdio: 'ignore' });
      const reader = new Promise<void>((resolve, reject) => cat.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`cat: ${code}`)))));
      await exportVolume(dev, img, fifo);
      await reader;
      const plain = fs.readFileSync(copy);
      expect(plain.length).toBe(size);
      expect(plain.subarray(MIB + 7, MIB + 24).toString()).toBe('inside the volume');
      expect(plain.subarray(0, MIB + 7).every((b) => b === 0)).toBe(true);
      expect(fs.statSync(fifo).isFIFO()).toBe(true);
    } finally {
      await dev.close();
      fs.rmSync(fifo, { force: true });
    }
  });

  it('a read error of the volume names the image, not OUT, and leaves an existing OUT as it was', async () => {
    const { dev, img } = await written('eio.img');
    const out = path.join(dir, 'kept.img');
    fs.writeFileSync(out, 'the user had this');
    // The image failing under the read (a bad disk): EIO from the device's read.
    const failing = Object.create(dev) as BlockDevice;
    failing.readInto = () => Promise.reject(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO', errno: -5, syscall: 'read' }));
    try {
      const err = await exportVolume(failing, img, out).then(() => undefined, (e: NodeJS.ErrnoException) => e);
      expect(err?.code).toBe('EIO');
      expect(err?.path).toBe(img);
      expect(err?.syscall).toBe('read');
      expect(fs.readFileSync(out, 'utf8')).toBe('the user had this');
      expect(fs.existsSync(`${out}.partial`)).toBe(false);
      // a complete export replaces it
      await exportVolume(dev, img, out);
      expect(fs.readFileSync(out).subarray(MIB + 7, MIB + 24).toString()).toBe('inside the volume');
    } finally {
      await dev.close();
    }
  });
});
