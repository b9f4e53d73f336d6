// Export: decrypt a volume to a plain image that stays sparse, in bounded memory, reading only
// the sectors the backing image holds (its data extents: SEEK_DATA/SEEK_HOLE). A hole of the
// image is a never-written sector, which reads as zeros: it stays a hole in the output, which
// is created at the volume's full size by ftruncate and so is all holes until written.
import * as fs from 'node:fs';
import type { BlockDevice } from './block-device.js';
import { dataExtents, type ExtentMethod } from './data-extents.js';
import { DeviceError } from './errors.js';
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

/**
 * Decrypts `device` (over the backing image at `imagePath`) into `outPath`. `onProgress` is told
 * the bytes of the volume covered so far (holes count as covered once skipped).
 */
export async function exportVolume(device: BlockDevice, imagePath: string, outPath: string, onProgress?: (done: number, total: number) => void): Promise<ExportResult> {
  const raw = fs.openSync(imagePath, 'r');
  const out = fs.openSync(outPath, 'w', 0o600);
  const buf = Buffer.alloc(CHUNK);
  const zero = Buffer.alloc(CHUNK);
  const result: ExportResult = { bytesRead: 0, bytesWritten: 0, bytesSkipped: 0, method: 'scan' };
  try {
    fs.ftruncateSync(out, device.size);
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
          writeAllSync(out, buf.subarray(0, n), off);
          result.bytesWritten += n;
        }
        result.bytesRead += n;
        onProgress?.(off + n, device.size);
      }
      covered = end;
    }
    result.bytesSkipped += device.size - covered;
    onProgress?.(device.size, device.size);
    fs.fsyncSync(out);
    return result;
  } catch (err) {
    // A half-written export is not left to pass for one; the error names the output (the CLI
    // then says which file could not be written, not that the home is full).
    fs.rmSync(outPath, { force: true });
    const e = err as NodeJS.ErrnoException;
    if (!(err instanceof DeviceError) && typeof e?.code === 'string' && e.path === undefined) Object.assign(e, { path: outPath, syscall: e.syscall ?? 'write' });
    throw err;
  } finally {
    fs.closeSync(out);
    fs.closeSync(raw);
  }
}
