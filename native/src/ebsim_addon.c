// The N-API module ebsim_xts.node: one addon, loaded once by src/xts/addon.ts, holding the XTS
// cipher (ebsim_xts.c) and the block device's sector I/O (ebsim_sector_io.c), which encrypts
// with that cipher on libuv's pool. This file registers both and holds their argument helpers.
#include "ebsim_addon.h"

napi_value throw_error(napi_env env, const char *msg) {
  napi_throw_range_error(env, NULL, msg);
  return NULL;
}

uint8_t *bytes_arg(napi_env env, napi_value v, size_t *len, const char *err) {
  napi_typedarray_type type;
  void *ptr = NULL;
  size_t n = 0;
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, v, &type, &n, &ptr, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, err);
    return NULL;
  }
  *len = n;
  // A zero-length array may have a NULL data pointer; callers treat that as empty.
  return ptr ? (uint8_t *)ptr : (uint8_t *)"";
}

static napi_value init(napi_env env, napi_value exports) {
  xts_define_exports(env, exports);
  sector_io_define_exports(env, exports);
  gcm_define_exports(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
