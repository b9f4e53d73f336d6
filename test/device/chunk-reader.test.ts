// The chunk reader shared by image copies and the walkthrough's scan: what it reads is the file,
// whether O_DIRECT serves (block-sized files) or the page cache does (any other length).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { ChunkReader } from '../../src/device/chunk-reader.js';
import { tempDir, sparseFile as makeSparseFile } from './helpers.js';

const dir = tempDir('ebsim-chunk-reader-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const sparseFile = (name: string, size: number, writes: [number, Buffer][]): string => makeSparseFile(dir, name, size, writes);

describe('ChunkReader', () => {
  const CHUNK = 1 << 16;

  it('reads back a sparse block-sized file chunk by chunk, data and holes alike', () => {
    const a = randomBytes(5000);
    const b = randomBytes(CHUNK);
    const file = sparseFile('sparse.img', 8 * CHUNK, [[4096 * 3, a], [5 * CHUNK - 100, b]]);
    const whole = fs.readFileSync(file);
    const reader = ChunkReader.open(file, CHUNK);
    try {
      for (let off = 0; off < whole.length; off += CHUNK) expect(reader.read(CHUNK, off).equals(whole.subarray(off, off + CHUNK))).toBe(true);
      expect(reader.read(4096, 4096 * 3).equals(a.subarray(0, 4096))).toBe(true);
    } finally {
      reader.close();
    }
  });

  it('reads a file whose length is not a whole number of blocks through the page cache', () => {
    const data = randomBytes(10_001);
    const file = path.join(dir, 'odd.bin');
    fs.writeFileSync(file, data);
    const reader = ChunkReader.open(file, CHUNK);
    try {
      expect(reader.read(10_001, 0).equals(data)).toBe(true);
      expect(reader.read(1, 10_000)[0]).toBe(data[10_000]);
    } finally {
      reader.close();
    }
  });

  it('a read past the end of the file is an error, never zeros', () => {
    const file = sparseFile('short.img', 4096, [[0, Buffer.alloc(4096, 1)]]);
    const reader = ChunkReader.open(file, CHUNK);
    try {
      expect(() => reader.read(8192, 0)).toThrow(/unexpected end of file at 4096/);
    } finally {
      reader.close();
    }
  });

  it("leaves the caller's descriptor open", () => {
    const file = sparseFile('callers.img', 2 * CHUNK, [[CHUNK, Buffer.alloc(10, 7)]]);
    const fd = fs.openSync(file, 'r');
    try {
      const reader = ChunkReader.open(file, CHUNK, fd);
      expect(reader.read(10, CHUNK).equals(Buffer.alloc(10, 7))).toBe(true);
      reader.close();
      expect(fs.fstatSync(fd).size).toBe(2 * CHUNK);
    } finally {
      fs.closeSync(fd);
    }
  });
});
