// Mount orchestration: image → device daemon (FUSE file) → loop device → ext4 → mountpoint, with
// a JSON state file per volume so that unmount, status and crash cleanup can find every piece.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BlockDevice, createSparseImage, SECTOR_SIZE } from './block-device.js';
import { startDaemon, type StartedDaemon } from './daemon-client.js';
import type { DaemonConfig } from './daemon-protocol.js';
import { CommandError, MountError, VolumeAlreadyMountedError, VolumeNotMountedError } from './errors.js';
import { DISK_FILE, forceUnmountFuse } from './fuse-adapter.js';
import { isDaemonFor, listLoopDevices, loopBackingFile, mountAt, pidAlive, probe, readMounts, run, waitFor } from './host.js';
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
}

export interface MountedVolume extends VolumeMountState {
  /** Foreground mode: the daemon's process, to wait on. */
  daemon?: StartedDaemon['child'];
}

export interface VolumeStatus {
  volumeId: string;
  state: VolumeMountState;
  healthy: boolean;
  daemonAlive: boolean;
  /** 'ok', or why the FUSE file cannot be reached (ENOTCONN after a daemon crash, 'hung', ...). */
  fuse: string;
  loopAttached: boolean;
  fsMounted: boolean;
  problems: string[];
}

export function statePaths(stateDir: string, volumeId: string) {
  const base = path.join(path.resolve(stateDir), volumeId);
  const fuseDir = `${base}.fuse`;
  return { stateFile: `${base}.json`, fuseDir, devicePath: path.join(fuseDir, DISK_FILE), logPath: `${base}.log`, pidFile: `${base}.pid` };
}

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

export async function mountVolume(opts: MountVolumeOptions): Promise<MountedVolume> {
  checkMountPrerequisites();
  if (opts.key.length !== 64) throw new RangeError(`key: expected 64 bytes, got ${opts.key.length}`);
  fs.mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
  const paths = statePaths(opts.stateDir, opts.volumeId);
  const previous = readState(paths.stateFile);
  if (previous) {
    const st = await statusOf(previous);
    if (st.healthy) throw new VolumeAlreadyMountedError(opts.volumeId, previous.mountpoint ?? previous.loopDevice ?? previous.devicePath);
    await teardown(previous); // a crash left pieces behind: clear them first
  }
  ensureImage(opts.imagePath, opts.sizeBytes);
  if (mountAt(paths.fuseDir)) await forceUnmountFuse(paths.fuseDir).catch(() => {});

  const state: VolumeMountState = {
    volumeId: opts.volumeId,
    imagePath: path.resolve(opts.imagePath),
    sizeBytes: opts.sizeBytes,
    sectorSize: SECTOR_SIZE,
    ...paths,
    daemonPid: null,
    codec: null,
    loopDevice: null,
    mountpoint: null,
    fsType: null,
    mountedAt: new Date().toISOString(),
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
        saveState(state);
      }
    }
    return { ...state, daemon: daemon.child };
  } catch (err) {
    await teardown(state).catch(() => {});
    throw err;
  }
}

/** Reverses every step of mountVolume that is still in place; safe to call repeatedly. */
export async function unmountVolume(volumeId: string, stateDir: string): Promise<void> {
  const state = readState(statePaths(stateDir, volumeId).stateFile);
  if (!state) throw new VolumeNotMountedError(volumeId);
  await teardown(state);
}

async function teardown(s: VolumeMountState): Promise<void> {
  const daemonAlive = s.daemonPid !== null && pidAlive(s.daemonPid) && isDaemonFor(s.daemonPid, s.volumeId);
  // 1. The file system. If the daemon is gone, the device only answers EIO: detach lazily.
  if (s.mountpoint && s.loopDevice && mountAt(s.mountpoint)?.source === s.loopDevice) {
    try {
      await run('umount', [s.mountpoint]);
    } catch (err) {
      if (daemonAlive) throw new MountError(`cannot unmount ${s.mountpoint} (in use?): ${(err as Error).message}`, { cause: err });
      await run('umount', ['-l', s.mountpoint]);
    }
    await waitFor(`${s.mountpoint} to leave /proc/mounts`, () => mountAt(s.mountpoint!)?.source !== s.loopDevice);
  }
  // 2. The loop device, if it still points at our FUSE file.
  if (s.loopDevice && loopBackingFile(s.loopDevice).startsWith(s.devicePath)) {
    await run('losetup', ['-d', s.loopDevice]).catch((err: CommandError) => {
      if (loopBackingFile(s.loopDevice!).startsWith(s.devicePath)) throw err;
    });
  }
  // 3. The daemon: SIGTERM makes it flush (fdatasync) and unmount FUSE; SIGKILL if it hangs.
  if (s.daemonPid !== null && pidAlive(s.daemonPid) && isDaemonFor(s.daemonPid, s.volumeId)) {
    process.kill(s.daemonPid, 'SIGTERM');
    try {
      await waitFor(`daemon ${s.daemonPid} to exit`, () => !pidAlive(s.daemonPid!), 20_000);
    } catch {
      process.kill(s.daemonPid, 'SIGKILL');
      await waitFor(`daemon ${s.daemonPid} to die`, () => !pidAlive(s.daemonPid!), 5_000);
    }
  }
  // 4. A FUSE mount left by a dead daemon (ENOTCONN): fusermount -uz.
  if (mountAt(s.fuseDir)) {
    await forceUnmountFuse(s.fuseDir).catch(() => {});
    await waitFor(`${s.fuseDir} to leave /proc/mounts`, () => !mountAt(s.fuseDir));
  }
  fs.rmSync(s.pidFile, { force: true });
  try {
    fs.rmdirSync(s.fuseDir);
  } catch {
    // absent, or not empty (never ours to delete then)
  }
  fs.rmSync(s.stateFile, { force: true });
}

async function statusOf(s: VolumeMountState): Promise<VolumeStatus> {
  const problems: string[] = [];
  const daemonAlive = s.daemonPid !== null && pidAlive(s.daemonPid) && isDaemonFor(s.daemonPid, s.volumeId);
  if (!daemonAlive) problems.push(`device daemon ${s.daemonPid ?? '(never started)'} is not running`);
  const fuse = mountAt(s.fuseDir) ? await probe(s.devicePath) : 'not mounted';
  if (fuse !== 'ok') problems.push(`FUSE file ${s.devicePath}: ${fuse}`);
  const loopAttached = !!s.loopDevice && loopBackingFile(s.loopDevice).startsWith(s.devicePath);
  if (!loopAttached) problems.push(s.loopDevice ? `loop device ${s.loopDevice} is detached` : 'no loop device');
  const fsMounted = !!s.mountpoint && !!s.loopDevice && mountAt(s.mountpoint)?.source === s.loopDevice;
  if (s.mountpoint && !fsMounted) problems.push(`${s.mountpoint} is not mounted`);
  return { volumeId: s.volumeId, state: s, healthy: problems.length === 0, daemonAlive, fuse, loopAttached, fsMounted, problems };
}

/** Every volume with a state file under `stateDir`, with its health. */
export async function volumeStatus(stateDir: string): Promise<VolumeStatus[]> {
  if (!fs.existsSync(stateDir)) return [];
  const out: VolumeStatus[] = [];
  for (const f of fs.readdirSync(stateDir).filter((n) => n.endsWith('.json')).sort()) {
    const s = readState(path.join(stateDir, f));
    if (s) out.push(await statusOf(s));
  }
  return out;
}

/**
 * Tears down what a crash left behind: volumes whose daemon died or whose pieces are missing,
 * plus loop devices and FUSE mounts under `stateDir` that no state file claims. Returns what
 * was cleaned.
 */
export async function cleanupStale(stateDir: string): Promise<string[]> {
  const cleaned: string[] = [];
  const statuses = await volumeStatus(stateDir);
  for (const st of statuses) {
    if (st.healthy) continue;
    await teardown(st.state);
    cleaned.push(st.volumeId);
  }
  const root = path.resolve(stateDir) + path.sep;
  const claimed = new Set(statuses.filter((s) => s.healthy).map((s) => s.state.fuseDir));
  for (const loop of listLoopDevices()) {
    if (!loop.backingFile.startsWith(root)) continue;
    const fuseDir = path.dirname(loop.backingFile.replace(/ \(deleted\)$/, ''));
    if (claimed.has(fuseDir)) continue;
    for (const m of readMounts().filter((m) => m.source === loop.device)) await run('umount', ['-l', m.target]).catch(() => {});
    await run('losetup', ['-d', loop.device]).catch(() => {});
    cleaned.push(loop.device);
  }
  for (const m of readMounts()) {
    if (!m.target.startsWith(root) || !m.fstype.startsWith('fuse') || claimed.has(m.target)) continue;
    await forceUnmountFuse(m.target).catch(() => {});
    cleaned.push(m.target);
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
