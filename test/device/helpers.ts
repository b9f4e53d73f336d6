import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export function tempDir(prefix = 'ebsim-dev-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function xtsKey(): Buffer {
  for (;;) {
    const k = randomBytes(64);
    if (!k.subarray(0, 32).equals(k.subarray(32))) return k;
  }
}

/** A tiny deterministic PRNG (mulberry32) so a failing random run can be replayed by seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** AES-256-XTS of one 4096-byte sector straight from node:crypto, independent of src/xts. */
export function opensslSector(key: Buffer, sector: number, data: Buffer, decrypt = false): Buffer {
  const tweak = Buffer.alloc(16);
  tweak.writeBigUInt64LE(BigInt(sector));
  const c = (decrypt ? createDecipheriv : createCipheriv)('aes-256-xts', key, tweak);
  return Buffer.concat([c.update(data), c.final()]);
}

/** A sparse file `dir/name` of `size` bytes holding only `writes` (offset, bytes); returns its path. */
export function sparseFile(dir: string, name: string, size: number, writes: [number, Buffer][]): string {
  const file = path.join(dir, name);
  const fd = fs.openSync(file, 'w');
  try {
    fs.ftruncateSync(fd, size);
    for (const [at, b] of writes) fs.writeSync(fd, b, 0, b.length, at);
  } finally {
    fs.closeSync(fd);
  }
  return file;
}
