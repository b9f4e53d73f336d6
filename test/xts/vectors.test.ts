// Published known answers (IEEE 1619 Annex B, Gladman, NIST XTSVS, Wycheproof; see vectors/README.md)
// on every engine available here, through the internal data-unit API: the vectors use 16- to
// 512-byte data units, XTS-AES-128 keys and full 128-bit tweaks, which the sector API never does.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createSectorCipher, createXtsCore } from '../../src/xts/index.js';
import { VARIANTS, hex, unhex, using, type Variant } from './helpers.js';

interface Vector {
  name: string;
  keyBits: 128 | 256;
  dataUnit: string;
  tweak: string;
  key: string;
  pt: string;
  ct: string;
  lengthBytes: number;
  ciphertextStealing: boolean;
  keyHalvesEqual: boolean;
}

const vectors = JSON.parse(readFileSync(new URL('./vectors/xts.json', import.meta.url), 'utf8')) as Vector[];
const wholeBlock = vectors.filter((v) => !v.ciphertextStealing && !v.keyHalvesEqual);
const equalHalves = vectors.filter((v) => v.keyHalvesEqual);
const stealing = vectors.filter((v) => v.ciphertextStealing);

describe('vector file', () => {
  it('has the counts its README states', () => {
    expect(vectors.length).toBe(223);
    expect(wholeBlock.length + equalHalves.filter((v) => !v.ciphertextStealing).length).toBe(27);
    expect(wholeBlock.filter((v) => v.keyBits === 256).length).toBe(5);
    expect(stealing.length).toBe(196);
  });
  it('tweak field is the data unit as 16 little-endian bytes', () => {
    for (const v of vectors) {
      const t = unhex(v.tweak);
      const n = Buffer.from(t).readBigUInt64LE(0) + (Buffer.from(t).readBigUInt64LE(8) << 64n);
      expect(n).toBe(BigInt(v.dataUnit));
    }
  });
});

describe.each(VARIANTS.map((v) => [v.label, v] as const))('engine %s', (_label, variant: Variant) => {
  const { engine } = variant;
  it.each(wholeBlock.map((v) => [v.name, v] as const))('%s', (_name, v) => using(variant, () => {
    const core = createXtsCore(unhex(v.key), engine);
    const buf = unhex(v.pt);
    // Whole vector = one data unit.
    core.encryptUnits(buf, buf.length, unhex(v.tweak));
    expect(hex(buf)).toBe(v.ct);
    core.decryptUnits(buf, buf.length, unhex(v.tweak));
    expect(hex(buf)).toBe(v.pt);
  }));

  it('rejects equal key halves (IEEE vector 1) with a RangeError naming the key', () => {
    expect(equalHalves.length).toBeGreaterThan(0);
    for (const v of equalHalves) {
      expect(() => createXtsCore(unhex(v.key), engine)).toThrow(RangeError);
      expect(() => createXtsCore(unhex(v.key), engine)).toThrow(/^key: .*halves/);
    }
    const k = new Uint8Array(64).fill(7);
    expect(() => createSectorCipher(k, { engine })).toThrow(/^key: .*halves/);
  });

  it.skip(`ciphertext-stealing vectors (${stealing.length}): ebsim works on whole sectors only, so it does not implement stealing`, () => {});
});

describe('sector API on the XTS-AES-256 vectors', () => {
  // IEEE vectors 10-14 are 512-byte units numbered up to 2^40-1: exactly ebsim's 512-byte sectors.
  const ieee256 = wholeBlock.filter((v) => v.keyBits === 256 && v.lengthBytes === 512);
  it.each(VARIANTS.map((v) => [v.label, v] as const))('engine %s', (_label, variant) => using(variant, () => {
    const { engine } = variant;
    expect(ieee256.length).toBe(5);
    for (const v of ieee256) {
      const c = createSectorCipher(unhex(v.key), { sectorSize: 512, engine });
      const buf = unhex(v.pt);
      c.encrypt(buf, BigInt(v.dataUnit));
      expect(hex(buf)).toBe(v.ct);
      c.decrypt(buf, Number(v.dataUnit));
      expect(hex(buf)).toBe(v.pt);
    }
  }));
});
