// Images committed whole: written under NAME.partial, given their name only once complete, never
// over an existing image; a failed write leaves neither name behind, and a stale temporary file
// of a killed writer is cleared first.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { discardPartialImage, partialImagePath, writeImageAtomically } from '../../src/device/image-commit.js';
import { createImage, ImageStoreError } from '../../src/device/image-store.js';
import { tempDir } from './helpers.js';

const dir = tempDir('ebsim-commit-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('writeImageAtomically', () => {
  it('the image has its name only after the write returns; the temporary name is gone', () => {
    const image = path.join(dir, 'a.img');
    writeImageAtomically(image, (tmp) => {
      expect(tmp).toBe(partialImagePath(image));
      createImage(tmp, 8192);
      expect(fs.existsSync(image)).toBe(false);
    });
    expect(fs.statSync(image).size).toBe(8192);
    expect(fs.existsSync(partialImagePath(image))).toBe(false);
  });

  it('a write that fails leaves neither name', () => {
    const image = path.join(dir, 'b.img');
    expect(() => writeImageAtomically(image, (tmp) => {
      createImage(tmp, 4096);
      throw new Error('disk full');
    })).toThrow('disk full');
    expect(fs.existsSync(image)).toBe(false);
    expect(fs.existsSync(partialImagePath(image))).toBe(false);
  });

  it('never replaces an image, and clears a killed writer\'s temporary file first', () => {
    const image = path.join(dir, 'c.img');
    fs.writeFileSync(image, 'keep me');
    expect(() => writeImageAtomically(image, (tmp) => createImage(tmp, 4096))).toThrow(ImageStoreError);
    expect(fs.readFileSync(image, 'utf8')).toBe('keep me');

    const other = path.join(dir, 'd.img');
    fs.writeFileSync(partialImagePath(other), 'half of a killed copy');
    writeImageAtomically(other, (tmp) => createImage(tmp, 4096));
    expect(fs.statSync(other).size).toBe(4096);
    expect(discardPartialImage(other)).toBe(false);
    fs.writeFileSync(partialImagePath(other), 'again');
    expect(discardPartialImage(other)).toBe(true);
    expect(fs.existsSync(partialImagePath(other))).toBe(false);
  });
});
