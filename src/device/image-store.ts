// Backing images: create, copy and delete sparse files of an exact size, without shelling out.
//
// A copy must stay sparse (an 8 GiB volume that holds 1 MiB of data costs 1 MiB on the host): it
// reads the source's data and writes only the 4 KiB blocks that are not all zeros. Node has no
// lseek(SEEK_DATA); the native addon has (seekDataExtents in data-extents.ts), and with it a copy reads only the
// file's data extents, so a 16 TiB image that holds 250 MiB costs 250 MiB of reads, not 16 TiB.
// Without the addon it reads the whole file, with two shortcuts where they are sound:
// - a reflink clone (FICLONE) where the file system offers one: instant, and shares every extent;
// - on file systems whose st_blocks counts every allocated block and never less than the data
//   (ext2/3/4, XFS, tmpfs: no compression), the scan stops once the non-zero blocks found account
//   for every allocated block: a hole reads as zeros, so nothing after that point can hold data.
// The scan reads with O_DIRECT where the file system allows it (chunk-reader.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ChunkReader } from './chunk-reader.js';
import { seekDataExtents } from './data-extents.js';
import { imageLockFile, removeLockFile } from './lock.js';

const BLOCK = 4096;
const CHUNK = 1 << 20;

/** f_type of file systems whose st_blocks never undercounts data (no compression, no lag). */
const EXACT_ALLOCATION_FS = new Set([0xef53 /* ext2/3/4 */, 0x58465342 /* xfs */, 0x01021994 /* tmpfs */]);

/** A source image that does not exist, or a target that already does. */
export class ImageStoreError extends Error {
  constructor(
    message: string,
    readonly code: 'ENOENT' | 'EEXIST' | 'EINVAL',
  ) {
    super(message);
    this.name = 'ImageStoreError';
  }
}

export interface CopyResult {
  /** Bytes written to the target (0 for a clone, which writes nothing). */
  bytesWritten: number;
  /** 'clone': a reflink; 'scan': a block-by-block copy of the non-zero blocks. */
  method: 'clone' | 'scan';
}

/** Creates a sparse image of exactly `sizeBytes` (nothing allocated until written); never replaces one. */
export function createImage(imagePath: string, sizeBytes: number): void {
  checkSize(sizeBytes);
  fs.mkdirSync(path.dirname(imagePath), { recursive: true });
  const fd = openTarget(imagePath);
  try {
    fs.ftruncateSync(fd, sizeBytes);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(imagePath, { force: true });
    throw err;
  }
  fs.closeSync(fd);
}

/** Names of file system types (statfs f_type) for messages. */
const FS_NAMES = new Map([[0xef53, 'ext4'], [0x58465342, 'XFS'], [0x01021994, 'tmpfs'], [0x9123683e, 'btrfs'], [0x2fc12fc1, 'ZFS']]);

/**
 * Null if the file system that will hold `imagePath` can hold a file of `sizeBytes`, else why not.
 * ext4 (4 KiB blocks) holds files up to 16 TiB - 4 KiB, so a 16 TiB volume (EBS's largest) needs
 * another one (XFS, btrfs, tmpfs). Tried for real: a sparse probe file, truncated and removed.
 */
export function imageSizeProblem(imagePath: string, sizeBytes: number): string | null {
  checkSize(sizeBytes);
  const dir = path.dirname(imagePath);
  fs.mkdirSync(dir, { recursive: true });
  const probe = path.join(dir, `.size-probe-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const fd = fs.openSync(probe, 'wx', 0o600);
  try {
    fs.ftruncateSync(fd, sizeBytes);
    return null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EFBIG' && (err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
    let fsName = 'its file system';
    try {
      const t = fs.statfsSync(dir).type;
      fsName = FS_NAMES.get(t) ?? `file system type 0x${t.toString(16)}`;
    } catch {
      // keep the generic name
    }
    return `${dir} is on ${fsName}, which cannot hold a file of ${sizeBytes} bytes (${(err as NodeJS.ErrnoException).code}); put the ebsim home on XFS, btrfs or tmpfs for volumes this large (ext4 holds at most 16 TiB - 4 KiB)`;
  } finally {
    fs.closeSync(fd);
    fs.rmSync(probe, { force: true });
  }
}

/** Told how far a copy is: `done` of `total` bytes of the source scanned. */
export type CopyProgress = (done: number, total: number) => void;

/**
 * Copies an image to a new file, keeping it sparse: only blocks that are not all zeros are
 * written. `sizeBytes` (default: the source's size) may grow the copy, never shrink it. The
 * source must not change during the copy (the caller holds its writer lock).
 */
export function copyImage(from: string, to: string, sizeBytes?: number, onProgress?: CopyProgress): CopyResult {
  return transformImage(from, to, { sizeBytes, onProgress, cloneable: true });
}

export interface TransformOptions {
  sizeBytes?: number;
  onProgress?: CopyProgress;
  /** Each run of written blocks, in place, before it is written: `sector` is its first 4 KiB block. */
  transform?: (run: Buffer, sector: number) => void;
  /** Whether a reflink clone may stand in for the copy (only when the bytes are copied as they are). */
  cloneable?: boolean;
}

/**
 * The copy behind copyImage and the re-encrypting copy (image-reencrypt.ts): every run of
 * written blocks of `from`, through `transform` if given, to the same offset of a new file `to`;
 * holes stay holes.
 */
export function transformImage(from: string, to: string, opts: TransformOptions): CopyResult {
  let src: number;
  try {
    src = fs.openSync(from, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ImageStoreError(`cannot copy ${from}: the image does not exist`, 'ENOENT');
    throw err;
  }
  try {
    const st = fs.fstatSync(src);
    const size = opts.sizeBytes ?? st.size;
    checkSize(size);
    if (size < st.size) throw new ImageStoreError(`cannot copy ${from} (${st.size} bytes) into ${size} bytes: a copy never shrinks an image`, 'EINVAL');
    fs.mkdirSync(path.dirname(to), { recursive: true });
    if (opts.cloneable && !opts.transform && tryClone(from, to)) {
      fs.truncateSync(to, size);
      opts.onProgress?.(st.size, st.size);
      return { bytesWritten: 0, method: 'clone' };
    }
    const dst = openTarget(to);
    let bytesWritten = 0;
    try {
      fs.ftruncateSync(dst, size);
      forEachDataRun(from, src, st, (run, offset) => {
        opts.transform?.(run, offset / BLOCK);
        writeAllSync(dst, run, offset);
        bytesWritten += run.length;
      }, opts.onProgress);
      fs.fsyncSync(dst);
    } catch (err) {
      fs.closeSync(dst);
      fs.rmSync(to, { force: true });
      throw err;
    }
    fs.closeSync(dst);
    return { bytesWritten, method: 'scan' };
  } finally {
    fs.closeSync(src);
  }
}

/**
 * Writes all of `buf` at `pos`. A disk that fills up takes what fits and answers a short count;
 * the next write then fails with ENOSPC, which is thrown (a short count taken for the whole left
 * the run's tail a hole: zeros in a "completed" copy).
 */
export function writeAllSync(fd: number, buf: Uint8Array, pos: number): void {
  for (let done = 0; done < buf.length; ) {
    const n = fs.writeSync(fd, buf, done, buf.length - done, pos + done);
    if (n === 0) throw Object.assign(new Error(`write at ${pos + done} wrote nothing`), { code: 'EIO' });
    done += n;
  }
}

/** Grows an image to `sizeBytes` (the new space is holes, read as zeros); never shrinks one. */
export function growImage(imagePath: string, sizeBytes: number): void {
  checkSize(sizeBytes);
  const { size } = fs.statSync(imagePath);
  if (sizeBytes < size) throw new ImageStoreError(`cannot shrink ${imagePath} from ${size} to ${sizeBytes} bytes`, 'EINVAL');
  fs.truncateSync(imagePath, sizeBytes);
}

/**
 * Deletes an image (a missing one is not an error), then its writer lock's file unless someone
 * holds the lock (see removeLockFile). The image goes first: whoever takes that lock afterwards,
 * on either file, finds no image to write.
 */
export function deleteImage(imagePath: string): void {
  fs.rmSync(imagePath, { force: true });
  removeLockFile(imageLockFile(imagePath));
}

function checkSize(sizeBytes: number): void {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes % BLOCK !== 0)
    throw new ImageStoreError(`image size must be a positive multiple of ${BLOCK} bytes, got ${sizeBytes}`, 'EINVAL');
}

function openTarget(imagePath: string): number {
  try {
    return fs.openSync(imagePath, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new ImageStoreError(`image ${imagePath} already exists`, 'EEXIST');
    throw err;
  }
}

/** A reflink clone, where the file system has them (btrfs, XFS with reflink=1); false elsewhere. */
function tryClone(from: string, to: string): boolean {
  try {
    fs.copyFileSync(from, to, fs.constants.COPYFILE_EXCL | fs.constants.COPYFILE_FICLONE_FORCE);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new ImageStoreError(`image ${to} already exists`, 'EEXIST');
    fs.rmSync(to, { force: true }); // a failed clone may leave an empty target behind
    return false;
  }
}

/**
 * Calls `visit` with every maximal run of non-zero blocks of `src` and its offset, in order; the
 * run is a view of a reused buffer, the visitor's to change until it returns.
 */
function forEachDataRun(from: string, src: number, st: fs.Stats, visit: (run: Buffer, offset: number) => void, onProgress?: CopyProgress): void {
  // Allocated bytes left to account for, where st_blocks is exact; Infinity: scan to the end.
  let unaccounted = exactAllocation(from) ? st.blocks * 512 : Infinity;
  const reader = unaccounted === 0 ? undefined : ChunkReader.open(from, CHUNK, src);
  const zero = Buffer.alloc(CHUNK);
  // Only the data extents where the file system says where they are; else the whole file.
  const ranges: Iterable<[number, number]> = (reader && seekDataExtents(src, st.size)) || [[0, st.size]];
  try {
    for (const [start, end] of ranges) for (let off = start; reader && off < end && unaccounted > 0; off += CHUNK) {
      const len = Math.min(CHUNK, end - off);
      const buf = reader.read(len, off);
      if (!buf.equals(zero.subarray(0, len))) {
        // Runs of non-zero blocks become one visit each; zero blocks stay holes.
        let run = -1;
        for (let b = 0; b <= len; b += BLOCK) {
          const data = b < len && !buf.subarray(b, Math.min(b + BLOCK, len)).equals(zero.subarray(0, Math.min(BLOCK, len - b)));
          if (data) unaccounted -= BLOCK;
          if (data && run < 0) run = b;
          if (!data && run >= 0) {
            visit(buf.subarray(run, b), off + run);
            run = -1;
          }
        }
      }
      onProgress?.(off + len, st.size);
    }
  } finally {
    reader?.close();
  }
  onProgress?.(st.size, st.size);
}

/**
 * True where st_blocks counts at least every data block in units of 4 KiB, so that "non-zero
 * blocks found × 4 KiB ≥ allocated bytes" proves the rest of the file is holes.
 */
function exactAllocation(file: string): boolean {
  try {
    const s = fs.statfsSync(file);
    return EXACT_ALLOCATION_FS.has(s.type) && s.bsize === BLOCK;
  } catch {
    return false;
  }
}
