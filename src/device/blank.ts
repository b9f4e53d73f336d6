// Whether a volume may be formatted: mkfs.ext4 runs only over a volume that reads as zeros.
// The check costs nothing proportional to the volume's size (a 16 TiB volume mounts in seconds):
// an image with no blocks allocated is blank at once; else the first MiB (most data starts
// there) and then the image's data extents as lseek(SEEK_DATA) reports them, read through the
// device, up to a bounded number of bytes. Written sectors past that budget count as data: a
// prefilled volume (encrypted zeros everywhere) is refused, and is formatted by hand.
// Without SEEK_DATA a volume with any block written counts as data: scanning the raw image for
// data would read every hole (hours for 16 TiB).
import * as fs from 'node:fs';
import { seekDataExtents } from './data-extents.js';

/** Bytes of written sectors read past the first MiB before a volume counts as holding data. */
export const BLANK_READ_BUDGET = 64 << 20;

const FIRST = 1 << 20;

/** Reads into `buf` at `pos` of the plaintext device; answers the bytes read. */
export type ReadAt = (buf: Buffer, pos: number) => Promise<number>;

export async function isBlank(read: ReadAt, imageFd: number, sizeBytes: number, extents: (fd: number, size: number) => Iterable<[number, number]> | null = seekDataExtents): Promise<boolean> {
  if (fs.fstatSync(imageFd).blocks === 0) return true; // never written: all holes
  const buf = Buffer.alloc(FIRST);
  const zero = Buffer.alloc(FIRST);
  let budget = BLANK_READ_BUDGET;
  const zerosAt = async (offset: number, length: number) => {
    for (let off = offset; off < offset + length; off += buf.length) {
      const len = Math.min(buf.length, offset + length - off);
      const n = await read(buf.subarray(0, len), off);
      if (!buf.subarray(0, n).equals(zero.subarray(0, n))) return false;
    }
    return true;
  };
  if (!(await zerosAt(0, Math.min(FIRST, sizeBytes)))) return false;
  const found = extents(imageFd, sizeBytes);
  // No SEEK_DATA (no addon, or a file system without it): blocks are written somewhere past the
  // first MiB or in it, and finding where would read every hole. Counts as data.
  if (!found) return false;
  for (const [s, end] of found) {
    const start = Math.max(s, FIRST);
    if (end <= start) continue;
    if (end - start > budget) return false; // more written than we read to check: counts as data
    budget -= end - start;
    if (!(await zerosAt(start, end - start))) return false;
  }
  return true;
}
