// Public face of the sector cipher: AES-256-XTS per IEEE 1619, one data unit per sector,
// tweak = sector number as a 128-bit little-endian integer (dm-crypt's aes-xts-plain64).
// PLACEHOLDER engine: one node:crypto cipher per sector. The engines of issue 3 replace it.
import { createCipheriv, createDecipheriv } from 'node:crypto';

export type SectorSize = 512 | 4096;

export interface SectorCipher {
  readonly engine: string;
  readonly sectorSize: SectorSize;
  /** Encrypts whole sectors of `data` in place, the first one being sector `firstSector`. */
  encrypt(data: Uint8Array, firstSector: number | bigint): void;
  /** Decrypts whole sectors of `data` in place. */
  decrypt(data: Uint8Array, firstSector: number | bigint): void;
}

export interface SectorCipherOptions {
  sectorSize?: SectorSize;
}

function tweakFor(sector: bigint): Buffer {
  const t = Buffer.alloc(16);
  t.writeBigUInt64LE(sector, 0);
  return t;
}

export function createSectorCipher(key: Uint8Array, options: SectorCipherOptions = {}): SectorCipher {
  if (key.length !== 64) throw new RangeError(`key: expected 64 bytes (K1||K2), got ${key.length}`);
  const k = Buffer.from(key);
  if (k.subarray(0, 32).equals(k.subarray(32))) throw new RangeError('key: the two XTS key halves must differ');
  const sectorSize = options.sectorSize ?? 4096;
  const run = (data: Uint8Array, first: number | bigint, enc: boolean) => {
    if (data.length % sectorSize !== 0) throw new RangeError(`data: length ${data.length} is not a multiple of the ${sectorSize}-byte sector`);
    let s = BigInt(first);
    for (let off = 0; off < data.length; off += sectorSize, s++) {
      const c = (enc ? createCipheriv : createDecipheriv)('aes-256-xts', k, tweakFor(s));
      const view = data.subarray(off, off + sectorSize);
      const out = c.update(view);
      view.set(out);
      c.final();
    }
  };
  return {
    engine: 'node-per-sector',
    sectorSize,
    encrypt: (d, f) => run(d, f, true),
    decrypt: (d, f) => run(d, f, false),
  };
}
