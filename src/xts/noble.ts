// Pure-TypeScript engine on @noble/ciphers' AES round function: portable, and the reference.
// Works on 32-bit words throughout (noble's `unsafe.encrypt/decrypt` take and return the four
// state words directly), so a block costs one AES call plus a handful of XORs and shifts.
// Nothing is allocated here per sector; noble's round function returns a small {s0..s3} object
// per block (its CTR mode pays the same), short-lived garbage that V8 collects in scavenges.
import { unsafe } from '@noble/ciphers/aes.js';
import { IS_LE, Scratch, bswap32InPlace, checkUnits, checkXtsKey, type EngineFactory, type XtsCore } from './core.js';

type BlockFn = (xk: Uint32Array, s0: number, s1: number, s2: number, s3: number) => { s0: number; s1: number; s2: number; s3: number };

const aesEncrypt = unsafe.encrypt as BlockFn;
const aesDecrypt = unsafe.decrypt as BlockFn;

/** The tweak's 16 bytes as four little-endian words, independent of host byte order. */
function le32(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
}

/**
 * XTS over `w` (LE word values) in units of `unitWords` words. `u0..u3` is the first unit's
 * tweak. One function for both directions: the block function is the only difference.
 */
function xtsWords(block: BlockFn, xk1: Uint32Array, xk2: Uint32Array, w: Uint32Array, unitWords: number,
  u0: number, u1: number, u2: number, u3: number): void {
  for (let base = 0; base < w.length; base += unitWords) {
    // T = E_K2(i): the tweak of this unit.
    const T = aesEncrypt(xk2, u0, u1, u2, u3);
    let t0 = T.s0, t1 = T.s1, t2 = T.s2, t3 = T.s3;
    const end = base + unitWords;
    for (let i = base; i < end; i += 4) {
      const r = block(xk1, w[i]! ^ t0, w[i + 1]! ^ t1, w[i + 2]! ^ t2, w[i + 3]! ^ t3);
      w[i] = r.s0 ^ t0;
      w[i + 1] = r.s1 ^ t1;
      w[i + 2] = r.s2 ^ t2;
      w[i + 3] = r.s3 ^ t3;
      // T <- T * alpha in GF(2^128), little-endian: shift left one bit, fold x^128 = x^7+x^2+x+1.
      const carry = t3 >> 31;
      t3 = (t3 << 1) | (t2 >>> 31);
      t2 = (t2 << 1) | (t1 >>> 31);
      t1 = (t1 << 1) | (t0 >>> 31);
      t0 = (t0 << 1) ^ (carry & 0x87);
    }
    // Next unit: tweak + 1 as a 128-bit integer.
    u0 = (u0 + 1) | 0;
    if (u0 === 0) {
      u1 = (u1 + 1) | 0;
      if (u1 === 0) {
        u2 = (u2 + 1) | 0;
        if (u2 === 0) u3 = (u3 + 1) | 0;
      }
    }
  }
}

class NobleXts implements XtsCore {
  readonly engine = 'noble' as const;
  private readonly xk1: Uint32Array;
  private readonly xk1d: Uint32Array;
  private readonly xk2: Uint32Array;
  private readonly scratch = new Scratch();

  constructor(key: Uint8Array) {
    checkXtsKey(key);
    const half = key.length / 2;
    this.xk1 = unsafe.expandKeyLE(key.subarray(0, half));
    this.xk1d = unsafe.expandKeyDecLE(key.subarray(0, half));
    this.xk2 = unsafe.expandKeyLE(key.subarray(half));
  }

  encryptUnits(data: Uint8Array, unitLen: number, tweak: Uint8Array): void {
    this.run(data, unitLen, tweak, aesEncrypt, this.xk1);
  }

  decryptUnits(data: Uint8Array, unitLen: number, tweak: Uint8Array): void {
    this.run(data, unitLen, tweak, aesDecrypt, this.xk1d);
  }

  private run(data: Uint8Array, unitLen: number, tweak: Uint8Array, block: BlockFn, xk1: Uint32Array): void {
    checkUnits(data, unitLen, tweak);
    if (data.length === 0) return;
    // A word view needs 4-byte alignment and LE words; otherwise work on a (reused) copy.
    const direct = IS_LE && (data.byteOffset & 3) === 0;
    let work = data;
    if (!direct) {
      work = this.scratch.get(data.length);
      work.set(data);
      if (!IS_LE) bswap32InPlace(work);
    }
    const w = new Uint32Array(work.buffer, work.byteOffset, work.length >>> 2);
    xtsWords(block, xk1, this.xk2, w, unitLen >>> 2, le32(tweak, 0), le32(tweak, 4), le32(tweak, 8), le32(tweak, 12));
    if (!direct) {
      if (!IS_LE) bswap32InPlace(work);
      data.set(work);
    }
  }
}

export const nobleEngine: EngineFactory = {
  name: 'noble',
  probe: () => ({ available: true, reason: 'pure TypeScript on @noble/ciphers AES (always available)' }),
  create: (key) => new NobleXts(key),
};
