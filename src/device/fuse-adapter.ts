// Serves a BlockDevice as one regular file (/disk, mode 0600) in a FUSE mountpoint, for
// `losetup` to attach. Every handler answers: byte counts for read/write, 0 or a negative errno
// otherwise (via toErrno, the only errno mapping), and no exception reaches fuse-native.
import { constants } from 'node:os';
import type { BlockDevice } from './block-device.js';
import { SECTOR_SIZE } from './block-device.js';
import { toErrno } from './errno.js';
import { InvalidRequestError, NoSpaceError } from './errors.js';
import { createFuse, loadFuse, type FuseInstance, type FuseOps, type FuseStat } from './fuse-native.js';
import { SizeHistogram } from './histogram.js';
import { tuning } from './tuning.js';

export const DISK_FILE = 'disk';
const MAX_IO = 128 * 1024;

/**
 * Reads may be larger than writes: the daemon's parent sets EBSIM_FUSE_MAX_PAGES (up to 256 =
 * 1 MiB) when the preload that asks the kernel for it is loaded (native/src/ebsim_fuse_init.c).
 */
function maxRead(): number {
  const pages = tuning.fuseMaxPages;
  return pages !== null && pages > 32 && pages <= 256 ? pages * 4096 : MAX_IO;
}

/**
 * Passed through the -o list (see fuse-native.ts): 128 KiB requests instead of 4 KiB ones.
 * Not direct_io: the loop device already opens /disk with O_DIRECT (losetup --direct-io=on), so
 * the page cache is bypassed where it matters, while other readers (dd, blkid, export through
 * the mount) keep the normal cached, mmap-able file semantics that direct_io would take away.
 */
export const FUSE_TUNING_OPTIONS = ['big_writes', `max_write=${MAX_IO}`, `max_read=${maxRead()}`] as const;

export interface DeviceFuseOptions {
  log?: (message: string) => void;
  fsname?: string;
  debug?: boolean;
}

export class DeviceFuse {
  readonly writeSizes = new SizeHistogram();
  readonly readSizes = new SizeHistogram();
  private readonly fuse: FuseInstance;
  private mounted = false;
  private readonly log: (m: string) => void;
  private readonly started = new Date();

  constructor(
    readonly mountpoint: string,
    readonly device: BlockDevice,
    opts: DeviceFuseOptions = {},
  ) {
    this.log = opts.log ?? (() => {});
    this.fuse = createFuse(
      mountpoint,
      this.ops(),
      {
        force: true,
        mkdir: true,
        debug: opts.debug,
        fsname: opts.fsname ?? 'ebsim',
        subtype: 'ebsim',
        attrTimeout: 60,
        entryTimeout: 60,
        // fuse-native answers a request still pending after `timeout` ms with ETIMEDOUT and lets
        // libfuse free its buffer, while our read may still be filling it. A slow disk must stay
        // slow, not become an I/O error or a write into freed memory: no timeout.
        timeout: false,
      },
      FUSE_TUNING_OPTIONS,
    );
  }

  get devicePath(): string {
    return `${this.mountpoint}/${DISK_FILE}`;
  }

  mount(): Promise<void> {
    return new Promise((resolve, reject) =>
      this.fuse.mount((err) => {
        if (err) return reject(err);
        this.mounted = true;
        this.log(`fuse mounted at ${this.mountpoint} with -o ${FUSE_TUNING_OPTIONS.join(',')}`);
        resolve();
      }),
    );
  }

  unmount(): Promise<void> {
    if (!this.mounted) return Promise.resolve();
    return new Promise((resolve, reject) =>
      this.fuse.unmount((err) => {
        if (err) return reject(err);
        this.mounted = false;
        resolve();
      }),
    );
  }

  /** One log line with the request-size histograms (at unmount and on SIGUSR2). */
  histogramLine(): string {
    return `request sizes: writes ${this.writeSizes} | reads ${this.readSizes}`;
  }

  private stat(path: string): FuseStat | null {
    const t = this.started;
    if (path === '/') return { mode: 0o040700, size: 4096, nlink: 2, mtime: t, atime: t, ctime: t, uid: 0, gid: 0 };
    if (path === `/${DISK_FILE}`) {
      const size = this.device.size;
      return { mode: 0o100600, size, nlink: 1, blksize: SECTOR_SIZE, blocks: size / 512, mtime: t, atime: t, ctime: t, uid: 0, gid: 0 };
    }
    return null;
  }

  private ops(): FuseOps {
    const dev = this.device;
    const ENOENT = -constants.errno.ENOENT;
    // Runs an async handler; any rejection becomes an errno through toErrno.
    const guard = (cb: (err: number) => void, fn: () => Promise<unknown>) => {
      fn().then(
        () => cb(0),
        (err) => {
          this.log(`error: ${(err as Error).message}`);
          cb(toErrno(err));
        },
      );
    };
    return {
      getattr: (path, cb) => {
        const st = this.stat(path);
        if (st) cb(0, st);
        else cb(ENOENT);
      },
      fgetattr: (path, _fd, cb) => {
        const st = this.stat(path);
        if (st) cb(0, st);
        else cb(ENOENT);
      },
      readdir: (path, cb) => (path === '/' ? cb(0, [DISK_FILE]) : cb(ENOENT)),
      open: (path, _flags, cb) => (isDiskPath(path) ? cb(0, 1) : cb(ENOENT)),
      release: (_path, _fd, cb) => cb(0),
      read: (path, _fd, buf, len, pos, cb) => {
        if (!isDiskPath(path)) return cb(ENOENT);
        this.readSizes.add(len);
        // Decrypt straight into libfuse's buffer; it stays valid until cb is called. A read
        // served from the page cache may leave the decryption to the libfuse worker that
        // replies (inFuseRead: native/src/ebsim_fuse_read.c), off this one JS thread.
        dev.readInto(pos, buf.subarray(0, len), { inFuseRead: true }).then(cb, (err) => {
          this.log(`read ${len}@${pos}: ${(err as Error).message}`);
          cb(toErrno(err));
        });
      },
      write: (path, _fd, buf, len, pos, cb) => {
        if (!isDiskPath(path)) return cb(ENOENT);
        this.writeSizes.add(len);
        // A write straddling the end writes what fits (a short count, as POSIX); one wholly past
        // the end is ENOSPC, because the volume never grows.
        const n = Math.min(len, dev.size - pos);
        if (n <= 0) return cb(toErrno(new NoSpaceError(`write at ${pos} is past the end of the volume`)));
        // `buf` is libfuse's request buffer: valid until cb, read by nobody after it, so the
        // device may encrypt in place there (scratch) rather than copy; nothing keeps it.
        dev.write(pos, buf.subarray(0, n), { scratch: true }).then(cb, (err) => {
          this.log(`write ${len}@${pos}: ${(err as Error).message}`);
          cb(toErrno(err));
        });
      },
      flush: (_path, _fd, cb) => guard(cb, () => dev.flush()),
      fsync: (_path, _datasync, _fd, cb) => guard(cb, () => dev.flush()),
      truncate: (path, size, cb) => guard(cb, async () => this.refuseResize(path, size)),
      ftruncate: (path, _fd, size, cb) => guard(cb, async () => this.refuseResize(path, size)),
      utimens: (_path, _a, _m, cb) => cb(0),
      statfs: (_path, cb) =>
        cb(0, {
          bsize: SECTOR_SIZE,
          frsize: SECTOR_SIZE,
          blocks: dev.size / SECTOR_SIZE,
          bfree: 0,
          bavail: 0,
          files: 2,
          ffree: 0,
          favail: 0,
          fsid: 0,
          flag: 0,
          namemax: 255,
        }),
    };
  }

  private refuseResize(path: string, size: number): void {
    if (!isDiskPath(path)) throw new InvalidRequestError(`no such file ${path}`, 'ENOENT');
    // O_TRUNC opens and same-size truncates are harmless; a size change is not allowed.
    if (size !== this.device.size) throw new InvalidRequestError(`the volume size is fixed at ${this.device.size} bytes`, 'EPERM');
  }
}

function isDiskPath(p: string): boolean {
  return p === `/${DISK_FILE}`;
}

/** Lazy `fusermount -uz` of a FUSE mountpoint (used after a crash, when no daemon is left). */
export function forceUnmountFuse(mountpoint: string): Promise<void> {
  return new Promise((resolve, reject) => loadFuse().unmount(mountpoint, (err) => (err ? reject(err) : resolve())));
}
