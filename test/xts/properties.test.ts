// Property tests: every engine equals every other and OpenSSL's aes-xts (via node:crypto) applied
// sector by sector, for random keys, sector numbers up to 2^63, sector sizes and batch lengths.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSectorCipher, createXtsCore, type SectorSize } from '../../src/xts/index.js';
import { ENGINES, forEachVariant, hex, opensslXts } from './helpers.js';

const RUNS = 60;

const xtsKey = (bytes: number) =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).filter((k) => hex(k.subarray(0, bytes / 2)) !== hex(k.subarray(bytes / 2)));

const sectorCase = fc.record({
  key: xtsKey(64),
  sectorSize: fc.constantFrom<SectorSize>(512, 4096),
  sectors: fc.integer({ min: 1, max: 33 }), // 33 x 4096 > one 128 KiB FUSE request
  first: fc.bigInt({ min: 0n, max: 1n << 63n }),
  // A byte offset into a bigger buffer: engines must cope with unaligned views.
  offset: fc.integer({ min: 0, max: 5 }),
  seed: fc.integer(),
});

/** Deterministic filler: fast-check shrinks the seed, not 128 KiB of bytes. */
function fill(len: number, seed: number, offset = 0): Uint8Array {
  const buf = new Uint8Array(len + offset).subarray(offset);
  let x = seed | 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    buf[i] = x & 0xff;
  }
  return buf;
}

describe('sector cipher properties', () => {
  it(`engines available here: ${ENGINES.join(', ')}`, () => {
    expect(ENGINES).toContain('noble');
    expect(ENGINES).toContain('node');
  });

  it('every engine equals node:crypto aes-256-xts sector by sector, both ways', () => {
    fc.assert(
      fc.property(sectorCase, ({ key, sectorSize, sectors, first, offset, seed }) => {
        const pt = fill(sectors * sectorSize, seed);
        const expected = hex(opensslXts(key, pt, sectorSize, first, true));
        forEachVariant((engine, label) => {
          const c = createSectorCipher(key, { sectorSize, engine });
          const buf = fill(pt.length, seed, offset);
          c.encrypt(buf, first);
          expect(hex(buf), label).toBe(expected);
          c.decrypt(buf, first);
          expect(hex(buf), label).toBe(hex(pt));
        });
      }),
      { numRuns: RUNS },
    );
  });

  it('decrypt(encrypt(x)) = x, and a batch equals its sectors one call each', () => {
    fc.assert(
      fc.property(sectorCase, ({ key, sectorSize, sectors, first, seed }) => {
        forEachVariant((engine, label) => {
          const c = createSectorCipher(key, { sectorSize, engine });
          const pt = fill(sectors * sectorSize, seed);
          const batch = pt.slice();
          c.encrypt(batch, first);
          const single = pt.slice();
          for (let i = 0; i < sectors; i++) c.encrypt(single.subarray(i * sectorSize, (i + 1) * sectorSize), first + BigInt(i));
          expect(hex(single)).toBe(hex(batch));
          c.decrypt(batch, first);
          expect(hex(batch)).toBe(hex(pt));
        });
      }),
      { numRuns: RUNS },
    );
  });

  it('a changed sector number changes every block of the sector', () => {
    fc.assert(
      fc.property(xtsKey(64), fc.constantFrom<SectorSize>(512, 4096), fc.bigInt({ min: 0n, max: 1n << 63n }),
        fc.bigInt({ min: 0n, max: 1n << 63n }), fc.integer(), (key, sectorSize, a, b, seed) => {
          fc.pre(a !== b);
          forEachVariant((engine, label) => {
            const c = createSectorCipher(key, { sectorSize, engine });
            const x = fill(sectorSize, seed);
            const y = x.slice();
            c.encrypt(x, a);
            c.encrypt(y, b);
            for (let i = 0; i < sectorSize; i += 16) {
              expect(hex(x.subarray(i, i + 16))).not.toBe(hex(y.subarray(i, i + 16)));
            }
          });
        }),
      { numRuns: 30 },
    );
  });

  it('partial sectors throw a RangeError naming data, and leave the data alone', () => {
    fc.assert(
      fc.property(xtsKey(64), fc.constantFrom<SectorSize>(512, 4096), fc.integer({ min: 1, max: 3 * 4096 }), (key, sectorSize, len) => {
        fc.pre(len % sectorSize !== 0);
        forEachVariant((engine, label) => {
          const c = createSectorCipher(key, { sectorSize, engine });
          const buf = fill(len, len);
          const before = hex(buf);
          expect(() => c.encrypt(buf, 0)).toThrow(RangeError);
          expect(() => c.decrypt(buf, 0n)).toThrow(/^data: .*partial/);
          expect(hex(buf)).toBe(before);
        });
      }),
      { numRuns: 30 },
    );
  });

  it('number and bigint sector numbers agree', () => {
    fc.assert(
      fc.property(xtsKey(64), fc.maxSafeNat(), fc.integer(), (key, n, seed) => {
        forEachVariant((engine, label) => {
          const c = createSectorCipher(key, { sectorSize: 512, engine });
          const x = fill(1024, seed);
          const y = x.slice();
          c.encrypt(x, n);
          c.encrypt(y, BigInt(n));
          expect(hex(x)).toBe(hex(y));
        });
      }),
      { numRuns: 30 },
    );
  });
});

/** Every engine variant encrypts `pt` (units of `unitLen`, first tweak `tweak`) as OpenSSL does, and back. */
function expectEveryEngineEqualsOpenssl(key: Uint8Array, pt: Uint8Array, unitLen: number, tweak: bigint): void {
  const expected = hex(opensslXts(key, pt, unitLen, tweak, true));
  const t = Buffer.alloc(16);
  t.writeBigUInt64LE(tweak & 0xffff_ffff_ffff_ffffn, 0);
  t.writeBigUInt64LE(tweak >> 64n, 8);
  forEachVariant((engine, label) => {
    const core = createXtsCore(key, engine);
    const buf = pt.slice();
    core.encryptUnits(buf, unitLen, t);
    expect(hex(buf), label).toBe(expected);
    core.decryptUnits(buf, unitLen, t);
    expect(hex(buf), label).toBe(hex(pt));
  });
}

describe('engine internals (data-unit API)', () => {
  it('every engine equals OpenSSL for XTS-AES-128 and -256, any unit length and full 128-bit tweaks', () => {
    fc.assert(
      fc.property(fc.constantFrom(32, 64), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 6 }),
        fc.bigInt({ min: 0n, max: (1n << 128n) - 7n }), fc.integer(), fc.integer(), (keyLen, blocks, units, tweak, kseed, seed) => {
          const key = fill(keyLen, kseed);
          fc.pre(hex(key.subarray(0, keyLen / 2)) !== hex(key.subarray(keyLen / 2)));
          const unitLen = blocks * 16;
          const pt = fill(unitLen * units, seed);
          expectEveryEngineEqualsOpenssl(key, pt, unitLen, tweak);
        }),
      { numRuns: RUNS },
    );
  });

  it('every engine equals OpenSSL when data units are larger than, or straddle, an engine\'s internal pieces (64 KiB in node)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6000 }), fc.integer({ min: 1, max: 3 }), fc.integer(), fc.integer(), (blocks, units, kseed, seed) => {
        const key = fill(64, kseed);
        fc.pre(hex(key.subarray(0, 32)) !== hex(key.subarray(32)));
        const unitLen = blocks * 16;
        const pt = fill(unitLen * units, seed);
        expectEveryEngineEqualsOpenssl(key, pt, unitLen, BigInt(seed >>> 0));
      }),
      { numRuns: 25 },
    );
  });

  it('the unit counter carries across 64-bit and 96-bit word boundaries', () => {
    const key = fill(64, 99);
    for (const start of [(1n << 32n) - 2n, (1n << 64n) - 2n, (1n << 96n) - 1n, (1n << 128n) - 3n]) {
      const pt = fill(16 * 2 * 3, 5);
      const expected = hex(opensslXts(key, pt, 32, start, true));
      const t = Buffer.alloc(16);
      t.writeBigUInt64LE(start & 0xffff_ffff_ffff_ffffn, 0);
      t.writeBigUInt64LE(start >> 64n, 8);
      forEachVariant((engine, label) => {
        const buf = pt.slice();
        createXtsCore(key, engine).encryptUnits(buf, 32, t);
        expect(hex(buf), `${label} from ${start}`).toBe(expected);
      });
    }
  });
});
