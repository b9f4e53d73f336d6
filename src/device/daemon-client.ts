// Starts the device daemon and waits for its "ready". The key goes over the IPC channel
// (structured clone, in memory only); the config, which holds no secret, goes in argv.
import { spawn, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_ARG, type DaemonConfig, type DaemonMessage, type ParentMessage } from './daemon-protocol.js';
import { MountError } from './errors.js';
import { tuning } from './tuning.js';

/** dist/src/device/daemon.js: next to this module when compiled, else under the project's dist/. */
export function defaultDaemonScript(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'daemon.js'), path.resolve(here, '../../dist/src/device/daemon.js')];
  const found = candidates.find((c) => fs.existsSync(c) && !c.endsWith(path.join('src', 'device', 'daemon.ts')));
  if (!found) throw new MountError(`device daemon not built (looked for ${candidates.join(', ')}); run \`npm run build\``);
  return found;
}

const FUSE_INIT_LIBRARY = path.join('native', 'build', 'ebsim_fuse_init.so');

/**
 * native/build/ebsim_fuse_init.so, found from here upwards (src/device or dist/src/device), or
 * null when it is not built or EBSIM_FUSE_ASYNC_DIO=0. Preloaded into the daemon, it adds
 * FUSE_ASYNC_DIO (and FUSE_MAX_PAGES) to the FUSE_INIT reply, which libfuse 2.9 cannot do
 * (native/src/ebsim_fuse_init.c), and runs libfuse's worker loop with threads that stay for the
 * life of the mount (native/src/ebsim_fuse_loop.c).
 */
export function fuseInitPreload(): string | null {
  if (!tuning.fuseAsyncDio || process.platform !== 'linux') return null;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = path.join(dir, FUSE_INIT_LIBRARY);
    if (fs.existsSync(p)) return p;
    dir = path.dirname(dir);
  }
  return null;
}

/** The daemon's libuv pool size (DeviceTuning.daemonThreads says why). */
export function daemonThreadpoolSize(): string {
  return String(tuning.daemonThreads);
}

/**
 * Pages per FUSE read request that the preload asks the kernel for: 256, so that a 1 MiB read
 * through loop + ext4 costs one FUSE round trip instead of eight.
 * EBSIM_FUSE_MAX_PAGES=32..256 overrides; 32 is the kernel's default, i.e. off.
 */
function fuseMaxPages(): number {
  if (!kernelHasMaxPages()) return 32;
  return tuning.fuseMaxPages === null ? 256 : Math.max(32, Math.min(256, tuning.fuseMaxPages));
}

/** FUSE_MAX_PAGES came with Linux 4.20; the preload makes the same check. */
function kernelHasMaxPages(): boolean {
  const m = /^(\d+)\.(\d+)/.exec(os.release());
  return m !== null && (Number(m[1]) > 4 || (Number(m[1]) === 4 && Number(m[2]) >= 20));
}

/** Pages per FUSE read the daemon will get: fuseMaxPages() with the preload, else the kernel's 32. */
export function daemonReadPages(): number {
  return fuseInitPreload() ? fuseMaxPages() : 32;
}

function daemonEnv(): NodeJS.ProcessEnv {
  // EBSIM_FUSE_MAX_PAGES tells the preload what to ask for and the daemon which max_read to mount with.
  const base = { ...process.env, UV_THREADPOOL_SIZE: daemonThreadpoolSize(), EBSIM_FUSE_MAX_PAGES: String(daemonReadPages()) };
  const preload = fuseInitPreload();
  if (!preload) return { ...base, EBSIM_FUSE_INIT_PRELOAD: '' };
  const others = (process.env.LD_PRELOAD ?? '').split(/[: ]/).filter((p) => p && p !== preload);
  return { ...base, LD_PRELOAD: [...others, preload].join(':'), EBSIM_FUSE_INIT_PRELOAD: preload };
}

export interface StartedDaemon {
  pid: number;
  devicePath: string;
  codec: string;
  /** Present in foreground mode: the caller waits on it. */
  child?: ChildProcess;
}

export interface StartDaemonOptions {
  /** Keep the daemon attached to this process (foreground) instead of detaching it. */
  foreground?: boolean;
  daemonScript?: string;
  readyTimeoutMs?: number;
}

export function startDaemon(cfg: DaemonConfig, key: Uint8Array | null, opts: StartDaemonOptions = {}): Promise<StartedDaemon> {
  const script = opts.daemonScript ?? defaultDaemonScript();
  const log = fs.openSync(cfg.logPath, 'a', 0o600);
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [script, `${CONFIG_ARG}${JSON.stringify({ ...cfg, logToStderr: !!opts.foreground })}`], {
      // Always its own process group: a terminal's Ctrl-C must reach the foreground CLI (which
      // unmounts in order), not the daemon under a still-mounted file system.
      detached: true,
      env: daemonEnv(),
      stdio: ['ignore', log, opts.foreground ? 'inherit' : log, 'ipc'],
      serialization: 'advanced',
    });
  } finally {
    fs.closeSync(log);
  }
  return new Promise<StartedDaemon>((resolve, reject) => {
    const timer = setTimeout(() => fail(new MountError(`device daemon did not become ready within ${opts.readyTimeoutMs ?? 30_000} ms; see ${cfg.logPath}`)), opts.readyTimeoutMs ?? 30_000);
    const done = () => {
      clearTimeout(timer);
      child.removeAllListeners('message');
      child.removeAllListeners('exit');
      child.removeAllListeners('error');
    };
    const fail = (err: Error) => {
      done();
      if (child.exitCode === null) child.kill('SIGKILL');
      reject(err);
    };
    child.on('error', (err) => fail(new MountError(`cannot start the device daemon: ${err.message}`, { cause: err })));
    child.on('exit', (code, sig) => fail(new MountError(`device daemon exited during startup (${sig ?? `exit ${code}`}); see ${cfg.logPath}`)));
    child.on('message', (msg: DaemonMessage) => {
      if (msg.type === 'error') return fail(new MountError(`device daemon failed to start: ${msg.message}; see ${cfg.logPath}`));
      done();
      if (child.connected) child.disconnect();
      if (!opts.foreground) child.unref();
      resolve({ pid: msg.pid, devicePath: msg.devicePath, codec: msg.codec, child: opts.foreground ? child : undefined });
    });
    const msg: ParentMessage = { type: 'key', key };
    child.send(msg);
  });
}
