// Positioned reads and writes on a raw fd, as promises on libuv's thread pool, so disk I/O of
// one request overlaps the crypto of another on the main thread.
import * as fs from 'node:fs';
import { DeviceIOError, NoSpaceError } from './errors.js';

function readOnce(fd: number, buf: Uint8Array, off: number, len: number, pos: number): Promise<number> {
  return new Promise((resolve, reject) => fs.read(fd, buf, off, len, pos, (err, n) => (err ? reject(err) : resolve(n))));
}

function writeOnce(fd: number, buf: Uint8Array, off: number, len: number, pos: number): Promise<number> {
  return new Promise((resolve, reject) => fs.write(fd, buf, off, len, pos, (err, n) => (err ? reject(err) : resolve(n))));
}

/** Fills `buf` from `pos`; a short read (the image is shorter than the volume) is EIO. */
export async function preadFull(fd: number, buf: Uint8Array, pos: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    let n: number;
    try {
      n = await readOnce(fd, buf, done, buf.length - done, pos + done);
    } catch (err) {
      throw new DeviceIOError(`read of ${buf.length} bytes at ${pos} failed: ${(err as Error).message}`, { cause: err });
    }
    if (n === 0) throw new DeviceIOError(`short read at ${pos + done}: backing image ends before the volume does`);
    done += n;
  }
}

export async function pwriteFull(fd: number, buf: Uint8Array, pos: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    try {
      done += await writeOnce(fd, buf, done, buf.length - done, pos + done);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const msg = `write of ${buf.length} bytes at ${pos} failed: ${e.message}`;
      if (e.code === 'ENOSPC' || e.code === 'EDQUOT') throw new NoSpaceError(msg, { cause: err });
      throw new DeviceIOError(msg, { cause: err });
    }
  }
}

export function fdatasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) =>
    fs.fdatasync(fd, (err) => (err ? reject(new DeviceIOError(`fdatasync failed: ${err.message}`, { cause: err })) : resolve())),
  );
}

/** Synchronous twins: a pread/pwrite that hits the host page cache costs less than a thread-pool hop. */
export function preadFullSync(fd: number, buf: Uint8Array, pos: number): void {
  let done = 0;
  while (done < buf.length) {
    let n: number;
    try {
      n = fs.readSync(fd, buf, done, buf.length - done, pos + done);
    } catch (err) {
      throw new DeviceIOError(`read of ${buf.length} bytes at ${pos} failed: ${(err as Error).message}`, { cause: err });
    }
    if (n === 0) throw new DeviceIOError(`short read at ${pos + done}: backing image ends before the volume does`);
    done += n;
  }
}

export function pwriteFullSync(fd: number, buf: Uint8Array, pos: number): void {
  let done = 0;
  while (done < buf.length) {
    try {
      done += fs.writeSync(fd, buf, done, buf.length - done, pos + done);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const msg = `write of ${buf.length} bytes at ${pos} failed: ${e.message}`;
      if (e.code === 'ENOSPC' || e.code === 'EDQUOT') throw new NoSpaceError(msg, { cause: err });
      throw new DeviceIOError(msg, { cause: err });
    }
  }
}
