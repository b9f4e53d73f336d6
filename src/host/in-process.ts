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
 * Refuses an export target the export could destroy: any file of `home` (the volume's own image,
 * another's, a lock file, the databases, the key files), whatever names it (a symlink, dangling
 * or not, a hard link elsewhere, a bind mount of the home), and anything inside the home. Files
 * and directories are compared by dev/ino, not by path. Checked before the data key is asked for.
 */
export function refuseImageTarget(home: string, image: string, out: string): void {
  const imagesDir = path.dirname(image);
  const homeSt = fs.statSync(home, { throwIfNoEntry: false });
  const target = finalPath(path.resolve(out));
  if (!homeSt || !target) return; // a missing directory: the export itself says so
  const refuse = (what: string) => {
    throw new UserError(`refusing to export to ${out}: it is ${what}, which the export would overwrite; name a file outside ${home}`);
  };
  const entries = homeEntries(home, homeSt);
  // The images' directory itself, however the home reaches it.
  const imagesSt = fs.statSync(imagesDir, { throwIfNoEntry: false });
  if (imagesSt && !entries.dirs.some((d) => sameFile(d.st, imagesSt))) entries.dirs.push({ path: imagesDir, st: imagesSt });
  const st = fs.statSync(target, { throwIfNoEntry: false });
  if (st) {
    const img = fs.statSync(image, { throwIfNoEntry: false });
    if (img && sameFile(st, img)) refuse("the volume's own image");
    const match = entries.files.find((f) => sameFile(st, f.st));
    if (match) refuse(`${match.path}, one of the home's files`);
  }
  // Up from the target's directory: the home or one of its directories under any name (a bind
  // mount of volumes/ elsewhere keeps its dev/ino).
  for (let dir = path.dirname(target); ; dir = path.dirname(dir)) {
    const d = fs.statSync(dir, { throwIfNoEntry: false });
    const match = d && entries.dirs.find((e) => sameFile(d, e.st));
    if (match) refuse(`inside ${match.path}, in the home (its images, databases and keys)`);
    if (path.dirname(dir) === dir) break;
  }
}

const sameFile = (a: fs.Stats, b: fs.Stats) => a.dev === b.dev && a.ino === b.ino;

/** What `p` names once every symlink is followed, dangling ones too (the file a write would create); undefined if its directory is missing. */
function finalPath(p: string): string | undefined {
  for (let hops = 0; hops < 40; hops++) {
    let dir: string;
    try {
      dir = fs.realpathSync(path.dirname(p));
    } catch {
      return undefined;
    }
    p = path.join(dir, path.basename(p));
    const l = fs.lstatSync(p, { throwIfNoEntry: false });
    if (!l?.isSymbolicLink()) return p;
    p = path.resolve(dir, fs.readlinkSync(p));
  }
  return p; // a loop: the open fails with ELOOP
}

type Entry = { path: string; st: fs.Stats };

/** The home, its directories one level down (volumes/, run/, ...) and the regular files of both. */
function homeEntries(home: string, homeSt: fs.Stats): { files: Entry[]; dirs: Entry[] } {
  const files: Entry[] = [];
  const dirs: Entry[] = [{ path: home, st: homeSt }];
  const list = (dir: string, depth: number) => {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const p = path.join(dir, name);
      // Followed: a symlinked volumes/ (images moved to a bigger disk) is the home's all the same.
      const st = fs.statSync(p, { throwIfNoEntry: false });
      if (st?.isFile()) files.push({ path: p, st });
      else if (st?.isDirectory() && depth > 0) {
        dirs.push({ path: p, st });
        list(p, depth - 1);
      }
    }
  };
  list(home, 1);
  return { files, dirs };
}

export function exportTo(dev: BlockDevice, image: string, out: string, onProgress?: Progress): Promise<ExportResult> {
  return exportVolume(dev, image, out, onProgress);
}

export function prefill(dev: BlockDevice, imagePath: string, onProgress?: Progress): Promise<{ sectorsFilled: number }> {
  return prefillVolume(dev, imagePath, onProgress);
}
