// ebsim_xts: XTS-AES (IEEE 1619) on AES-NI, a whole batch of data units per call, in place.
//
// JS API (wrapped by src/xts/native.ts, which does the friendly argument checking):
//   supported() -> string | null            null if usable, else why not (no AES-NI, not x86)
//   expandKeys(key: Uint8Array(32|64), sched: Uint8Array(720)) -> rounds (10 or 14)
//   crypt(sched, rounds, data: Uint8Array, unitLen, tweak: Uint8Array(16), encrypt: boolean)
//   paths() -> the code paths this CPU supports, narrowest first: "aesni" [, "vaes256"] [, "vaes512"]
//   path() -> the one crypt() uses now (default: the widest);  setPath(name) -> selects one
//   pathBlocks() -> blocks each path has processed, [aesni, vaes256, vaes512]
// Units long enough run a group of blocks at a time on VAES where the CPU has it: 32 blocks on
// 512-bit registers (AVX-512), 16 on 256-bit ones (AVX2 + VAES, e.g. AMD Zen 3, Intel Alder
// Lake); the rest, LANES blocks at a time on AES-NI. The tweak chain is the same on every path.
// sched holds three 15-entry round-key arrays: K1 encryption, K1 decryption, K2 encryption.
// It lives in a JS-owned buffer so a cipher needs no native finalizer.
#include "ebsim_addon.h"
#include <stdlib.h>
#include <string.h>

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

// VAES on 256-bit registers: 2 blocks per instruction, VEX-encoded, so AVX-512 is not needed.
// Needs AVX and AVX2 (256-bit integer shifts) and the OS saving the YMM state (XCR0 bits 1,2).
static int cpu_has_vaes256(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE) || !(c & bit_AVX)) return 0;
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  if ((lo & 0x6) != 0x6) return 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
  return (b & bit_AVX2) && (c & bit_VAES) && (c & bit_VPCLMULQDQ);
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

#define VAES256 __attribute__((target("avx2,vaes,vpclmulqdq,aes,sse4.1")))
#define VAES256_INLINE static inline __attribute__((always_inline, target("avx2,vaes,vpclmulqdq,aes,sse4.1")))

// Each 128-bit lane times alpha^n (n <= 56), as mul_alpha4_x4: shift left n bits; the n bits
// leaving the low qword enter the high one; those leaving the top fold back times 0x87
// (carry-less; measured faster here than the same fold in shifts and XORs).
VAES256_INLINE __m256i mul_alpha_x2(__m256i x, int n) {
  const __m256i c = _mm256_srli_epi64(x, 64 - n);
  const __m256i y = _mm256_xor_si256(_mm256_slli_epi64(x, n), _mm256_bslli_epi128(c, 8));
  return _mm256_xor_si256(y, _mm256_clmulepi64_epi128(c, _mm256_set1_epi64x(0x87), 0x01));
}

// ymm registers in flight: 16 blocks (6 and 10 measured slower). Only 16 ymm registers exist
// without AVX-512, so the round keys stay in memory and the registers hold blocks and tweaks.
#define WIDE256 8

VAES256_INLINE __m128i vaes256_unit_body(const __m128i *rk128, int nr, int enc, int stream, const uint8_t *in, uint8_t *p, size_t groups, __m128i t) {
  __m256i rk[15];
  for (int i = 0; i <= nr; i++) rk[i] = _mm256_broadcastsi128_si256(rk128[i]);
  // Register j holds the tweaks of blocks 2j and 2j+1: t*a^2j, t*a^(2j+1). The next group's
  // register j is this one times a^16: eight short independent chains rather than one long one.
  __m256i tw[WIDE256];
  tw[0] = _mm256_inserti128_si256(_mm256_castsi128_si256(t), mul_alpha(t), 1);
  for (int j = 1; j < WIDE256; j++) tw[j] = mul_alpha_x2(tw[j - 1], 2);
  for (size_t g = 0; g < groups; g++, in += 32 * WIDE256, p += 32 * WIDE256) {
    __m256i x[WIDE256];
    for (int j = 0; j < WIDE256; j++)
      x[j] = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(in + 32 * j)), _mm256_xor_si256(tw[j], rk[0]));
    for (int r = 1; r < nr; r++)
      for (int j = 0; j < WIDE256; j++) x[j] = enc ? _mm256_aesenc_epi128(x[j], rk[r]) : _mm256_aesdec_epi128(x[j], rk[r]);
    for (int j = 0; j < WIDE256; j++) {
      const __m256i k = _mm256_xor_si256(rk[nr], tw[j]);
      x[j] = enc ? _mm256_aesenclast_epi128(x[j], k) : _mm256_aesdeclast_epi128(x[j], k);
      if (stream) _mm256_stream_si256((__m256i *)(p + 32 * j), x[j]);
      else _mm256_storeu_si256((__m256i *)(p + 32 * j), x[j]);
      tw[j] = mul_alpha_x2(tw[j], 2 * WIDE256);
    }
  }
  return _mm256_castsi256_si128(tw[0]); // lane 0: the tweak of the first block not processed
}

// As vaes_unit, on 256-bit registers: the first groups*16 blocks; returns the next tweak.
// (Batching a request's units into one call, so the round keys are broadcast once, measured no faster.)
VAES256 static __m128i vaes256_unit(const __m128i *rk, int nr, int enc, int stream, const uint8_t *in, uint8_t *p, size_t groups, __m128i t) {
  if (stream) return nr == 14 ? vaes256_unit_body(rk, 14, 1, 1, in, p, groups, t) : vaes256_unit_body(rk, 10, 1, 1, in, p, groups, t);
  if (nr == 14) return enc ? vaes256_unit_body(rk, 14, 1, 0, in, p, groups, t) : vaes256_unit_body(rk, 14, 0, 0, in, p, groups, t);
  return enc ? vaes256_unit_body(rk, 10, 1, 0, in, p, groups, t) : vaes256_unit_body(rk, 10, 0, 0, in, p, groups, t);
}

// The code paths, narrowest first; their names are the JS API's.
enum { PATH_AESNI, PATH_VAES256, PATH_VAES512, PATH_COUNT };
static const char *const PATH_NAMES[PATH_COUNT] = {"aesni", "vaes256", "vaes512"};
static int path_ok[PATH_COUNT];    // set at load from cpuid and xgetbv
static int xts_path = PATH_AESNI;  // the widest supported at load; setPath() may change it
static uint64_t path_blocks[PATH_COUNT]; // blocks each path has processed (pathBlocks(): tests prove the forced path ran)

// One function body for both directions and both key sizes; always_inline lets the compiler
// specialise it for the constant `enc` and `nr` of each caller below.
AESNI_INLINE void xts_units(const __m128i *rk, const __m128i *tk, int nr, int enc, int stream, const uint8_t *src, uint8_t *data,
                            size_t unit_len, size_t units, uint64_t tlo, uint64_t thi) {
  const size_t nblocks = unit_len / 16;
  const int path = __atomic_load_n(&xts_path, __ATOMIC_RELAXED); // once per call: a setPath() meanwhile never splits a request
  uint64_t wide_blocks = 0;
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
      if (path == PATH_VAES512 && nblocks >= 4 * WIDE) {
        const size_t groups = nblocks / (4 * WIDE);
        t = vaes_unit(rk, nr, enc, stream, in, p, groups, t);
        b = groups * 4 * WIDE;
        wide_blocks += b;
      } else if (path == PATH_VAES256 && nblocks >= 2 * WIDE256) {
        const size_t groups = nblocks / (2 * WIDE256);
        t = vaes256_unit(rk, nr, enc, stream, in, p, groups, t);
        b = groups * 2 * WIDE256;
        wide_blocks += b;
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
  // Once per call, relaxed: the device's I/O threads call this concurrently.
  __atomic_fetch_add(&path_blocks[path], wide_blocks, __ATOMIC_RELAXED);
  __atomic_fetch_add(&path_blocks[PATH_AESNI], units * nblocks - wide_blocks, __ATOMIC_RELAXED);
}

// Encrypts or decrypts `units` data units from src into data; src may be data (in place) or a
// buffer that does not overlap it. With `stream` (encryption into 64-byte-aligned memory that is
// not read again soon, i.e. the page cache), full blocks go out with non-temporal stores: no
// read-for-ownership of the destination's cache lines, a third less memory traffic.
AESNI void xts_crypt_from(const uint8_t *sched, int nr, int enc, int stream, const uint8_t *src, uint8_t *data,
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
AESNI void xts_stream_copy(uint8_t *dst, const uint8_t *src, size_t len) {
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
const char *xts_unsupported_reason(void) {
  if (aesni_ok < 0) {
    aesni_ok = cpu_has_aesni();
    path_ok[PATH_AESNI] = aesni_ok;
    path_ok[PATH_VAES256] = aesni_ok && cpu_has_vaes256();
    path_ok[PATH_VAES512] = aesni_ok && cpu_has_vaes512();
    for (int i = 0; i < PATH_COUNT; i++)
      if (path_ok[i]) xts_path = i;
  }
  return aesni_ok ? NULL : "CPU lacks AES-NI or SSE4.1 (cpuid leaf 1)";
}
#else
enum { PATH_AESNI, PATH_VAES256, PATH_VAES512, PATH_COUNT };
static const char *const PATH_NAMES[PATH_COUNT] = {"aesni", "vaes256", "vaes512"};
static int path_ok[PATH_COUNT];
static int xts_path = PATH_AESNI;
static uint64_t path_blocks[PATH_COUNT];
const char *xts_unsupported_reason(void) { return "not an x86 CPU: the AES-NI engine is x86-only"; }
static int expand_keys(const uint8_t *key, size_t len, uint8_t *sched) { (void)key; (void)len; (void)sched; return 0; }
void xts_crypt_from(const uint8_t *sched, int nr, int enc, int stream, const uint8_t *src, uint8_t *data, size_t unit_len,
                           size_t units, const uint8_t *tweak) {
  (void)sched; (void)nr; (void)enc; (void)stream; (void)src; (void)data; (void)unit_len; (void)units; (void)tweak;
}
void xts_stream_copy(uint8_t *dst, const uint8_t *src, size_t len) { memcpy(dst, src, len); }
#endif

static napi_value js_supported(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  const char *why = xts_unsupported_reason();
  if (why) napi_create_string_utf8(env, why, NAPI_AUTO_LENGTH, &out);
  else napi_get_null(env, &out);
  return out;
}

// paths() -> string[]: the code paths this CPU supports, narrowest first (empty without AES-NI).
static napi_value js_paths(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out, name;
  uint32_t n = 0;
  napi_create_array(env, &out);
  if (xts_unsupported_reason()) return out;
  for (int i = 0; i < PATH_COUNT; i++) {
    if (!path_ok[i]) continue;
    napi_create_string_utf8(env, PATH_NAMES[i], NAPI_AUTO_LENGTH, &name);
    napi_set_element(env, out, n++, name);
  }
  return out;
}

// path() -> the code path crypt() uses now ("" without AES-NI).
static napi_value js_path(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_create_string_utf8(env, xts_unsupported_reason() ? "" : PATH_NAMES[xts_path], NAPI_AUTO_LENGTH, &out);
  return out;
}

// setPath(name): selects a code path this CPU supports (tests and the benchmark force each one);
// a name the CPU lacks or that does not exist throws, and the path in use stays as it was.
static napi_value js_set_path(napi_env env, napi_callback_info info) {
  size_t argc = 1, len = 0;
  napi_value argv[1];
  char name[16];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok)
    return throw_error(env, "name: expected a string");
  for (int i = 0; i < PATH_COUNT; i++) {
    if (strcmp(name, PATH_NAMES[i]) != 0) continue;
    if (xts_unsupported_reason() || !path_ok[i]) return throw_error(env, "name: this CPU does not support that path");
    __atomic_store_n(&xts_path, i, __ATOMIC_RELAXED); // the device's I/O threads read it concurrently
    return NULL;
  }
  return throw_error(env, "name: unknown path");
}

// pathBlocks() -> number[]: 16-byte blocks each path (in paths' order of PATH_NAMES: aesni,
// vaes256, vaes512) has processed since load; a VAES path's leftover blocks count under aesni.
static napi_value js_path_blocks(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out, n;
  napi_create_array(env, &out);
  for (int i = 0; i < PATH_COUNT; i++) {
    napi_create_double(env, (double)__atomic_load_n(&path_blocks[i], __ATOMIC_RELAXED), &n);
    napi_set_element(env, out, (uint32_t)i, n);
  }
  return out;
}

static napi_value js_expand_keys(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2) return throw_error(env, "expandKeys(key, sched): 2 arguments required");
  if (xts_unsupported_reason()) return throw_error(env, xts_unsupported_reason());
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
  if (xts_unsupported_reason()) return throw_error(env, xts_unsupported_reason());
  if (dlen) xts_crypt_from(sched, nr, enc, 0, data, data, unit_len, dlen / unit_len, tweak);
  return NULL;
}

void xts_define_exports(napi_env env, napi_value exports) {
  (void)xts_unsupported_reason(); // cpuid once, at load
  napi_property_descriptor props[] = {
    {"supported", NULL, js_supported, NULL, NULL, NULL, napi_default, NULL},
    {"expandKeys", NULL, js_expand_keys, NULL, NULL, NULL, napi_default, NULL},
    {"crypt", NULL, js_crypt, NULL, NULL, NULL, napi_default, NULL},
    {"paths", NULL, js_paths, NULL, NULL, NULL, napi_default, NULL},
    {"path", NULL, js_path, NULL, NULL, NULL, napi_default, NULL},
    {"setPath", NULL, js_set_path, NULL, NULL, NULL, napi_default, NULL},
    {"pathBlocks", NULL, js_path_blocks, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
