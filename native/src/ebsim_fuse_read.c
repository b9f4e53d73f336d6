/*
 * Part of ebsim_fuse_init.so (preloaded into the device daemon only): a read's decryption done
 * on the libfuse worker thread that answers it, instead of on the daemon's one JS thread.
 *
 * Why: fuse-native runs every request's handler on the JS thread. A 1 MiB read served there from
 * the page cache is a pread (a copy) plus an XTS pass; the pass-through does only the copy, and
 * the JS thread is the one every request queues for. libfuse's workers (one per request in
 * flight) wait idle meanwhile, and can do the pass in parallel, on any core, with no extra
 * thread hop: the worker runs it right after the handler's reply wakes it.
 *
 * What it does: it wraps fuse_new() (which fuse-native calls through the PLT, so this definition
 * wins) to put a wrapper around the file system's read operation. The addon (ebsim_sector_io.c),
 * finding ebsim_fuse_defer() with dlsym, may leave a read's buffer encrypted and register a
 * fixup for it: a function and its context, keyed by the buffer's address. When the read
 * operation returns on the worker, the wrapper takes the fixup registered for its buffer during
 * that call, if any, and runs it on the buffer before libfuse sends the reply. Fixups for the
 * buffer left from before the call are dropped first (never run on another request's data).
 * Without this library, or with EBSIM_FUSE_DEFER_READS=0, ebsim_fuse_defer is absent or
 * answers 0 and the addon decrypts on the JS thread as before.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

typedef void (*ebsim_fixup_fn)(void *ctx, char *buf, size_t len);

struct fuse_chan;
struct fuse_args;
struct fuse;
/* libfuse 2.9's struct fuse_operations: `read` is its 16th member (fuse.h, FUSE_USE_VERSION 29). */
#define OPS_READ_INDEX 15
typedef int (*read_op)(const char *, char *, size_t, off_t, void *);

/* A few fixups at a time: one per read in flight (libfuse workers, EBSIM_FUSE_MAX_WORKERS). */
#define SLOTS 256
static struct {
  const void *buf;
  ebsim_fixup_fn fn;
  void *ctx;
} slots[SLOTS];
static pthread_mutex_t slots_mu = PTHREAD_MUTEX_INITIALIZER;
static int pending; /* slots in use (atomic): with none, a read takes no lock (4 KiB reads never defer) */
static read_op real_read;
static int hooked;

/* Takes (removes) the fixup registered for buf, if any; fn NULL if none. */
static void take(const void *buf, ebsim_fixup_fn *fn, void **ctx) {
  *fn = NULL;
  *ctx = NULL;
  if (__atomic_load_n(&pending, __ATOMIC_ACQUIRE) == 0) return;
  pthread_mutex_lock(&slots_mu);
  for (int i = 0; i < SLOTS; i++)
    if (slots[i].buf == buf && slots[i].fn) {
      *fn = slots[i].fn;
      *ctx = slots[i].ctx;
      slots[i].buf = NULL;
      slots[i].fn = NULL;
      slots[i].ctx = NULL;
      __atomic_fetch_sub(&pending, 1, __ATOMIC_RELEASE);
      break;
    }
  pthread_mutex_unlock(&slots_mu);
}

/*
 * Called by the addon on the JS thread, inside a read operation for buf: run fn(ctx, buf, len)
 * on the worker before the reply. 1 if registered (fn will run exactly once, or with len 0 to
 * free ctx if the read failed), 0 if not (no hook, or no free slot): then the caller does the
 * work itself.
 */
__attribute__((visibility("default"))) int ebsim_fuse_defer(const void *buf, ebsim_fixup_fn fn, void *ctx) {
  if (!hooked || !buf || !fn) return 0;
  int done = 0;
  pthread_mutex_lock(&slots_mu);
  for (int i = 0; i < SLOTS && !done; i++)
    if (!slots[i].fn) {
      slots[i].buf = buf;
      slots[i].fn = fn;
      slots[i].ctx = ctx;
      __atomic_fetch_add(&pending, 1, __ATOMIC_RELEASE);
      done = 1;
    }
  pthread_mutex_unlock(&slots_mu);
  return done;
}

static int wrapped_read(const char *path, char *buf, size_t size, off_t off, void *fi) {
  ebsim_fixup_fn fn;
  void *ctx;
  take(buf, &fn, &ctx); /* left over from an earlier request in this buffer: never run it here */
  if (fn) fn(ctx, buf, 0);
  int n = real_read(path, buf, size, off, fi);
  take(buf, &fn, &ctx);
  if (fn) fn(ctx, buf, n > 0 ? (size_t)n : 0);
  return n;
}

struct fuse *fuse_new(struct fuse_chan *ch, struct fuse_args *args, const void *op, size_t op_size, void *user_data) {
  static struct fuse *(*real_new)(struct fuse_chan *, struct fuse_args *, const void *, size_t, void *);
  if (!real_new) {
    void *h = dlopen("libfuse.so.2", RTLD_NOW | RTLD_NOLOAD); /* fuse-native loaded it, locally */
    if (h) real_new = (__typeof__(real_new))dlvsym(h, "fuse_new", "FUSE_2.6"); /* the layout above */
    if (!real_new) real_new = (__typeof__(real_new))dlvsym(RTLD_NEXT, "fuse_new", "FUSE_2.6");
    if (!real_new) return NULL;
  }
  const char *off = getenv("EBSIM_FUSE_DEFER_READS");
  if (real_read) hooked = 0; /* a second file system in the process: its reads are not wrapped, so none may defer */
  if ((off && strcmp(off, "0") == 0) || op_size < (OPS_READ_INDEX + 1) * sizeof(void *) || real_read)
    return real_new(ch, args, op, op_size, user_data);
  void **ops = malloc(op_size); /* libfuse copies it; freed below */
  if (!ops) return real_new(ch, args, op, op_size, user_data);
  memcpy(ops, op, op_size);
  if (ops[OPS_READ_INDEX]) {
    real_read = (read_op)ops[OPS_READ_INDEX];
    ops[OPS_READ_INDEX] = (void *)wrapped_read;
  }
  struct fuse *f = real_new(ch, args, ops, op_size, user_data);
  free(ops);
  if (f && real_read) hooked = 1;
  else real_read = NULL;
  return f;
}
