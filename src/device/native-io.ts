// The threaded native data path: pread + XTS-decrypt and XTS-encrypt + pwrite of whole sectors on
// libuv's thread pool (readDecrypt / encryptWrite in native/src/ebsim_xts.c), straight into and
// out of the caller's buffer, so that neither the page-cache copy nor the cipher runs on the one
// JS thread that fuse-native hands every request to.
//
// Used by BlockDevice for whole-sector requests when the selected XTS engine is the native one
// (EBSIM_XTS_ENGINE unset or "native") and the addon has these entry points; EBSIM_DEVICE_IO=js
// turns it off (bench comparisons). Everything else keeps the JS path.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectedEngine } from '../xts/index.js';
import { DeviceIOError, NoSpaceError } from './errors.js';

interface IoAddon {
  supported(): string | null;
  expandKeys(key: Uint8Array, sched: Uint8Array): number;
  readDecrypt(fd: number, offset: number, buf: Uint8Array, firstSector: number, sched: Uint8Array | null, rounds: number, cb: (err: number, holes: number) => void, map?: ImageMap | null): void;
  encryptWrite(fd: number, offset: number, src: Uint8Array, dst: Uint8Array, firstSector: number, sched: Uint8Array | null, rounds: number, cb: (err: number) => void, map?: ImageMap | null): void;
  // cb null: at once, through the mapping only; the hole count, or -1 if not served.
  readDecrypt(fd: number, offset: number, buf: Uint8Array, firstSector: number, sched: Uint8Array | null, rounds: number, cb: null, map: ImageMap): number;
  // Optional: an addon built before they existed still serves pread/pwrite.
  mapImage?(fd: number, length: number): ImageMap | null;
  unmapImage?(map: ImageMap): void;
  ioStats?(): [number, number, number];
  setMapCheck?(on: boolean): boolean;
}

/** An opaque handle to a shared mapping of a backing image (native mapImage()). */
type ImageMap = { readonly __brand: 'ImageMap' };

const ADDON = join('native', 'build', 'Release', 'ebsim_xts.node');
const SCHED_BYTES = 720;
let addon: IoAddon | null | undefined;

function loadAddon(): IoAddon | null {
  if (addon !== undefined) return addon;
  addon = null;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++, dir = dirname(dir)) {
    const p = join(dir, ADDON);
    if (!existsSync(p)) continue;
    try {
      const a = createRequire(import.meta.url)(p) as Partial<IoAddon>;
      if (typeof a.readDecrypt === 'function' && typeof a.encryptWrite === 'function' && a.supported?.() === null) addon = a as IoAddon;
    } catch {
      // not loadable: the JS path stays
    }
    break;
  }
  return addon;
}

const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));
const errnoName = (code: number) => ERRNO_NAMES.get(code) ?? `errno ${code}`;

/** Sector I/O for one open image; null key schedule = pass-through. */
export class NativeSectorIO {
  private readonly sched: Uint8Array | null;
  private readonly rounds: number;
  private map: ImageMap | null = null;
  private mappedFd = -1;

  private constructor(
    private readonly addon: IoAddon,
    key: Uint8Array | null,
  ) {
    if (key) {
      this.sched = new Uint8Array(SCHED_BYTES);
      this.rounds = addon.expandKeys(key, this.sched);
    } else {
      this.sched = null;
      this.rounds = 0;
    }
  }

  /**
   * The native path for this key, or null when it must not be used: the selected XTS engine is
   * not the native one, the addon lacks the entry points, or EBSIM_DEVICE_IO asks for JS I/O.
   */
  static create(key: Uint8Array | null): NativeSectorIO | null {
    const mode = process.env.EBSIM_DEVICE_IO;
    if (mode === 'js' || mode === 'sync' || mode === 'async') return null;
    if (key && selectedEngine().name !== 'native') return null;
    const a = loadAddon();
    return a ? new NativeSectorIO(a, key) : null;
  }

  /**
   * Maps the image (MAP_SHARED: the page cache itself) so that reads decrypt straight out of it
   * into the caller's buffer and writes encrypt straight into it: one pass over the data instead
   * of pread/pwrite's copy plus a cipher pass in place. Only requests whose pages are already in
   * the page cache use it (the addon checks with mincore); writes only if `fd` is open for
   * writing. Off with EBSIM_DEVICE_MMAP=0, and wherever mmap fails: pread/pwrite then.
   * Called once per fd, right after open (nothing can be in flight yet).
   */
  mapImage(fd: number, length: number): boolean {
    if (process.env.EBSIM_DEVICE_MMAP === '0' || !this.addon.mapImage) return false;
    this.map = this.addon.mapImage(fd, length);
    this.mappedFd = this.map ? fd : -1;
    return this.map !== null;
  }

  /**
   * Requests served through a mapping since the addon loaded, and those that faulted there and
   * were redone with pread/pwrite (all devices of the process). Zeros without the addon.
   */
  static mappedIO(): { reads: number; writes: number; faults: number } {
    const [reads, writes, faults] = loadAddon()?.ioStats?.() ?? [0, 0, 0];
    return { reads, writes, faults };
  }

  /**
   * Tests only: with `false`, requests use the mapping without first checking that their pages
   * are in the page cache, so that a fault (and the pread/pwrite fallback) can be provoked.
   */
  static setMapResidencyCheck(on: boolean): void {
    loadAddon()?.setMapCheck?.(on);
  }

  /** Unmaps now (BlockDevice.close, after its requests have drained). */
  unmapImage(): void {
    if (this.map) this.addon.unmapImage?.(this.map);
    this.map = null;
    this.mappedFd = -1;
  }

  get mapped(): boolean {
    return this.map !== null;
  }

  /**
   * Serves a whole-sector read at once on the calling thread, if the image is mapped and every
   * page of the request is in the page cache: the hole count, or -1 (then call readDecrypt). For
   * small requests, where a hop through the pool costs more than the work: no disk wait (unless
   * a page is evicted between the check and the copy), and the cipher's share is a fraction of a
   * microsecond per sector.
   */
  readCached(fd: number, buf: Uint8Array, firstSector: number, sectorSize: number): number {
    const map = this.mapFor(fd);
    return map ? this.addon.readDecrypt(fd, firstSector * sectorSize, buf, firstSector, this.sched, this.rounds, null, map) : -1;
  }

  /** The mapping of `fd`'s image, if this is the descriptor it was made for. */
  private mapFor(fd: number): ImageMap | null {
    return fd === this.mappedFd ? this.map : null;
  }

  /** Fills `buf` (whole sectors) from sector `firstSector` and decrypts it; resolves to the hole count. */
  readDecrypt(fd: number, buf: Uint8Array, firstSector: number, sectorSize: number): Promise<number> {
    const pos = firstSector * sectorSize;
    return new Promise((resolve, reject) =>
      this.addon.readDecrypt(
        fd,
        pos,
        buf,
        firstSector,
        this.sched,
        this.rounds,
        (err, holes) => {
          if (err === 0) return resolve(holes);
          if (err === -1) return reject(new DeviceIOError(`short read at ${pos}: backing image ends before the volume does`));
          reject(new DeviceIOError(`read of ${buf.length} bytes at ${pos} failed: ${errnoName(err)}`));
        },
        this.mapFor(fd),
      ),
    );
  }

  /**
   * Encrypts `src` (whole sectors) and writes it at sector `firstSector`, through `dst` as a
   * work buffer unless the image is mapped. `dst` may be `src` itself (the caller gives up its
   * contents: scratch mode); otherwise `src` is untouched. `dst`'s contents are unspecified after.
   */
  encryptWrite(fd: number, src: Uint8Array, dst: Uint8Array, firstSector: number, sectorSize: number): Promise<void> {
    const pos = firstSector * sectorSize;
    return new Promise((resolve, reject) =>
      this.addon.encryptWrite(
        fd,
        pos,
        src,
        dst,
        firstSector,
        this.sched,
        this.rounds,
        (err) => {
          if (err === 0) return resolve();
          const msg = `write of ${src.length} bytes at ${pos} failed: ${errnoName(err)}`;
          const name = errnoName(err);
          reject(name === 'ENOSPC' || name === 'EDQUOT' ? new NoSpaceError(msg) : new DeviceIOError(msg));
        },
        this.mapFor(fd),
      ),
    );
  }
}
