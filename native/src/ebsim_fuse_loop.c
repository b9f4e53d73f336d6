/*
 * Part of ebsim_fuse_init.so (preloaded into the device daemon only): libfuse 2.9's
 * multi-threaded loop, with worker threads that stay until the file system is unmounted.
 *
 * Why: libfuse 2.9's fuse_loop_mt() starts a worker whenever none is idle and ends one whenever
 * more than ten are, so bursty I/O (the loop device's queue filling and draining) starts and ends
 * threads all the time. fuse-native gives every new worker thread its own libuv async handle and
 * never closes it (its thread-locals key has no destructor), and each wake-up of the JS thread
 * walks every async handle ever made (libuv's uv__async_io): the cost of every request grows with
 * the age of the mount, until the daemon spends its time walking handles. Workers that never end
 * make a bounded number of handles.
 *
 * What it does: it defines fuse_loop_mt(), which fuse-native calls (through the PLT, so this
 * definition wins), and runs the same loop as libfuse's own: receive a request, process it, and
 * start another worker when the last idle one takes a request (FORGETs not counted, as in
 * libfuse; FUSE_THREAD_STACK honoured). The differences: no worker ends before the unmount, and
 * there are at most EBSIM_FUSE_MAX_WORKERS (default 64; the kernel keeps the rest queued). It uses only libfuse's public low-level calls,
 * looked up in the already loaded libfuse.so.2. EBSIM_FUSE_LIBFUSE_LOOP=1, or any of those calls
 * missing, hands over to libfuse's own fuse_loop_mt().
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* libfuse 2.9's public types, as its headers declare them (no libfuse-dev needed to build). */
struct fuse;
struct fuse_session;
struct fuse_chan;
struct fuse_buf {
  size_t size;
  int flags; /* enum fuse_buf_flags */
  void *mem;
  int fd;
  int64_t pos; /* off_t, and libfuse is built with _FILE_OFFSET_BITS=64 */
};

/* Requests that libfuse does not count against idle workers (fuse_kernel.h), so that a burst of
 * them does not start threads: the opcode is the second field of struct fuse_in_header. */
#define FUSE_BUF_IS_FD (1 << 1)
#define FUSE_FORGET_OPCODE 2
#define FUSE_BATCH_FORGET_OPCODE 42
#define IN_HEADER_OPCODE_OFFSET 4

static struct {
  struct fuse_session *(*get_session)(struct fuse *);
  struct fuse_chan *(*next_chan)(struct fuse_session *, struct fuse_chan *);
  size_t (*chan_bufsize)(struct fuse_chan *);
  int (*receive_buf)(struct fuse_session *, struct fuse_buf *, struct fuse_chan **);
  void (*process_buf)(struct fuse_session *, const struct fuse_buf *, struct fuse_chan *);
  int (*exited)(struct fuse_session *);
  void (*exit)(struct fuse_session *);
  void (*reset)(struct fuse_session *);
  int (*start_cleanup)(struct fuse *);
  void (*stop_cleanup)(struct fuse *);
  int (*libfuse_loop_mt)(struct fuse *);
} lib;

static int resolve(void) {
  void *h = dlopen("libfuse.so.2", RTLD_NOW | RTLD_NOLOAD); /* fuse-native loaded it, locally */
  if (!h) return 0;
#define FIND(field, name) (lib.field = (__typeof__(lib.field))dlsym(h, name))
  FIND(get_session, "fuse_get_session");
  FIND(next_chan, "fuse_session_next_chan");
  FIND(chan_bufsize, "fuse_chan_bufsize");
  FIND(receive_buf, "fuse_session_receive_buf");
  FIND(process_buf, "fuse_session_process_buf");
  FIND(exited, "fuse_session_exited");
  FIND(exit, "fuse_session_exit");
  FIND(reset, "fuse_session_reset");
  FIND(start_cleanup, "fuse_start_cleanup_thread");
  FIND(stop_cleanup, "fuse_stop_cleanup_thread");
#undef FIND
  lib.libfuse_loop_mt = (int (*)(struct fuse *))dlvsym(h, "fuse_loop_mt", "FUSE_2.2");
  dlclose(h); /* RTLD_NOLOAD took a reference; libfuse stays loaded by fuse-native's own */
  return lib.get_session && lib.next_chan && lib.chan_bufsize && lib.receive_buf && lib.process_buf && lib.exited && lib.exit &&
         lib.reset && lib.start_cleanup && lib.stop_cleanup;
}

typedef struct worker {
  struct worker *next;
  struct pool *pool;
  pthread_t thread;
  char *buf;
  int index;
} worker;

typedef struct pool {
  struct fuse_session *se;
  struct fuse_chan *ch;
  size_t bufsize;
  pthread_mutex_t lock; /* guards the fields below */
  worker *workers;
  int started, idle, max_workers, error, exiting;
  sem_t finished; /* posted by a worker that saw the session end */
} pool;

static void log_line(const char *msg, int n) {
  char line[160];
  int len = snprintf(line, sizeof line, "ebsim_fuse_init: %s %d\n", msg, n);
  if (len > 0) { ssize_t ignored = write(2, line, (size_t)len); (void)ignored; }
}

static void *work(void *arg);

static int is_forget(const void *request) {
  uint32_t opcode;
  memcpy(&opcode, (const char *)request + IN_HEADER_OPCODE_OFFSET, sizeof opcode);
  return opcode == FUSE_FORGET_OPCODE || opcode == FUSE_BATCH_FORGET_OPCODE;
}

/* With p->lock held. Workers block SIGTERM/SIGINT/SIGHUP/SIGQUIT, as libfuse's do, so that
 * those reach the JS thread's handlers. */
static int start_worker(pool *p) {
  worker *w = calloc(1, sizeof *w);
  if (!w || !(w->buf = malloc(p->bufsize))) {
    if (w) free(w);
    return -1;
  }
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGHUP);
  sigaddset(&block, SIGQUIT);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  const char *stack = getenv("FUSE_THREAD_STACK"); /* libfuse's own knob, honoured the same way */
  if (stack && pthread_attr_setstacksize(&attr, (size_t)atoi(stack)) != 0) log_line("invalid FUSE_THREAD_STACK, ignored:", atoi(stack));
  w->pool = p;
  int err = pthread_create(&w->thread, &attr, work, w);
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (err) {
    free(w->buf);
    free(w);
    return -1;
  }
  w->next = p->workers;
  p->workers = w;
  w->index = ++p->started;
  p->idle++;
  /* Named before it is logged, so that the log never counts a worker not yet visible by name. */
  char name[16];
  snprintf(name, sizeof name, "ebsim-fuse-%d", w->index);
  pthread_setname_np(w->thread, name); /* tests count the workers by this name */
  log_line("FUSE workers now", p->started);
  return 0;
}

static void *work(void *arg) {
  worker *w = arg;
  pool *p = w->pool;
  while (!lib.exited(p->se)) {
    struct fuse_chan *ch = p->ch;
    struct fuse_buf fbuf = { .size = p->bufsize, .mem = w->buf };
    /* Cancellable only while waiting for a request, as in libfuse: the end of the loop cancels
     * the workers still blocked in read(2). */
    pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
    int res = lib.receive_buf(p->se, &fbuf, &ch);
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
    if (res == -EINTR) continue;
    if (res <= 0) { /* 0: the file system was unmounted; < 0: the device failed */
      if (res < 0) {
        lib.exit(p->se);
        p->error = -1;
      }
      break;
    }
    const int forget = !(fbuf.flags & FUSE_BUF_IS_FD) && is_forget(fbuf.mem);
    pthread_mutex_lock(&p->lock);
    if (p->exiting) {
      pthread_mutex_unlock(&p->lock);
      return NULL;
    }
    /* The last idle worker took a request: start one more, so the next request never waits for
     * one in flight (libfuse's rule, without its "more than ten idle: end one"). */
    if (!forget) p->idle--;
    if (p->idle == 0 && p->started < p->max_workers) start_worker(p);
    pthread_mutex_unlock(&p->lock);
    lib.process_buf(p->se, &fbuf, ch);
    pthread_mutex_lock(&p->lock);
    if (!forget) p->idle++;
    pthread_mutex_unlock(&p->lock);
  }
  sem_post(&p->finished);
  return NULL;
}

static int run_pool(struct fuse_session *se) {
  pool p;
  memset(&p, 0, sizeof p);
  p.se = se;
  p.ch = lib.next_chan(se, NULL);
  p.bufsize = lib.chan_bufsize(p.ch);
  const char *cap = getenv("EBSIM_FUSE_MAX_WORKERS");
  p.max_workers = cap && atoi(cap) > 0 ? atoi(cap) : 64;
  pthread_mutex_init(&p.lock, NULL);
  sem_init(&p.finished, 0, 0);
  pthread_mutex_lock(&p.lock);
  int err = start_worker(&p);
  pthread_mutex_unlock(&p.lock);
  if (err == 0) {
    while (!lib.exited(se)) sem_wait(&p.finished); /* sem_wait may return early on EINTR */
    pthread_mutex_lock(&p.lock);
    p.exiting = 1;
    for (worker *w = p.workers; w; w = w->next) pthread_cancel(w->thread);
    pthread_mutex_unlock(&p.lock);
    /* No worker starts another once exiting is set, so the list is final. */
    for (worker *w = p.workers, *next; w; w = next) {
      next = w->next;
      pthread_join(w->thread, NULL);
      free(w->buf);
      free(w);
    }
    err = p.error;
  }
  pthread_mutex_destroy(&p.lock);
  sem_destroy(&p.finished);
  lib.reset(se);
  return err;
}

int fuse_loop_mt(struct fuse *f) {
  if (f == NULL) return -1;
  const char *off = getenv("EBSIM_FUSE_LIBFUSE_LOOP");
  int resolved = resolve();
  if ((off && strcmp(off, "1") == 0) || !resolved) {
    if (!lib.libfuse_loop_mt) {
      log_line("libfuse.so.2's fuse_loop_mt not found: no FUSE loop, pid", (int)getpid());
      return -1;
    }
    log_line(resolved ? "libfuse's own worker loop (EBSIM_FUSE_LIBFUSE_LOOP=1), pid" : "libfuse's own worker loop (a call is missing), pid", (int)getpid());
    return lib.libfuse_loop_mt(f);
  }
  if (lib.start_cleanup(f) != 0) return -1;
  int res = run_pool(lib.get_session(f));
  lib.stop_cleanup(f);
  return res;
}
