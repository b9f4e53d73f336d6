// What the block device stands on: whole sectors of one open backing image, in plaintext, read
// and written by sector number (random-access-storage style). Two implementations: the JS store
// (js-sector-store.ts: pread/pwrite plus the sector cipher of src/xts) and the native one
// (native-sector-store.ts: the addon's threaded I/O through a shared mapping of the image). They
// write the same bytes to disk. Alignment, read-modify-write and locking are the block device's.
//
// Never-written sectors read as zeros, as on EBS: the image is sparse, an unwritten sector is a
// hole that reads back as 4096 zero bytes of "ciphertext", and such a sector is returned as
// zeros without decrypting it. A real ciphertext sector is all-zero with probability 2^-32768,
// so the rule cannot misfire on written data.
import * as fs from 'node:fs';
import { DeviceClosedError, InvalidRequestError } from './errors.js';
import { fdatasync } from './io.js';

export const SECTOR_SIZE = 4096;

export interface SectorStore {
  /** How the sectors are kept and served, for logs (e.g. "xts:node"). */
  readonly description: string;
  /** False for pass-through (bench-only): the image holds plaintext. */
  readonly encrypted: boolean;
  /** The store's size in sectors of SECTOR_SIZE bytes. */
  readonly sectors: number;
  /** The most sectors a caller should ask for in one request; BlockDevice splits larger reads. */
  readonly maxRequestSectors: number;
  /**
   * Reads `count` sectors from `firstSector` as plaintext into the first count * SECTOR_SIZE
   * bytes of `into`; resolves to the number of never-written sectors among them (read as zeros).
   */
  readSectors(firstSector: number, count: number, into: Uint8Array): Promise<number>;
  /**
   * Serves a read at once on the calling thread if that costs less than the asynchronous one (a
   * small read whose pages are in the page cache): the hole count, or -1 when it did not (then
   * call readSectors). Only stores that can see the page cache have it. With `inFuseRead`,
   * `into` is libfuse's buffer of the FUSE read this process is answering: the store may leave
   * it encrypted for the libfuse worker to decrypt before it replies (holes then count 0).
   */
  readCached?(firstSector: number, count: number, into: Uint8Array, inFuseRead?: boolean): number;
  /**
   * Encrypts and writes `data` (whole sectors) from `firstSector` on. `work`, as long as `data`,
   * is the store's to use as scratch space (the store allocates one if it needs one and none is
   * given); it may be `data` itself when the caller gives up data's contents. Otherwise `data`
   * is left as it is.
   */
  writeSectors(firstSector: number, data: Uint8Array, work?: Uint8Array): Promise<void>;
  /**
   * writeSectors done at once on the calling thread, where that costs less than the asynchronous
   * one (a small write into the page cache): true if it did (errors are thrown as writeSectors
   * rejects them), false when it did not (then call writeSectors). Only some stores have it.
   */
  writeNow?(firstSector: number, data: Uint8Array, work?: Uint8Array): boolean;
  /** fdatasync: every write that completed before is on disk after. */
  flush(): Promise<void>;
  /** Flushes and closes; requests after it fail with DeviceClosedError. Callers drain theirs first. */
  close(): Promise<void>;
}

/** The open image file under a store: its descriptor, the range checks, flush and close. */
export abstract class ImageFileStore implements SectorStore {
  abstract readonly description: string;
  abstract readonly encrypted: boolean;
  abstract readonly maxRequestSectors: number;
  protected fd: number;
  private closing: Promise<void> | undefined;

  protected constructor(
    readonly imagePath: string,
    readonly sectors: number,
    readOnly: boolean,
  ) {
    if (!Number.isSafeInteger(sectors) || sectors <= 0) throw new RangeError(`sectors: expected a positive integer, got ${sectors}`);
    this.fd = fs.openSync(imagePath, readOnly ? 'r' : 'r+');
  }

  abstract readSectors(firstSector: number, count: number, into: Uint8Array): Promise<number>;
  abstract writeSectors(firstSector: number, data: Uint8Array, work?: Uint8Array): Promise<void>;

  async flush(): Promise<void> {
    if (this.fd < 0) throw this.closedError();
    await fdatasync(this.fd);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const fd = this.fd;
      try {
        await fdatasync(fd);
      } finally {
        this.fd = -1;
        this.released();
        fs.closeSync(fd);
      }
    })();
    return this.closing;
  }

  /** Called once at close, before the descriptor goes: drop what depends on it. */
  protected released(): void {}

  /** Throws unless [firstSector, firstSector + count) is inside the store and `bytes` holds it; returns its byte length. */
  protected check(op: 'read' | 'write', firstSector: number, count: number, bytes: Uint8Array): number {
    if (this.fd < 0) throw this.closedError();
    if (!Number.isSafeInteger(firstSector) || firstSector < 0 || !Number.isSafeInteger(count) || count < 0)
      throw new InvalidRequestError(`${op} of sectors: expected non-negative integers, got firstSector ${firstSector}, count ${count}`);
    if (firstSector + count > this.sectors)
      throw new InvalidRequestError(`${op} of sectors ${firstSector}..${firstSector + count - 1} passes the end of the ${this.sectors}-sector store`);
    const len = count * SECTOR_SIZE;
    if (bytes.length < len) throw new InvalidRequestError(`${op} of ${count} sectors needs ${len} bytes, got a buffer of ${bytes.length}`);
    return len;
  }

  /** check() for a write of all of `data`, which must be whole sectors; returns its byte length. */
  protected checkWrite(firstSector: number, data: Uint8Array): number {
    if (data.length % SECTOR_SIZE !== 0) throw new InvalidRequestError(`write of ${data.length} bytes: not a whole number of ${SECTOR_SIZE}-byte sectors`);
    return this.check('write', firstSector, data.length / SECTOR_SIZE, data);
  }

  private closedError(): DeviceClosedError {
    return new DeviceClosedError(`the sector store of ${this.imagePath}`);
  }
}

export function asBuffer(a: Uint8Array): Buffer {
  return Buffer.isBuffer(a) ? a : Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}
