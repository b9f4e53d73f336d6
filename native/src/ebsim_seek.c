// lseek(SEEK_DATA) and lseek(SEEK_HOLE) for JavaScript: Node's fs has no lseek, and export and
// verify must find a sparse image's written extents without reading its holes (an 8 GiB volume
// with a few KiB written is a few extents, not 8 GiB of zeros to read).
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ebsim_addon.h"

// seekData(fd, offset, hole): the next offset at or after `offset` where data (hole false) or a
// hole (hole true) begins; -1 when there is no data past `offset` (ENXIO). The end of the file
// counts as a hole. Other errors (EINVAL where the file system lacks SEEK_DATA) throw.
static napi_value js_seek_data(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd = -1;
  int64_t offset = 0;
  bool hole = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int64(env, argv[1], &offset) != napi_ok ||
      napi_get_value_bool(env, argv[2], &hole) != napi_ok || fd < 0 || offset < 0)
    return throw_error(env, "seekData(fd, offset, hole): a file descriptor, an offset >= 0 and a boolean");
  off_t r = lseek(fd, (off_t)offset, hole ? SEEK_HOLE : SEEK_DATA);
  napi_value out;
  if (r < 0) {
    if (errno != ENXIO) {
      char msg[160];
      snprintf(msg, sizeof msg, "lseek(%s): %s", hole ? "SEEK_HOLE" : "SEEK_DATA", strerror(errno));
      napi_throw_error(env, errno == EINVAL ? "EINVAL" : "EIO", msg);
      return NULL;
    }
    r = -1;
  }
  napi_create_int64(env, (int64_t)r, &out);
  return out;
}

void seek_define_exports(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"seekData", NULL, js_seek_data, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
