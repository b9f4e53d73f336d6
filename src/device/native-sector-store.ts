// The sector store in native code (native/src/ebsim_sector_io.c): pread + XTS-decrypt and
// XTS-encrypt + pwrite of whole sectors on libuv's thread pool, straight into and out of the
// caller's buffer, so that neither the page-cache copy nor the cipher runs on the one JS thread
// that fuse-native hands every request to. Where the image can be mapped, requests whose pages
// are in the page cache go through the mapping instead: one pass over the data rather than a
// copy plus a cipher pass in place.
import { constants } from 'node:os';
import { loadAddon, SCHED_BYTES, type Addon, type ImageMap } from '../xts/addon.js';
import { checkXtsKey } from '../xts/core.js';
import { selectedEngine } from '../xts/index.js';
import { DeviceIOError, InvalidRequestError, NoSpaceError } from './errors.js';
import { ImageFileStore, SECTOR_SIZE } from './sector-store.js';

export interface NativeSectorStoreOptions {
  /** The 64-byte XTS key (K1||K2), or null for pass-through (the image holds plaintext). */
  key: Uint8Array | null;
  readOnly?: boolean;
  /**
   * Map the image (MAP_SHARED: the page cache itself), so that reads decrypt straight out of it
   * and writes encrypt straight into it. Only requests whose pages are already in the page cache
   * use it (the addon checks with mincore); writes only if the image is open for writing. Where
   * mmap fails, pread/pwrite only.
   */
  mapImage: boolean;
  /** Reads up to this many bytes are tried at once on the JS thread (readCached); 0: never. */
  inlineReadMaxBytes: number;
  /** Reads up to this many bytes go through the mapping; bigger ones use pread (default: all through the mapping). */
  mapReadMaxBytes?: number;
  /** Writes up to this many bytes are done at once on the JS thread (writeNow); 0: never. */
  inlineWriteMaxBytes?: number;
  /** In FUSE reads, leave the decryption to the libfuse worker where the preload allows (default true). */
  deferReads?: boolean;
}

const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));
const errnoName = (code: number) => ERRNO_NAMES.get(code) ?? `errno ${code}`;

/** The addon if this store can run for `key`: it is built and, with a key, the selected XTS engine is the native one. */
function addonFor(key: Uint8Array | null): Addon | null {
  if (key && selectedEngine().name !== 'native') return null;
  return loadAddon().addon;
}

export class NativeSectorStore extends ImageFileStore {
  readonly description: string;
  readonly encrypted: boolean;
  /** Any size: a request is one job on the pool, and the JS thread sees one completion. */
  readonly maxRequestSectors = Number.MAX_SAFE_INTEGER;
  private readonly addon: Addon;
  private readonly sched: Uint8Array | null;
  private readonly rounds: number;
  private readonly inlineReadMaxBytes: number;
  private readonly mapReadMaxBytes: number;
  private readonly deferReads: boolean;
  private readonly inlineWriteMaxBytes: number;
  private map: ImageMap | null;

  /** Whether the native store can serve `key` here (pass null for pass-through). */
  static available(key: Uint8Array | null): boolean {
    return addonFor(key) !== null;
  }

  /** Opens the store, or returns null when it cannot run (see available()). */
  static open(imagePath: string, sectors: number, opts: NativeSectorStoreOptions): NativeSectorStore | null {
    const addon = addonFor(opts.key);
    return addon ? new NativeSectorStore(addon, imagePath, sectors, opts) : null;
  }

  /**
   * Requests served through a mapping since the addon loaded, and those that faulted there and
   * were redone with pread/pwrite; reads served at once with preadv2 RWF_NOWAIT, and those of
   * them decrypted by a libfuse worker (all stores of the process). Zeros without the addon.
   */
  static mappedIO(): { reads: number; writes: number; faults: number; nowaitReads: number; deferredReads: number } {
    const [reads, writes, faults, nowaitReads, deferredReads] = loadAddon().addon?.ioStats() ?? [0, 0, 0, 0, 0];
    return { reads, writes, faults, nowaitReads, deferredReads };
  }

  /** One log line with mappedIO(), for the daemon (at unmount and on SIGUSR2). */
  static ioLine(): string {
    const io = NativeSectorStore.mappedIO();
    return `native store: mapped reads ${io.reads}, mapped writes ${io.writes}, faults ${io.faults}, preadv2 reads ${io.nowaitReads} (decrypted by libfuse workers ${io.deferredReads})`;
  }

  /**
   * Tests only: with `false`, requests use the mapping without first checking that their pages
   * are in the page cache, so that a fault (and the pread/pwrite fallback) can be provoked.
   */
  static setMapResidencyCheck(on: boolean): void {
    loadAddon().addon?.setMapCheck(on);
  }

  private constructor(addon: Addon, imagePath: string, sectors: number, opts: NativeSectorStoreOptions) {
    if (opts.key) checkXtsKey(opts.key, [64]);
    super(imagePath, sectors, opts.readOnly ?? false);
    this.addon = addon;
    this.encrypted = opts.key !== null;
    this.inlineReadMaxBytes = opts.inlineReadMaxBytes;
    this.mapReadMaxBytes = opts.mapReadMaxBytes ?? Number.MAX_SAFE_INTEGER;
    this.deferReads = opts.deferReads ?? true;
    this.inlineWriteMaxBytes = opts.inlineWriteMaxBytes ?? 0;
    if (opts.key) {
      this.sched = new Uint8Array(SCHED_BYTES);
      this.rounds = addon.expandKeys(opts.key, this.sched);
    } else {
      this.sched = null;
      this.rounds = 0;
    }
    // Nothing can be in flight yet: map now, once for the life of the descriptor.
    this.map = opts.mapImage ? addon.mapImage(this.fd, sectors * SECTOR_SIZE) : null;
    this.description = `${opts.key ? 'xts:native' : 'pass-through'} (native threaded I/O${this.map ? ' through a shared mapping of the image' : ''})`;
  }

  get mapped(): boolean {
    return this.map !== null;
  }

  /**
   * Serves a read of up to inlineReadMaxBytes at once on the calling thread if every page of it
   * is in the page cache: no disk wait (unless a page is evicted between the check and the
   * copy). Up to mapReadMaxBytes it decrypts straight out of the mapping; bigger, it copies with
   * preadv2 RWF_NOWAIT and decrypts in place. In a FUSE read (`inFuseRead`, and the preload's
   * read hook loaded: native/src/ebsim_fuse_read.c) the latter pass runs on the libfuse worker
   * that replies, not here. The hole count, or -1 (then call readSectors).
   */
  readCached(firstSector: number, count: number, into: Uint8Array, inFuseRead = false): number {
    const len = this.check('read', firstSector, count, into);
    if (len > this.inlineReadMaxBytes) return -1;
    const buf = len === into.length ? into : into.subarray(0, len);
    const map = this.readMap(len);
    return this.addon.readDecrypt(this.fd, firstSector * SECTOR_SIZE, buf, firstSector, this.sched, this.rounds, null, map, inFuseRead && this.deferReads);
  }

  readSectors(firstSector: number, count: number, into: Uint8Array): Promise<number> {
    let len: number;
    try {
      len = this.check('read', firstSector, count, into);
    } catch (err) {
      return Promise.reject(err);
    }
    const buf = len === into.length ? into : into.subarray(0, len);
    const pos = firstSector * SECTOR_SIZE;
    return new Promise((resolve, reject) =>
      this.addon.readDecrypt(
        this.fd,
        pos,
        buf,
        firstSector,
        this.sched,
        this.rounds,
        (err, holes) => {
          if (err === 0) return resolve(holes);
          if (err === -1) return reject(new DeviceIOError(`short read at ${pos}: backing image ends before the volume does`));
          reject(new DeviceIOError(`read of ${len} bytes at ${pos} failed: ${errnoName(err)}`));
        },
        this.readMap(len),
      ),
    );
  }

  /** The mapping for a read of `len` bytes, or null: pread (see mapReadMaxBytes). */
  private readMap(len: number): ImageMap | null {
    return len <= this.mapReadMaxBytes ? this.map : null;
  }

  /**
   * Does a write of up to inlineWriteMaxBytes (by default every write FUSE sends: tuning.ts) at
   * once on the calling thread: encrypted into `work` (in place when the caller gives up `data`)
   * and pwritten, as the pass-through does its synchronous pwrite; the hops to libuv's pool and
   * back cost more than the cipher (well under a microsecond a 4 KiB sector). Not through the
   * mapping: a write there mostly lands on pages that write-back has made clean and read-only,
   * and a write fault (mkwrite) per page plus the mincore check cost more than pwrite's copy.
   * True if done; throws as writeSectors rejects.
   */
  writeNow(firstSector: number, data: Uint8Array, work?: Uint8Array): boolean {
    const len = this.checkWrite(firstSector, data);
    if (len > this.inlineWriteMaxBytes) return false;
    const dst = work === undefined ? Buffer.allocUnsafe(len) : work.length === len ? work : work.subarray(0, len);
    if (dst.length < len) throw new InvalidRequestError(`work: expected ${len} bytes, got ${dst.length}`);
    const pos = firstSector * SECTOR_SIZE;
    const err = this.addon.encryptWrite(this.fd, pos, data, dst, firstSector, this.sched, this.rounds, null, null);
    if (err !== 0) throw writeError(err, len, pos);
    return true;
  }

  /** Through the mapping, `data` is encrypted straight into the page cache and `work` is not used. */
  writeSectors(firstSector: number, data: Uint8Array, work?: Uint8Array): Promise<void> {
    let len: number;
    let dst: Uint8Array;
    try {
      len = this.checkWrite(firstSector, data);
      dst = work === undefined ? Buffer.allocUnsafe(len) : work.length === len ? work : work.subarray(0, len);
      if (dst.length < len) throw new InvalidRequestError(`work: expected ${len} bytes, got ${dst.length}`);
    } catch (err) {
      return Promise.reject(err);
    }
    const pos = firstSector * SECTOR_SIZE;
    return new Promise((resolve, reject) =>
      this.addon.encryptWrite(
        this.fd,
        pos,
        data,
        dst,
        firstSector,
        this.sched,
        this.rounds,
        (err) => (err === 0 ? resolve() : reject(writeError(err, len, pos))),
        this.map,
      ),
    );
  }

  protected override released(): void {
    // After the caller's requests have drained: unmap now rather than at garbage collection.
    if (this.map) this.addon.unmapImage(this.map);
    this.map = null;
  }
}

function writeError(err: number, len: number, pos: number): Error {
  const name = errnoName(err);
  const msg = `write of ${len} bytes at ${pos} failed: ${name}`;
  return name === 'ENOSPC' || name === 'EDQUOT' ? new NoSpaceError(msg) : new DeviceIOError(msg);
}
