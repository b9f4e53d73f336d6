// An image that appears whole or not at all: it is written under a temporary name next to its
// final one, synced, and only then given its name (link(2), which never replaces a file, then
// unlink of the temporary name), and the directory synced. A process killed while writing leaves
// only `NAME.partial` behind, never a half-written image under the final name; the control plane
// takes "the final image exists" as "the copy finished" (src/ec2/image-jobs.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ImageStoreError } from './image-store.js';

/** Where an image is written before it is committed. */
export function partialImagePath(imagePath: string): string {
  return `${imagePath}.partial`;
}

/**
 * Runs `write(tmp)`, which must create `tmp` and leave it synced (copyImage and reencryptImage
 * do), then commits it as `imagePath`. A stale temporary file (of a killed writer) is removed
 * first; on failure the temporary file is removed and nothing is committed.
 */
export function writeImageAtomically<T>(imagePath: string, write: (tmp: string) => T): T {
  if (fs.existsSync(imagePath)) throw new ImageStoreError(`image ${imagePath} already exists`, 'EEXIST');
  const tmp = partialImagePath(imagePath);
  fs.rmSync(tmp, { force: true });
  let result: T;
  try {
    result = write(tmp);
    commit(tmp, imagePath);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  return result;
}

/** Removes what a killed writer left of `imagePath`'s copy (its temporary file); true if there was one. */
export function discardPartialImage(imagePath: string): boolean {
  const tmp = partialImagePath(imagePath);
  if (!fs.existsSync(tmp)) return false;
  fs.rmSync(tmp, { force: true });
  return true;
}

function commit(tmp: string, imagePath: string): void {
  try {
    fs.linkSync(tmp, imagePath);
    fs.unlinkSync(tmp);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new ImageStoreError(`image ${imagePath} already exists`, 'EEXIST');
    // A file system without hard links: rename, having checked above that nothing is there.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
    fs.renameSync(tmp, imagePath);
  }
  syncDirectory(path.dirname(imagePath));
}

function syncDirectory(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a directory; the link is then as durable as they make it.
  } finally {
    fs.closeSync(fd);
  }
}
