// The sector store in JavaScript: positioned reads and writes of the image (on the JS thread,
// where a page-cache hit costs less than a thread-pool hop, or on libuv's pool), and the sector
// cipher of src/xts, or a codec given by the caller, in place in the request's buffer.
import { createSectorCipher } from '../xts/index.js';
import { InvalidRequestError } from './errors.js';
import { preadFull, preadFullSync, pwriteFull, pwriteFullSync } from './io.js';
import { asBuffer, ImageFileStore, SECTOR_SIZE } from './sector-store.js';

/** In-place whole-sector transform; may be asynchronous (e.g. run in a worker). */
export interface SectorCodec {
  readonly name: string;
  encrypt(data: Buffer, firstSector: number): void | Promise<void>;
  decrypt(data: Buffer, firstSector: number): void | Promise<void>;
}

export function cipherCodec(key: Uint8Array): SectorCodec {
  const c = createSectorCipher(key, { sectorSize: SECTOR_SIZE });
  return { name: `xts:${c.engine}`, encrypt: (d, s) => c.encrypt(d, s), decrypt: (d, s) => c.decrypt(d, s) };
}

export interface JsSectorStoreOptions {
  /** null: pass-through, the image holds plaintext (bench-only). */
  codec: SectorCodec | null;
  readOnly?: boolean;
  /** 'sync': pread/pwrite on the calling thread (default); 'async': on libuv's pool. */
  io?: 'sync' | 'async';
}

const ZERO_SECTOR = Buffer.alloc(SECTOR_SIZE);

export class JsSectorStore extends ImageFileStore {
  readonly description: string;
  readonly encrypted: boolean;
  private readonly codec: SectorCodec | null;
  private readonly pread: (fd: number, buf: Uint8Array, pos: number) => void | Promise<void>;
  private readonly pwrite: (fd: number, buf: Uint8Array, pos: number) => void | Promise<void>;

  constructor(imagePath: string, sectors: number, opts: JsSectorStoreOptions) {
    super(imagePath, sectors, opts.readOnly ?? false);
    this.codec = opts.codec;
    this.description = opts.codec?.name ?? 'pass-through';
    this.encrypted = opts.codec !== null;
    this.pread = opts.io === 'async' ? preadFull : preadFullSync;
    this.pwrite = opts.io === 'async' ? pwriteFull : pwriteFullSync;
  }

  async readSectors(firstSector: number, count: number, into: Uint8Array): Promise<number> {
    const len = this.check('read', firstSector, count, into);
    const all = asBuffer(into);
    const buf = all.length === len ? all : all.subarray(0, len);
    await this.pread(this.fd, buf, firstSector * SECTOR_SIZE);
    if (!this.codec) return 0;
    // Decrypt maximal runs of non-hole sectors in one call each; holes stay zero.
    let holes = 0;
    let runStart = -1;
    for (let i = 0; i <= count; i++) {
      const hole = i < count && isZeroSector(buf, i * SECTOR_SIZE);
      if (i < count && !hole) {
        if (runStart < 0) runStart = i;
        continue;
      }
      if (hole) holes++;
      if (runStart >= 0) {
        await this.codec.decrypt(buf.subarray(runStart * SECTOR_SIZE, i * SECTOR_SIZE), firstSector + runStart);
        runStart = -1;
      }
    }
    return holes;
  }

  async writeSectors(firstSector: number, data: Uint8Array, work?: Uint8Array): Promise<void> {
    const len = this.checkWrite(firstSector, data);
    const src = asBuffer(data);
    let buf = src;
    if (work !== data && (work || this.codec)) {
      // Copy out of the caller's (possibly libfuse-owned) buffer before anything else.
      buf = work ? asBuffer(work).subarray(0, len) : Buffer.allocUnsafe(len);
      if (buf.length < len) throw new InvalidRequestError(`work: expected ${len} bytes, got ${buf.length}`);
      src.copy(buf, 0, 0, len);
    }
    if (this.codec) await this.codec.encrypt(buf, firstSector);
    await this.pwrite(this.fd, buf, firstSector * SECTOR_SIZE);
  }
}

/**
 * Is the sector at `o` all zeros (a hole)? Ciphertext starts with 16 zero bytes with probability
 * 2^-128, so the first 16 bytes settle nearly every written sector without scanning 4 KiB.
 */
function isZeroSector(buf: Buffer, o: number): boolean {
  if ((buf[o]! | buf[o + 1]! | buf[o + 2]! | buf[o + 3]! | buf[o + 4]! | buf[o + 5]! | buf[o + 6]! | buf[o + 7]!) !== 0) return false;
  if ((buf[o + 8]! | buf[o + 9]! | buf[o + 10]! | buf[o + 11]! | buf[o + 12]! | buf[o + 13]! | buf[o + 14]! | buf[o + 15]!) !== 0) return false;
  return buf.compare(ZERO_SECTOR, 0, SECTOR_SIZE, o, o + SECTOR_SIZE) === 0;
}
