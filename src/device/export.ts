// Export: decrypt a volume to a plain image that stays sparse, in bounded memory, reading only
// the sectors the backing image holds (its data extents: SEEK_DATA/SEEK_HOLE). A hole of the
// image is a never-written sector, which reads as zeros: it stays a hole in a file output (the
// partial file below is made the volume's full size by ftruncate, all holes until written), and
// is written as zeros to a device or FIFO.
//
// OUT is never destroyed by a failed export: a regular file (or a new one) is written as
// OUT.partial, created exclusively beside it, and renamed over OUT only once complete; an
// existing OUT that is not a regular file (a device, a FIFO, /dev/stdout) is written in order,
// holes as zeros, and never truncated or unlinked. A replaced file keeps its mode (and owner, as
// root); a new one is 0600.
import * as fs from 'node:fs';
import type { BlockDevice } from './block-device.js';
import { dataExtents, type ExtentMethod } from './data-extents.js';
import { DeviceError } from './errors.js';
import { UserError } from '../errors/index.js';
import { writeAllSync } from './image-store.js';

const CHUNK = 1 << 20;

export interface ExportResult {
  /** Bytes of the volume read and decrypted (its data extents). */
  bytesRead: number;
  /** Bytes written to the output (decrypted sectors that are not all zeros). */
  bytesWritten: number;
  /** Bytes skipped as holes, never read. */
  bytesSkipped: number;
  method: ExtentMethod;
}

/** Where the export writes: a sparse file committed by rename, or a stream written in order. */
interface Target {
  /** Writes `buf` at volume offset `off` (a stream: offsets arrive in order, gaps are zeros). */
  write(buf: Buffer, off: number): void;
  /** Everything written: make it OUT. */
  commit(): void;
  /** A failure: drop what was written, if it is ours to drop. */
  abort(): void;
}

/** Tags a failure of the output's own calls with OUT's name (the CLI: "cannot write OUT: ..."). */
function asOutput<T>(outPath: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (typeof e?.code === 'string' && e.path === undefined) Object.assign(e, { path: outPath, syscall: e.syscall ?? 'write' });
    throw err;
  }
}

function openTarget(outPath: string, size: number, zero: Buffer): Target {
  const st = asOutput(outPath, () => fs.statSync(outPath, { throwIfNoEntry: false })); // follows links: /dev/stdout is its fd's file
  if (st && !st.isFile()) {
    // A device or FIFO: no O_CREAT, no O_TRUNC, no ftruncate, no unlink; write every byte in order.
    const fd = asOutput(outPath, () => fs.openSync(outPath, fs.constants.O_WRONLY));
    let at = 0;
    const put = (b: Buffer) => {
      for (let done = 0; done < b.length; ) {
        const n = fs.writeSync(fd, b, done, b.length - done, null);
        if (n === 0) throw Object.assign(new Error(`write to ${outPath} wrote nothing`), { code: 'EIO' });
        done += n;
      }
    };
    const zerosTo = (end: number) => {
      for (; at < end; at += Math.min(CHUNK, end - at)) put(zero.subarray(0, Math.min(CHUNK, end - at)));
    };
    return {
      write: (buf, off) => asOutput(outPath, () => {
        zerosTo(off);
        put(buf);
        at += buf.length;
      }),
      commit: () => asOutput(outPath, () => {
        zerosTo(size);
        fs.closeSync(fd);
      }),
      abort: () => fs.closeSync(fd),
    };
  }
  // A regular file or none: build it beside OUT (the file a link names, not the link) and rename.
  if (!st && fs.lstatSync(outPath, { throwIfNoEntry: false })?.isSymbolicLink()) {
    throw new UserError(`${outPath} is a symbolic link to a file that does not exist: name the file itself`);
  }
  const dest = st ? fs.realpathSync(outPath) : outPath;
  const partial = `${dest}.partial`;
  const fd = asOutput(partial, () => {
    try {
      return fs.openSync(partial, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      throw new UserError(`${partial} already exists: an export of ${outPath} is running, or one was interrupted (remove the file and export again)`);
    }
  });
  let open = true;
  try {
    // Replacing a file: the new one keeps its mode, and its owner where we may give it (root), as
    // an overwrite in place would. A new file stays 0600 (a decrypted volume is nobody else's).
    if (st) {
      if (process.getuid?.() === 0 && (st.uid !== 0 || st.gid !== 0)) asOutput(outPath, () => fs.fchownSync(fd, st.uid, st.gid));
      asOutput(outPath, () => fs.fchmodSync(fd, st.mode & 0o7777)); // after fchown, which clears set-ID bits
    }
    asOutput(outPath, () => fs.ftruncateSync(fd, size));
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(partial, { force: true });
    throw err;
  }
  return {
    write: (buf, off) => asOutput(outPath, () => writeAllSync(fd, buf, off)),
    commit: () => asOutput(outPath, () => {
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      open = false;
      fs.renameSync(partial, dest);
    }),
    abort: () => {
      if (open) fs.closeSync(fd);
      fs.rmSync(partial, { force: true }); // ours: created exclusively above
    },
  };
}

/**
 * Decrypts `device` (over the backing image at `imagePath`) into `outPath`. `onProgress` is told
 * the bytes of the volume covered so far (holes count as covered once skipped).
 */
export async function exportVolume(device: BlockDevice, imagePath: string, outPath: string, onProgress?: (done: number, total: number) => void): Promise<ExportResult> {
  const raw = fs.openSync(imagePath, 'r');
  const buf = Buffer.alloc(CHUNK);
  const zero = Buffer.alloc(CHUNK);
  const result: ExportResult = { bytesRead: 0, bytesWritten: 0, bytesSkipped: 0, method: 'scan' };
  let out: Target | undefined;
  try {
    out = openTarget(outPath, device.size, zero);
    const extents = dataExtents(raw, device.size);
    let covered = 0;
    for (let next = extents.next(); ; next = extents.next()) {
      if (next.done) {
        result.method = next.value;
        break;
      }
      const [start, end] = next.value;
      result.bytesSkipped += start - covered;
      for (let off = start; off < end; off += CHUNK) {
        const n = await device.readInto(off, buf.subarray(0, Math.min(CHUNK, end - off)));
        if (!buf.subarray(0, n).equals(zero.subarray(0, n))) {
          out.write(buf.subarray(0, n), off);
          result.bytesWritten += n;
        }
        result.bytesRead += n;
        onProgress?.(off + n, device.size);
      }
      covered = end;
    }
    result.bytesSkipped += device.size - covered;
    out.commit();
    out = undefined;
    onProgress?.(device.size, device.size);
    return result;
  } catch (err) {
    out?.abort();
    // Reading the volume failed (an EIO of the image): name the image, not OUT.
    const e = err as NodeJS.ErrnoException;
    if (!(err instanceof DeviceError) && typeof e?.code === 'string' && e.path === undefined) Object.assign(e, { path: imagePath, syscall: e.syscall ?? 'read' });
    throw err;
  } finally {
    fs.closeSync(raw);
  }
}
