// A fixed-size block device over a sparse backing image, encrypted per 4096-byte sector with the
// sector cipher of src/xts (AES-256-XTS, tweak = sector number).
//
// Never-written sectors read as zeros, as on EBS: the image is created sparse at full size, so an
// unwritten sector is a hole that reads back as 4096 zero bytes of "ciphertext". Such a sector is
// returned as zeros without decrypting it. A real ciphertext sector is all-zero with probability
// 2^-32768, so the rule cannot misfire on written data.
//
// Any offset and length work: partial sectors at either end are read-modify-written as whole
// sectors. Requests lock their sector range (shared for reads, exclusive for writes, FIFO), so
// concurrent requests never tear a sector.
import * as fs from 'node:fs';
import { createSectorCipher } from '../xts/index.js';
import { BufferPool } from './buffer-pool.js';
import { DeviceClosedError, InvalidRequestError, NoSpaceError } from './errors.js';
import { fdatasync, preadFull, preadFullSync, pwriteFull, pwriteFullSync } from './io.js';
import { NativeSectorIO } from './native-io.js';
import { RangeLock } from './range-lock.js';

export const SECTOR_SIZE = 4096;
/** The largest request the kernel sends with max_write/max_read = 128 KiB; also our chunk size. */
export const CHUNK_BYTES = 128 * 1024;

/** In-place whole-sector transform; may be asynchronous (e.g. run in a worker). */
export interface SectorCodec {
  readonly name: string;
  encrypt(data: Buffer, firstSector: number): void | Promise<void>;
  decrypt(data: Buffer, firstSector: number): void | Promise<void>;
}

export interface BlockDeviceOptions {
  imagePath: string;
  sizeBytes: number;
  /** The 64-byte plaintext XTS key (K1||K2), or null for the bench-only pass-through mode. */
  key: Uint8Array | null;
  /** Create the sparse image at full size if it does not exist (default true). */
  create?: boolean;
  readOnly?: boolean;
  /** Replaces the cipher built from `key` (worker-thread codec, tests). */
  codec?: SectorCodec;
  /** 'sync': positioned I/O on the calling thread; 'async': on libuv's pool (default 'sync'). */
  io?: 'sync' | 'async';
  /**
   * Whole-sector I/O plus XTS on libuv's thread pool in native code (native-io.ts) when the
   * native XTS engine is selected. Default: on for encrypted devices, off for pass-through
   * (a thread-pool hop costs more than a synchronous page-cache pread/pwrite when there is no
   * cipher to move off the JS thread); true: pass-through too; false: never. Ignored with
   * `codec` or `io`; EBSIM_DEVICE_IO=js|sync|async turns it off. Partial sectors still go through
   * read-modify-write here.
   */
  native?: boolean;
}

export interface BlockDeviceStats {
  reads: number;
  writes: number;
  bytesRead: number;
  bytesWritten: number;
  readModifyWrites: number;
  /** Reads served at once on the JS thread from the page cache (INLINE_MAX_BYTES). */
  inlineReads: number;
  holesRead: number;
}

const ZERO_SECTOR = Buffer.alloc(SECTOR_SIZE);

/**
 * On the native path, whole-sector reads up to this size whose pages are all in the page cache
 * are served at once on the JS thread (NativeSectorIO.readCached) instead of through the pool,
 * whose hop costs more than such a read's work: 4 KiB random reads went from ~34.7k to ~38.7k
 * IOPS. Writes always take the pool: a write into the page cache can wait (for a page under
 * write-back, in the file system's page_mkwrite), and done inline it measured ~6% slower.
 * EBSIM_DEVICE_INLINE_MAX (bytes, 0 = never) overrides.
 */
export const INLINE_MAX_BYTES = inlineMax();

function inlineMax(): number {
  const env = process.env.EBSIM_DEVICE_INLINE_MAX;
  const n = env === undefined || env === '' ? NaN : Number(env);
  return Number.isSafeInteger(n) && n >= 0 ? n : 16 * 1024;
}

export function cipherCodec(key: Uint8Array): SectorCodec {
  const c = createSectorCipher(key, { sectorSize: SECTOR_SIZE });
  return { name: `xts:${c.engine}`, encrypt: (d, s) => c.encrypt(d, s), decrypt: (d, s) => c.decrypt(d, s) };
}

/** Creates the backing image sparse at its full size (ftruncate: costs nothing until written). */
export function createSparseImage(imagePath: string, sizeBytes: number): void {
  const fd = fs.openSync(imagePath, 'wx', 0o600);
  try {
    fs.ftruncateSync(fd, sizeBytes);
  } finally {
    fs.closeSync(fd);
  }
}

export class BlockDevice {
  readonly size: number;
  readonly sectorSize = SECTOR_SIZE;
  readonly encrypted: boolean;
  readonly stats: BlockDeviceStats = { reads: 0, writes: 0, bytesRead: 0, bytesWritten: 0, readModifyWrites: 0, inlineReads: 0, holesRead: 0 };
  private fd: number;
  private readonly codec: SectorCodec | null;
  private readonly lock = new RangeLock();
  private readonly pool = new BufferPool(CHUNK_BYTES);
  private inflight = 0;
  private drained: (() => void) | null = null;
  private readonly pread: (fd: number, buf: Uint8Array, pos: number) => void | Promise<void>;
  private readonly pwrite: (fd: number, buf: Uint8Array, pos: number) => void | Promise<void>;
  private readonly nio: NativeSectorIO | null;

  private constructor(fd: number, size: number, codec: SectorCodec | null, io: 'sync' | 'async', nio: NativeSectorIO | null) {
    this.nio = nio;
    this.pread = io === 'sync' ? preadFullSync : preadFull;
    this.pwrite = io === 'sync' ? pwriteFullSync : pwriteFull;
    this.fd = fd;
    this.size = size;
    this.codec = codec;
    this.encrypted = codec !== null;
  }

  static open(opts: BlockDeviceOptions): BlockDevice {
    const { imagePath, sizeBytes } = opts;
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes % SECTOR_SIZE !== 0)
      throw new RangeError(`sizeBytes: expected a positive multiple of ${SECTOR_SIZE}, got ${sizeBytes}`);
    if (opts.key !== null && opts.key.length !== 64) throw new RangeError(`key: expected 64 bytes, got ${opts.key.length}`);
    if (!fs.existsSync(imagePath)) {
      if (opts.create === false) throw new InvalidRequestError(`backing image ${imagePath} does not exist`, 'ENOENT');
      createSparseImage(imagePath, sizeBytes);
    }
    const codec = opts.codec ?? (opts.key ? cipherCodec(opts.key) : null);
    const fd = fs.openSync(imagePath, opts.readOnly ? 'r' : 'r+');
    const wantNative = opts.native ?? opts.key !== null;
    const nio = opts.codec || opts.io || !wantNative ? null : NativeSectorIO.create(opts.key);
    nio?.mapImage(fd, sizeBytes);
    return new BlockDevice(fd, sizeBytes, codec, opts.io ?? 'sync', nio);
  }

  get codecName(): string {
    return (this.codec?.name ?? 'pass-through') + (this.nio ? ` (native threaded I/O${this.nio.mapped ? ' through a shared mapping of the image' : ''})` : '');
  }

  /** Whether whole-sector requests run on the native threaded path. */
  get nativeIO(): boolean {
    return this.nio !== null;
  }

  /** Reads up to `length` bytes at `offset` (short at the end of the device). */
  async read(offset: number, length: number): Promise<Buffer> {
    checkRange(offset, length);
    const buf = Buffer.alloc(Math.max(0, Math.min(length, this.size - offset)));
    const n = await this.readInto(offset, buf);
    return buf.subarray(0, n);
  }

  /** Reads into `target` (e.g. libfuse's buffer); returns the byte count, short at the end. */
  async readInto(offset: number, target: Uint8Array): Promise<number> {
    checkRange(offset, target.length);
    const end = Math.min(offset + target.length, this.size);
    if (end <= offset) return 0;
    const out = asBuffer(target);
    return this.track(async () => {
      const s0 = Math.floor(offset / SECTOR_SIZE);
      const s1 = Math.ceil(end / SECTOR_SIZE);
      const release = await this.lock.acquire(s0, s1, false);
      try {
        if (this.nio && offset === s0 * SECTOR_SIZE && end === s1 * SECTOR_SIZE) {
          // Native and aligned: a small request in the page cache is served at once; otherwise
          // the whole request (up to 1 MiB from FUSE) is one job on the pool, decrypted straight
          // into the caller's buffer, and the JS thread sees one completion.
          const whole = out.subarray(0, end - offset);
          const holes = whole.length <= INLINE_MAX_BYTES ? this.nio.readCached(this.fd, whole, s0, SECTOR_SIZE) : -1;
          if (holes >= 0) {
            this.stats.holesRead += holes;
            this.stats.inlineReads++;
          } else {
            await this.readSectors(whole, s0);
          }
        } else {
          await this.readChunks(offset, end, out);
        }
      } finally {
        release();
      }
      this.stats.reads++;
      this.stats.bytesRead += end - offset;
      return end - offset;
    });
  }

  /** Reads [offset, end) into `out` chunk by chunk, through a pool buffer where a chunk is partial. */
  private async readChunks(offset: number, end: number, out: Buffer): Promise<void> {
    const s0 = Math.floor(offset / SECTOR_SIZE);
    const s1 = Math.ceil(end / SECTOR_SIZE);
    for (let cs = s0; cs < s1; cs += CHUNK_BYTES / SECTOR_SIZE) {
      const ce = Math.min(s1, cs + CHUNK_BYTES / SECTOR_SIZE);
      const from = Math.max(offset, cs * SECTOR_SIZE);
      const to = Math.min(end, ce * SECTOR_SIZE);
      if (from === cs * SECTOR_SIZE && to === ce * SECTOR_SIZE) {
        // Aligned: read straight into the caller's buffer and decrypt there.
        await this.readSectors(out.subarray(from - offset, to - offset), cs);
        continue;
      }
      const tmp = this.pool.take();
      try {
        const work = tmp.subarray(0, (ce - cs) * SECTOR_SIZE);
        await this.readSectors(work, cs);
        work.copy(out, from - offset, from - cs * SECTOR_SIZE, to - cs * SECTOR_SIZE);
      } finally {
        this.pool.give(tmp);
      }
    }
  }

  /**
   * Writes all of `data` at `offset`; a write past the end is refused whole with NoSpaceError.
   * With `scratch`, the caller gives up `data`'s contents: a whole-sector write is encrypted in
   * place there instead of in a copy (the FUSE adapter passes libfuse's request buffer, which
   * nobody reads after the reply). On the native path with the image mapped, whole sectors are
   * encrypted straight from `data` into the page cache either way.
   */
  async write(offset: number, data: Uint8Array, opts: { scratch?: boolean } = {}): Promise<number> {
    checkRange(offset, data.length);
    const end = offset + data.length;
    if (end > this.size)
      throw new NoSpaceError(`write of ${data.length} bytes at ${offset} passes the end of the ${this.size}-byte volume`);
    if (data.length === 0) return 0;
    const src = asBuffer(data);
    return this.track(async () => {
      const s0 = Math.floor(offset / SECTOR_SIZE);
      const s1 = Math.ceil(end / SECTOR_SIZE);
      const release = await this.lock.acquire(s0, s1, true);
      if (opts.scratch && offset % SECTOR_SIZE === 0 && end % SECTOR_SIZE === 0) {
        try {
          if (this.nio) {
            await this.nio.encryptWrite(this.fd, src, src, s0, SECTOR_SIZE);
          } else {
            if (this.codec) await this.codec.encrypt(src, s0);
            await this.pwrite(this.fd, src, offset);
          }
        } finally {
          release();
        }
        this.stats.writes++;
        this.stats.bytesWritten += data.length;
        return data.length;
      }
      const tmp = this.pool.take();
      try {
        for (let cs = s0; cs < s1; cs += CHUNK_BYTES / SECTOR_SIZE) {
          const ce = Math.min(s1, cs + CHUNK_BYTES / SECTOR_SIZE);
          const base = cs * SECTOR_SIZE;
          const from = Math.max(offset, base);
          const to = Math.min(end, ce * SECTOR_SIZE);
          const work = tmp.subarray(0, (ce - cs) * SECTOR_SIZE);
          // Partial first/last sector: fetch its current plaintext to merge into.
          const headPartial = from % SECTOR_SIZE !== 0;
          const tailPartial = to % SECTOR_SIZE !== 0;
          if (headPartial) await this.readSectors(work.subarray(0, SECTOR_SIZE), cs);
          if (tailPartial && !(headPartial && ce - cs === 1))
            await this.readSectors(work.subarray(work.length - SECTOR_SIZE), ce - 1);
          if (headPartial || tailPartial) this.stats.readModifyWrites++;
          if (this.nio) {
            // Whole chunk: copied into `work` and encrypted there on the pool; else merge here.
            const whole = !headPartial && !tailPartial;
            if (!whole) src.copy(work, from - base, from - offset, to - offset);
            await this.nio.encryptWrite(this.fd, whole ? src.subarray(from - offset, to - offset) : work, work, cs, SECTOR_SIZE);
            continue;
          }
          // Copy out of the caller's (possibly libfuse-owned) buffer before anything else.
          src.copy(work, from - base, from - offset, to - offset);
          if (this.codec) await this.codec.encrypt(work, cs);
          await this.pwrite(this.fd, work, base);
        }
      } finally {
        this.pool.give(tmp);
        release();
      }
      this.stats.writes++;
      this.stats.bytesWritten += data.length;
      return data.length;
    });
  }

  /** fdatasync of the backing image: every write that completed before is on disk after. */
  async flush(): Promise<void> {
    if (this.fd < 0) throw new DeviceClosedError();
    await fdatasync(this.fd);
  }

  /** Drains in-flight requests, fdatasyncs and closes; new requests are refused from the first call on. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.fd < 0) return;
      while (this.inflight > 0) await new Promise<void>((r) => (this.drained = r));
      const fd = this.fd;
      try {
        await fdatasync(fd);
      } finally {
        this.fd = -1;
        this.nio?.unmapImage();
        fs.closeSync(fd);
      }
    })();
    return this.closing;
  }

  /** Reads whole sectors starting at `firstSector` into `buf` and turns them into plaintext. */
  private async readSectors(buf: Buffer, firstSector: number): Promise<void> {
    if (this.nio) {
      this.stats.holesRead += await this.nio.readDecrypt(this.fd, buf, firstSector, SECTOR_SIZE);
      return;
    }
    await this.pread(this.fd, buf, firstSector * SECTOR_SIZE);
    const n = buf.length / SECTOR_SIZE;
    if (!this.codec) return;
    // Decrypt maximal runs of non-hole sectors in one call each; holes stay zero.
    let runStart = -1;
    for (let i = 0; i <= n; i++) {
      const hole = i < n && isZeroSector(buf, i * SECTOR_SIZE);
      if (i < n && !hole) {
        if (runStart < 0) runStart = i;
        continue;
      }
      if (hole) this.stats.holesRead++;
      if (runStart >= 0) {
        await this.codec.decrypt(buf.subarray(runStart * SECTOR_SIZE, i * SECTOR_SIZE), firstSector + runStart);
        runStart = -1;
      }
    }
  }

  private closing: Promise<void> | undefined;

  private async track<T>(fn: () => Promise<T>): Promise<T> {
    if (this.fd < 0 || this.closing) throw new DeviceClosedError();
    this.inflight++;
    try {
      return await fn();
    } finally {
      if (--this.inflight === 0 && this.drained) {
        this.drained();
        this.drained = null;
      }
    }
  }
}

/**
 * Is the sector at `o` all zeros (a hole)? Ciphertext starts with 16 zero bytes with probability
 * 2^-128, so the first 16 bytes settle nearly every written sector without scanning 4 KiB.
 */
function isZeroSector(buf: Buffer, o: number): boolean {
  if ((buf[o]! | buf[o + 1]! | buf[o + 2]! | buf[o + 3]! | buf[o + 4]! | buf[o + 5]! | buf[o + 6]! | buf[o + 7]!) !== 0) return false;
  if ((buf[o + 8]! | buf[o + 9]! | buf[o + 10]! | buf[o + 11]! | buf[o + 12]! | buf[o + 13]! | buf[o + 14]! | buf[o + 15]!) !== 0) return false;
  return buf.compare(ZERO_SECTOR, 0, SECTOR_SIZE, o, o + SECTOR_SIZE) === 0;
}

function checkRange(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidRequestError(`offset: expected a non-negative integer, got ${offset}`);
  if (!Number.isSafeInteger(length) || length < 0) throw new InvalidRequestError(`length: expected a non-negative integer, got ${length}`);
}

function asBuffer(a: Uint8Array): Buffer {
  return Buffer.isBuffer(a) ? a : Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}
