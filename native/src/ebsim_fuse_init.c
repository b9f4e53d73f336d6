/*
 * ebsim_fuse_init.so: preloaded (LD_PRELOAD) into the device daemon only, to ask the kernel for
 * asynchronous direct I/O on the FUSE file (FUSE_ASYNC_DIO in the INIT reply).
 *
 * Why: the loop device opens RUN/VOL.fuse/disk with O_DIRECT. Without FUSE_ASYNC_DIO the kernel
 * serves each O_DIRECT request synchronously, one 128 KiB FUSE request after the other, in the
 * loop device's single worker thread: one request in flight, whatever the queue depth above it.
 * With it, the chunks of every request go to the daemon at once (up to max_background), which
 * measured 2-2.5x faster on every workload. libfuse 2.9 (what fuse-native links) predates the
 * flag and never sets it, and fuse-native offers no hook into the INIT reply.
 *
 * What it does: it wraps writev(2). On the one call that writes a successful FUSE_INIT reply to a
 * /dev/fuse descriptor (checked with fstat: character device 10:229), it sends a copy of the
 * reply with FUSE_ASYNC_DIO added to its flags. Every other call goes straight to libc's writev.
 * It changes nothing else, and nothing at all in a process that never answers FUSE_INIT.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#define FUSE_ASYNC_DIO_FLAG (1u << 15)
#define FUSE_DEV_MAJOR 10
#define FUSE_DEV_MINOR 229

struct out_header { uint32_t len; int32_t error; uint64_t unique; };
/* The start of struct fuse_init_out, common to every protocol minor >= 5. */
struct init_out_head { uint32_t major, minor, max_readahead, flags; };

typedef ssize_t (*writev_fn)(int, const struct iovec *, int);
static writev_fn real_writev;
static volatile int patched;

static int is_fuse_device(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == FUSE_DEV_MAJOR && minor(st.st_rdev) == FUSE_DEV_MINOR;
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt) {
  if (!real_writev) real_writev = (writev_fn)dlsym(RTLD_NEXT, "writev");
  if (!real_writev) { errno = ENOSYS; return -1; }
  /* libfuse 2.9 sends a reply as [out_header, payload]; INIT's payload starts with major 7. */
  if (patched || iovcnt != 2 || iov[0].iov_len != sizeof(struct out_header) || iov[1].iov_len < 24 || iov[1].iov_len > 256)
    return real_writev(fd, iov, iovcnt);
  const struct out_header *h = (const struct out_header *)iov[0].iov_base;
  const struct init_out_head *o = (const struct init_out_head *)iov[1].iov_base;
  if (h->error != 0 || h->len != sizeof *h + iov[1].iov_len || o->major != 7 || !is_fuse_device(fd))
    return real_writev(fd, iov, iovcnt);
  unsigned char copy[256];
  memcpy(copy, iov[1].iov_base, iov[1].iov_len);
  struct init_out_head *c = (struct init_out_head *)copy;
  c->flags |= FUSE_ASYNC_DIO_FLAG;
  struct iovec v[2] = { iov[0], { copy, iov[1].iov_len } };
  patched = 1;
  char line[160];
  int n = snprintf(line, sizeof line, "ebsim_fuse_init: FUSE_INIT reply (protocol 7.%u) sent with FUSE_ASYNC_DIO, flags 0x%x\n", c->minor, c->flags);
  if (n > 0) { ssize_t ignored = write(2, line, (size_t)n); (void)ignored; }
  return real_writev(fd, v, 2);
}
