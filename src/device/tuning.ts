// The device's tuning knobs, read from the environment once, when this module loads: a process
// runs with one setting of each (the daemon inherits the CLI's environment, plus what the CLI
// sets for it). Defaults are the fastest measured settings; the knobs exist for comparisons
// (bench/device) and for hosts where a default does not fit. BlockDevice.open takes overrides.
// Read elsewhere: EBSIM_XTS_ENGINE by src/xts (the cipher engine), and EBSIM_FUSE_MAX_WORKERS,
// EBSIM_FUSE_LIBFUSE_LOOP and EBSIM_FUSE_DEFER_READS by the FUSE preload itself (native/src/ebsim_fuse_loop.c, ebsim_fuse_read.c).
import * as os from 'node:os';

export interface DeviceTuning {
  /**
   * EBSIM_DEVICE_IO=js|sync|async: every device uses the JS sector store, with its pread/pwrite
   * on the JS thread (js, sync) or on libuv's pool (async). Unset or native: the native store
   * where it can run, the JS one otherwise.
   */
  readonly forceJsIO: 'sync' | 'async' | null;
  /** EBSIM_DEVICE_MMAP=0: the native store never maps the image (pread/pwrite only). */
  readonly mapImage: boolean;
  /**
   * EBSIM_DEVICE_INLINE_MAX (bytes, 0 = never): aligned reads up to this size whose pages are all
   * in the page cache are served at once on the JS thread by the native store, because the hop
   * through libuv's pool costs more than such a read's work (and, in the daemon, the decryption
   * of those above mapReadMaxBytes runs on the libfuse worker that replies: EBSIM_FUSE_DEFER_READS,
   * native/src/ebsim_fuse_read.c). Writes: inlineWriteMaxBytes.
   */
  readonly inlineReadMaxBytes: number;
  /**
   * EBSIM_DEVICE_MAP_READ_MAX (bytes): reads up to this size decrypt straight out of the mapping
   * of the image; bigger ones are copied out of the page cache with pread (preadv2 RWF_NOWAIT
   * when inline) and decrypted in place, which costs less per byte than reading a user mapping
   * page by page.
   */
  readonly mapReadMaxBytes: number;
  /**
   * EBSIM_DEVICE_INLINE_WRITE_MAX (bytes, 0 = never): aligned writes up to this size are done at
   * once on the JS thread by the native store (encrypt + pwrite, not through the mapping), as the
   * JS pass-through does its pwrite: the two hops through libuv's pool and back, and a write
   * fault on every mapped page that write-back left read-only, cost several times the cipher.
   */
  readonly inlineWriteMaxBytes: number;
  /**
   * The daemon's libuv pool size: EBSIM_DEVICE_THREADS, else UV_THREADPOOL_SIZE, else about one
   * thread per core (2..4). The pool runs the native store's decrypt / encrypt and fdatasync:
   * CPU-bound work on a page-cache hit, on a machine where fio, the loop worker and libfuse's
   * threads want the cores too.
   */
  readonly daemonThreads: number;
  /** UV_THREADPOOL_SIZE as this process's libuv sees it (unset: libuv's default of 4). */
  readonly uvThreadpoolSize: string | undefined;
  /** EBSIM_FUSE_ASYNC_DIO=0: the daemon runs without the FUSE init preload (ebsim_fuse_init.so). */
  readonly fuseAsyncDio: boolean;
  /**
   * EBSIM_FUSE_MAX_PAGES: pages per FUSE read. Set by hand, it tells the CLI what the preload
   * should ask the kernel for (32..256); the CLI then sets it for the daemon, which mounts with
   * the matching max_read.
   */
  readonly fuseMaxPages: number | null;
  /** EBSIM_FUSE_INIT_PRELOAD: set by the CLI for the daemon, the preload it put in LD_PRELOAD ('' for none). */
  readonly fuseInitPreload: string;
}

// 1 MiB (the largest FUSE read with FUSE_MAX_PAGES): a cached read of any size FUSE sends is served
// on the JS thread, reads above MAP_READ_MAX with preadv2 and (in the daemon) the decryption left to
// the libfuse worker. Paired rounds of sequential 1 MiB reads, AMD EPYC with VAES + AVX-512, two
// shared cores: daemon CPU per MiB 610 us (16 KiB, pool + mapping) -> 536 us (pass-through 498-509).
const INLINE_READ_MAX_DEFAULT = 1 << 20;
// Reading the mapping costs a TLB miss and a cache miss per 4 KiB page before the cipher starts,
// while pread copies through the kernel's own mapping: 1 MiB decrypted out of the mapping took
// 310-610 us of CPU, pread + decrypt in place 130-160 us (single thread, page-cache hits, here).
const MAP_READ_MAX_DEFAULT = 16 * 1024;
// 1 MiB (the largest FUSE write with FUSE_MAX_PAGES): full runs on 1 GiB files gave sequential 1 MiB
// writes through the pool and the mapping 0.34x the js pass-through; done inline, 0.91x.
const INLINE_WRITE_MAX_DEFAULT = 1 << 20;

/** A byte count from the environment: unset, empty or not a non-negative integer gives `fallback`. */
function bytesKnob(v: string | undefined, fallback: number): number {
  const n = v === undefined || v === '' ? NaN : Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : fallback;
}

export function readTuning(env: NodeJS.ProcessEnv = process.env): DeviceTuning {
  const io = env.EBSIM_DEVICE_IO;
  const threads = env.EBSIM_DEVICE_THREADS ?? env.UV_THREADPOOL_SIZE;
  const pages = env.EBSIM_FUSE_MAX_PAGES;
  return {
    forceJsIO: io === 'js' || io === 'sync' ? 'sync' : io === 'async' ? 'async' : null,
    mapImage: env.EBSIM_DEVICE_MMAP !== '0',
    inlineReadMaxBytes: bytesKnob(env.EBSIM_DEVICE_INLINE_MAX, INLINE_READ_MAX_DEFAULT),
    mapReadMaxBytes: bytesKnob(env.EBSIM_DEVICE_MAP_READ_MAX, MAP_READ_MAX_DEFAULT),
    inlineWriteMaxBytes: bytesKnob(env.EBSIM_DEVICE_INLINE_WRITE_MAX, INLINE_WRITE_MAX_DEFAULT),
    daemonThreads: threads && /^[1-9][0-9]*$/.test(threads) ? Number(threads) : Math.max(2, Math.min(4, os.availableParallelism())),
    uvThreadpoolSize: env.UV_THREADPOOL_SIZE,
    fuseAsyncDio: env.EBSIM_FUSE_ASYNC_DIO !== '0',
    fuseMaxPages: pages && /^[0-9]+$/.test(pages) ? Number(pages) : null,
    fuseInitPreload: env.EBSIM_FUSE_INIT_PRELOAD ?? '',
  };
}

export const tuning: DeviceTuning = readTuning();
