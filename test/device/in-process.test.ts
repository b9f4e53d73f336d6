// The no-root path: `ebsim volume read|write|export` over the same image, in-process.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MissingPrerequisiteError, VolumeImageError } from '../../src/device/errors.js';
import { openVolumeDevice, statePaths } from '../../src/device/mount.js';
import { exportVolume } from '../../src/device/export.js';
import { findMissingPrerequisite } from '../../src/device/prerequisites.js';
import { tempDir, xtsKey } from './helpers.js';

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('in-process volume access', () => {
  it('writes, reads back after reopening, and exports a sparse plain image', async () => {
    const key = xtsKey();
    const img = path.join(dir, 'volumes', 'vol-0.img');
    const size = 8 << 20;
    const dev = openVolumeDevice(img, size, key, { create: true });
    await dev.write(3_000_001, Buffer.from('exported plaintext'));
    await dev.close();
    const again = openVolumeDevice(img, size, key);
    expect((await again.read(3_000_001, 18)).toString()).toBe('exported plaintext');
    const out = path.join(dir, 'plain.img');
    const seen: number[] = [];
    await exportVolume(again, img, out, (done) => seen.push(done));
    await again.close();
    const plain = fs.readFileSync(out);
    expect(plain.length).toBe(size);
    expect(plain.subarray(3_000_001, 3_000_019).toString()).toBe('exported plaintext');
    expect(plain.subarray(0, 3_000_001).every((b) => b === 0)).toBe(true);
    expect(seen.at(-1)).toBe(size);
    expect(fs.statSync(out).blocks * 512).toBeLessThan(size / 2); // zero chunks stay holes
  });

  it('refuses a missing image (VolumeImageError) unless asked to create it', () => {
    const img = path.join(dir, 'volumes', 'vol-0missing.img');
    expect(() => openVolumeDevice(img, 8192, xtsKey())).toThrow(VolumeImageError);
    expect(() => openVolumeDevice(img, 8192, xtsKey(), { volumeId: 'vol-0missing' })).toThrow(/the backing image .*vol-0missing\.img of vol-0missing is missing/);
    expect(fs.existsSync(img)).toBe(false);
    return openVolumeDevice(img, 8192, xtsKey(), { create: true }).close().then(() => expect(fs.statSync(img).size).toBe(8192));
  });

  it('refuses an image of the wrong size', () => {
    const img = path.join(dir, 'small.img');
    fs.writeFileSync(img, Buffer.alloc(4096));
    expect(() => openVolumeDevice(img, 8192, xtsKey())).toThrow(/4096 bytes, expected 8192/);
  });

  it('names a missing mount prerequisite together with its fix', () => {
    const missing = findMissingPrerequisite();
    if (missing) {
      expect(missing).toBeInstanceOf(MissingPrerequisiteError);
      expect(missing.message).toMatch(/Fix: /);
    } else expect(missing).toBeNull();
  });

  it('keeps all per-volume state under the state directory', () => {
    const p = statePaths('/x/run', 'vol-1');
    expect(p).toEqual({
      stateFile: '/x/run/vol-1.json',
      fuseDir: '/x/run/vol-1.fuse',
      devicePath: '/x/run/vol-1.fuse/disk',
      logPath: '/x/run/vol-1.log',
      pidFile: '/x/run/vol-1.pid',
      opLockFile: '/x/run/vol-1.mount.lock',
    });
  });
});
