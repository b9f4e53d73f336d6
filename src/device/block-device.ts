// A fixed-size block device over a sector store (sector-store.ts): any offset and length work,
// partial sectors at either end are read-modify-written as whole sectors, and requests lock
// their sector range (shared for reads, exclusive for writes, FIFO), so concurrent requests
// never tear a sector. The store keeps the sectors: encrypted per 4096-byte sector with the
// sector cipher of src/xts (AES-256-XTS, tweak = sector number) in a sparse backing image.
import * as fs from 'node:fs';
import { BufferPool } from './buffer-pool.js';
import { DeviceClosedError, InvalidRequestError, NoSpaceError } from './errors.js';
import { cipherCodec, JsSectorStore, type SectorCodec } from './js-sector-store.js';
import { NativeSectorStore } from './native-sector-store.js';
import { RangeLock } from './range-lock.js';
import { asBuffer, SECTOR_SIZE, type SectorStore } from './sector-store.js';
import { tuning, type DeviceTuning } from './tuning.js';

export { cipherCodec, SECTOR_SIZE, type SectorCodec, type SectorStore };
/** The largest request the kernel sends with max_write/max_read = 128 KiB; also our chunk size. */
export const CHUNK_BYTES = 128 * 1024;
/** Aligned reads up to this size may be served at once on the JS thread (DeviceTuning.inlineReadMaxBytes). */
export const INLINE_MAX_BYTES = tuning.inlineReadMaxBytes;

export interface BlockDeviceOptions {
  imagePath: string;
  sizeBytes: number;
  /** The 64-byte plaintext XTS key (K1||K2), or null for the bench-only pass-through mode. */
  key: Uint8Array | null;
  /** Create the sparse image at full size if it does not exist (default true). */
  create?: boolean;
  readOnly?: boolean;
  /** Replaces the cipher built from `key` (worker-thread codec, tests); implies the JS store. */
  codec?: SectorCodec;
  /** The JS store, with pread/pwrite on the calling thread ('sync') or on libuv's pool ('async'). */
  io?: 'sync' | 'async';
  /**
   * The native store (native-sector-store.ts) where it can run: the addon is built and, with a
   * key, the native XTS engine is selected. Default: on for encrypted devices, off for
   * pass-through (a thread-pool hop costs more than a synchronous page-cache pread/pwrite when
   * there is no cipher to move off the JS thread); true: pass-through too; false: never. Ignored
   * with `codec` or `io`, or when tuning forces the JS store.
   */
  native?: boolean;
  /** Overrides of the process's tuning (tuning.ts) for this device. */
  tuning?: Partial<DeviceTuning>;
}

export interface BlockDeviceStats {
  reads: number;
  writes: number;
  bytesRead: number;
  bytesWritten: number;
  readModifyWrites: number;
  /** Reads served at once on the JS thread from the page cache (SectorStore.readCached). */
  inlineReads: number;
  /** Writes done at once on the JS thread by the store (SectorStore.writeNow). */
  inlineWrites: number;
  holesRead: number;
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

/** The store for `opts`: the native one where wanted and able to run, else the JS one. */
function openStore(opts: BlockDeviceOptions): SectorStore {
  const t = opts.tuning ? { ...tuning, ...opts.tuning } : tuning;
  const io = opts.io ?? t.forceJsIO ?? undefined;
  const sectors = opts.sizeBytes / SECTOR_SIZE;
  const readOnly = opts.readOnly ?? false;
  if (!opts.codec && !io && (opts.native ?? opts.key !== null)) {
    const store = NativeSectorStore.open(opts.imagePath, sectors, {
      key: opts.key,
      readOnly,
      mapImage: t.mapImage,
      inlineReadMaxBytes: t.inlineReadMaxBytes,
      mapReadMaxBytes: t.mapReadMaxBytes,
      inlineWriteMaxBytes: t.inlineWriteMaxBytes,
    });
    if (store) return store;
  }
  const codec = opts.codec ?? (opts.key ? cipherCodec(opts.key) : null);
  return new JsSectorStore(opts.imagePath, sectors, { codec, readOnly, io: io ?? 'sync' });
}

export class BlockDevice {
  readonly size: number;
  readonly sectorSize = SECTOR_SIZE;
  readonly encrypted: boolean;
  readonly stats: BlockDeviceStats = { reads: 0, writes: 0, bytesRead: 0, bytesWritten: 0, readModifyWrites: 0, inlineReads: 0, inlineWrites: 0, holesRead: 0 };
  private readonly lock = new RangeLock();
  private readonly pool = new BufferPool(CHUNK_BYTES);
  private inflight = 0;
  private drained: (() => void) | null = null;
  private closing: Promise<void> | undefined;
  private closed = false;

  /** A device over `store`, which it closes with itself. */
  constructor(readonly store: SectorStore) {
    this.size = store.sectors * SECTOR_SIZE;
    this.encrypted = store.encrypted;
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
    return new BlockDevice(openStore(opts));
  }

  /** The cipher and the store's way of serving it, for logs. */
  get codecName(): string {
    return this.store.description;
  }

  /** Whether requests run on the native store. */
  get nativeIO(): boolean {
    return this.store instanceof NativeSectorStore;
  }

  /** Reads up to `length` bytes at `offset` (short at the end of the device). */
  async read(offset: number, length: number): Promise<Buffer> {
    checkRange(offset, length);
    const buf = Buffer.alloc(Math.max(0, Math.min(length, this.size - offset)));
    const n = await this.readInto(offset, buf);
    return buf.subarray(0, n);
  }

  /**
   * Reads into `target` (e.g. libfuse's buffer); returns the byte count, short at the end.
   * `inFuseRead`: target is libfuse's buffer of the FUSE read being answered (SectorStore.readCached).
   */
  async readInto(offset: number, target: Uint8Array, opts: { inFuseRead?: boolean } = {}): Promise<number> {
    checkRange(offset, target.length);
    const end = Math.min(offset + target.length, this.size);
    if (end <= offset) return 0;
    const out = asBuffer(target);
    return this.track(async () => {
      const s0 = Math.floor(offset / SECTOR_SIZE);
      const s1 = Math.ceil(end / SECTOR_SIZE);
      const release = await this.lock.acquire(s0, s1, false);
      try {
        if (offset === s0 * SECTOR_SIZE && end === s1 * SECTOR_SIZE && s1 - s0 <= this.store.maxRequestSectors) {
          // Aligned: one store request (up to 1 MiB from FUSE) straight into the caller's
          // buffer; a small one in the page cache may be served at once.
          const whole = out.subarray(0, end - offset);
          const holes = this.store.readCached ? this.store.readCached(s0, s1 - s0, whole, opts.inFuseRead) : -1;
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
   * nobody reads after the reply). A store writing through a mapping of the image encrypts whole
   * sectors straight from `data` into the page cache either way.
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
          await this.writeSectors(s0, src, src);
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
          if (headPartial || tailPartial) {
            this.stats.readModifyWrites++;
            src.copy(work, from - base, from - offset, to - offset);
            await this.writeSectors(cs, work, work);
          } else {
            await this.writeSectors(cs, src.subarray(from - offset, to - offset), work);
          }
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
    if (this.closed) throw new DeviceClosedError();
    await this.store.flush();
  }

  /** Drains in-flight requests, then flushes and closes the store; new requests are refused from the first call on. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      while (this.inflight > 0) await new Promise<void>((r) => (this.drained = r));
      try {
        await this.store.close();
      } finally {
        this.closed = true;
      }
    })();
    return this.closing;
  }

  /** The store's writeSectors, done at once where the store can (writeNow: a pwrite into the page cache). */
  private writeSectors(firstSector: number, data: Buffer, work: Buffer): Promise<void> | void {
    if (this.store.writeNow?.(firstSector, data, work)) {
      this.stats.inlineWrites++;
      return;
    }
    return this.store.writeSectors(firstSector, data, work);
  }

  /** Reads whole sectors into `buf` as plaintext, counting holes. */
  private async readSectors(buf: Buffer, firstSector: number): Promise<void> {
    this.stats.holesRead += await this.store.readSectors(firstSector, buf.length / SECTOR_SIZE, buf);
  }

  private async track<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed || this.closing) throw new DeviceClosedError();
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

function checkRange(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidRequestError(`offset: expected a non-negative integer, got ${offset}`);
  if (!Number.isSafeInteger(length) || length < 0) throw new InvalidRequestError(`length: expected a non-negative integer, got ${length}`);
}
