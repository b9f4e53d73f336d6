/*
 * ebsim_fuse_init.so: preloaded (LD_PRELOAD) into the device daemon only, to ask the kernel for
 * asynchronous direct I/O on the FUSE file (FUSE_ASYNC_DIO in the INIT reply).
 *
 * Why: the loop device opens RUN/VOL.fuse/disk with O_DIRECT. Without FUSE_ASYNC_DIO the kernel
 * serves each O_DIRECT request synchronously, one 128 KiB FUSE request after the other, in the
 * loop device's single worker thread: one request in flight, whatever the queue depth above it.
 * With it, the chunks of every request go to the daemon at once (up to max_background), so the
 * queue depth above reaches the daemon's threads. libfuse 2.9 (what fuse-native links) predates the
 * flag and never sets it, and fuse-native offers no hook into the INIT reply.
 *
 * What it does: it wraps writev(2). On the one call that writes a successful FUSE_INIT reply to a
 * /dev/fuse descriptor (checked with fstat: character device 10:229), it sends a copy of the
 * reply with FUSE_ASYNC_DIO added to its flags. Every other call goes straight to libc's writev.
 * It changes nothing else, and nothing at all in a process that never answers FUSE_INIT.
 *
 * With EBSIM_FUSE_MAX_PAGES=N (33..256; the daemon's parent sets it), the same reply also asks
 * for N pages per request (FUSE_MAX_PAGES, Linux 4.20+), which libfuse 2.9 cannot ask for
 * either: the kernel then sends reads of up to N*4 KiB (with -o max_read to match) instead of
 * 128 KiB, so a 1 MiB read costs a few FUSE round trips instead of eight. Writes stay at
 * max_write = 128 KiB, the size of libfuse 2.9's request buffer; a read request is small
 * whatever its size field says, and its reply is written with writev from the daemon's buffer.
 * The reply is extended to the 7.28 layout up to max_pages (32 bytes, time_gran left 0 =
 * unchanged); the kernel reads the fields by flag, and libfuse never sees the change.
 *
 * The same library also runs libfuse's worker loop with threads that stay for the life of the
 * mount (ebsim_fuse_loop.c), and lets those workers decrypt reads (ebsim_fuse_read.c).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <unistd.h>

#define FUSE_ASYNC_DIO_FLAG (1u << 15)
#define FUSE_MAX_PAGES_FLAG (1u << 22)
/* Offset and size of fuse_init_out up to and including max_pages (protocol 7.28). */
#define INIT_OUT_MAX_PAGES_OFFSET 28
#define INIT_OUT_WITH_MAX_PAGES 32
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

/* FUSE_MAX_PAGES came with Linux 4.20 (protocol 7.28); an older kernel would refuse an INIT
 * reply longer than its own struct, so the longer reply is sent only to 4.20 and later. */
static int kernel_has_max_pages(void) {
  struct utsname u;
  unsigned major = 0, minor = 0;
  if (uname(&u) != 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2) return 0;
  return major > 4 || (major == 4 && minor >= 20);
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
  unsigned char copy[256] = { 0 };
  memcpy(copy, iov[1].iov_base, iov[1].iov_len);
  struct init_out_head *c = (struct init_out_head *)copy;
  c->flags |= FUSE_ASYNC_DIO_FLAG;
  size_t len = iov[1].iov_len;
  const char *mp = getenv("EBSIM_FUSE_MAX_PAGES");
  unsigned max_pages = mp ? (unsigned)strtoul(mp, NULL, 10) : 0;
  if (max_pages > 32 && max_pages <= 256 && kernel_has_max_pages()) {
    if (len < INIT_OUT_WITH_MAX_PAGES) len = INIT_OUT_WITH_MAX_PAGES;
    uint16_t v16 = (uint16_t)max_pages;
    memcpy(copy + INIT_OUT_MAX_PAGES_OFFSET, &v16, sizeof v16);
    c->flags |= FUSE_MAX_PAGES_FLAG;
  }
  struct out_header hdr = *h;
  hdr.len = (uint32_t)(sizeof hdr + len);
  struct iovec v[2] = { { &hdr, sizeof hdr }, { copy, len } };
  patched = 1;
  char line[160];
  int n = snprintf(line, sizeof line, "ebsim_fuse_init: FUSE_INIT reply (protocol 7.%u) sent with FUSE_ASYNC_DIO, flags 0x%x, max_pages %u\n", c->minor, c->flags, (c->flags & FUSE_MAX_PAGES_FLAG) ? max_pages : 32);
  if (n > 0) { ssize_t ignored = write(2, line, (size_t)n); (void)ignored; }
  return real_writev(fd, v, 2);
}
