// What of a mounted volume exists on this host: its state file, and every piece the kernel's own
// tables show (daemons in /proc, FUSE and ext4 mounts in the mount table, loop devices in /sys),
// whether a state file records it or not. Status and teardown work from these, so a crash, an
// interrupted mount or a hand-made change leaves nothing they cannot see.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SECTOR_SIZE } from './block-device.js';
import { CommandError, DeviceHungError, MountError, VolumeBusyError } from './errors.js';
import { DISK_FILE, forceUnmountFuse } from './fuse-adapter.js';
import {
  describeProcess, fuseConnection, listDaemons, listLoopDevices, loopBackingDevice, loopBackingFile, mountAt, pidAlive, probeDevice, processState, readMounts, run, waitFor, type MountEntry,
} from './host.js';
import { imageLockFile, lockHolder } from './lock.js';

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
export type StatePaths = ReturnType<typeof statePaths>;

export function readState(stateFile: string): VolumeMountState | null {
  try {
    return JSON.parse(fs.readFileSync(stateFile, 'utf8')) as VolumeMountState;
  } catch {
    return null;
  }
}

export function saveState(s: VolumeMountState): void {
  const tmp = `${s.stateFile}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(s, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, s.stateFile);
}
export interface UnmountOptions {
  /**
   * For a stopped or hung daemon: abort its FUSE connection, SIGKILL it, detach everything lazily.
   * Nothing is flushed, so writes the daemon has not made yet are lost.
   */
  force?: boolean;
}

/** Reverses every step of mountVolume that is still in place (found in the kernel's tables); safe to call repeatedly. */
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

export function piecesOf(paths: StatePaths, volumeId: string): Pieces {
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

export async function teardown(stateDir: string, volumeId: string, opts: UnmountOptions = {}): Promise<void> {
  const paths = statePaths(stateDir, volumeId);
  const p = piecesOf(paths, volumeId);
  const imagePath = readState(paths.stateFile)?.imagePath;
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
  // A daemon the process scan missed (one still starting, say) may yet hold the image: unmount
  // returns only once the image's writer lock is free, so the next in-process user gets it.
  if (imagePath) {
    const lockFile = imageLockFile(imagePath);
    await waitFor(`the image lock of ${volumeId} to be released`, () => {
      const holder = lockHolder(lockFile);
      return holder === null || holder === process.pid || !pidAlive(holder);
    }, 20_000).catch(() => {});
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

export async function statusOf(stateDir: string, volumeId: string): Promise<VolumeStatus> {
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
