// Reads a whole backing image, start to end, looking for byte strings (a plaintext marker, the
// halves of a data key): the proof that they are nowhere on disk has to read everywhere. Holes
// are read too (they are part of "everywhere"), with O_DIRECT where the file system allows it,
// which reads an 8 GiB sparse image in about a second instead of filling the page cache with
// zero pages.
import * as fs from 'node:fs';
import { ChunkReader } from '../device/chunk-reader.js';

const CHUNK = 1 << 20;
const BLOCK = 4096;

export interface ScanHit {
  /** Index into the needles given. */
  needle: number;
  offset: number;
}

export interface ImageScan {
  /** Bytes read: the whole image. */
  bytesScanned: number;
  /** 4096-byte blocks that are not all zeros (written sectors; the rest are holes or zeros). */
  dataBlocks: number;
  /** Every place a needle was found (at most `maxHits`). */
  hits: ScanHit[];
}

/** Scans `imagePath` for every needle (each shorter than 1 MiB), including across chunk boundaries. */
export function scanImage(imagePath: string, needles: readonly Uint8Array[], maxHits = 100): ImageScan {
  const longest = Math.max(1, ...needles.map((n) => n.length));
  if (longest >= CHUNK) throw new RangeError(`needles: each must be shorter than ${CHUNK} bytes`);
  // A needle of zeros would be "found" in every hole.
  if (needles.some((n) => n.every((b) => b === 0))) throw new RangeError('needles: each must hold a non-zero byte');
  const reader = ChunkReader.open(imagePath, CHUNK);
  const size = fs.statSync(imagePath).size;
  const zero = Buffer.alloc(CHUNK);
  const hits: ScanHit[] = [];
  let dataBlocks = 0;
  // The last (longest - 1) bytes of the previous chunk: a needle may straddle two chunks.
  let carry = Buffer.alloc(0);
  let off = 0;
  try {
    for (; off < size; off += CHUNK) {
      const len = Math.min(CHUNK, size - off);
      const buf = reader.read(len, off);
      const zeros = buf.equals(zero.subarray(0, len));
      if (!zeros) for (let b = 0; b < len; b += BLOCK) if (!buf.subarray(b, Math.min(len, b + BLOCK)).equals(zero.subarray(0, Math.min(BLOCK, len - b)))) dataBlocks++;
      // In a chunk of zeros only a needle straddling its start can be found (needles are not all zeros).
      const body = zeros ? buf.subarray(0, longest - 1) : buf;
      const window = carry.length ? Buffer.concat([carry, body]) : body;
      const base = off - carry.length;
      needles.forEach((needle, i) => {
        for (let at = window.indexOf(needle); at >= 0 && hits.length < maxHits; at = window.indexOf(needle, at + 1)) {
          // A hit wholly inside the carried bytes was found with the previous chunk.
          if (at + needle.length > carry.length) hits.push({ needle: i, offset: base + at });
        }
      });
      carry = Buffer.from(buf.subarray(Math.max(0, len - (longest - 1))));
    }
  } finally {
    reader.close();
  }
  return { bytesScanned: off, dataBlocks, hits: hits.sort((a, b) => a.offset - b.offset) };
}
