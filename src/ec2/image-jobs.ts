// The images EBS takes time to make (a snapshot, a snapshot's copy, a volume from a snapshot), made
// so that a crash never passes for a finished copy:
// - the new image's writer lock is taken before its row exists (`pending` / `creating`) and held
//   until the row has its final state, so "row in progress, lock free" means its maker died;
// - the image is written under a temporary name and committed by name at the end
//   (src/device/image-commit.ts), so "the final image exists" means the copy finished;
// - before each EC2 call, every row in progress whose lock is free is settled: `completed` /
//   `available` if its image was committed (the process died between the commit and the row's
//   update), else `error`, its temporary file removed; the grants its worker still had (noted with
//   the copy as they were made: ebs-keys.ts) are retired first, as the copy's end would have.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { copyImage, createImage, imageSizeProblem, type CopyProgress } from '../device/image-store.js';
import { reencryptImage } from '../device/image-reencrypt.js';
import { discardPartialImage, writeImageAtomically } from '../device/image-commit.js';
import { ExclusiveLock, imageLockFile, underLockToRemove } from '../device/lock.js';
import type { CallContext } from '../core/call-context.js';
import { AwsError, IncorrectState, InsufficientVolumeCapacity } from '../errors/index.js';
import type { EbsParts } from './ebs-parts.js';
import type { Ec2Store } from './store.js';

/** AWS's StateMessage for a copy whose maker is gone (ebsim's wording). */
export const INTERRUPTED = 'The copy was interrupted: the process making it ended before it finished (ebsim); delete it and copy again.';

/** The 64-byte XTS keys of a re-encrypting copy (null: plaintext on that side). */
export interface ImageKeys {
  from: Uint8Array | null;
  to: Uint8Array | null;
}

/** Takes a new image's writer lock; the caller holds it until the image's row has its final state. */
export function reserveImage(imagePath: string): ExclusiveLock {
  const lock = ExclusiveLock.tryAcquire(imageLockFile(imagePath));
  if (!lock) throw new IncorrectState(`the image ${imagePath} is already being written`);
  return lock;
}

/**
 * Refuses, before anything is stored, an image the home's file system cannot hold (a 16 TiB
 * volume on ext4): AWS's answer when it cannot provision a volume, with ebsim's reason.
 */
export function requireRoomForImage(imagePath: string, sizeBytes: number): void {
  const problem = imageSizeProblem(imagePath, sizeBytes);
  if (problem) throw new InsufficientVolumeCapacity(`There is not enough capacity to fulfill your EBS volume provision request. (ebsim: ${problem})`);
}

/** A new empty (sparse) image, committed whole. */
export function writeEmptyImage(imagePath: string, sizeBytes: number): void {
  writeImageAtomically(imagePath, (tmp) => createImage(tmp, sizeBytes));
}

/**
 * `to` made from `from`: its bytes as they are (a sparse copy) when `keys` is undefined, else
 * every written sector re-encrypted from `keys.from` to `keys.to`; committed whole.
 */
export function writeImageCopy(from: string, to: string, opts: { sizeBytes?: number; keys?: ImageKeys; onProgress?: CopyProgress }): void {
  if (!existsSync(from)) throw new IncorrectState(`backing image ${from} is missing`);
  writeImageAtomically(to, (tmp) =>
    opts.keys
      ? reencryptImage(from, tmp, { fromKey: opts.keys.from, toKey: opts.keys.to, sizeBytes: opts.sizeBytes, onProgress: opts.onProgress })
      : copyImage(from, tmp, opts.sizeBytes, opts.onProgress),
  );
}

/**
 * Reports a copy's progress as whole percents, at most once per percent: to the snapshot's row
 * (AWS's Progress, seen by other processes while the copy runs) and to whoever watches. 100% is
 * reported only by the final state, after the commit.
 */
export function progressReporter(report: (percent: number, done: number, total: number) => void): CopyProgress {
  let last = -1;
  return (done, total) => {
    const percent = Math.min(99, total > 0 ? Math.floor((done * 100) / total) : 0);
    if (percent === last && done < total) return;
    last = percent;
    report(percent, done, total);
  };
}

/**
 * Settles the copies of `p`'s account and Region whose makers died (see the top of this file).
 * Their workers' grants are retired in their keys' Regions (a cross-Region copy's source key is
 * in the source's), each recorded as at a copy's end (RetireGrant, EC2 for the copy's caller).
 */
export function settleInterruptedCopies(p: EbsParts): void {
  const { store } = p;
  for (const s of store.snapshotsIn('pending')) {
    settle(p, s.snapshotId, (done) => (done ? store.finishSnapshot(s.snapshotId, 'completed') : store.finishSnapshot(s.snapshotId, 'error', INTERRUPTED)));
  }
  for (const v of store.volumesIn('creating')) {
    settle(p, v.volumeId, (done) => store.setVolumeState(v.volumeId, done ? 'available' : 'error', done ? null : INTERRUPTED));
  }
}

function settle(p: EbsParts, id: string, finish: (committed: boolean) => void): void {
  const image = p.imagePath(id);
  const lock = ExclusiveLock.tryAcquire(imageLockFile(image));
  if (!lock) return; // its maker is still at work
  try {
    // Before the final state: a settler killed in between leaves the row in progress, settled again.
    for (const g of p.store.copyGrantsOf(id)) p.inRegion(g.region).keys.retireLeftover(g);
    const committed = existsSync(image);
    if (!committed) discardPartialImage(image);
    finish(committed);
  } finally {
    lock.release();
  }
}

/**
 * Runs the work that makes a new snapshot's or volume's image (and, for a copy, its data key),
 * reporting progress, then gives the resource its final state: `completed` / `available`, or
 * `error` with why. A KMS refusal is the resource's state, as AWS reports a copy's failure in its
 * StateMessage, and is returned (a launch ends for it); any other failure (the disk) is thrown.
 */
export function makeImage(store: Ec2Store, ctx: CallContext, resourceId: string, kind: 'snapshot' | 'volume', work: (onProgress: CopyProgress) => void): AwsError | undefined {
  const onProgress = progressReporter((percent, done, total) => {
    if (kind === 'snapshot') store.setProgress(resourceId, percent);
    ctx.progress?.({ resourceId, done, total });
  });
  try {
    work(onProgress);
  } catch (err) {
    const message = err instanceof AwsError ? `${err.operation ? `The KMS call ${err.operation} failed: ` : ''}(${err.code}) ${err.message}` : `ebsim could not write the image: ${(err as Error).message}`;
    if (kind === 'snapshot') store.finishSnapshot(resourceId, 'error', message);
    else store.setVolumeState(resourceId, 'error', message);
    if (!(err instanceof AwsError)) throw err;
    return err;
  }
  if (kind === 'snapshot') store.finishSnapshot(resourceId, 'completed');
  else store.setVolumeState(resourceId, 'available');
  return undefined;
}

/** An image's (or its temporary copy's, or its lock's) file name: the ID it belongs to. */
const IMAGE_FILE = /^((?:vol|snap)-[0-9a-f]+)\.img(?:\.partial|\.lock)?$/;

const cleanupWarned = new Set<string>();

/**
 * Runs a cleanup that follows a committed change (a delete, a failed launch's volume): the call is
 * done and recorded, so a failure here (a root-owned lock file, EACCES or EBUSY from the unlink) is
 * noted on stderr, once per process and kind of cleanup, and never fails the call; the next
 * delete's orphan sweep tries again.
 */
export function afterCommit(what: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    // Once per kind of cleanup ("removing the orphan image", "removing"), not once for all.
    const kind = what.replace(/ \S*$/, '');
    if (cleanupWarned.has(kind)) return;
    cleanupWarned.add(kind);
    process.stderr.write(`ebsim: ${what} failed (the call itself is done; the next delete retries): ${(err as Error).message}\n`);
  }
}

/**
 * Removes the images whose volume or snapshot was deleted (a volume row 'deleted', a snapshot's
 * tombstone; not merely absent: a home database restored from an older backup knows fewer IDs
 * than there are images, and those stay): a delete commits its row first and unlinks the image
 * after, so one killed in between leaves the image behind; and the lock files a delete had to
 * leave (held then: deleteImage), or deletes made before they went with their images. Run by each delete (DeleteVolume, DeleteSnapshot, a termination's), not
 * by every call: a directory listing. An image whose lock is held (being written) stays.
 * Best effort: each file's failure is noted (afterCommit) and the others still go.
 */
export function removeOrphanImages(p: EbsParts): void {
  const dir = dirname(p.imagePath('x'));
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const id = IMAGE_FILE.exec(name)?.[1];
    // A first look without the lock: a live image's lock is never touched (a mount then would find it busy).
    if (!id || !p.store.isDeletedAnywhere(id)) continue;
    afterCommit(`removing the orphan image ${join(dir, name)}`, () => {
      underLockToRemove(imageLockFile(p.imagePath(id)), () => {
        // Under the lock, so nothing is making it meanwhile; only what the database says was deleted.
        if (!p.store.isDeletedAnywhere(id)) return false;
        rmSync(join(dir, name), { force: true });
        // The ID is never used again, so no one else takes this lock for good: its file goes too
        // (a racing cleanup finds it busy, or makes and removes its own).
        return !existsSync(p.imagePath(id)) && !existsSync(`${p.imagePath(id)}.partial`);
      });
    });
  }
}
