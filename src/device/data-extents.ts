// Where a sparse backing image holds data: the extents lseek(SEEK_DATA/SEEK_HOLE) reports (the
// native addon's seekData: Node's fs has no lseek), so export and verify read the written
// sectors only and skip the holes (never-written sectors, which read as zeros). Without the addon,
// or on a file system that refuses SEEK_DATA, a scan of the raw image for non-zero sectors in
// bounded memory gives the same extents, only slower (it reads the holes).
import * as fs from 'node:fs';
import { loadAddon } from '../xts/addon.js';
import { SECTOR_SIZE } from './block-device.js';

type Seek = (fd: number, offset: number, hole: boolean) => number;

const SCAN_CHUNK = 1 << 20;

/** How the extents were found, for the reader. */
export type ExtentMethod = 'SEEK_DATA' | 'scan';

function nativeSeek(): Seek | null {
  const addon = loadAddon().addon as unknown as { seekData?: Seek } | null;
  return typeof addon?.seekData === 'function' ? addon.seekData : null;
}

/** Rounds an extent out to whole sectors (a file system block may be smaller than a sector). */
function sectorAligned(start: number, end: number, size: number): [number, number] {
  return [Math.floor(start / SECTOR_SIZE) * SECTOR_SIZE, Math.min(size, Math.ceil(end / SECTOR_SIZE) * SECTOR_SIZE)];
}

/**
 * The extents lseek(SEEK_DATA/SEEK_HOLE) reports for the file open at `fd` (`size` bytes), as
 * [start, end) byte ranges in order, sector-aligned and found as the caller goes (one lseek pair
 * per extent, whatever the file's size); null where there is no such lseek (no addon, or a file
 * system without SEEK_DATA). Everything outside them is holes.
 */
export function seekDataExtents(fd: number, size: number): Generator<[number, number]> | null {
  const seek = nativeSeek();
  if (!seek) return null;
  let probe: number;
  try {
    probe = seek(fd, 0, false);
  } catch {
    return null; // EINVAL: this file system has no SEEK_DATA
  }
  return (function* () {
    let at = probe;
    let last = 0;
    while (at >= 0 && at < size) {
      const hole = Math.min(size, seek(fd, at, true));
      const [s, e] = sectorAligned(at, hole, size);
      // Rounding can make two extents touch: they are yielded as found, never overlapping.
      const from = Math.max(s, last);
      if (e > from) yield [from, e] as [number, number];
      last = Math.max(last, e);
      if (hole >= size) break;
      at = seek(fd, hole, false);
    }
  })();
}

/**
 * The data extents of the image open at `fd` (`size` bytes): lseek's where it has them, else a
 * scan for non-zero sectors; memory stays bounded either way.
 */
export function* dataExtents(fd: number, size: number, opts: { method?: ExtentMethod } = {}): Generator<[number, number], ExtentMethod> {
  const seeking = opts.method === 'scan' ? null : seekDataExtents(fd, size);
  if (seeking) {
    yield* seeking;
    return 'SEEK_DATA';
  }
  yield* scanExtents(fd, size);
  return 'scan';
}

/** Non-zero sectors of the raw image, coalesced into extents, reading 1 MiB at a time. */
function* scanExtents(fd: number, size: number): Generator<[number, number]> {
  const buf = Buffer.alloc(SCAN_CHUNK);
  const zero = Buffer.alloc(SECTOR_SIZE);
  let start = -1;
  for (let off = 0; off < size; off += SCAN_CHUNK) {
    const len = Math.min(SCAN_CHUNK, size - off);
    const n = fs.readSync(fd, buf, 0, len, off);
    if (n < len) buf.fill(0, n, len);
    for (let s = 0; s < len; s += SECTOR_SIZE) {
      const data = !buf.subarray(s, Math.min(len, s + SECTOR_SIZE)).equals(zero.subarray(0, Math.min(SECTOR_SIZE, len - s)));
      if (data && start < 0) start = off + s;
      if (!data && start >= 0) {
        yield [start, off + s];
        start = -1;
      }
    }
  }
  if (start >= 0) yield [start, size];
}
