// What the walkthrough writes into its volume to prove things about the backing image, and how
// it finds those bytes again: through the file system (filefrag) while mounted, then sector by
// sector on disk and through ebsim's block device (the decrypted view) once unmounted.
import { closeSync, fsyncSync, lstatSync, openSync, readdirSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { withVolumeDevice } from '../host/index.js';
import { fileSectorsByFilefrag } from './file-blocks.js';
import { readImageSector, type SectorView } from './proofs.js';
import { XTS_SECTOR_BYTES } from './openssl-xts.js';

export const MARKER = 'Hello from ebsim: this line is plaintext only inside the mount.';

/** hello.txt: the marker, then filler to exactly one sector, so the whole sector is the file's. */
export function helloBytes(): Buffer {
  const filler = '(filler, so that this file fills exactly one 4096-byte sector)\n';
  return Buffer.from((MARKER + '\n' + filler.repeat(XTS_SECTOR_BYTES)).slice(0, XTS_SECTOR_BYTES - 1) + '\n');
}

/** tweak.bin: the same 4096 bytes twice, for the tweak lesson. */
export function tweakBytes(): Buffer {
  const block = Buffer.from('The same 4096 bytes, twice: XTS gives each sector its own ciphertext.\n'.repeat(60).slice(0, XTS_SECTOR_BYTES - 1) + '\n');
  return Buffer.concat([block, block]);
}

export interface LocatedFile {
  name: string;
  bytes: Buffer;
  sectors: number[];
  /** How the sectors were found, for the reader. */
  how: string;
}

function writeSynced(path: string, data: Buffer): void {
  const fd = openSync(path, 'w', 0o644);
  try {
    writeSync(fd, data);
    fsyncSync(fd); // ext4 allocates blocks on flush (delayed allocation): only then do they have sectors
  } finally {
    closeSync(fd);
  }
}

/** Writes a file into a mounted file system, flushed to the device, and asks the file system where it is. */
export function writeFileAndLocate(mountpoint: string, name: string, bytes: Buffer): LocatedFile {
  const path = join(mountpoint, name);
  writeSynced(path, bytes);
  return { name, bytes, sectors: fileSectorsByFilefrag(path).sectors, how: `filefrag -v ${name}` };
}

/** Writes hello.txt and tweak.bin into a mounted file system and asks it where they are. */
export function writeAndLocate(mountpoint: string): LocatedFile[] {
  return [writeFileAndLocate(mountpoint, 'hello.txt', helloBytes()), writeFileAndLocate(mountpoint, 'tweak.bin', tweakBytes())];
}

/**
 * The home's regular files, for the search for the data key: the database and its journal, the
 * mount state, logs, credentials. Not the volume images (step 5 reads its volume's image whole),
 * and nothing under a mount point inside the home (the FUSE device and the mounted file system
 * serve decrypted data: they are not on disk).
 */
export function homeFiles(home: string): string[] {
  const dev = statSync(home).dev;
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (sameDevice(p, dev)) walk(p);
      } else if (e.isFile() && !e.name.endsWith('.img')) files.push(p);
    }
  };
  walk(home);
  return files;
}

function sameDevice(path: string, dev: number): boolean {
  try {
    return lstatSync(path).dev === dev;
  } catch {
    return false; // a mount point whose server is gone (ENOTCONN): not the home's disk either
  }
}

export interface VolumeImage {
  volumeId: string;
  imagePath: string;
  sizeBytes: number;
}

/**
 * Each sector as stored in the backing image beside the same sector read through ebsim's block
 * device with `key` (null: an unencrypted volume), under the image's writer lock. The key is
 * copied for the device, which zeroes its copy; the caller keeps and zeroes `key`.
 */
export async function sectorViews(volume: VolumeImage, key: Uint8Array | null, sectors: number[]): Promise<SectorView[]> {
  return withVolumeDevice(volume, () => (key ? Uint8Array.from(key) : null), async (dev) => {
    const views: SectorView[] = [];
    for (const sector of sectors) {
      const plaintext = await dev.read(sector * XTS_SECTOR_BYTES, XTS_SECTOR_BYTES);
      views.push({ sector, onDisk: readImageSector(volume.imagePath, sector), plaintext });
    }
    return views;
  });
}
