// AES-256-GCM for KMS's ciphertext blobs (src/kms/blob.ts), through the OpenSSL that Node itself
// runs on. Why not node:crypto: each createCipheriv/createDecipheriv looks the cipher up by name
// and builds a new context (about 6 us a call here, a fifth of an in-process Decrypt); this keeps
// the fetched cipher and one context per thread for each direction, so a call is the key
// schedule and the GCM pass. A thread's contexts are freed when it ends (a worker_thread that
// sealed or opened blobs), and the main thread's when its Node environment is torn down at a
// normal exit (not at process.exit(), when the process's end frees them). The functions are found with dlsym in the running process, not
// linked: a Node built without them exported loses only this (blob.ts falls back to node:crypto),
// never the addon.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "ebsim_addon.h"

typedef struct evp_cipher_st EVP_CIPHER;
typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;
typedef struct engine_st ENGINE;

#define CTRL_GCM_GET_TAG 0x10 /* EVP_CTRL_AEAD_GET_TAG */
#define CTRL_GCM_SET_TAG 0x11 /* EVP_CTRL_AEAD_SET_TAG */
#define KEY_BYTES 32
#define IV_BYTES 12 /* GCM's default IV length: no EVP_CTRL_GCM_SET_IVLEN needed */
#define TAG_BYTES 16

static struct {
  EVP_CIPHER *(*fetch)(void *libctx, const char *algorithm, const char *properties);
  const EVP_CIPHER *(*legacy)(void);
  EVP_CIPHER_CTX *(*ctx_new)(void);
  void (*ctx_free)(EVP_CIPHER_CTX *); /* optional: without it a thread's contexts outlive it, as before */
  int (*encrypt_init)(EVP_CIPHER_CTX *, const EVP_CIPHER *, ENGINE *, const unsigned char *, const unsigned char *);
  int (*decrypt_init)(EVP_CIPHER_CTX *, const EVP_CIPHER *, ENGINE *, const unsigned char *, const unsigned char *);
  int (*encrypt_update)(EVP_CIPHER_CTX *, unsigned char *, int *, const unsigned char *, int);
  int (*decrypt_update)(EVP_CIPHER_CTX *, unsigned char *, int *, const unsigned char *, int);
  int (*encrypt_final)(EVP_CIPHER_CTX *, unsigned char *, int *);
  int (*decrypt_final)(EVP_CIPHER_CTX *, unsigned char *, int *);
  int (*ctrl)(EVP_CIPHER_CTX *, int, int, void *);
  const EVP_CIPHER *cipher;
} ossl;
static pthread_once_t ossl_once = PTHREAD_ONCE_INIT;

static void ossl_load(void) {
#define SYM(field, name) (*(void **)&ossl.field = dlsym(RTLD_DEFAULT, name))
  SYM(fetch, "EVP_CIPHER_fetch");
  SYM(legacy, "EVP_aes_256_gcm");
  SYM(ctx_new, "EVP_CIPHER_CTX_new");
  SYM(ctx_free, "EVP_CIPHER_CTX_free");
  SYM(encrypt_init, "EVP_EncryptInit_ex");
  SYM(decrypt_init, "EVP_DecryptInit_ex");
  SYM(encrypt_update, "EVP_EncryptUpdate");
  SYM(decrypt_update, "EVP_DecryptUpdate");
  SYM(encrypt_final, "EVP_EncryptFinal_ex");
  SYM(decrypt_final, "EVP_DecryptFinal_ex");
  SYM(ctrl, "EVP_CIPHER_CTX_ctrl");
#undef SYM
  if (!ossl.ctx_new || !ossl.encrypt_init || !ossl.decrypt_init || !ossl.encrypt_update || !ossl.decrypt_update || !ossl.encrypt_final ||
      !ossl.decrypt_final || !ossl.ctrl)
    return;
  // OpenSSL 3: fetched once (the legacy EVP_aes_256_gcm() would be fetched again on every init).
  ossl.cipher = ossl.fetch ? ossl.fetch(NULL, "AES-256-GCM", NULL) : NULL;
  if (!ossl.cipher && ossl.legacy) ossl.cipher = ossl.legacy();
}

/*
 * One context per thread and direction (the addon runs on the main thread and on workers). The
 * pair is registered under a pthread key whose destructor frees it when the thread exits (a
 * worker_thread that ends); EVP_CIPHER_CTX_free also cleanses the last key's schedule.
 */
static _Thread_local EVP_CIPHER_CTX *ctx_pair[2]; /* [0] decrypt, [1] encrypt */
static pthread_key_t ctx_key;
static _Atomic int ctx_key_ok;
static pthread_once_t ctx_key_once = PTHREAD_ONCE_INIT;
/* Contexts in existence now, over all threads (gcmContexts(): threads that end leave none). */
static _Atomic long live_ctxs;

/* Frees the calling thread's contexts (they are only ever used by it). */
static void release_thread_ctxs(void) {
  for (int i = 0; i < 2; i++) {
    if (!ctx_pair[i] || !ossl.ctx_free) continue;
    ossl.ctx_free(ctx_pair[i]);
    ctx_pair[i] = NULL;
    live_ctxs--;
  }
  if (ctx_key_ok) pthread_setspecific(ctx_key, NULL);
}

/* At thread exit, on that thread: its value is only a marker that it holds contexts. */
static void ctx_key_destructor(void *marker) {
  (void)marker;
  release_thread_ctxs();
}

static void ctx_key_create(void) {
  ctx_key_ok = pthread_key_create(&ctx_key, ctx_key_destructor) == 0;
}

static EVP_CIPHER_CTX *ctx_for(int enc) {
  EVP_CIPHER_CTX **slot = &ctx_pair[enc ? 1 : 0];
  if (!*slot) {
    EVP_CIPHER_CTX *c = ossl.ctx_new();
    if (!c) return NULL;
    if ((enc ? ossl.encrypt_init : ossl.decrypt_init)(c, ossl.cipher, NULL, NULL, NULL) != 1) {
      if (ossl.ctx_free) ossl.ctx_free(c);
      return NULL;
    }
    *slot = c;
    live_ctxs++;
    /* Any non-NULL value makes the destructor run when this thread exits. */
    pthread_once(&ctx_key_once, ctx_key_create);
    if (ctx_key_ok) pthread_setspecific(ctx_key, ctx_pair);
  }
  return *slot;
}

/* A Node environment torn down (the main one at a normal exit, not at process.exit(); a
 * worker's as it stops): free the contexts of its thread then, before OpenSSL's own exit-time
 * cleanup. `arg` is this registration's own token: Node aborts on a hook registered twice with
 * the same function and argument, as a second load of the addon in one environment would. */
static void env_cleanup(void *arg) {
  free(arg);
  release_thread_ctxs();
}

/* The thread-exit destructor above lives in this library: keep it loaded for the life of the
 * process (Node unloads an addon that only workers loaded when the last of them ends, while the
 * pthread key and its destructor stay). */
static pthread_once_t pin_once = PTHREAD_ONCE_INIT;
static void pin_library(void) {
  Dl_info info;
  if (dladdr((void *)ctx_key_destructor, &info) && info.dli_fname) dlopen(info.dli_fname, RTLD_NOW | RTLD_NODELETE);
}

static int available(void) {
  pthread_once(&ossl_once, ossl_load);
  return ossl.cipher != NULL;
}

// gcmAvailable(): whether the two functions below work in this process.
static napi_value js_available(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value r;
  napi_get_boolean(env, available(), &r);
  return r;
}

/* The call's `n` Uint8Array arguments, named for the TypeError; 0 with an exception pending if not. */
static int byte_args(napi_env env, napi_callback_info info, size_t n, const char *const *names, uint8_t **ptr, size_t *len, const char *usage) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < n) {
    throw_error(env, usage);
    return 0;
  }
  for (size_t i = 0; i < n; i++)
    if (!(ptr[i] = bytes_arg(env, argv[i], &len[i], names[i]))) return 0;
  return 1;
}

// gcmSeal(key, iv, aad, plaintext, out): out (plaintext's length + 16) = ciphertext || tag.
static napi_value js_seal(napi_env env, napi_callback_info info) {
  static const char *const names[] = {"key must be a Uint8Array", "iv must be a Uint8Array", "aad must be a Uint8Array", "plaintext must be a Uint8Array", "out must be a Uint8Array"};
  uint8_t *a[5];
  size_t l[5];
  if (!byte_args(env, info, 5, names, a, l, "gcmSeal(key, iv, aad, plaintext, out)")) return NULL;
  uint8_t *key = a[0], *iv = a[1], *aad = a[2], *pt = a[3], *out = a[4];
  size_t alen = l[2], plen = l[3];
  if (l[0] != KEY_BYTES || l[1] != IV_BYTES || l[4] != plen + TAG_BYTES || plen > 0x7fffffff || alen > 0x7fffffff)
    return throw_error(env, "gcmSeal: a 32-byte key, a 12-byte IV and out of the plaintext's length + 16");
  if (!available()) return throw_error(env, "gcmSeal: OpenSSL's AES-256-GCM is not available");
  EVP_CIPHER_CTX *c = ctx_for(1);
  int n = 0;
  if (!c || ossl.encrypt_init(c, NULL, NULL, key, iv) != 1 || (alen && ossl.encrypt_update(c, NULL, &n, aad, (int)alen) != 1) ||
      (plen && ossl.encrypt_update(c, out, &n, pt, (int)plen) != 1) || ossl.encrypt_final(c, out + plen, &n) != 1 ||
      ossl.ctrl(c, CTRL_GCM_GET_TAG, TAG_BYTES, out + plen) != 1)
    return throw_error(env, "gcmSeal: OpenSSL failed");
  return NULL;
}

// gcmOpen(key, iv, aad, ciphertext, tag, out): true and out (the ciphertext's length) = plaintext
// if the tag is authentic; false and out zeroed if not.
static napi_value js_open(napi_env env, napi_callback_info info) {
  static const char *const names[] = {"key must be a Uint8Array", "iv must be a Uint8Array", "aad must be a Uint8Array", "ciphertext must be a Uint8Array", "tag must be a Uint8Array", "out must be a Uint8Array"};
  uint8_t *a[6];
  size_t l[6];
  if (!byte_args(env, info, 6, names, a, l, "gcmOpen(key, iv, aad, ciphertext, tag, out)")) return NULL;
  uint8_t *key = a[0], *iv = a[1], *aad = a[2], *ct = a[3], *tag = a[4], *out = a[5];
  size_t alen = l[2], clen = l[3], olen = l[5];
  if (l[0] != KEY_BYTES || l[1] != IV_BYTES || l[4] != TAG_BYTES || olen != clen || clen > 0x7fffffff || alen > 0x7fffffff)
    return throw_error(env, "gcmOpen: a 32-byte key, a 12-byte IV, a 16-byte tag and out of the ciphertext's length");
  if (!available()) return throw_error(env, "gcmOpen: OpenSSL's AES-256-GCM is not available");
  EVP_CIPHER_CTX *c = ctx_for(0);
  uint8_t tag_copy[TAG_BYTES];
  memcpy(tag_copy, tag, TAG_BYTES); /* SET_TAG takes a non-const pointer */
  int n = 0;
  uint8_t last[16];
  int ok = c && ossl.decrypt_init(c, NULL, NULL, key, iv) == 1 && ossl.ctrl(c, CTRL_GCM_SET_TAG, TAG_BYTES, tag_copy) == 1 &&
           (!alen || ossl.decrypt_update(c, NULL, &n, aad, (int)alen) == 1) && (!clen || ossl.decrypt_update(c, out, &n, ct, (int)clen) == 1) &&
           ossl.decrypt_final(c, last, &n) == 1;
  if (!ok && olen) memset(out, 0, olen); /* never hand out unauthenticated plaintext */
  napi_value r;
  napi_get_boolean(env, ok, &r);
  return r;
}

// gcmContexts(): how many contexts exist now, over all threads (tests).
static napi_value js_contexts(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value r;
  napi_create_int64(env, (int64_t)live_ctxs, &r);
  return r;
}

void gcm_define_exports(napi_env env, napi_value exports) {
  pthread_once(&pin_once, pin_library);
  void *token = malloc(1);
  if (token && napi_add_env_cleanup_hook(env, env_cleanup, token) != napi_ok) free(token);
  napi_property_descriptor props[] = {
    {"gcmAvailable", NULL, js_available, NULL, NULL, NULL, napi_default, NULL},
    {"gcmContexts", NULL, js_contexts, NULL, NULL, NULL, napi_default, NULL},
    {"gcmSeal", NULL, js_seal, NULL, NULL, NULL, napi_default, NULL},
    {"gcmOpen", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}
