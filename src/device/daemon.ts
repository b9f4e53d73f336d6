// The device daemon: plays the instance's host for one volume. It takes its config from argv
// (--config=JSON, or EBSIM_DEVICE_CONFIG) and the plaintext data key from the IPC channel or,
// without one, from stdin (64 raw bytes); mounts FUSE; writes a pidfile; logs to a file; on
// SIGTERM/SIGINT it flushes and unmounts; SIGUSR2 logs the request-size histogram.
import * as fs from 'node:fs';
import { BlockDevice } from './block-device.js';
import { CONFIG_ARG, type DaemonConfig, type DaemonMessage, type ParentMessage } from './daemon-protocol.js';
import { DeviceFuse } from './fuse-adapter.js';
import { describeProcess, fuseConnection, loopsOnFuseConnection, mountAt, waitFor } from './host.js';
import { ExclusiveLock, imageLockFile, lockHolder } from './lock.js';
import { NativeSectorStore } from './native-sector-store.js';
import { tuning } from './tuning.js';

/**
 * The image's writer lock, held from before the image is opened until this process ends (the
 * kernel drops it then, kill -9 included): while this daemon lives, no other daemon, in-process
 * `volume write` or snapshot copy can have the image open. Kept in a module variable so that it
 * is never collected.
 */
let imageLock: ExclusiveLock | null = null;
/** Our FUSE connection (the mount's st_dev minor, from mountinfo): it outlives a lazy detach while a loop device holds the file. */
let conn: number | null = null;

function lockTheImage(cfg: DaemonConfig): void {
  const file = imageLockFile(cfg.imagePath);
  imageLock = ExclusiveLock.tryAcquire(file);
  if (imageLock) return;
  const pid = lockHolder(file);
  throw new Error(`${cfg.volumeId} is in use by another process (${pid ? describeProcess(pid) : 'unknown'}); only one may have its image open`);
}

function readConfig(): DaemonConfig {
  const arg = process.argv.find((a) => a.startsWith(CONFIG_ARG));
  const raw = arg ? arg.slice(CONFIG_ARG.length) : process.env.EBSIM_DEVICE_CONFIG;
  if (!raw) throw new Error(`missing ${CONFIG_ARG}JSON argument`);
  return JSON.parse(raw) as DaemonConfig;
}

function makeLogger(cfg: DaemonConfig): (m: string) => void {
  return (m) => {
    const line = `${new Date().toISOString()} [${cfg.volumeId} pid ${process.pid}] ${m}\n`;
    try {
      fs.appendFileSync(cfg.logPath, line);
    } catch {
      // Logging must never take the daemon down.
    }
    if (cfg.logToStderr) process.stderr.write(line);
  };
}

function receiveKey(): Promise<Uint8Array | null> {
  if (process.send) {
    return new Promise((resolve, reject) => {
      process.once('message', (msg: ParentMessage) => resolve(msg.type === 'key' ? msg.key : null));
      process.once('disconnect', () => reject(new Error('parent went away before sending the key')));
    });
  }
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    process.stdin.on('data', (d: Buffer) => parts.push(d));
    process.stdin.on('end', () => {
      const key = Buffer.concat(parts);
      if (key.length === 0) resolve(null);
      else if (key.length === 64) resolve(key);
      else reject(new RangeError(`stdin: expected a 64-byte key, got ${key.length} bytes`));
    });
  });
}

/** Whether ebsim_fuse_init.so is really mapped into this process (it asks for FUSE_ASYNC_DIO). */
function asyncDioLine(): string {
  const preload = tuning.fuseInitPreload;
  if (!preload) return 'O_DIRECT from the loop device: synchronous, one request at a time (ebsim_fuse_init.so not built or EBSIM_FUSE_ASYNC_DIO=0)';
  let maps = '';
  try {
    maps = fs.readFileSync('/proc/self/maps', 'utf8');
  } catch {
    // not Linux: nothing to report
  }
  return maps.includes(preload)
    ? `O_DIRECT from the loop device: asynchronous (FUSE_ASYNC_DIO requested by ${preload})`
    : `O_DIRECT from the loop device: synchronous (${preload} was not loaded)`;
}

function tell(msg: DaemonMessage): void {
  if (process.send) process.send(msg);
}

async function main(): Promise<void> {
  const cfg = readConfig();
  const log = makeLogger(cfg);
  process.on('uncaughtException', (err) => log(`uncaught: ${err.stack ?? err}`));
  process.on('unhandledRejection', (err) => log(`unhandled rejection: ${(err as Error)?.stack ?? err}`));

  let device: BlockDevice;
  let fuse: DeviceFuse;
  try {
    lockTheImage(cfg);
    const key = await receiveKey();
    if (key === null && !cfg.passThrough) throw new Error('no data key received (and passThrough is off)');
    device = BlockDevice.open({ imagePath: cfg.imagePath, sizeBytes: cfg.sizeBytes, key: cfg.passThrough ? null : key, create: false, native: cfg.passThrough ? cfg.passThroughIO === 'native' : undefined });
    if (key) key.fill(0); // the cipher keeps its own copy; drop ours
    fuse = new DeviceFuse(cfg.fuseDir, device, { log, fsname: `ebsim-${cfg.volumeId}` });
    await fuse.mount();
    conn = fuseConnection(cfg.fuseDir);
    fs.writeFileSync(cfg.pidFile, `${process.pid}\n`);
    log(`serving ${cfg.imagePath} (${cfg.sizeBytes} bytes, ${device.codecName}) at ${fuse.devicePath}`);
    log(asyncDioLine());
    log(`libuv thread pool: UV_THREADPOOL_SIZE=${tuning.uvThreadpoolSize ?? '4 (default)'}`);
    tell({ type: 'ready', pid: process.pid, devicePath: fuse.devicePath, codec: device.codecName });
  } catch (err) {
    log(`startup failed: ${(err as Error).stack ?? err}`);
    tell({ type: 'error', message: (err as Error).message });
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 100);
    return;
  }
  if (process.send) process.disconnect?.();

  // libfuse's threads wake us through uv_async handles; keep the loop alive explicitly anyway.
  const keepAlive = setInterval(() => {}, 1 << 30);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: flushing and unmounting`);
    log(fuse.histogramLine());
    log(NativeSectorStore.ioLine());
    try {
      await device.flush();
      // Detached already (fusermount -uz): fusermount -u would fail, so exit once no loop device
      // holds the detached file any more (the kernel then ends the connection).
      if (mountAt(cfg.fuseDir)?.fstype.startsWith('fuse')) await Promise.race([fuse.unmount(), new Promise((_, rej) => setTimeout(() => rej(new Error('unmount timed out')), 10_000))]);
      else await waitFor('no loop device to hold the detached FUSE file', () => conn !== null && loopsOnFuseConnection(conn).length === 0, 5_000);
    } catch (err) {
      // Still in use (the loop device holds the file, ext4 on top): exiting now would leave that
      // file system on a dead FUSE endpoint and lose its dirty pages. Keep serving instead.
      log(`unmount: ${(err as Error).message}; still serving (unmount ext4 and detach the loop device first)`);
      stopping = false;
      return;
    }
    try {
      await device.close();
    } catch (err) {
      log(`close: ${(err as Error).message}`);
    }
    fs.rmSync(cfg.pidFile, { force: true });
    log(`stopped; device stats ${JSON.stringify(device.stats)}`);
    clearInterval(keepAlive);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGHUP', () => log('SIGHUP ignored'));
  process.on('SIGUSR2', () => {
    log(fuse.histogramLine());
    log(NativeSectorStore.ioLine());
  });
}

void main();
