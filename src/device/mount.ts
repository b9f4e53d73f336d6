// Mount orchestration: image → device daemon (FUSE file) → loop device → ext4 → mountpoint, with
// a JSON state file per volume. Unmount, status and crash cleanup find every piece in the kernel's
// own tables (/proc, /sys, the mount table), so pieces no state file records are found too.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BlockDevice, createSparseImage, SECTOR_SIZE } from './block-device.js';
import { startDaemon, type StartedDaemon } from './daemon-client.js';
import type { DaemonConfig } from './daemon-protocol.js';
import { CommandError, DeviceHungError, MountError, VolumeAlreadyMountedError, VolumeBusyError, VolumeNotMountedError } from './errors.js';
import { DISK_FILE, forceUnmountFuse } from './fuse-adapter.js';
import {
  describeProcess, fuseConnection, listDaemons, listLoopDevices, loopBackingDevice, loopBackingFile, mountAt, pidAlive, probeDevice, processState, readMounts, run, waitFor, type MountEntry,
} from './host.js';
import { ExclusiveLock, imageLockFile, lockHolder } from './lock.js';
import { checkMountPrerequisites } from './prerequisites.js';

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
}

export interface VolumeMountState {
  volumeId: string;
  imagePath: string;
  sizeBytes: number;
  sectorSize: number;
  stateFile: string;
  fuseDir: string;
  /** The decrypted device as a file: FUSEDIR/disk. */
  devicePath: string;
  logPath: string;
  pidFile: string;
  daemonPid: number | null;
  codec: string | null;
  loopDevice: string | null;
  /** null when only attached (no file system mounted). */
  mountpoint: string | null;
  fsType: string | null;
  mountedAt: string;
  /** The FUSE connection number (the mount's st_dev minor): identifies its loop devices even after a lazy detach. */
  fuseConnection?: number | null;
  /** 'mounting' until every step is done; a state file left at 'mounting' is an interrupted mount. Absent in older files: 'ready'. */
  stage?: 'mounting' | 'ready';
}

export interface MountedVolume extends VolumeMountState {
  /** Foreground mode: the daemon's process, to wait on. */
  daemon?: StartedDaemon['child'];
}

export interface VolumeStatus {
  volumeId: string;
  /** The state file, or (when there is none) what the kernel's tables show of the volume. */
  state: VolumeMountState;
  healthy: boolean;
  daemonAlive: boolean;
  /** Every device daemon serving this volume, from /proc (more than one is a fault). */
  daemonPids: number[];
  /** 'ok', or why the FUSE file cannot be reached (ENOTCONN after a daemon crash, 'hung', ...). */
  fuse: string;
  loopAttached: boolean;
  fsMounted: boolean;
  /** Another process is mounting or unmounting it right now. */
  inProgress: boolean;
  problems: string[];
}

export function statePaths(stateDir: string, volumeId: string) {
  const base = path.join(path.resolve(stateDir), volumeId);
  const fuseDir = `${base}.fuse`;
  return { stateFile: `${base}.json`, fuseDir, devicePath: path.join(fuseDir, DISK_FILE), logPath: `${base}.log`, pidFile: `${base}.pid`, opLockFile: `${base}.mount.lock` };
}
type StatePaths = ReturnType<typeof statePaths>;

function readState(stateFile: string): VolumeMountState | null {
  try {
    return JSON.parse(fs.readFileSync(stateFile, 'utf8')) as VolumeMountState;
  } catch {
    return null;
  }
}

function saveState(s: VolumeMountState): void {
  const tmp = `${s.stateFile}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(s, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, s.stateFile);
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
  ensureImage(opts.imagePath, opts.sizeBytes);

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
        if (!(await isBlank(state.loopDevice)))
          throw new MountError(`${opts.volumeId} holds data but no file system that blkid recognises; refusing to mkfs.ext4 over it (mount with format 'none')`);
        await mkfsExt4(state.loopDevice, opts.volumeId);
        fsType = 'ext4';
      }
      if (fsType) {
        fs.mkdirSync(opts.mountpoint, { recursive: true });
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

export interface UnmountOptions {
  /**
   * For a stopped or hung daemon: abort its FUSE connection, SIGKILL it, detach everything lazily.
   * Nothing is flushed, so writes the daemon has not made yet are lost.
   */
  force?: boolean;
}

/** Reverses every step of mountVolume that is still in place (found in the kernel's tables); safe to call repeatedly. */
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

/** What of one volume is live on this host, read from /proc and /sys rather than from our own files. */
interface Pieces {
  /** Device daemons serving this volume's FUSE dir. */
  daemons: number[];
  fuseMounted: boolean;
  /** Loop devices whose backing file is this volume's FUSE file. */
  loops: string[];
  /** File systems mounted from those loop devices. */
  fsMounts: MountEntry[];
}

function piecesOf(paths: StatePaths, volumeId: string): Pieces {
  const daemons = listDaemons()
    .filter((d) => d.volumeId === volumeId && d.fuseDir === paths.fuseDir)
    .map((d) => d.pid);
  // A FUSE mount detached lazily (fusermount -uz) while a loop device still used it leaves that
  // loop's backing_file as "/disk"; its backing device, the FUSE connection, still names it.
  const conn = readState(paths.stateFile)?.fuseConnection;
  const detached = `/${DISK_FILE}`;
  const loops = listLoopDevices()
    .filter((l) => {
      const file = l.backingFile.replace(/ \(deleted\)$/, '');
      return file === paths.devicePath || (file === detached && conn != null && loopBackingDevice(l.device) === `0:${conn}`);
    })
    .map((l) => l.device);
  const mounts = readMounts();
  return {
    daemons,
    fuseMounted: mounts.some((m) => m.target === paths.fuseDir && m.fstype.startsWith('fuse')),
    loops,
    fsMounts: mounts.filter((m) => loops.includes(m.source)),
  };
}

/** Every volume with a state file or any live piece under `stateDir`. */
function volumesUnder(stateDir: string): string[] {
  const root = path.resolve(stateDir);
  const ids = new Set<string>();
  const fromFuseDir = (dir: string) => {
    if (path.dirname(dir) === root && dir.endsWith('.fuse')) ids.add(path.basename(dir, '.fuse'));
  };
  if (fs.existsSync(root)) for (const f of fs.readdirSync(root)) if (f.endsWith('.json')) ids.add(f.slice(0, -'.json'.length));
  for (const d of listDaemons()) fromFuseDir(d.fuseDir);
  for (const l of listLoopDevices()) fromFuseDir(path.dirname(l.backingFile.replace(/ \(deleted\)$/, '')));
  for (const m of readMounts()) if (m.fstype.startsWith('fuse')) fromFuseDir(m.target);
  return [...ids].sort();
}

/**
 * Why waiting on the daemon would block forever, or null: stopped, or its device does not answer.
 * `probed` is the probe's answer, when the caller wants it too.
 */
async function hungDaemon(paths: StatePaths, p: Pieces, probed?: (fuse: string) => void): Promise<{ pid: number | null; why: string } | null> {
  const stopped = p.daemons.find((pid) => processState(pid) === 'T');
  if (stopped !== undefined) return { pid: stopped, why: 'is stopped (SIGSTOP or a debugger)' };
  if (!p.fuseMounted) return null;
  const fuse = await probeDevice(paths.devicePath);
  probed?.(fuse);
  if (fuse === 'hung' && p.daemons.length) return { pid: p.daemons[0]!, why: 'does not answer (a read of its device timed out)' };
  return null;
}

async function teardown(stateDir: string, volumeId: string, opts: UnmountOptions = {}): Promise<void> {
  const paths = statePaths(stateDir, volumeId);
  const p = piecesOf(paths, volumeId);
  if (opts.force) {
    // Abort first: every request queued on the stopped daemon fails at once, so nothing below
    // (umount syncing ext4, losetup) waits on it; SIGKILL reaches a stopped process too.
    const conn = p.fuseMounted ? fuseConnection(paths.fuseDir) : null;
    if (conn !== null) {
      try {
        fs.writeFileSync(`/sys/fs/fuse/connections/${conn}/abort`, '1');
      } catch {
        // no fusectl: killing the daemon ends the connection as well
      }
    }
    for (const pid of p.daemons) killQuietly(pid, 'SIGKILL');
    await waitFor(`daemons ${p.daemons.join(', ')} to die`, () => p.daemons.every((pid) => !pidAlive(pid)), 5_000);
  } else {
    const hung = await hungDaemon(paths, p);
    if (hung) throw new DeviceHungError(volumeId, hung.pid, hung.why);
  }
  const daemonAlive = p.daemons.some((pid) => pidAlive(pid));
  // 1. The file systems. If the daemon is gone, the device only answers EIO: detach lazily.
  for (const m of p.fsMounts) {
    try {
      await run('umount', opts.force ? ['-l', m.target] : [m.target]);
    } catch (err) {
      if (daemonAlive && err instanceof CommandError && /busy/i.test(err.stderr))
        throw new VolumeBusyError(volumeId, `cannot unmount ${m.target}: it is busy (a program or shell has files open there); close them (fuser -vm ${m.target} lists them), then retry`);
      if (daemonAlive) throw new MountError(`cannot unmount ${m.target}: ${(err as Error).message}`, { cause: err });
      await run('umount', ['-l', m.target]);
    }
  }
  await waitFor(`the file systems of ${volumeId} to leave /proc/mounts`, () => !readMounts().some((m) => p.loops.includes(m.source)));
  // 2. The loop devices, while they still point at our FUSE file.
  for (const loop of p.loops) {
    await run('losetup', ['-d', loop]).catch((err: CommandError) => {
      if (loopBackingFile(loop) !== '') throw err;
    });
  }
  // 3. The daemons: SIGTERM makes one flush (fdatasync) and unmount FUSE; SIGKILL if it hangs.
  for (const pid of p.daemons.filter((d) => pidAlive(d))) {
    killQuietly(pid, 'SIGTERM');
    try {
      await waitFor(`daemon ${pid} to exit`, () => !pidAlive(pid), 20_000);
    } catch {
      killQuietly(pid, 'SIGKILL');
      await waitFor(`daemon ${pid} to die`, () => !pidAlive(pid), 5_000);
    }
  }
  // 4. A FUSE mount left by a dead daemon (ENOTCONN): fusermount -uz.
  if (mountAt(paths.fuseDir)) {
    await forceUnmountFuse(paths.fuseDir).catch(() => {});
    await waitFor(`${paths.fuseDir} to leave /proc/mounts`, () => !mountAt(paths.fuseDir));
  }
  fs.rmSync(paths.pidFile, { force: true });
  try {
    fs.rmdirSync(paths.fuseDir);
  } catch {
    // absent, or not empty (never ours to delete then)
  }
  fs.rmSync(paths.stateFile, { force: true });
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

async function statusOf(stateDir: string, volumeId: string): Promise<VolumeStatus> {
  const paths = statePaths(stateDir, volumeId);
  const saved = readState(paths.stateFile);
  const p = piecesOf(paths, volumeId);
  const s: VolumeMountState = saved ?? {
    volumeId, imagePath: '', sizeBytes: 0, sectorSize: SECTOR_SIZE, stateFile: paths.stateFile, fuseDir: paths.fuseDir, devicePath: paths.devicePath,
    logPath: paths.logPath, pidFile: paths.pidFile, daemonPid: p.daemons[0] ?? null, codec: null, loopDevice: p.loops[0] ?? null,
    mountpoint: p.fsMounts[0]?.target ?? null, fsType: p.fsMounts[0]?.fstype ?? null, mountedAt: '',
  };
  const problems: string[] = [];
  const opHolder = lockHolder(paths.opLockFile);
  const inProgress = opHolder !== null && opHolder !== process.pid;
  if (inProgress) problems.push(`being mounted or unmounted by ${describeProcess(opHolder)}`);
  if (!saved) problems.push('no state file: pieces of an interrupted mount or unmount (ebsim volume cleanup removes them)');
  else if (saved.stage === 'mounting' && !inProgress) problems.push('the mount was interrupted (the process that started it is gone)');

  if (!p.daemons.length) problems.push(`device daemon ${s.daemonPid ?? '(never started)'} is not running`);
  else if (p.daemons.length > 1) problems.push(`${p.daemons.length} device daemons serve it (pids ${p.daemons.join(', ')}); only one may`);
  else if (saved && p.daemons[0] !== saved.daemonPid) problems.push(`device daemon ${p.daemons[0]} is not the one recorded (${saved.daemonPid})`);

  let fuse = p.fuseMounted ? 'hung' : 'not mounted';
  const hung = await hungDaemon(paths, p, (f) => (fuse = f));
  if (hung) problems.push(`device daemon ${hung.pid} ${hung.why}: resume it (kill -CONT ${hung.pid}) or run ebsim volume unmount ${volumeId} --force`);
  else if (fuse !== 'ok') problems.push(`FUSE file ${paths.devicePath}: ${fuse}`);

  const loopAttached = !!s.loopDevice && p.loops.includes(s.loopDevice);
  if (!p.loops.length) problems.push(s.loopDevice ? `loop device ${s.loopDevice} is detached` : 'no loop device');
  else if (p.loops.length > 1) problems.push(`${p.loops.length} loop devices are attached to it (${p.loops.join(', ')}); only one may`);
  else if (!loopAttached) problems.push(`loop device ${p.loops[0]} is attached, not the recorded ${s.loopDevice}`);

  const fsMounted = !!s.mountpoint && p.fsMounts.some((m) => m.target === s.mountpoint && m.source === s.loopDevice);
  if (s.mountpoint && !fsMounted) problems.push(`${s.mountpoint} is not mounted`);
  for (const m of p.fsMounts) if (m.target !== s.mountpoint) problems.push(`also mounted at ${m.target} (from ${m.source})`);
  return { volumeId, state: s, healthy: problems.length === 0, daemonAlive: p.daemons.length > 0, daemonPids: p.daemons, fuse, loopAttached, fsMounted, inProgress, problems };
}

/** Every volume with a state file or a daemon, loop device or mount under `stateDir`, with its health. */
export async function volumeStatus(stateDir: string): Promise<VolumeStatus[]> {
  const out: VolumeStatus[] = [];
  for (const id of volumesUnder(stateDir)) out.push(await statusOf(stateDir, id));
  return out;
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

/** In-process block device over the same image, for `ebsim volume read|write|export` (no root, no FUSE). */
/** `key` null: an unencrypted volume (plain sectors). */
export function openVolumeDevice(imagePath: string, sizeBytes: number, key: Uint8Array | null): BlockDevice {
  ensureImage(imagePath, sizeBytes);
  return BlockDevice.open({ imagePath, sizeBytes, key, create: false });
}

/** Decrypts a whole volume to a plain image (kept sparse: zero chunks are skipped). */
export async function exportVolume(device: BlockDevice, outPath: string, onProgress?: (done: number, total: number) => void): Promise<void> {
  const CHUNK = 1 << 20;
  const fd = fs.openSync(outPath, 'w', 0o600);
  try {
    fs.ftruncateSync(fd, device.size);
    const buf = Buffer.alloc(CHUNK);
    const zero = Buffer.alloc(CHUNK);
    for (let off = 0; off < device.size; off += CHUNK) {
      const n = await device.readInto(off, buf.subarray(0, Math.min(CHUNK, device.size - off)));
      if (!buf.subarray(0, n).equals(zero.subarray(0, n))) fs.writeSync(fd, buf, 0, n, off);
      onProgress?.(off + n, device.size);
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function ensureImage(imagePath: string, sizeBytes: number): void {
  if (!fs.existsSync(imagePath)) {
    fs.mkdirSync(path.dirname(imagePath), { recursive: true });
    createSparseImage(imagePath, sizeBytes);
    return;
  }
  const size = fs.statSync(imagePath).size;
  if (size !== sizeBytes) throw new MountError(`backing image ${imagePath} is ${size} bytes, expected ${sizeBytes}`);
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

/** The first MiB reads as zeros: a never-written volume (holes decrypt to zeros). */
async function isBlank(dev: string): Promise<boolean> {
  const fh = await fs.promises.open(dev, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead).every((b) => b === 0);
  } finally {
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
