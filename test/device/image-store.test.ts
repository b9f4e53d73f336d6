// The image store on the real file system: sizes exact, copies sparse (checked with st_blocks)
// and byte-for-byte equal, and clear errors for a missing source or an existing target.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { copyImage, createImage, deleteImage, ImageStoreError } from '../../src/device/image-store.js';
import { seekDataExtents } from '../../src/device/data-extents.js';
import { loadAddon } from '../../src/xts/addon.js';
import { prng, tempDir } from './helpers.js';

const dir = tempDir('ebsim-images-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
const allocated = (p: string) => fs.statSync(p).blocks * 512;
const sha = (p: string) => createHash('sha256').update(fs.readFileSync(p)).digest('hex');

function writeAt(p: string, offset: number, data: Buffer): void {
  const fd = fs.openSync(p, 'r+');
  try {
    fs.writeSync(fd, data, 0, data.length, offset);
  } finally {
    fs.closeSync(fd);
  }
}

function readAt(p: string, offset: number, length: number): Buffer {
  const fd = fs.openSync(p, 'r');
  try {
    const b = Buffer.alloc(length);
    fs.readSync(fd, b, 0, length, offset);
    return b;
  } finally {
    fs.closeSync(fd);
  }
}

describe('createImage', () => {
  it('creates a sparse image of exactly the size asked, in a directory it makes', () => {
    const p = path.join(dir, 'new', 'sub', 'vol-a.img');
    createImage(p, 8 * GIB);
    expect(fs.statSync(p).size).toBe(8 * GIB);
    expect(allocated(p)).toBe(0);
    expect(fs.statSync(p).mode & 0o777).toBe(0o600);
  });

  it('never replaces an existing image, and refuses sizes that are not whole 4 KiB blocks', () => {
    const p = path.join(dir, 'vol-b.img');
    createImage(p, 4096);
    writeAt(p, 0, Buffer.from('keep me'));
    expect(() => createImage(p, 8192)).toThrow(/vol-b\.img already exists/);
    expect(readAt(p, 0, 7).toString()).toBe('keep me');
    for (const bad of [0, -4096, 4097, 1.5, Number.NaN]) {
      const e = (() => {
        try {
          createImage(path.join(dir, `bad-${bad}.img`), bad);
        } catch (err) {
          return err;
        }
      })();
      expect(e).toBeInstanceOf(ImageStoreError);
      expect((e as ImageStoreError).code).toBe('EINVAL');
      expect(fs.existsSync(path.join(dir, `bad-${bad}.img`))).toBe(false);
    }
  });
});

describe('copyImage', () => {
  it('copies an 8 GiB image holding scattered data: equal bytes, same size, only the data allocated', () => {
    const from = path.join(dir, 'snap-src.img');
    createImage(from, 8 * GIB);
    const rand = prng(12);
    const blocks: [number, Buffer][] = [];
    for (let i = 0; i < 40; i++) {
      const offset = Math.floor(rand() * (8 * GIB - MIB));
      const data = Buffer.alloc(1 + Math.floor(rand() * 20_000), 1 + i); // unaligned offsets and lengths
      writeAt(from, offset, data);
      blocks.push([offset, data]);
    }
    writeAt(from, 8 * GIB - 3, Buffer.from('end')); // the very last bytes
    const to = path.join(dir, 'snap-copy.img');
    const r = copyImage(from, to);
    expect(fs.statSync(to).size).toBe(8 * GIB);
    for (const [offset, data] of blocks) expect(readAt(to, offset, data.length).equals(readAt(from, offset, data.length))).toBe(true);
    expect(readAt(to, 8 * GIB - 3, 3).toString()).toBe('end');
    // Sparse: about what the source holds (at most its allocation), far below the 8 GiB.
    expect(allocated(to)).toBeLessThanOrEqual(allocated(from));
    expect(allocated(to)).toBeGreaterThan(0);
    if (r.method === 'scan') expect(r.bytesWritten).toBeLessThanOrEqual(allocated(from));
  });

  // ext4 holds files up to 16 TiB - 4 KiB: 15 TiB is near the largest this test's /tmp can have.
  it.skipIf(!loadAddon().addon)('copies a 15 TiB image by its data extents (lseek SEEK_DATA): data at both ends, no time or reads for the holes between', () => {
    const size = 15 * 1024 * GIB;
    const from = path.join(dir, 'huge-src.img');
    createImage(from, size);
    writeAt(from, 12_288, Buffer.alloc(10_000, 7)); // blocks 3..5
    writeAt(from, size / 2 + 4096, Buffer.alloc(4096, 8));
    writeAt(from, size - 4096, Buffer.alloc(4096, 9)); // the last block
    const fd = fs.openSync(from, 'r');
    try {
      expect([...seekDataExtents(fd, size)!]).toEqual([[12_288, 12_288 + 12_288], [size / 2 + 4096, size / 2 + 8192], [size - 4096, size]]);
    } finally {
      fs.closeSync(fd);
    }
    const to = path.join(dir, 'huge-copy.img');
    const t0 = performance.now();
    const r = copyImage(from, to);
    const ms = performance.now() - t0;
    expect(fs.statSync(to).size).toBe(size);
    expect(readAt(to, 12_288, 10_000).equals(Buffer.alloc(10_000, 7))).toBe(true);
    expect(readAt(to, size / 2 + 4096, 4096).equals(Buffer.alloc(4096, 8))).toBe(true);
    expect(readAt(to, size - 4096, 4096).equals(Buffer.alloc(4096, 9))).toBe(true);
    expect(allocated(to)).toBeLessThanOrEqual(allocated(from));
    if (r.method === 'scan') expect(r.bytesWritten).toBe(12_288 + 4096 + 4096);
    // A full read of 15 TiB of holes takes hours; the extents take milliseconds (seconds on a busy machine).
    expect(ms).toBeLessThan(10_000);
    fs.rmSync(from);
    fs.rmSync(to);
  });

  it('is byte-for-byte equal to its source, zero blocks inside data chunks included', () => {
    const from = path.join(dir, 'mixed.img');
    createImage(from, 16 * MIB);
    const rand = prng(7);
    const chunk = Buffer.alloc(3 * MIB);
    for (let i = 0; i < chunk.length; i += 4096) if (rand() < 0.5) chunk.fill(Math.floor(rand() * 255) + 1, i, i + 4096);
    writeAt(from, 5 * MIB + 512, chunk);
    const to = path.join(dir, 'mixed-copy.img');
    copyImage(from, to);
    expect(sha(to)).toBe(sha(from));
    expect(allocated(to)).toBeLessThanOrEqual(allocated(from));
    expect(allocated(to)).toBeLessThan(3 * MIB); // about half of the 3 MiB written is zero blocks, left as holes
  });

  it('copies a never-written image as holes only, and grows a copy to a larger size', () => {
    const from = path.join(dir, 'empty.img');
    createImage(from, 2 * GIB);
    const to = path.join(dir, 'empty-copy.img');
    copyImage(from, to);
    expect(fs.statSync(to).size).toBe(2 * GIB);
    expect(allocated(to)).toBe(0);

    writeAt(from, 4096 * 3, Buffer.from('grown'));
    const big = path.join(dir, 'grown.img');
    copyImage(from, big, 3 * GIB);
    expect(fs.statSync(big).size).toBe(3 * GIB);
    expect(readAt(big, 4096 * 3, 5).toString()).toBe('grown');
  });

  it('refuses a missing source, an existing target and a smaller size, with clear errors, leaving nothing behind', () => {
    const missing = path.join(dir, 'snap-missing.img');
    const to = path.join(dir, 'never.img');
    expect(() => copyImage(missing, to)).toThrow(`cannot copy ${missing}: the image does not exist`);
    expect(fs.existsSync(to)).toBe(false);

    const from = path.join(dir, 'four-mib.img');
    createImage(from, 4 * MIB);
    const existing = path.join(dir, 'existing.img');
    fs.writeFileSync(existing, 'mine');
    expect(() => copyImage(from, existing)).toThrow(/existing\.img already exists/);
    expect(fs.readFileSync(existing, 'utf8')).toBe('mine');

    expect(() => copyImage(from, to, 2 * MIB)).toThrow(/never shrinks/);
    expect(fs.existsSync(to)).toBe(false);
  });
});

// A disk that fills up during a copy: write(2) writes what fits and returns a short count before
// it fails with ENOSPC, so a copy that took the count for granted ended "complete" with its last
// run's tail a hole (zeros). Needs root for the small tmpfs.
describe.skipIf(process.getuid?.() !== 0)('copyImage onto a file system that fills up', () => {
  it('fails with ENOSPC and leaves no target when the last run does not fit (a short write is not success)', () => {
    const fsDir = tempDir('ebsim-h24-full-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'ebsim-h24-full', fsDir]);
    try {
      const src = path.join(dir, 'fills.img');
      createImage(src, 4 * MIB);
      const data = Buffer.alloc(MIB);
      const rnd = prng(24);
      for (let i = 0; i < data.length; i++) data[i] = 1 + Math.floor(rnd() * 255);
      writeAt(src, 2 * MIB, data); // one run of 1 MiB, the image's last: 256 KiB fit
      const to = path.join(fsDir, 'copy.img');
      let thrown: unknown;
      try {
        copyImage(src, to);
      } catch (err) {
        thrown = err;
      }
      expect((thrown as NodeJS.ErrnoException | undefined)?.code).toBe('ENOSPC');
      expect(fs.existsSync(to)).toBe(false);
    } finally {
      execFileSync('umount', ['-l', fsDir]);
      fs.rmSync(fsDir, { recursive: true, force: true });
    }
  });
});

describe('deleteImage', () => {
  it('removes an image and ignores one already gone', () => {
    const p = path.join(dir, 'gone.img');
    createImage(p, 4096);
    deleteImage(p);
    expect(fs.existsSync(p)).toBe(false);
    expect(() => deleteImage(p)).not.toThrow();
  });
});
