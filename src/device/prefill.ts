// Prefill: write the ciphertext of zeros into every sector never written, so the image is fully
// allocated and no longer shows which parts of the volume hold data (a sparse image does: its
// holes are the unused sectors). Reads of those sectors still return zeros. Sectors that hold
// data are never touched: the raw image is checked sector by sector first.
import * as fs from 'node:fs';
import type { BlockDevice } from './block-device.js';
import { SECTOR_SIZE } from './block-device.js';

const CHUNK = 1 << 20;

export async function prefillVolume(device: BlockDevice, imagePath: string, onProgress?: (done: number, total: number) => void): Promise<{ sectorsFilled: number }> {
  const fd = fs.openSync(imagePath, 'r');
  const raw = Buffer.alloc(CHUNK);
  const zeros = Buffer.alloc(CHUNK);
  let filled = 0;
  try {
    for (let off = 0; off < device.size; off += CHUNK) {
      const len = Math.min(CHUNK, device.size - off);
      const n = fs.readSync(fd, raw, 0, len, off);
      if (n < len) raw.fill(0, n, len);
      // Runs of all-zero (never written) sectors become one write each.
      let runStart = -1;
      for (let s = 0; s <= len / SECTOR_SIZE; s++) {
        const hole = s < len / SECTOR_SIZE && raw.subarray(s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE).equals(zeros.subarray(0, SECTOR_SIZE));
        if (hole && runStart < 0) runStart = s;
        if (!hole && runStart >= 0) {
          await device.write(off + runStart * SECTOR_SIZE, zeros.subarray(0, (s - runStart) * SECTOR_SIZE));
          filled += s - runStart;
          runStart = -1;
        }
      }
      onProgress?.(off + len, device.size);
    }
    await device.flush();
    return { sectorsFilled: filled };
  } finally {
    fs.closeSync(fd);
  }
}
