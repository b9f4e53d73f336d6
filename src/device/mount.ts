// Mount orchestration: image → device daemon (FUSE file) → loop device → ext4 → mountpoint, with
// a JSON state file per volume, under the per-volume locks that keep one daemon per volume.
// Status and teardown, from the kernel's own tables, are in volume-state.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeDirectories } from '../core/directories.js';
import { BlockDevice, SECTOR_SIZE } from './block-device.js';
import { createImage } from './image-store.js';
import { isBlank } from './blank.js';
import { startDaemon, type StartedDaemon } from './daemon-client.js';
import type { DaemonConfig } from './daemon-protocol.js';
import { CommandError, MountError, VolumeAlreadyMountedError, VolumeBusyError, VolumeHoldsDataError, VolumeImageError, VolumeNotMountedError } from './errors.js';
import { describeProcess, fuseConnection, listDaemons, mountAt, run, waitFor } from './host.js';
import { ExclusiveLock, imageLockFile, lockHolder } from './lock.js';
import { checkMountPrerequisites } from './prerequisites.js';
import { piecesOf, saveState, statePaths, statusOf, teardown, volumeStatus, type UnmountOptions, type VolumeMountState } from './volume-state.js';

export { statePaths, volumeStatus, type UnmountOptions, type VolumeMountState, type VolumeStatus } from './volume-state.js';

export type VolumeFormat = 'ext4' | 'none';

export interface MountVolumeOptions {
  volumeId: string;
  imagePath: string;
  sizeBytes: number;
  /** 64-byte plaintext data key; kept in memory only (it reaches the daemon over IPC). */
  key: Uint8Array;
  /** Where the file system appears. Ignored with attachOnly. */
  mountpoint: string;
  /** Directory for state files, pidfiles, logs and FUSE dirs, e.g. $EBSIM_HOME/run. */
  stateDir: string;
  /** 'ext4': mkfs.ext4 a blank device, then mount. 'none': never mkfs; mount only if a file system is found. */
  format: VolumeFormat;
  /**
   * Keep the daemon tied to this process (not unref'd; its log also goes to stderr). The daemon
   * still has its own process group, so the caller should trap SIGINT/SIGTERM and call
   * unmountVolume, then wait for `daemon` to exit.
   */
  foreground?: boolean;
  /** Stop after losetup: the caller gets the loop device (fsck, raw dd, benchmarks). */
  attachOnly?: boolean;
  /** Bench-only: no encryption on the same FUSE path (the ceiling). */
  passThrough?: boolean;
  /** Bench-only, with passThrough: which I/O path serves it (see DaemonConfig). */
  passThroughIO?: 'js' | 'native';
  daemonScript?: string;
  /**
   * Make the image (sparse, blank) if it does not exist (default true). The instance's host
   * passes false: EC2 always makes a volume's image, so a missing one is lost or moved, and a
   * blank one in its place (formatted by the mount) would pass for the user's volume.
   */
  createImage?: boolean;
}

export interface MountedVolume extends VolumeMountState {
  /** Foreground mode: the daemon's process, to wait on. */
  daemon?: StartedDaemon['child'];
}


/**
 * Mount, unmount and cleanup of one volume run one at a time: two `volume mount` at once would
 * share the state file, FUSE dir and loop device names, and the loser's teardown would take the
 * winner's pieces with it. The lock dies with its holder, so an interrupted mount never blocks
 * the next. (Lock files are never deleted: a new inode would let two holders in.)
 */
function operationLock(stateDir: string, volumeId: string): ExclusiveLock {
  const file = statePaths(stateDir, volumeId).opLockFile;
  const lock = ExclusiveLock.tryAcquire(file);
  if (lock) return lock;
  const pid = lockHolder(file);
  throw new VolumeBusyError(volumeId, `${volumeId} is being mounted or unmounted by another process (${pid && pid !== process.pid ? describeProcess(pid) : 'this one'}); wait for it to finish, then retry`);
}

/**
 * The image's writer lock, for in-process users (read, write, export, prefill): the device daemon
 * holds the same lock for its whole life, so the two never have one image open at once.
 */
export function lockImage(volumeId: string, imagePath: string): ExclusiveLock {
  const file = imageLockFile(imagePath);
  const lock = ExclusiveLock.tryAcquire(file);
  if (lock) return lock;
  const pid = lockHolder(file);
  const daemon = pid !== null && listDaemons().some((d) => d.pid === pid);
  throw new VolumeBusyError(
    volumeId,
    daemon
      ? `${volumeId} is mounted (${describeProcess(pid)}); unmount it first (ebsim volume unmount ${volumeId}) or use the mounted file system`
      : `${volumeId} is in use by another process (${pid && pid !== process.pid ? describeProcess(pid) : 'this one'}); wait for it to finish, then retry`,
  );
}

export async function mountVolume(opts: MountVolumeOptions): Promise<MountedVolume> {
  checkMountPrerequisites();
  if (opts.key.length !== 64) throw new RangeError(`key: expected 64 bytes, got ${opts.key.length}`);
  fs.mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
  const op = operationLock(opts.stateDir, opts.volumeId);
  try {
    return await mountLocked(opts);
  } finally {
    op.release();
  }
}

async function mountLocked(opts: MountVolumeOptions): Promise<MountedVolume> {
  const paths = statePaths(opts.stateDir, opts.volumeId);
  const before = await statusOf(opts.stateDir, opts.volumeId);
  if (before.healthy) throw new VolumeAlreadyMountedError(opts.volumeId, before.state.mountpoint ?? before.state.loopDevice ?? before.state.devicePath);
  const holder = lockHolder(imageLockFile(opts.imagePath));
  if (holder !== null && !before.daemonPids.includes(holder)) lockImage(opts.volumeId, opts.imagePath).release(); // throws, naming the holder
  if (before.problems.length && (before.daemonPids.length || before.loopAttached || fs.existsSync(paths.stateFile) || mountAt(paths.fuseDir)))
    await teardown(opts.stateDir, opts.volumeId); // a crash or an interrupted mount left pieces behind: clear them first
  ensureImage(opts.volumeId, opts.imagePath, opts.sizeBytes, opts.createImage ?? true);

  const state: VolumeMountState = {
    volumeId: opts.volumeId,
    imagePath: path.resolve(opts.imagePath),
    sizeBytes: opts.sizeBytes,
    sectorSize: SECTOR_SIZE,
    stateFile: paths.stateFile,
    fuseDir: paths.fuseDir,
    devicePath: paths.devicePath,
    logPath: paths.logPath,
    pidFile: paths.pidFile,
    daemonPid: null,
    codec: null,
    loopDevice: null,
    mountpoint: null,
    fsType: null,
    mountedAt: new Date().toISOString(),
    stage: 'mounting',
  };
  saveState(state);
  let daemon: StartedDaemon | undefined;
  try {
    const cfg: DaemonConfig = {
      volumeId: opts.volumeId,
      imagePath: state.imagePath,
      sizeBytes: opts.sizeBytes,
      sectorSize: SECTOR_SIZE,
      fuseDir: paths.fuseDir,
      logPath: paths.logPath,
      pidFile: paths.pidFile,
      passThrough: opts.passThrough,
      passThroughIO: opts.passThroughIO,
    };
    daemon = await startDaemon(cfg, opts.passThrough ? null : opts.key, { foreground: opts.foreground, daemonScript: opts.daemonScript });
    state.daemonPid = daemon.pid;
    state.codec = daemon.codec;
    state.fuseConnection = fuseConnection(paths.fuseDir);
    saveState(state);

    // 4096-byte logical sectors line the file system's I/O up with encryption sectors; direct I/O
    // keeps plaintext out of the page cache of the FUSE file and sends big requests straight on.
    const { stdout } = await run('losetup', ['--find', '--show', '--direct-io=on', '--sector-size', String(SECTOR_SIZE), paths.devicePath]);
    state.loopDevice = stdout.trim();
    saveState(state);

    if (!opts.attachOnly) {
      let fsType = await probeFsType(state.loopDevice);
      if (!fsType && opts.format === 'ext4') {
        if (!(await blankVolume(state.loopDevice, opts.imagePath, opts.sizeBytes)))
          throw new VolumeHoldsDataError(opts.volumeId, `${opts.volumeId} holds data but no file system that blkid recognises; refusing to mkfs.ext4 over it (mount with --format none to attach it as it is; a volume meant to be blank, a prefilled one say, is formatted by hand: mkfs.ext4 on its loop device)`);
        await mkfsExt4(state.loopDevice, opts.volumeId);
        fsType = 'ext4';
      }
      if (fsType) {
        makeDirectories(opts.mountpoint);
        const target = path.resolve(opts.mountpoint);
        await run('mount', [state.loopDevice, target]);
        await waitFor(`${target} in /proc/mounts`, () => mountAt(target)?.source === state.loopDevice);
        state.mountpoint = target;
        state.fsType = fsType;
      }
    }
    state.stage = 'ready';
    saveState(state);
    return { ...state, daemon: daemon.child };
  } catch (err) {
    await teardown(opts.stateDir, opts.volumeId).catch(() => {});
    throw err;
  }
}

export async function unmountVolume(volumeId: string, stateDir: string, opts: UnmountOptions = {}): Promise<void> {
  const paths = statePaths(stateDir, volumeId);
  const p = piecesOf(paths, volumeId);
  if (!fs.existsSync(paths.stateFile) && !p.daemons.length && !p.loops.length && !p.fuseMounted) throw new VolumeNotMountedError(volumeId);
  const op = operationLock(stateDir, volumeId);
  try {
    await teardown(stateDir, volumeId, opts);
  } finally {
    op.release();
  }
}


/**
 * Tears down what a crash or an interrupted mount left behind: every volume under `stateDir`
 * that is not healthy, all of its pieces as the kernel lists them. A volume that another process
 * is mounting or unmounting right now is left alone. Returns the volumes cleaned.
 */
export async function cleanupStale(stateDir: string): Promise<string[]> {
  const cleaned: string[] = [];
  for (const st of await volumeStatus(stateDir)) {
    if (st.healthy || st.inProgress) continue;
    const op = ExclusiveLock.tryAcquire(statePaths(stateDir, st.volumeId).opLockFile);
    if (!op) continue; // it started meanwhile
    try {
      await teardown(stateDir, st.volumeId);
    } finally {
      op.release();
    }
    cleaned.push(st.volumeId);
  }
  return cleaned;
}

/**
 * In-process block device over the same image, for `ebsim volume read|write|export` (no root, no
 * FUSE). `key` null: an unencrypted volume (plain sectors). A missing image is refused
 * (VolumeImageError: lost, not blank) unless `opts.create` asks for a new one.
 */
export function openVolumeDevice(imagePath: string, sizeBytes: number, key: Uint8Array | null, opts: { volumeId?: string; create?: boolean } = {}): BlockDevice {
  ensureImage(opts.volumeId ?? path.basename(imagePath, '.img'), imagePath, sizeBytes, opts.create === true);
  return BlockDevice.open({ imagePath, sizeBytes, key, create: false });
}

function ensureImage(volumeId: string, imagePath: string, sizeBytes: number, create: boolean): void {
  if (!fs.existsSync(imagePath)) {
    if (create) return createImage(imagePath, sizeBytes);
    throw new VolumeImageError(volumeId, `the backing image ${imagePath} of ${volumeId} is missing (moved or deleted outside ebsim); put it back, or delete the volume (ebsim ec2 delete-volume --volume-id ${volumeId})`);
  }
  const size = fs.statSync(imagePath).size;
  if (size === sizeBytes) return;
  // ModifyVolume grows the image, then records the size: killed in between, the image is larger.
  const GIB = 1024 ** 3;
  const retry = size > sizeBytes && size % GIB === 0 ? `: a ModifyVolume was interrupted; run it again (ebsim ec2 modify-volume --volume-id ${volumeId} --size ${size / GIB})` : '';
  throw new VolumeImageError(volumeId, `the backing image ${imagePath} of ${volumeId} is ${size} bytes, expected ${sizeBytes} (the volume's size)${retry}`);
}

/** blkid -p: the file system type, or null when it finds no signature (exit status 2). */
async function probeFsType(dev: string): Promise<string | null> {
  try {
    const { stdout } = await run('blkid', ['-p', '-o', 'value', '-s', 'TYPE', dev]);
    return stdout.trim() || null;
  } catch (err) {
    if (err instanceof CommandError && err.status === 2) return null;
    throw err;
  }
}

/** isBlank over the loop device and the backing image (see ./blank.ts). */
async function blankVolume(dev: string, imagePath: string, sizeBytes: number): Promise<boolean> {
  const fh = await fs.promises.open(dev, 'r');
  const image = fs.openSync(imagePath, 'r');
  try {
    return await isBlank(async (buf, pos) => (await fh.read(buf, 0, buf.length, pos)).bytesRead, image, sizeBytes);
  } finally {
    fs.closeSync(image);
    await fh.close();
  }
}

async function mkfsExt4(dev: string, volumeId: string): Promise<void> {
  // The device reads zeros where never written, so the inode tables and journal need no zeroing;
  // nodiscard because our FUSE file has no hole punching.
  const base = ['-q', '-F', '-L', volumeId.slice(0, 16)];
  try {
    await run('mkfs.ext4', [...base, '-E', 'nodiscard,assume_storage_prezeroed=1', dev]);
  } catch (err) {
    if (!(err instanceof CommandError) || !/assume_storage_prezeroed|Bad option/i.test(err.stderr)) throw err;
    await run('mkfs.ext4', [...base, '-E', 'nodiscard', dev]); // e2fsprogs < 1.47
  }
}
