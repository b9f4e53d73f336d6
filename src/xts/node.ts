// node:crypto engine, batched: per request one AES-ECB call under K2 for all the units' tweaks,
// the tweak stream (multiply by alpha) and XORs on 32/64-bit words in TypeScript, and AES-ECB
// under K1 for all the data. A few OpenSSL calls per request instead of one cipher per sector.
//
// Where the time goes, and why the code is shaped as it is (128 KiB, 4 KiB sectors, measured):
// - Cipher.update() allocates its output each call. One 128 KiB call cost ~45-80 us, of which
//   OpenSSL's AES is ~15 us: glibc serves that size from fresh heap pages and returns them after
//   every GC, so each call page-faults. Calls of 32 KiB stay in reused memory: ~40 us in total.
// - V8 compiles a typed-array loop about twice as fast when the arrays are constants it can fold
//   in (their addresses and lengths) than when they are fresh views of the caller's buffer. So
//   the passes run over module-level scratch arrays that are never reassigned, and the caller's
//   data is copied in and out with set() (a memcpy, ~3 us per 128 KiB).
// These scratch arrays are shared by every engine instance of the thread: run() is synchronous,
// so no two requests use them at once.
import { createCipheriv, createDecipheriv, type Cipher, type Decipher } from 'node:crypto';
import { IS_LE, Scratch, bswap32InPlace, checkUnits, checkXtsKey, type EngineFactory, type XtsCore } from './core.js';

/** Bytes per pass through the scratch arrays (64 and 128 KiB measured alike); larger requests take several passes. */
const PIECE = 64 * 1024;
/** Bytes per Cipher.update() call (see above). */
const ECB_CHUNK = 32 * 1024;

const WORK = new Uint8Array(PIECE); // the data: XORed with the stream, enciphered, XORed again
const STREAM = new Uint8Array(PIECE); // T_u * alpha^j for every block
const OUT = new Uint8Array(PIECE); // the ECB output, copied here for the second XOR
const W32 = new Int32Array(WORK.buffer);
const S32 = new Int32Array(STREAM.buffer);
// 64-bit views: V8 compiles XOR on BigUint64Array elements to plain 64-bit XORs (no BigInt
// allocation), about twice as fast as the same pass on 32-bit words.
const W64 = new BigUint64Array(WORK.buffer);
const S64 = new BigUint64Array(STREAM.buffer);
const O64 = new BigUint64Array(OUT.buffer);
/** The tweak walk, carried from one piece to the next: unit, words left in it, T as 4 LE words. */
const WALK = new Int32Array(6);

/**
 * s <- the tweak of every block of the first `words` words of d, continuing `walk`, and d ^= s
 * in the same pass. Tweak values are little-endian 32-bit words, as are d's words on a
 * little-endian host (big-endian hosts swap d around this call). The arrays come in as
 * parameters: V8 hoists a parameter's base and length out of the loop but reloads a module-level
 * binding on every access, which measured 1.5-3x slower.
 */
function streamAndXor(s: Int32Array, d: Int32Array, walk: Int32Array, words: number, tw: Int32Array, unitWords: number): void {
  let u = walk[0]!, left = walk[1]!;
  let t0 = walk[2]!, t1 = walk[3]!, t2 = walk[4]!, t3 = walk[5]!;
  let i = 0;
  while (i < words) {
    if (left === 0) {
      t0 = tw[u * 4]!;
      t1 = tw[u * 4 + 1]!;
      t2 = tw[u * 4 + 2]!;
      t3 = tw[u * 4 + 3]!;
      u++;
      left = unitWords;
    }
    const end = Math.min(words, i + left);
    left -= end - i;
    for (; i < end; i += 4) {
      s[i] = t0;
      s[i + 1] = t1;
      s[i + 2] = t2;
      s[i + 3] = t3;
      d[i] ^= t0;
      d[i + 1] ^= t1;
      d[i + 2] ^= t2;
      d[i + 3] ^= t3;
      // Multiply by alpha (little-endian GF(2^128)): shift left, fold the carry as 0x87.
      const carry = t3 >> 31;
      t3 = (t3 << 1) | (t2 >>> 31);
      t2 = (t2 << 1) | (t1 >>> 31);
      t1 = (t1 << 1) | (t0 >>> 31);
      t0 = (t0 << 1) ^ (carry & 0x87);
    }
  }
  walk[0] = u;
  walk[1] = left;
  walk[2] = t0;
  walk[3] = t1;
  walk[4] = t2;
  walk[5] = t3;
}

/** w <- o ^ s over the first `qwords` 64-bit words. */
function xorInto(w: BigUint64Array, o: BigUint64Array, s: BigUint64Array, qwords: number): void {
  for (let i = 0; i < qwords; i++) w[i] = o[i]! ^ s[i]!;
}

class NodeXts implements XtsCore {
  readonly engine = 'node' as const;
  // ECB without padding is stateless per block, so these stay open and take update() calls
  // forever; final() is never called. That is what makes "one call per request" cheap.
  private readonly tweakEcb: Cipher;
  private readonly encEcb: Cipher;
  private readonly decEcb: Decipher;
  private readonly tweakScratch = new Scratch();

  constructor(key: Uint8Array) {
    checkXtsKey(key);
    const half = key.length / 2;
    const alg = half === 32 ? 'aes-256-ecb' : 'aes-128-ecb';
    const k1 = key.subarray(0, half);
    const k2 = key.subarray(half);
    this.tweakEcb = createCipheriv(alg, k2, null).setAutoPadding(false);
    this.encEcb = createCipheriv(alg, k1, null).setAutoPadding(false);
    this.decEcb = createDecipheriv(alg, k1, null).setAutoPadding(false);
  }

  encryptUnits(data: Uint8Array, unitLen: number, tweak: Uint8Array): void {
    this.run(data, unitLen, tweak, this.encEcb);
  }

  decryptUnits(data: Uint8Array, unitLen: number, tweak: Uint8Array): void {
    this.run(data, unitLen, tweak, this.decEcb);
  }

  private run(data: Uint8Array, unitLen: number, tweak: Uint8Array, ecb: Cipher | Decipher): void {
    checkUnits(data, unitLen, tweak);
    const len = data.length;
    if (len === 0) return;
    const units = len / unitLen;

    // 1. The units' tweaks i, i+1, ... (128-bit LE counter), encrypted in one call under K2.
    const tw = this.tweakScratch.get(units * 16);
    tw.set(tweak);
    for (let u = 1; u < units; u++) {
      const o = u * 16;
      let carry = 1;
      for (let j = 0; j < 16; j++) {
        const v = tw[o - 16 + j]! + carry;
        tw[o + j] = v & 0xff;
        carry = v >>> 8;
      }
    }
    let T = this.tweakEcb.update(tw) as Uint8Array;
    if ((T.byteOffset & 3) !== 0) T = Uint8Array.from(T); // Int32Array views need 4-byte alignment
    if (!IS_LE) bswap32InPlace(T); // the stream is computed on LE word values
    const tweaks = new Int32Array(T.buffer, T.byteOffset, T.length >>> 2);

    // 2. Piece by piece through the scratch arrays: XOR before, ECB, XOR after.
    WALK.fill(0);
    for (let start = 0; start < len; start += PIECE) {
      const n = Math.min(PIECE, len - start);
      WORK.set(data.subarray(start, start + n));
      if (!IS_LE) bswap32InPlace(WORK.subarray(0, n));
      streamAndXor(S32, W32, WALK, n >>> 2, tweaks, unitLen >>> 2);
      if (!IS_LE) {
        bswap32InPlace(WORK.subarray(0, n));
        bswap32InPlace(STREAM.subarray(0, n));
      }
      for (let off = 0; off < n; off += ECB_CHUNK) {
        const end = Math.min(n, off + ECB_CHUNK);
        OUT.set(ecb.update(WORK.subarray(off, end)), off);
      }
      xorInto(W64, O64, S64, n >>> 3);
      data.set(WORK.subarray(0, n), start);
    }
  }
}

export const nodeEngine: EngineFactory = {
  name: 'node',
  probe: () => ({ available: true, reason: 'node:crypto AES-ECB, batched per request (always available)' }),
  create: (key) => new NodeXts(key),
};
