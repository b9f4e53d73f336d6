// The mkfs guard's check costs nothing proportional to the volume's size: an image with no blocks
// is blank without a read; without SEEK_DATA an image with blocks written counts as data after
// the first MiB at most (never a scan of the holes); written sectors are read up to a budget, past which the volume counts as holding data.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BLANK_READ_BUDGET, isBlank, type ReadAt } from '../../src/device/blank.js';
import { seekDataExtents } from '../../src/device/data-extents.js';
import { sparseFile, tempDir } from './helpers.js';

const MIB = 1 << 20;
const dir = tempDir('ebsim-h25-blank-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A sparse file of `size` with `writes`, open for reading; the plaintext device is the same file (zeros are zeros). */
const sparse = (name: string, size: number, writes: [number, Buffer][]): number => fs.openSync(sparseFile(dir, name, size, writes), 'r');

function counting(fd: number): { read: ReadAt; bytes: () => number } {
  let bytes = 0;
  return {
    read: async (buf, pos) => {
      const n = fs.readSync(fd, buf, 0, buf.length, pos);
      bytes += n;
      return n;
    },
    bytes: () => bytes,
  };
}

const HAVE_SEEK = (() => {
  const fd = sparse('probe', MIB, [[0, Buffer.from([1])]]);
  try {
    return seekDataExtents(fd, MIB) !== null;
  } finally {
    fs.closeSync(fd);
  }
})();

describe('isBlank (the mkfs guard)', () => {
  it('a never-written image of 1 TiB is blank without a byte read', async () => {
    const fd = sparse('empty.img', 1024 ** 4, []);
    const r = counting(fd);
    expect(await isBlank(r.read, fd, 1024 ** 4)).toBe(true);
    expect(r.bytes()).toBe(0);
    fs.closeSync(fd);
  });

  it('without SEEK_DATA counts written blocks as data (raw data 100 MiB in is never formatted over), reading the first MiB at most of a 64 GiB image', async () => {
    const size = 64 * 1024 ** 3;
    const fd = sparse('nosweep.img', size, [[100 * MIB, Buffer.from('raw data')]]);
    const r = counting(fd);
    expect(await isBlank(r.read, fd, size, () => null)).toBe(false);
    expect(r.bytes()).toBeLessThanOrEqual(MIB);
    fs.closeSync(fd);
  });

  it.skipIf(!HAVE_SEEK)('finds data in an extent past the first MiB', async () => {
    const size = 1024 ** 3;
    const fd = sparse('data.img', size, [[700 * MIB, Buffer.from('raw data')]]);
    expect(await isBlank(counting(fd).read, fd, size)).toBe(false);
    fs.closeSync(fd);
  });

  it.skipIf(!HAVE_SEEK)('reads written zeros up to its budget only: more counts as data (a prefilled volume)', async () => {
    const size = 1024 ** 3;
    const small = sparse('zeros-small.img', size, [[300 * MIB, Buffer.alloc(4 * MIB)]]);
    expect(await isBlank(counting(small).read, small, size)).toBe(true);
    fs.closeSync(small);
    const big = sparse('zeros-big.img', size, [[300 * MIB, Buffer.alloc(BLANK_READ_BUDGET + MIB)]]);
    const r = counting(big);
    expect(await isBlank(r.read, big, size)).toBe(false);
    expect(r.bytes()).toBeLessThanOrEqual(MIB + BLANK_READ_BUDGET);
    fs.closeSync(big);
  });
});
