// ebsim_xts: XTS-AES (IEEE 1619) on AES-NI, a whole batch of data units per call, in place.
//
// JS API (wrapped by src/xts/native.ts, which does the friendly argument checking):
//   supported() -> string | null            null if usable, else why not (no AES-NI, not x86)
//   expandKeys(key: Uint8Array(32|64), sched: Uint8Array(720)) -> rounds (10 or 14)
//   crypt(sched, rounds, data: Uint8Array, unitLen, tweak: Uint8Array(16), encrypt: boolean)
//   features() -> "aesni" | "aesni+vaes512";  setWide(on) -> whether the VAES-512 path is on
// Units of 32+ blocks run 32 blocks at a time on VAES (AVX-512) where the CPU has it, else
// LANES blocks at a time on AES-NI; the tweak chain is the same either way.
// sched holds three 15-entry round-key arrays: K1 encryption, K1 decryption, K2 encryption.
// It lives in a JS-owned buffer so a cipher needs no native finalizer.
#define _GNU_SOURCE /* pread/pwrite, sigsetjmp, MAP_* under -std=c11 */
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SLOT 240 /* 15 round keys of 16 bytes */
#define SCHED_BYTES (3 * SLOT)

static napi_value throw_error(napi_env env, const char *msg) {
  napi_throw_range_error(env, NULL, msg);
  return NULL;
}

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>

#define AESNI __attribute__((target("aes,sse4.1")))
#define AESNI_INLINE static inline __attribute__((always_inline, target("aes,sse4.1")))

static int cpu_has_aesni(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  return (c & bit_AES) && (c & bit_SSE4_1);
}

// VAES on 512-bit registers: 4 blocks per instruction. Needs the CPU flags and the OS saving
// the ZMM/opmask state (XCR0 bits 1,2,5,6,7), else AVX-512 instructions fault.
static int cpu_has_vaes512(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE)) return 0;
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  if ((lo & 0xe6) != 0xe6) return 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
  return (b & bit_AVX512F) && (b & bit_AVX512BW) && (c & bit_VAES) && (c & bit_VPCLMULQDQ);
}

// Prefix-XOR of the four words (w0, w0^w1, w0^w1^w2, ...) plus the SubWord/RotWord term t:
// one step of the FIPS 197 key expansion.
AESNI_INLINE __m128i expand_step(__m128i k, __m128i t) {
  k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
  k = _mm_xor_si128(k, _mm_slli_si128(k, 8));
  return _mm_xor_si128(k, t);
}

// aeskeygenassist needs an immediate round constant, hence macros rather than a loop.
#define K128(i, rcon) rk[i] = expand_step(rk[i - 1], _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[i - 1], rcon), 0xff))
#define K256A(i, rcon) rk[i] = expand_step(rk[i - 2], _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[i - 1], rcon), 0xff))
#define K256B(i) rk[i] = expand_step(rk[i - 2], _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[i - 1], 0), 0xaa))

AESNI static void expand128(const uint8_t *key, __m128i *rk) {
  rk[0] = _mm_loadu_si128((const __m128i *)key);
  K128(1, 0x01); K128(2, 0x02); K128(3, 0x04); K128(4, 0x08); K128(5, 0x10);
  K128(6, 0x20); K128(7, 0x40); K128(8, 0x80); K128(9, 0x1b); K128(10, 0x36);
}

AESNI static void expand256(const uint8_t *key, __m128i *rk) {
  rk[0] = _mm_loadu_si128((const __m128i *)key);
  rk[1] = _mm_loadu_si128((const __m128i *)(key + 16));
  K256A(2, 0x01); K256B(3); K256A(4, 0x02); K256B(5); K256A(6, 0x04); K256B(7);
  K256A(8, 0x08); K256B(9); K256A(10, 0x10); K256B(11); K256A(12, 0x20); K256B(13);
  K256A(14, 0x40);
}

// Equivalent inverse cipher: reversed order, InvMixColumns on the middle round keys.
AESNI static void invert_keys(const __m128i *rk, __m128i *dk, int nr) {
  dk[0] = rk[nr];
  for (int i = 1; i < nr; i++) dk[i] = _mm_aesimc_si128(rk[nr - i]);
  dk[nr] = rk[0];
}

AESNI static int expand_keys(const uint8_t *key, size_t len, uint8_t *sched) {
  __m128i rk[15], dk[15];
  size_t half = len / 2;
  int nr = half == 32 ? 14 : 10;
  if (nr == 14) expand256(key, rk); else expand128(key, rk);
  invert_keys(rk, dk, nr);
  memset(sched, 0, SCHED_BYTES);
  for (int i = 0; i <= nr; i++) {
    _mm_storeu_si128((__m128i *)(sched + 16 * i), rk[i]);
    _mm_storeu_si128((__m128i *)(sched + SLOT + 16 * i), dk[i]);
  }
  if (nr == 14) expand256(key + half, rk); else expand128(key + half, rk);
  for (int i = 0; i <= nr; i++) _mm_storeu_si128((__m128i *)(sched + 2 * SLOT + 16 * i), rk[i]);
  // Round keys on the stack are secrets too.
  volatile uint8_t *p = (volatile uint8_t *)rk;
  for (size_t i = 0; i < sizeof rk; i++) p[i] = 0;
  p = (volatile uint8_t *)dk;
  for (size_t i = 0; i < sizeof dk; i++) p[i] = 0;
  return nr;
}

// T * alpha in GF(2^128), little-endian: shift the 128-bit value left by one (two 64-bit lane
// adds), carry bit 63 into lane 1, and fold bit 127 back in as 0x87.
AESNI_INLINE __m128i mul_alpha(__m128i t) {
  const __m128i poly = _mm_set_epi32(0, 1, 0, 0x87);
  __m128i top = _mm_srai_epi32(t, 31);          // sign of each 32-bit word
  top = _mm_shuffle_epi32(top, 0x13);           // word0 <- word3 (bit 127), word2 <- word1 (bit 63)
  return _mm_xor_si128(_mm_add_epi64(t, t), _mm_and_si128(top, poly));
}

// Blocks in flight on AES-NI. 4, 6 and 8 measured within noise of each other here (16 xmm
// registers: at 8, tweaks spill to the stack); 4 was marginally best.
#define LANES 4
#define TWEAK_BATCH 64 /* units whose tweaks are encrypted together */
#define TWEAK_LANES 8  /* tweak encryptions in flight */

#define VAES512 __attribute__((target("avx512f,avx512bw,vaes,vpclmulqdq,aes,sse4.1")))
#define VAES512_INLINE static inline __attribute__((always_inline, target("avx512f,avx512bw,vaes,vpclmulqdq,aes,sse4.1")))

// Each 128-bit lane times alpha^4: shift left 4 bits across the lane; the 4 bits leaving the
// low qword enter the high one; the 4 leaving the top fold back as (bits x 0x87), carry-less.
VAES512_INLINE __m512i mul_alpha4_x4(__m512i x) {
  const __m512i poly = _mm512_set1_epi64(0x87);
  const __m512i c = _mm512_srli_epi64(x, 60);
  __m512i y = _mm512_xor_si512(_mm512_slli_epi64(x, 4), _mm512_bslli_epi128(c, 8));
  return _mm512_xor_si512(y, _mm512_clmulepi64_epi128(c, poly, 0x01));
}

#define WIDE 8 /* zmm registers in flight: 32 blocks */

VAES512_INLINE __m128i vaes_unit_body(const __m128i *rk128, int nr, int enc, int stream, const uint8_t *in, uint8_t *p, size_t groups, __m128i t) {
  __m512i rk[15];
  for (int i = 0; i <= nr; i++) rk[i] = _mm512_broadcast_i32x4(rk128[i]);
  // Lanes t, t*a, t*a^2, t*a^3; each further register of 4 blocks is the previous times a^4.
  const __m128i t1 = mul_alpha(t), t2 = mul_alpha(t1), t3 = mul_alpha(t2);
  __m512i T = _mm512_castsi128_si512(t);
  T = _mm512_inserti32x4(T, t1, 1);
  T = _mm512_inserti32x4(T, t2, 2);
  T = _mm512_inserti32x4(T, t3, 3);
  for (size_t g = 0; g < groups; g++, in += 64 * WIDE, p += 64 * WIDE) {
    __m512i tw[WIDE], x[WIDE];
    for (int j = 0; j < WIDE; j++) {
      tw[j] = T;
      T = mul_alpha4_x4(T);
      x[j] = _mm512_xor_si512(_mm512_loadu_si512((const void *)(in + 64 * j)), _mm512_xor_si512(tw[j], rk[0]));
    }
    for (int r = 1; r < nr; r++)
      for (int j = 0; j < WIDE; j++) x[j] = enc ? _mm512_aesenc_epi128(x[j], rk[r]) : _mm512_aesdec_epi128(x[j], rk[r]);
    for (int j = 0; j < WIDE; j++) {
      const __m512i k = _mm512_xor_si512(rk[nr], tw[j]);
      x[j] = enc ? _mm512_aesenclast_epi128(x[j], k) : _mm512_aesdeclast_epi128(x[j], k);
      if (stream) _mm512_stream_si512((void *)(p + 64 * j), x[j]);
      else _mm512_storeu_si512((void *)(p + 64 * j), x[j]);
    }
  }
  return _mm512_castsi512_si128(T); // lane 0: the tweak of the first block not processed
}

// Processes the first groups*32 blocks of a unit from `in` into p (the same or not overlapping);
// returns the next block's tweak.
// Not inlined into the AES-NI code: a function may only inline callees of the same ISA.
VAES512 static __m128i vaes_unit(const __m128i *rk, int nr, int enc, int stream, const uint8_t *in, uint8_t *p, size_t groups, __m128i t) {
  if (stream) return nr == 14 ? vaes_unit_body(rk, 14, 1, 1, in, p, groups, t) : vaes_unit_body(rk, 10, 1, 1, in, p, groups, t);
  if (nr == 14) return enc ? vaes_unit_body(rk, 14, 1, 0, in, p, groups, t) : vaes_unit_body(rk, 14, 0, 0, in, p, groups, t);
  return enc ? vaes_unit_body(rk, 10, 1, 0, in, p, groups, t) : vaes_unit_body(rk, 10, 0, 0, in, p, groups, t);
}

static int use_vaes512 = 0; // set at load if the CPU and OS support it; tests can turn it off

// One function body for both directions and both key sizes; always_inline lets the compiler
// specialise it for the constant `enc` and `nr` of each caller below.
AESNI_INLINE void xts_units(const __m128i *rk, const __m128i *tk, int nr, int enc, int stream, const uint8_t *src, uint8_t *data,
                            size_t unit_len, size_t units, uint64_t tlo, uint64_t thi) {
  const size_t nblocks = unit_len / 16;
  __m128i tweaks[TWEAK_BATCH];
  size_t done = 0;
  while (done < units) {
    // Encrypt up to 64 units' tweaks at a time, 8 in flight: the tweak AES stays pipelined
    // even for 512-byte (32-block) sectors.
    size_t chunk = units - done < TWEAK_BATCH ? units - done : TWEAK_BATCH;
    for (size_t u = 0; u < chunk; u++) {
      tweaks[u] = _mm_set_epi64x((long long)thi, (long long)tlo);
      if (++tlo == 0) thi++;
    }
    for (size_t u = 0; u < chunk; u += TWEAK_LANES) {
      size_t m = chunk - u < TWEAK_LANES ? chunk - u : TWEAK_LANES;
      __m128i x[TWEAK_LANES];
      for (size_t j = 0; j < m; j++) x[j] = _mm_xor_si128(tweaks[u + j], tk[0]);
      for (int r = 1; r < nr; r++)
        for (size_t j = 0; j < m; j++) x[j] = _mm_aesenc_si128(x[j], tk[r]);
      for (size_t j = 0; j < m; j++) tweaks[u + j] = _mm_aesenclast_si128(x[j], tk[nr]);
    }
    for (size_t u = 0; u < chunk; u++) {
      __m128i t = tweaks[u];
      uint8_t *p = data + (done + u) * unit_len;
      const uint8_t *in = src + (done + u) * unit_len;
      size_t b = 0;
      if (use_vaes512 && nblocks >= 4 * WIDE) {
        const size_t groups = nblocks / (4 * WIDE);
        t = vaes_unit(rk, nr, enc, stream, in, p, groups, t);
        b = groups * 4 * WIDE;
      }
      for (; b + LANES <= nblocks; b += LANES) {
        __m128i tw[LANES], x[LANES];
        for (int j = 0; j < LANES; j++) {
          tw[j] = t;
          t = mul_alpha(t);
          // XOR with the tweak and the first round key in one go.
          x[j] = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(in + 16 * (b + j))), _mm_xor_si128(tw[j], rk[0]));
        }
        for (int r = 1; r < nr; r++) {
          const __m128i k = rk[r];
          for (int j = 0; j < LANES; j++) x[j] = enc ? _mm_aesenc_si128(x[j], k) : _mm_aesdec_si128(x[j], k);
        }
        // The last round ends with AddRoundKey, so the output tweak XOR folds into its key.
        for (int j = 0; j < LANES; j++) {
          const __m128i k = _mm_xor_si128(rk[nr], tw[j]);
          x[j] = enc ? _mm_aesenclast_si128(x[j], k) : _mm_aesdeclast_si128(x[j], k);
          if (stream) _mm_stream_si128((__m128i *)(p + 16 * (b + j)), x[j]);
          else _mm_storeu_si128((__m128i *)(p + 16 * (b + j)), x[j]);
        }
      }
      for (; b < nblocks; b++) { // units that are not a multiple of LANES blocks (test vectors)
        __m128i x = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(in + 16 * b)), _mm_xor_si128(t, rk[0]));
        for (int r = 1; r < nr; r++) x = enc ? _mm_aesenc_si128(x, rk[r]) : _mm_aesdec_si128(x, rk[r]);
        const __m128i k = _mm_xor_si128(rk[nr], t);
        x = enc ? _mm_aesenclast_si128(x, k) : _mm_aesdeclast_si128(x, k);
        _mm_storeu_si128((__m128i *)(p + 16 * b), x);
        t = mul_alpha(t);
      }
    }
    done += chunk;
  }
}

// Encrypts or decrypts `units` data units from src into data; src may be data (in place) or a
// buffer that does not overlap it. With `stream` (encryption into 64-byte-aligned memory that is
// not read again soon, i.e. the page cache), full blocks go out with non-temporal stores: no
// read-for-ownership of the destination's cache lines, a third less memory traffic.
AESNI static void xts_crypt_from(const uint8_t *sched, int nr, int enc, int stream, const uint8_t *src, uint8_t *data,
                                 size_t unit_len, size_t units, const uint8_t *tweak) {
  __m128i rk[15], tk[15];
  const uint8_t *ks = sched + (enc ? 0 : SLOT);
  for (int i = 0; i <= nr; i++) {
    rk[i] = _mm_loadu_si128((const __m128i *)(ks + 16 * i));
    tk[i] = _mm_loadu_si128((const __m128i *)(sched + 2 * SLOT + 16 * i));
  }
  uint64_t tlo, thi;
  memcpy(&tlo, tweak, 8); // x86 is little-endian, as the tweak is
  memcpy(&thi, tweak + 8, 8);
  if (stream && enc) {
    if (nr == 14) xts_units(rk, tk, 14, 1, 1, src, data, unit_len, units, tlo, thi);
    else xts_units(rk, tk, 10, 1, 1, src, data, unit_len, units, tlo, thi);
    _mm_sfence(); // the streamed stores are visible before the request completes
  } else if (nr == 14) {
    if (enc) xts_units(rk, tk, 14, 1, 0, src, data, unit_len, units, tlo, thi);
    else xts_units(rk, tk, 14, 0, 0, src, data, unit_len, units, tlo, thi);
  } else {
    if (enc) xts_units(rk, tk, 10, 1, 0, src, data, unit_len, units, tlo, thi);
    else xts_units(rk, tk, 10, 0, 0, src, data, unit_len, units, tlo, thi);
  }
}

// memcpy with non-temporal stores into 64-byte-aligned dst (len a multiple of 64), like the
// cipher's streaming path: what pass-through writes into the page cache with.
AESNI static void stream_copy(uint8_t *dst, const uint8_t *src, size_t len) {
  for (size_t i = 0; i < len; i += 64) {
    __m128i a = _mm_loadu_si128((const __m128i *)(src + i)), b = _mm_loadu_si128((const __m128i *)(src + i + 16));
    __m128i c = _mm_loadu_si128((const __m128i *)(src + i + 32)), d = _mm_loadu_si128((const __m128i *)(src + i + 48));
    _mm_stream_si128((__m128i *)(dst + i), a);
    _mm_stream_si128((__m128i *)(dst + i + 16), b);
    _mm_stream_si128((__m128i *)(dst + i + 32), c);
    _mm_stream_si128((__m128i *)(dst + i + 48), d);
  }
  _mm_sfence();
}

// cpuid is slow (a VM exit under a hypervisor), so it runs once, at module load.
static int aesni_ok = -1;
static int vaes512_ok = 0;
static const char *unsupported_reason(void) {
  if (aesni_ok < 0) {
    aesni_ok = cpu_has_aesni();
    vaes512_ok = aesni_ok && cpu_has_vaes512();
    use_vaes512 = vaes512_ok;
  }
  return aesni_ok ? NULL : "CPU lacks AES-NI or SSE4.1 (cpuid leaf 1)";
}
#else
static int vaes512_ok = 0, use_vaes512 = 0;
static const char *unsupported_reason(void) { return "not an x86 CPU: the AES-NI engine is x86-only"; }
static int expand_keys(const uint8_t *key, size_t len, uint8_t *sched) { (void)key; (void)len; (void)sched; return 0; }
static void xts_crypt_from(const uint8_t *sched, int nr, int enc, int stream, const uint8_t *src, uint8_t *data, size_t unit_len,
                           size_t units, const uint8_t *tweak) {
  (void)sched; (void)nr; (void)enc; (void)stream; (void)src; (void)data; (void)unit_len; (void)units; (void)tweak;
}
static void stream_copy(uint8_t *dst, const uint8_t *src, size_t len) { memcpy(dst, src, len); }
#endif

// Returns the bytes of a Uint8Array argument, or NULL (with a pending exception).
static uint8_t *bytes_arg(napi_env env, napi_value v, size_t *len, const char *err) {
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

static napi_value js_supported(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  const char *why = unsupported_reason();
  if (why) napi_create_string_utf8(env, why, NAPI_AUTO_LENGTH, &out);
  else napi_get_null(env, &out);
  return out;
}

// features() -> "aesni" or "aesni+vaes512": the code path crypt() uses now.
static napi_value js_features(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_create_string_utf8(env, unsupported_reason() ? "" : use_vaes512 ? "aesni+vaes512" : "aesni", NAPI_AUTO_LENGTH, &out);
  return out;
}

// setWide(on) -> boolean: enables the 512-bit VAES path if the CPU has it (default on); tests
// and the benchmark turn it off to exercise and measure the plain AES-NI path too.
static napi_value js_set_wide(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  bool on = false;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_bool(env, argv[0], &on) != napi_ok) return throw_error(env, "on: expected a boolean");
  use_vaes512 = on && vaes512_ok;
  napi_get_boolean(env, use_vaes512 != 0, &out);
  return out;
}

static napi_value js_expand_keys(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2) return throw_error(env, "expandKeys(key, sched): 2 arguments required");
  if (unsupported_reason()) return throw_error(env, unsupported_reason());
  size_t klen, slen;
  uint8_t *key = bytes_arg(env, argv[0], &klen, "key: expected a Uint8Array");
  if (!key) return NULL;
  uint8_t *sched = bytes_arg(env, argv[1], &slen, "sched: expected a Uint8Array");
  if (!sched) return NULL;
  if (klen != 32 && klen != 64) return throw_error(env, "key: expected 32 or 64 bytes");
  if (slen != SCHED_BYTES) return throw_error(env, "sched: expected 720 bytes");
  napi_value out;
  napi_create_int32(env, expand_keys(key, klen, sched), &out);
  return out;
}

static napi_value js_crypt(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 6) return throw_error(env, "crypt(sched, rounds, data, unitLen, tweak, encrypt): 6 arguments required");
  size_t slen, dlen, tlen;
  int32_t nr = 0;
  uint32_t unit_len = 0;
  bool enc = false;
  uint8_t *sched = bytes_arg(env, argv[0], &slen, "sched: expected a Uint8Array");
  if (!sched) return NULL;
  uint8_t *data = bytes_arg(env, argv[2], &dlen, "data: expected a Uint8Array");
  if (!data) return NULL;
  uint8_t *tweak = bytes_arg(env, argv[4], &tlen, "tweak: expected a Uint8Array");
  if (!tweak) return NULL;
  if (napi_get_value_int32(env, argv[1], &nr) != napi_ok || (nr != 10 && nr != 14))
    return throw_error(env, "rounds: expected 10 or 14");
  if (napi_get_value_uint32(env, argv[3], &unit_len) != napi_ok || unit_len == 0 || unit_len % 16 != 0)
    return throw_error(env, "unitLen: expected a positive multiple of 16");
  if (napi_get_value_bool(env, argv[5], &enc) != napi_ok) return throw_error(env, "encrypt: expected a boolean");
  // These guard memory safety even if the JS wrapper is bypassed.
  if (slen != SCHED_BYTES) return throw_error(env, "sched: expected 720 bytes");
  if (tlen != 16) return throw_error(env, "tweak: expected 16 bytes");
  if (dlen % unit_len != 0) return throw_error(env, "data: length is not a whole number of data units");
  if (unsupported_reason()) return throw_error(env, unsupported_reason());
  if (dlen) xts_crypt_from(sched, nr, enc, 0, data, data, unit_len, dlen / unit_len, tweak);
  return NULL;
}

// ---------------------------------------------------------------------------------------------
// Asynchronous data path for the block device (src/device/native-io.ts): positioned I/O plus
// XTS on libuv's thread pool, straight into / out of the caller's buffer, so neither the copy
// out of the page cache nor the cipher runs on the JS thread.
//   readDecrypt(fd, offset, buf, firstSector, sched|null, rounds, cb(errno, holes), [map])
//     pread buf.length bytes at offset into buf, then decrypts every sector of 4096 bytes that
//     is not all zeros (a never-written hole reads as zeros, as the JS path does). errno is 0,
//     a positive errno, or -1 for a short read (the image ends before the volume does).
//   encryptWrite(fd, offset, src, dst, firstSector, sched|null, rounds, cb(errno), [map])
//     copies src into dst unless they are the same buffer (the caller's scratch mode), encrypts
//     dst in place and pwrites it at offset. src is never modified unless dst is src; dst's
//     contents afterwards are unspecified.
// sched null means pass-through (no cipher). The key schedule is copied into the request.
// With cb null (readDecrypt only), the read runs at once on the calling thread, through the
// mapping only, and returns the hole count, or -1 when the request's pages are not all in the
// page cache (or a fault interrupted it): then nothing was reported and the caller queues it.
//   mapImage(fd, length) -> external | null
//     maps the image MAP_SHARED (read-write if fd allows, else read-only): the page cache itself,
//     coherent with pread/pwrite, and flushed by fdatasync like any other dirty page. Passed as
//     the last argument above, reads decrypt straight from the page cache into the caller's
//     buffer, and writes encrypt straight from src into it: one pass over the data instead of a
//     copy plus a cipher pass in place. A fault on the mapping (an I/O error under it, a file
//     that shrank, a full file system under a hole) raises SIGBUS; the request's thread catches
//     it and redoes the request with pread/pwrite, which either succeed or name the errno.
//   unmapImage(map): unmaps now instead of at garbage collection.
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
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
// pread/pwrite: ioStats() -> [mappedReads, mappedWrites, faults]. Tests use them to prove
// which path ran.
static uint64_t stat_mapped_reads, stat_mapped_writes, stat_faults;

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
    if (((uintptr_t)dst & 63) == 0) stream_copy(dst, r->src, r->len);
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
  size_t argc = 9;
  napi_value argv[9];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc > 9) argc = 9;
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
    if (unsupported_reason()) return throw_error(env, unsupported_reason());
  }
  napi_valuetype ct;
  napi_typeof(env, a[k + 3], &ct);
  // null: reads only (see below); a write into the page cache may wait in the file system.
  if (ct != napi_function && !(ct == napi_null && !encrypt_write)) return throw_error(env, encrypt_write ? "cb: expected a function" : "cb: expected a function or null");
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
    // A read, synchronous on the calling (JS) thread, and only from the page cache: a small
    // one costs less here than a hop through the pool. A request whose pages are not all
    // cached is left to the caller's asynchronous call, which redoes it whole; only a page
    // evicted between the check and the copy makes this thread wait for the disk. The
    // caller's schedule outlives the call: no copy of the keys, nothing to wipe.
    r->keys = sched;
    r->map = map;
    int served = serve_from_mapping(r);
    napi_value result;
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

// ioStats() -> [mappedReads, mappedWrites, faults] since load.
static napi_value js_io_stats(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value arr, v;
  napi_create_array_with_length(env, 3, &arr);
  uint64_t vals[3] = {__atomic_load_n(&stat_mapped_reads, __ATOMIC_RELAXED), __atomic_load_n(&stat_mapped_writes, __ATOMIC_RELAXED),
                      __atomic_load_n(&stat_faults, __ATOMIC_RELAXED)};
  for (uint32_t i = 0; i < 3; i++) {
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

static napi_value js_read_decrypt(napi_env env, napi_callback_info info) { return queue_io(env, info, 0); }
static napi_value js_encrypt_write(napi_env env, napi_callback_info info) { return queue_io(env, info, 1); }

static napi_value init(napi_env env, napi_value exports) {
  (void)unsupported_reason();
  napi_property_descriptor props[] = {
    {"supported", NULL, js_supported, NULL, NULL, NULL, napi_default, NULL},
    {"expandKeys", NULL, js_expand_keys, NULL, NULL, NULL, napi_default, NULL},
    {"crypt", NULL, js_crypt, NULL, NULL, NULL, napi_default, NULL},
    {"features", NULL, js_features, NULL, NULL, NULL, napi_default, NULL},
    {"setWide", NULL, js_set_wide, NULL, NULL, NULL, napi_default, NULL},
    {"readDecrypt", NULL, js_read_decrypt, NULL, NULL, NULL, napi_default, NULL},
    {"encryptWrite", NULL, js_encrypt_write, NULL, NULL, NULL, napi_default, NULL},
    {"mapImage", NULL, js_map_image, NULL, NULL, NULL, napi_default, NULL},
    {"unmapImage", NULL, js_unmap_image, NULL, NULL, NULL, napi_default, NULL},
    {"ioStats", NULL, js_io_stats, NULL, NULL, NULL, napi_default, NULL},
    {"setMapCheck", NULL, js_set_map_check, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
