// ebsim_sector_io: the block device's sector I/O (src/device/native-sector-store.ts). Positioned
// I/O plus XTS on libuv's thread pool, straight into / out of the caller's buffer, so neither the
// copy out of the page cache nor the cipher runs on the JS thread.
//
// JS API:
//   readDecrypt(fd, offset, buf, firstSector, sched|null, rounds, cb(errno, holes), [map], [defer])
//     pread buf.length bytes at offset into buf, then decrypts every sector of 4096 bytes that
//     is not all zeros (a never-written hole reads as zeros, as the JS path does). errno is 0,
//     a positive errno, or -1 for a short read (the image ends before the volume does).
//   encryptWrite(fd, offset, src, dst, firstSector, sched|null, rounds, cb(errno), [map])
//     copies src into dst unless they are the same buffer (the caller's scratch mode), encrypts
//     dst in place and pwrites it at offset. src is never modified unless dst is src; dst's
//     contents afterwards are unspecified.
// sched null means pass-through (no cipher). The key schedule is copied into the request.
// With cb null, the request runs at once on the calling thread. A read comes only from the page
// cache: through the mapping if one is given, else with preadv2 RWF_NOWAIT and a decryption in
// place (with defer, by the libfuse worker answering the FUSE read whose buffer buf is, where
// the preload allows: ebsim_fuse_read.c; 0 holes are reported then). It returns the hole count,
// or -1 when the request's pages are not all in the page cache (or a fault interrupted it): then
// nothing was reported and the caller queues it. A write runs
// whole (mapping or pwrite, as queued) and returns 0 or the errno.
//   mapImage(fd, length) -> external | null
//     maps the image MAP_SHARED (read-write if fd allows, else read-only): the page cache itself,
//     coherent with pread/pwrite, and flushed by fdatasync like any other dirty page. Passed as
//     the last argument above, reads decrypt straight from the page cache into the caller's
//     buffer, and writes encrypt straight from src into it: one pass over the data instead of a
//     copy plus a cipher pass in place. A fault on the mapping (an I/O error under it, a file
//     that shrank, a full file system under a hole) raises SIGBUS; the request's thread catches
//     it and redoes the request with pread/pwrite, which either succeed or name the errno.
//   unmapImage(map): unmaps now instead of at garbage collection.
//   ioStats() -> [mappedReads, mappedWrites, faults, nowaitReads, deferredReads];  setMapCheck(on): tests only.
#define _GNU_SOURCE /* pread/pwrite, sigsetjmp, MAP_* under -std=c11 */
#include "ebsim_addon.h"
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define DEV_SECTOR 4096

typedef struct {
  uint8_t *base;
  size_t len;
  int writable;
} image_map;
static const napi_type_tag IMAGE_MAP_TAG = {0x6562736d696d6167ULL, 0x656d617076310001ULL}; // "ebsmimag" "emapv1"

typedef struct {
  napi_async_work work;
  napi_ref cb_ref, buf_ref, src_ref, map_ref;
  const image_map *map;
  int fd, encrypt_write, has_key, nr, err;
  int64_t offset;
  uint64_t first_sector;
  uint8_t *buf, *src;
  size_t len;
  uint32_t holes;
  const uint8_t *keys; // the schedule to use: sched below (queued), or the caller's (synchronous)
  uint8_t sched[SCHED_BYTES];
} io_req;

static int sector_is_zero(const uint8_t *p) {
  uint64_t w[2];
  memcpy(w, p, 16);
  if (w[0] | w[1]) return 0; // ciphertext starts with 16 zero bytes with probability 2^-128
  return memcmp(p, p + 16, DEV_SECTOR - 16) == 0; // p[0..16) is zero: zero iff it equals itself shifted
}

// XTS over whole sectors from src into dst (the same buffer, or not overlapping), tweak = the
// first sector's number; `stream` as for xts_crypt_from.
static void crypt_sectors(io_req *r, int enc, int stream, const uint8_t *src, uint8_t *dst, size_t sectors, uint64_t first) {
  uint8_t tweak[16] = {0};
  memcpy(tweak, &first, 8); // little-endian sector number, high half zero
  xts_crypt_from(r->keys, r->nr, enc, stream, src, dst, DEV_SECTOR, sectors, tweak);
}

// Decrypts the request's sectors from src (buf itself after a pread, or the mapping) into buf,
// in maximal runs of non-hole sectors, one call each; an all-zero (never written) sector reads
// as zeros and is counted in holes.
static void decrypt_runs(io_req *r, const uint8_t *src) {
  size_t n = r->len / DEV_SECTOR, run = (size_t)-1;
  for (size_t i = 0; i <= n; i++) {
    int hole = i < n && sector_is_zero(src + i * DEV_SECTOR);
    if (i < n && !hole) {
      if (run == (size_t)-1) run = i;
      continue;
    }
    if (hole) {
      if (src != r->buf) memset(r->buf + i * DEV_SECTOR, 0, DEV_SECTOR);
      r->holes++;
    }
    if (run != (size_t)-1) {
      crypt_sectors(r, 0, 0, src + run * DEV_SECTOR, r->buf + run * DEV_SECTOR, i - run, r->first_sector + run);
      run = (size_t)-1;
    }
  }
}

// SIGBUS on the mapping: a thread inside read_mapped()/write_mapped() jumps back to its
// io_execute(); any other SIGBUS goes to the handler that was there before, or takes the default
// action (the process dies, as it would have without us).
// initial-exec TLS: reading it in the handler must not call __tls_get_addr (which may allocate).
static __thread sigjmp_buf *volatile bus_guard __attribute__((tls_model("initial-exec")));
static struct sigaction previous_bus;
static pthread_once_t bus_once = PTHREAD_ONCE_INIT;
static int bus_handler_installed;

static void on_sigbus(int sig, siginfo_t *info, void *uc) {
  sigjmp_buf *guard = bus_guard;
  if (guard) siglongjmp(*guard, 1);
  if (previous_bus.sa_flags & SA_SIGINFO) {
    if (previous_bus.sa_sigaction) {
      previous_bus.sa_sigaction(sig, info, uc);
      return;
    }
  } else if (previous_bus.sa_handler == SIG_IGN) {
    return;
  } else if (previous_bus.sa_handler != SIG_DFL) {
    previous_bus.sa_handler(sig);
    return;
  }
  signal(SIGBUS, SIG_DFL);
  raise(SIGBUS); // SA_NODEFER: delivered now, with the default action
}

static void install_bus_handler(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigbus;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  bus_handler_installed = sigaction(SIGBUS, &sa, &previous_bus) == 0;
}

// Only pages already in the page cache are read or written through the mapping. A write fault
// on a page that is not would first read it from disk (pwrite of a whole page does not), a read
// fault on a tmpfs hole would allocate a page (read() does not), and cold reads are better
// served by read()'s own readahead. So a request whose pages are not all resident uses
// pread/pwrite, and the mapping is the fast path for the page-cache hits that dominate.
static int map_check = 1; // tests turn it off to reach the SIGBUS fallback on purpose

static int resident(const uint8_t *addr, size_t len) {
  if (!map_check) return 1;
  const size_t page = 4096; // sectors and offsets are 4096-aligned; x86-64 pages are 4 KiB
  unsigned char vec[256];
  for (size_t done = 0; done < len;) {
    size_t n = (len - done + page - 1) / page;
    if (n > sizeof vec) n = sizeof vec;
    if (mincore((void *)(addr + done), n * page, vec) != 0) return 0;
    for (size_t i = 0; i < n; i++)
      if (!(vec[i] & 1)) return 0;
    done += n * page;
  }
  return 1;
}

// Requests served through a mapping, and those that faulted there and were redone with
// pread/pwrite, reads served at once with preadv2 and those decrypted by a libfuse worker:
// ioStats(). Tests use them to prove
// which path ran.
static uint64_t stat_mapped_reads, stat_mapped_writes, stat_faults, stat_nowait_reads, stat_deferred_reads;

// Decrypts (or copies) the request's sectors from the mapping into buf; holes read as zeros.
static void read_mapped(io_req *r) {
  const uint8_t *src = r->map->base + r->offset;
  if (!r->has_key) {
    memcpy(r->buf, src, r->len);
    return;
  }
  decrypt_runs(r, src);
}

// Encrypts (or copies) src straight into the mapping: the page cache, as pwrite would fill it,
// in one pass instead of an encryption in place plus pwrite's copy. src is left as it is.
static void write_mapped(io_req *r) {
  uint8_t *dst = r->map->base + r->offset;
  if (!r->has_key) {
    // Pass-through (the bench's ceiling) gets the same streaming stores as the cipher.
    if (((uintptr_t)dst & 63) == 0) xts_stream_copy(dst, r->src, r->len);
    else memcpy(dst, r->src, r->len);
    return;
  }
  crypt_sectors(r, 1, ((uintptr_t)dst & 63) == 0, r->src, dst, r->len / DEV_SECTOR, r->first_sector);
}

static int fits_mapping(const io_req *r) {
  const image_map *m = r->map;
  return m && m->base && (!r->encrypt_write || m->writable) && (uint64_t)r->offset <= m->len && r->len <= m->len - (uint64_t)r->offset &&
         resident(m->base + r->offset, r->len);
}

// Serves the request through the mapping if all its pages are in the page cache; 0 if it did
// not (no mapping, pages not resident, or SIGBUS on the way: then nothing was reported, and
// pread/pwrite redo it whole).
static int serve_from_mapping(io_req *r) {
  if (!fits_mapping(r)) return 0;
  sigjmp_buf jb;
  // The handler runs with SA_NODEFER, so jumping out leaves SIGBUS unblocked (no mask to save).
  if (sigsetjmp(jb, 0) == 0) {
    bus_guard = &jb;
    atomic_signal_fence(memory_order_seq_cst); // the guard is set before the first access
    if (r->encrypt_write) write_mapped(r);
    else read_mapped(r);
    atomic_signal_fence(memory_order_seq_cst);
    bus_guard = NULL;
    __atomic_fetch_add(r->encrypt_write ? &stat_mapped_writes : &stat_mapped_reads, 1, __ATOMIC_RELAXED);
    return 1;
  }
  // SIGBUS: an I/O error under the mapping, a file that shrank or was evicted and cannot be
  // read back, a full file system under a hole.
  bus_guard = NULL;
  __atomic_fetch_add(&stat_faults, 1, __ATOMIC_RELAXED);
  r->holes = 0;
  return 0;
}

// Deferred decryption (ebsim_fuse_read.c): a read into libfuse's buffer may leave the buffer
// encrypted and have the libfuse worker that answers the request decrypt it, off the JS thread.
typedef void (*fixup_fn)(void *ctx, char *buf, size_t len);
typedef int (*defer_fn)(const void *buf, fixup_fn fn, void *ctx);
typedef struct {
  uint64_t first_sector;
  size_t len;
  int nr;
  uint8_t sched[SCHED_BYTES];
} deferred_read;

static defer_fn fuse_defer;
static pthread_once_t defer_once = PTHREAD_ONCE_INIT;
static void find_defer(void) { fuse_defer = (defer_fn)dlsym(RTLD_DEFAULT, "ebsim_fuse_defer"); }

static void free_deferred(deferred_read *d) {
  volatile uint8_t *p = d->sched; // round keys are secrets
  for (size_t i = 0; i < SCHED_BYTES; i++) p[i] = 0;
  free(d);
}

// On the libfuse worker: decrypts what the read put in buf (len 0: the read failed, only free).
static void run_deferred(void *ctx, char *buf, size_t len) {
  deferred_read *d = (deferred_read *)ctx;
  if (len > d->len) len = d->len;
  len -= len % DEV_SECTOR;
  if (len > 0) {
    io_req r;
    memset(&r, 0, sizeof r);
    r.buf = (uint8_t *)buf;
    r.len = len;
    r.first_sector = d->first_sector;
    r.keys = d->sched;
    r.nr = d->nr;
    decrypt_runs(&r, r.buf);
    __atomic_fetch_add(&stat_deferred_reads, 1, __ATOMIC_RELAXED);
  }
  free_deferred(d);
}

// Hands r's decryption to the libfuse worker; 1 if it will run there, 0 if the caller must do it.
static int defer_decrypt(io_req *r) {
  pthread_once(&defer_once, find_defer);
  if (!fuse_defer) return 0;
  deferred_read *d = (deferred_read *)malloc(sizeof *d);
  if (!d) return 0;
  d->first_sector = r->first_sector;
  d->len = r->len;
  d->nr = r->nr;
  memcpy(d->sched, r->keys, SCHED_BYTES);
  if (fuse_defer(r->buf, run_deferred, d)) return 1;
  free_deferred(d);
  return 0;
}

// A read on the calling thread without a mapping: preadv2 with RWF_NOWAIT, which copies what is
// in the page cache and fails (EAGAIN) rather than wait for the disk, then a decrypt in place
// while the data is still in the CPU's caches. 1 if served (holes counted); 0 if not all of it
// was cached, or the file system has no RWF_NOWAIT (then the caller queues the read whole).
static int read_nowait(io_req *r, int defer) {
  size_t done = 0;
  while (done < r->len) {
    struct iovec iov = {r->buf + done, r->len - done};
    ssize_t n = preadv2(r->fd, &iov, 1, r->offset + (int64_t)done, RWF_NOWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0; // EAGAIN, EOPNOTSUPP, an error or the end of the image: the pool names it
    done += (size_t)n;
  }
  if (r->has_key && !(defer && defer_decrypt(r))) decrypt_runs(r, r->buf);
  __atomic_fetch_add(&stat_nowait_reads, 1, __ATOMIC_RELAXED);
  return 1;
}

static void io_execute(napi_env env, void *data) {
  (void)env;
  io_req *r = (io_req *)data;
  if (serve_from_mapping(r)) return;
  // Not through the mapping: pread/pwrite, which either succeed or name the errno.
  if (r->encrypt_write) {
    if (r->src != r->buf) memcpy(r->buf, r->src, r->len);
    if (r->has_key) crypt_sectors(r, 1, 0, r->buf, r->buf, r->len / DEV_SECTOR, r->first_sector);
    size_t done = 0;
    while (done < r->len) {
      ssize_t n = pwrite(r->fd, r->buf + done, r->len - done, r->offset + (int64_t)done);
      if (n < 0) {
        if (errno == EINTR) continue;
        r->err = errno;
        return;
      }
      done += (size_t)n;
    }
    return;
  }
  size_t done = 0;
  while (done < r->len) {
    ssize_t n = pread(r->fd, r->buf + done, r->len - done, r->offset + (int64_t)done);
    if (n < 0) {
      if (errno == EINTR) continue;
      r->err = errno;
      return;
    }
    if (n == 0) {
      r->err = -1;
      return;
    }
    done += (size_t)n;
  }
  if (r->has_key) decrypt_runs(r, r->buf);
}

static void wipe_sched(io_req *r) {
  volatile uint8_t *p = r->sched; // round keys are secrets
  for (size_t i = 0; i < SCHED_BYTES; i++) p[i] = 0;
}

static void io_complete(napi_env env, napi_status status, void *data) {
  io_req *r = (io_req *)data;
  napi_value cb, global, argv[2];
  if (status != napi_ok && r->err == 0) r->err = ECANCELED;
  napi_get_reference_value(env, r->cb_ref, &cb);
  napi_get_global(env, &global);
  napi_create_int32(env, r->err, &argv[0]);
  napi_create_uint32(env, r->holes, &argv[1]);
  napi_delete_reference(env, r->cb_ref);
  napi_delete_reference(env, r->buf_ref);
  if (r->src_ref) napi_delete_reference(env, r->src_ref);
  if (r->map_ref) napi_delete_reference(env, r->map_ref);
  napi_delete_async_work(env, r->work);
  wipe_sched(r);
  free(r);
  napi_value ignored;
  // An exception thrown by the callback stays pending and surfaces as uncaught, as for fs.
  napi_call_function(env, global, cb, 2, argv, &ignored);
}

// Shared by both entry points: argv = fd, offset, buf, [dst], firstSector, sched|null, rounds, cb.
static napi_value queue_io(napi_env env, napi_callback_info info, int encrypt_write) {
  size_t argc = 10;
  napi_value argv[10];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc > 10) argc = 10;
  const size_t want = encrypt_write ? 8 : 7;
  if (argc < want) return throw_error(env, encrypt_write ? "encryptWrite(fd, offset, src, dst, firstSector, sched, rounds, cb): 8 arguments required"
                                                         : "readDecrypt(fd, offset, buf, firstSector, sched, rounds, cb): 7 arguments required");
  napi_value *a = argv;
  int32_t fd = -1, nr = 0;
  int64_t offset = -1, first = -1;
  if (napi_get_value_int32(env, a[0], &fd) != napi_ok || fd < 0) return throw_error(env, "fd: expected a non-negative integer");
  if (napi_get_value_int64(env, a[1], &offset) != napi_ok || offset < 0) return throw_error(env, "offset: expected a non-negative integer");
  size_t blen = 0, dlen = 0, klen = 0;
  uint8_t *buf = bytes_arg(env, a[2], &blen, "buf: expected a Uint8Array");
  if (!buf) return NULL;
  uint8_t *dst = buf;
  napi_value dst_v = a[2];
  size_t k = 3;
  if (encrypt_write) {
    dst = bytes_arg(env, a[3], &dlen, "dst: expected a Uint8Array");
    if (!dst) return NULL;
    if (dlen != blen) return throw_error(env, "dst: expected the same length as src");
    dst_v = a[3];
    k = 4;
  }
  if (napi_get_value_int64(env, a[k], &first) != napi_ok || first < 0) return throw_error(env, "firstSector: expected a non-negative integer");
  napi_valuetype st;
  napi_typeof(env, a[k + 1], &st);
  uint8_t *sched = NULL;
  if (st != napi_null) {
    sched = bytes_arg(env, a[k + 1], &klen, "sched: expected a Uint8Array or null");
    if (!sched) return NULL;
    if (klen != SCHED_BYTES) return throw_error(env, "sched: expected 720 bytes");
    if (napi_get_value_int32(env, a[k + 2], &nr) != napi_ok || (nr != 10 && nr != 14)) return throw_error(env, "rounds: expected 10 or 14");
    if (xts_unsupported_reason()) return throw_error(env, xts_unsupported_reason());
  }
  napi_valuetype ct;
  napi_typeof(env, a[k + 3], &ct);
  // null: the request runs at once on the calling thread (see below).
  if (ct != napi_function && ct != napi_null) return throw_error(env, "cb: expected a function or null");
  if (blen % DEV_SECTOR != 0) return throw_error(env, "buf: length is not a whole number of 4096-byte sectors");
  image_map *map = NULL;
  const size_t map_arg = encrypt_write ? 8 : 7;
  if (argc > map_arg) {
    napi_valuetype mt;
    napi_typeof(env, a[map_arg], &mt);
    bool tagged = false;
    if (mt == napi_external && napi_check_object_type_tag(env, a[map_arg], &IMAGE_MAP_TAG, &tagged) == napi_ok && tagged)
      napi_get_value_external(env, a[map_arg], (void **)&map);
    else if (mt != napi_undefined && mt != napi_null) return throw_error(env, "map: expected mapImage()'s result or null");
  }
  io_req sync_req;
  io_req *r = ct == napi_null ? memset(&sync_req, 0, sizeof sync_req) : calloc(1, sizeof *r);
  if (!r) return throw_error(env, "out of memory");
  r->fd = fd;
  r->encrypt_write = encrypt_write;
  r->offset = offset;
  r->first_sector = (uint64_t)first;
  r->len = blen;
  r->buf = dst;
  r->src = buf;
  r->nr = nr;
  r->has_key = sched != NULL;
  if (ct == napi_null) {
    // Synchronous on the calling (JS) thread: for a small request this costs less than the
    // two thread hops through the pool. The caller's schedule outlives the call: no copy of
    // the keys, nothing to wipe.
    r->keys = sched;
    r->map = map;
    napi_value result;
    if (encrypt_write) {
      // A write, whole, as the pool would do it (through the mapping if one is given and its
      // pages are cached, else encrypt + pwrite). Returns 0 or the errno.
      io_execute(env, r);
      napi_create_int32(env, r->err, &result);
      return result;
    }
    // A read, only from the page cache. A request whose pages are not all cached is left to
    // the caller's asynchronous call, which redoes it whole; only a page evicted between the
    // check and the copy makes this thread wait for the disk.
    bool defer = false;
    if (argc > map_arg + 1) napi_get_value_bool(env, a[map_arg + 1], &defer);
    int served = map ? serve_from_mapping(r) : read_nowait(r, defer);
    napi_create_int32(env, served ? (int32_t)r->holes : -1, &result);
    return result;
  }
  // Queued: the request keeps its own copy of the schedule, wiped when it completes.
  if (sched) memcpy(r->sched, sched, SCHED_BYTES);
  r->keys = r->sched;
  // References keep the buffers (and so their memory) alive until the request completes.
  napi_create_reference(env, a[k + 3], 1, &r->cb_ref);
  napi_create_reference(env, dst_v, 1, &r->buf_ref);
  if (encrypt_write && dst != buf) napi_create_reference(env, a[2], 1, &r->src_ref);
  // The mapping must outlive the request: without the reference, no mapping for this one.
  if (map && napi_create_reference(env, a[map_arg], 1, &r->map_ref) == napi_ok) r->map = map;
  napi_value name;
  napi_create_string_utf8(env, encrypt_write ? "ebsim:encryptWrite" : "ebsim:readDecrypt", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, NULL, name, io_execute, io_complete, r, &r->work) != napi_ok ||
      napi_queue_async_work(env, r->work) != napi_ok) {
    napi_delete_reference(env, r->cb_ref);
    napi_delete_reference(env, r->buf_ref);
    if (r->src_ref) napi_delete_reference(env, r->src_ref);
    if (r->map_ref) napi_delete_reference(env, r->map_ref);
    free(r);
    return throw_error(env, "could not queue the request");
  }
  return NULL;
}

static void unmap_image(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  image_map *m = (image_map *)data;
  if (m->base) munmap(m->base, m->len);
  free(m);
}

// unmapImage(map): unmaps now rather than at garbage collection. Requests given this map
// afterwards use pread/pwrite. The caller must have no request in flight with it
// (BlockDevice.close drains first).
static napi_value js_unmap_image(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  image_map *m = NULL;
  napi_valuetype t;
  bool tagged = false;
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external ||
      napi_check_object_type_tag(env, argv[0], &IMAGE_MAP_TAG, &tagged) != napi_ok || !tagged)
    return throw_error(env, "map: expected mapImage()'s result");
  napi_get_value_external(env, argv[0], (void **)&m);
  if (m && m->base) {
    munmap(m->base, m->len);
    m->base = NULL;
    m->len = 0;
  }
  return NULL;
}

static napi_value js_map_image(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], out;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd = -1;
  int64_t length = -1;
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) return throw_error(env, "fd: expected a non-negative integer");
  if (napi_get_value_int64(env, argv[1], &length) != napi_ok || length <= 0) return throw_error(env, "length: expected a positive integer");
  napi_get_null(env, &out);
  pthread_once(&bus_once, install_bus_handler); // once per process, whatever the threads
  if (!bus_handler_installed) return out;
  // Writable where the descriptor allows it (opened read-write), else read-only.
  int writable = 1;
  void *base = mmap(NULL, (size_t)length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    writable = 0;
    base = mmap(NULL, (size_t)length, PROT_READ, MAP_SHARED, fd, 0);
  }
  if (base == MAP_FAILED) return out; // e.g. a file system without mmap: pread/pwrite it is
  image_map *m = (image_map *)malloc(sizeof *m);
  if (!m) {
    munmap(base, (size_t)length);
    return out;
  }
  m->base = (uint8_t *)base;
  m->len = (size_t)length;
  m->writable = writable;
  if (napi_create_external(env, m, unmap_image, NULL, &out) != napi_ok) {
    unmap_image(env, m, NULL);
    napi_get_null(env, &out);
  } else {
    napi_type_tag_object(env, out, &IMAGE_MAP_TAG); // readDecrypt/encryptWrite accept no other external
  }
  return out;
}

// ioStats() -> [mappedReads, mappedWrites, faults, nowaitReads, deferredReads] since load.
static napi_value js_io_stats(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value arr, v;
  napi_create_array_with_length(env, 5, &arr);
  uint64_t vals[5] = {__atomic_load_n(&stat_mapped_reads, __ATOMIC_RELAXED), __atomic_load_n(&stat_mapped_writes, __ATOMIC_RELAXED),
                      __atomic_load_n(&stat_faults, __ATOMIC_RELAXED), __atomic_load_n(&stat_nowait_reads, __ATOMIC_RELAXED),
                      __atomic_load_n(&stat_deferred_reads, __ATOMIC_RELAXED)};
  for (uint32_t i = 0; i < 5; i++) {
    napi_create_double(env, (double)vals[i], &v);
    napi_set_element(env, arr, i, v);
  }
  return arr;
}

// setMapCheck(on) -> boolean: tests only. Off, requests go through the mapping without the
// page-cache residency check, so that a fault there (and the pread/pwrite fallback) can be made.
static napi_value js_set_map_check(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  bool on = true;
  if (argc >= 1) napi_get_value_bool(env, argv[0], &on);
  map_check = on ? 1 : 0;
  napi_get_boolean(env, map_check, &out);
  return out;
}

// seekData(fd, offset, hole) -> lseek(fd, offset, hole ? SEEK_HOLE : SEEK_DATA): the first byte
// at or after offset that is data (or a hole), or -1 when there is none (ENXIO: only holes, or
// past the end). Node has no SEEK_DATA; with it a copy of a 16 TiB image that holds a few MiB
// visits the few MiB instead of reading 16 TiB of holes. Throws where the file system has no
// such lseek (EINVAL) so that the caller scans instead.
static napi_value js_seek_data(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], out;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd = -1;
  int64_t offset = -1;
  bool hole = false;
  if (argc < 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) return throw_error(env, "fd: expected a non-negative integer");
  if (napi_get_value_int64(env, argv[1], &offset) != napi_ok || offset < 0) return throw_error(env, "offset: expected a non-negative integer");
  if (napi_get_value_bool(env, argv[2], &hole) != napi_ok) return throw_error(env, "hole: expected a boolean");
  off_t r = lseek(fd, (off_t)offset, hole ? SEEK_HOLE : SEEK_DATA);
  if (r < 0 && errno != ENXIO) {
    char msg[96];
    snprintf(msg, sizeof msg, "lseek(%s): %s", hole ? "SEEK_HOLE" : "SEEK_DATA", strerror(errno));
    return throw_error(env, msg);
  }
  napi_create_int64(env, r < 0 ? -1 : (int64_t)r, &out);
  return out;
}

static napi_value js_read_decrypt(napi_env env, napi_callback_info info) { return queue_io(env, info, 0); }
static napi_value js_encrypt_write(napi_env env, napi_callback_info info) { return queue_io(env, info, 1); }


void sector_io_define_exports(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"readDecrypt", NULL, js_read_decrypt, NULL, NULL, NULL, napi_default, NULL},
    {"encryptWrite", NULL, js_encrypt_write, NULL, NULL, NULL, napi_default, NULL},
    {"mapImage", NULL, js_map_image, NULL, NULL, NULL, napi_default, NULL},
    {"unmapImage", NULL, js_unmap_image, NULL, NULL, NULL, napi_default, NULL},
    {"ioStats", NULL, js_io_stats, NULL, NULL, NULL, napi_default, NULL},
    {"setMapCheck", NULL, js_set_map_check, NULL, NULL, NULL, napi_default, NULL},
    {"seekData", NULL, js_seek_data, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
