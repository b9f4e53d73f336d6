// Shared by the addon's files: ebsim_xts.c (the XTS cipher on AES-NI), ebsim_sector_io.c (the
// block device's sector I/O: pread/pwrite, a shared mapping of the image, SIGBUS recovery),
// ebsim_gcm.c (AES-256-GCM for KMS's blobs, through Node's OpenSSL) and ebsim_addon.c (the N-API
// module: argument helpers, registration).
#ifndef EBSIM_ADDON_H
#define EBSIM_ADDON_H
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

#define SLOT 240 /* 15 round keys of 16 bytes */
#define SCHED_BYTES (3 * SLOT)

// ebsim_addon.c: throws a RangeError and returns NULL, for `return throw_error(...)`.
napi_value throw_error(napi_env env, const char *msg);
// ebsim_addon.c: the bytes of a Uint8Array argument, or NULL with a pending TypeError.
uint8_t *bytes_arg(napi_env env, napi_value v, size_t *len, const char *err);

// ebsim_xts.c: NULL if the cipher can run on this CPU, else why not.
const char *xts_unsupported_reason(void);
// ebsim_xts.c: encrypts or decrypts `units` data units of unit_len bytes from src into data
// (the same buffer, or not overlapping); tweak = the first unit's 16-byte tweak, counted up per
// unit. With `stream` (encryption into 64-byte-aligned memory not read again soon, i.e. the page
// cache), full blocks go out with non-temporal stores.
void xts_crypt_from(const uint8_t *sched, int nr, int enc, int stream, const uint8_t *src, uint8_t *data, size_t unit_len, size_t units,
                    const uint8_t *tweak);
// ebsim_xts.c: memcpy into 64-byte-aligned dst (len a multiple of 64) with non-temporal stores.
void xts_stream_copy(uint8_t *dst, const uint8_t *src, size_t len);

// Each file's JS functions, defined on the module's exports by ebsim_addon.c.
void xts_define_exports(napi_env env, napi_value exports);
void sector_io_define_exports(napi_env env, napi_value exports);
void gcm_define_exports(napi_env env, napi_value exports);
#endif
