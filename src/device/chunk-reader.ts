// Reads a file in large chunks with O_DIRECT where the file system allows it: reading holes
// through the page cache fills it with zero pages and is several times slower. Used by image
// copies and by the walkthrough's scan of a whole image.
import * as fs from 'node:fs';

const BLOCK = 4096;

/**
 * Node gives no buffer addresses, so an aligned view into a slightly larger buffer is found by
 * trying: the kernel answers EINVAL to a misaligned buffer (only when it reads data: holes pass
 * any alignment). With no aligned view, or no O_DIRECT, it reads through the page cache.
 */
export class ChunkReader {
  private readonly raw: Buffer;
  private shift = 0;

  private constructor(
    private readonly path: string,
    private fd: number,
    private direct: boolean,
    /** An open descriptor of the same file the caller owns (never closed here), else undefined. */
    private readonly callersFd: number | undefined,
    chunkBytes: number,
  ) {
    this.raw = Buffer.allocUnsafeSlow(chunkBytes + BLOCK);
  }

  /**
   * Opens `path` for reads of at most `chunkBytes`. Where O_DIRECT cannot serve, reads go through
   * `callersFd` when given (an open descriptor of the same file), else through a buffered open.
   */
  static open(path: string, chunkBytes: number, callersFd?: number): ChunkReader {
    const buffered = () => new ChunkReader(path, callersFd ?? fs.openSync(path, 'r'), false, callersFd, chunkBytes);
    // O_DIRECT reads whole blocks: a file of another length (a database, a log) goes through the page cache.
    if (fs.statSync(path).size % BLOCK !== 0) return buffered();
    try {
      return new ChunkReader(path, fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_DIRECT), true, callersFd, chunkBytes);
    } catch {
      return buffered();
    }
  }

  /** `len` bytes at `pos`, as a view of a reused buffer valid until the next read. */
  read(len: number, pos: number): Buffer {
    for (;;) {
      const buf = this.raw.subarray(this.shift, this.shift + len);
      try {
        this.readFull(buf, len, pos);
        return buf;
      } catch (err) {
        if (!this.direct || (err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
        this.shift += 16;
        if (this.shift >= BLOCK) this.buffered();
      }
    }
  }

  close(): void {
    if (this.fd !== this.callersFd) fs.closeSync(this.fd);
  }

  private readFull(buf: Buffer, len: number, pos: number): void {
    for (let done = 0; done < len; ) {
      const n = fs.readSync(this.fd, buf, done, len - done, pos + done);
      // Callers read below the size they found: a file that shrank meanwhile is an error, never zeros.
      if (n === 0) throw new Error(`${this.path}: unexpected end of file at ${pos + done}`);
      done += n;
    }
  }

  private buffered(): void {
    fs.closeSync(this.fd);
    this.fd = this.callersFd ?? fs.openSync(this.path, 'r');
    this.direct = false;
    this.shift = 0;
  }
}
