// In-process access to a volume: the block device opened in this process over the same image,
// for reading, writing, exporting and prefilling without FUSE or root.
//
// One writer per image: a mount's device daemon holds the image's writer lock for its whole life,
// and in-process access takes the same lock before the data key is even decrypted, so the two
// (or two in-process users) never have one image open at once. The lock itself lives in
// src/device/lock.ts, below EC2, which checks it before detaching, deleting or snapshotting.
import { lockImage, openVolumeDevice } from '../device/mount.js';
import { exportVolume, type ExportResult } from '../device/export.js';
import { prefillVolume } from '../device/prefill.js';
import type { BlockDevice } from '../device/block-device.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors/index.js';

export type Progress = (done: number, total: number) => void;

export interface InProcessVolume {
  volumeId: string;
  imagePath: string;
  sizeBytes: number;
}

/**
 * Runs `fn` over the volume's block device, under the image's writer lock. `dataKey` is called
 * once the lock is held (null: an unencrypted volume); the key is zeroed as soon as the device has
 * its cipher, and the device is closed (flushed) before the lock is released.
 */
export async function withVolumeDevice<T>(v: InProcessVolume, dataKey: () => Uint8Array | null, fn: (dev: BlockDevice) => Promise<T>): Promise<T> {
  const lock = lockImage(v.volumeId, v.imagePath);
  try {
    const key = dataKey();
    let dev: BlockDevice;
    try {
      dev = openVolumeDevice(v.imagePath, v.sizeBytes, key, { volumeId: v.volumeId, create: false }); // EC2 made it: missing is lost, not blank
    } finally {
      key?.fill(0);
    }
    try {
      return await fn(dev);
    } finally {
      await dev.close();
    }
  } finally {
    lock.release();
  }
}

export function readRange(dev: BlockDevice, offset: number, length: number): Promise<Buffer> {
  return dev.read(offset, length);
}

/** Writes and flushes: when it returns, the bytes are in the backing image. */
export async function writeRange(dev: BlockDevice, offset: number, data: Uint8Array): Promise<number> {
  const n = await dev.write(offset, data);
  await dev.flush();
  return n;
}

/**
 * Refuses an export target among the home's images (the export truncates it first): the volume's
 * own image, through a link or not, another volume's or snapshot's, a lock file. Checked before
 * the data key is asked for.
 */
export function refuseImageTarget(image: string, out: string): void {
  const real = (p: string) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return path.join(fs.realpathSync(path.dirname(p)), path.basename(p)); // not there yet: its directory's
    }
  };
  let target: string;
  let imagesDir: string;
  try {
    target = real(path.resolve(out));
    imagesDir = fs.realpathSync(path.dirname(image));
  } catch {
    return; // a missing directory: the export itself says so
  }
  const st = fs.statSync(target, { throwIfNoEntry: false });
  const img = fs.statSync(image, { throwIfNoEntry: false });
  const sameFile = st && img && st.dev === img.dev && st.ino === img.ino;
  if (sameFile || path.dirname(target) === imagesDir)
    throw new UserError(`refusing to export to ${out}: it is ${sameFile ? "the volume's own image" : `in ${imagesDir}, among the home's volume images`}, which the export would overwrite; name a file elsewhere`);
}

export function exportTo(dev: BlockDevice, image: string, out: string, onProgress?: Progress): Promise<ExportResult> {
  return exportVolume(dev, image, out, onProgress);
}

export function prefill(dev: BlockDevice, imagePath: string, onProgress?: Progress): Promise<{ sectorsFilled: number }> {
  return prefillVolume(dev, imagePath, onProgress);
}
