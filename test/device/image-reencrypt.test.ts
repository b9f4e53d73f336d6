// A backing image copied under another data key, against OpenSSL: every written sector of the
// copy is AES-256-XTS (node:crypto) under the new key of the source's plaintext, the sector number
// as tweak, whichever XTS engine ebsim picks; holes stay holes; plaintext on either side; never
// over an existing image.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { reencryptImage } from '../../src/device/image-reencrypt.js';
import { ImageStoreError } from '../../src/device/image-store.js';
import { opensslSector, prng, tempDir, xtsKey } from './helpers.js';
import { readSector } from '../helpers/ebs.js';

const SECTOR = 4096;
const MIB = 1 << 20;
const dir = tempDir('ebsim-reencrypt-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** An image of `size` bytes whose sectors `sectors` hold `encrypt(plaintext)`; returns the plaintexts. */
function makeImage(file: string, size: number, sectors: number[], key: Buffer | null): Map<number, Buffer> {
  const plain = new Map<number, Buffer>();
  const fd = fs.openSync(file, 'w');
  try {
    fs.ftruncateSync(fd, size);
    for (const s of sectors) {
      const p = randomBytes(SECTOR);
      plain.set(s, p);
      fs.writeSync(fd, key ? opensslSector(key, s, p) : p, 0, SECTOR, s * SECTOR);
    }
  } finally {
    fs.closeSync(fd);
  }
  return plain;
}

describe('reencryptImage', () => {
  // Runs of sectors and lone ones, across 1 MiB chunk boundaries, at the very start and end.
  const rand = prng(15);
  const size = 64 * MIB;
  const last = size / SECTOR - 1;
  const scattered = [...new Set([0, 1, 2, 255, 256, 257, last, ...Array.from({ length: 40 }, () => Math.floor(rand() * last))])].sort((a, b) => a - b);

  it('key A to key B: each written sector is OpenSSL XTS under B of its plaintext; holes stay holes', () => {
    const [a, b] = [xtsKey(), xtsKey()];
    const from = path.join(dir, 'a.img');
    const to = path.join(dir, 'b.img');
    const plain = makeImage(from, size, scattered, a);
    const r = reencryptImage(from, to, { fromKey: a, toKey: b });
    expect(r.bytesWritten).toBe(scattered.length * SECTOR);
    expect(fs.statSync(to).size).toBe(size);
    for (const s of scattered) {
      const got = readSector(to, s);
      expect(got.equals(opensslSector(b, s, plain.get(s)!)), `sector ${s}`).toBe(true);
      expect(opensslSector(b, s, got, true).equals(plain.get(s)!)).toBe(true);
    }
    expect(readSector(to, 3).equals(Buffer.alloc(SECTOR))).toBe(true);
    expect(fs.statSync(to).blocks * 512).toBeLessThanOrEqual((scattered.length + 16) * SECTOR);
  });

  it('the same key on both sides gives back the same ciphertext (the tweak is the sector number, unchanged)', () => {
    const k = xtsKey();
    const from = path.join(dir, 'same-a.img');
    const to = path.join(dir, 'same-b.img');
    makeImage(from, 4 * MIB, [0, 7, 1023], k);
    reencryptImage(from, to, { fromKey: k, toKey: k });
    expect(fs.readFileSync(to).equals(fs.readFileSync(from))).toBe(true);
  });

  it('plaintext to a key (encrypting an unencrypted image), growing it; and a key to plaintext', () => {
    const k = xtsKey();
    const from = path.join(dir, 'plain.img');
    const enc = path.join(dir, 'enc.img');
    const back = path.join(dir, 'back.img');
    const plain = makeImage(from, 4 * MIB, [1, 2, 900], null);
    const progress: [number, number][] = [];
    reencryptImage(from, enc, { fromKey: null, toKey: k, sizeBytes: 8 * MIB, onProgress: (d, t) => progress.push([d, t]) });
    expect(fs.statSync(enc).size).toBe(8 * MIB);
    for (const [s, p] of plain) expect(readSector(enc, s).equals(opensslSector(k, s, p))).toBe(true);
    expect(progress.at(-1)).toEqual([4 * MIB, 4 * MIB]);
    reencryptImage(enc, back, { fromKey: k, toKey: null });
    for (const [s, p] of plain) expect(readSector(back, s).equals(p)).toBe(true);
  });

  it('never writes over an existing image', () => {
    const from = path.join(dir, 'x.img');
    const to = path.join(dir, 'y.img');
    makeImage(from, MIB, [0], null);
    fs.writeFileSync(to, 'keep me');
    expect(() => reencryptImage(from, to, { fromKey: null, toKey: xtsKey() })).toThrow(ImageStoreError);
    expect(fs.readFileSync(to, 'utf8')).toBe('keep me');
  });
});
