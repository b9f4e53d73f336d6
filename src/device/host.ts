// Small helpers over the host: running commands, the mount table, loop devices, processes.
// Waiting is always polling of the real state (/proc/mounts, /proc/PID), never a fixed sleep.
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CommandError } from './errors.js';

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a command without a shell; non-zero exit → CommandError naming the command. */
export function run(cmd: string, args: readonly string[], timeoutMs = 120_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const status = typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null;
        reject(new CommandError(cmd, args, status, `${stderr || err.message}`));
      } else resolve({ stdout, stderr });
    });
  });
}

/** Finds `cmd` in PATH (plus the sbin directories that non-login root shells may lack). */
export function which(cmd: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = path.join(d, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return null;
}

export interface MountEntry {
  source: string;
  target: string;
  fstype: string;
}

/** /proc/mounts, with the octal escapes (\040 for space) decoded. */
export function readMounts(): MountEntry[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return fs
    .readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [source = '', target = '', fstype = ''] = l.split(' ');
      return { source: unescape(source), target: unescape(target), fstype };
    });
}

export function mountAt(target: string): MountEntry | undefined {
  const t = path.resolve(target);
  const all = readMounts().filter((m) => m.target === t);
  return all[all.length - 1]; // the topmost mount at that path
}

export async function waitFor(what: string, pred: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 100);
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie still answers kill(0); it is dead for our purposes. But a thread-group leader shows
  // Z as soon as its own thread ends, while the process's other threads (a daemon's FUSE workers
  // finishing a request) still run and still hold its files and locks: alive until every thread is.
  try {
    if (!/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))) return true;
    return fs.readdirSync(`/proc/${pid}/task`).some((t) => {
      try {
        return !/^State:\s+[ZX]/m.test(fs.readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8'));
      } catch {
        return false; // that thread ended meanwhile
      }
    });
  } catch {
    return false;
  }
}

/** The backing file of a loop device per sysfs ("" when the device is not attached). */
export function loopBackingFile(loopDevice: string): string {
  try {
    return fs.readFileSync(`/sys/block/${path.basename(loopDevice)}/loop/backing_file`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Every attached loop device and its backing file. */
export function listLoopDevices(): { device: string; backingFile: string }[] {
  let names: string[] = [];
  try {
    names = fs.readdirSync('/sys/block').filter((n) => n.startsWith('loop'));
  } catch {
    return [];
  }
  return names
    .map((n) => ({ device: `/dev/${n}`, backingFile: loopBackingFile(n) }))
    .filter((l) => l.backingFile !== '');
}

/** Every running device daemon and its config, read from /proc/PID/cmdline (the kernel's table, not our pidfiles). */
export function listDaemons(): { pid: number; volumeId: string; fuseDir: string; imagePath: string }[] {
  const out: { pid: number; volumeId: string; fuseDir: string; imagePath: string }[] = [];
  let pids: string[] = [];
  try {
    pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const p of pids) {
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // exited meanwhile
    }
    if (!argv.some((a) => a.endsWith('daemon.js'))) continue;
    const cfgArg = argv.find((a) => a.startsWith('--config='));
    if (!cfgArg || !pidAlive(Number(p))) continue;
    try {
      const cfg = JSON.parse(cfgArg.slice('--config='.length)) as { volumeId: string; fuseDir: string; imagePath: string };
      out.push({ pid: Number(p), volumeId: cfg.volumeId, fuseDir: path.resolve(cfg.fuseDir), imagePath: cfg.imagePath });
    } catch {
      // not ours
    }
  }
  return out;
}

/** The one-letter state of a process from /proc/PID/stat ('T' stopped, 'D' in an uninterruptible wait), or null. */
export function processState(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) || null;
  } catch {
    return null;
  }
}

/** What a process is, in a few words, for messages that name a lock's holder. */
export function describeProcess(pid: number): string {
  try {
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    if (argv.some((a) => a.endsWith('daemon.js'))) return `pid ${pid}, its device daemon`;
    const i = argv.findIndex((a) => /ebsim(\.js)?$/.test(a));
    if (i >= 0) return `pid ${pid}, ebsim ${argv.slice(i + 1).filter((a) => !a.startsWith('-')).slice(0, 2).join(' ')}`;
    return `pid ${pid}`;
  } catch {
    return `pid ${pid}`;
  }
}

/** The FUSE connection number of the mount at `target` (its st_dev minor, from mountinfo: no stat, which could hang). */
export function fuseConnection(target: string): number | null {
  const t = path.resolve(target);
  let found: number | null = null;
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    const dash = f.indexOf('-');
    if (dash < 0 || !f[dash + 1]?.startsWith('fuse')) continue;
    const mountpoint = f[4]?.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (mountpoint === t) found = Number(f[2]!.split(':')[1]);
  }
  return found;
}

/**
 * Reads the first sector of a FUSE file with O_DIRECT (so the page cache cannot answer for the
 * daemon) in a child process with a deadline. A syscall into a stopped FUSE daemon blocks; in a
 * child it can be SIGKILLed (FUSE waits are killable), where in our own thread pool it would
 * keep this process from ever exiting.
 */
export function probeDevice(file: string, timeoutMs = 2000): Promise<'ok' | 'hung' | string> {
  return new Promise((resolve) => {
    execFile('dd', [`if=${file}`, 'of=/dev/null', 'bs=4096', 'count=1', 'iflag=direct', 'status=none'], { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, _out, stderr) => {
      if (!err) return resolve('ok');
      if ((err as { killed?: boolean }).killed) return resolve('hung');
      if (/not connected/i.test(stderr)) return resolve('ENOTCONN');
      if (/No such file/i.test(stderr)) return resolve('missing');
      resolve(stderr.trim().split('\n').pop() || err.message);
    });
  });
}

/**
 * The backing file's device ("0:48") of a loop device, from the loop driver (LOOP_GET_STATUS64
 * through losetup), or null. For a FUSE file its minor is the FUSE connection: what still ties a
 * loop device to its volume after someone lazily detached the FUSE mount (backing_file is then
 * just "/disk").
 */
export function loopBackingDevice(loopDevice: string): string | null {
  try {
    return execFileSync('losetup', ['--noheadings', '-O', 'BACK-MAJ:MIN', loopDevice], { encoding: 'utf8', timeout: 5_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    return null;
  }
}

/** Loop devices whose backing file is on the FUSE connection `conn` (detached or not). */
export function loopsOnFuseConnection(conn: number): string[] {
  return listLoopDevices()
    .filter((l) => l.backingFile.startsWith('/'))
    .filter((l) => loopBackingDevice(l.device) === `0:${conn}`)
    .map((l) => l.device);
}
