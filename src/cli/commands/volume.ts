// `ebsim volume …`: the instance host's side. Mount a volume as a real ext4 file system (FUSE
// block device → loop → ext4), or use the in-process block device where FUSE is unavailable.
import type { Argv } from 'yargs';
import { accessSync, constants, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError, UserError } from '../../errors/index.js';
import { readParamFile } from '../input.js';
import { cleanupStale, exportVolume, lockImage, mountVolume, openVolumeDevice, unmountVolume, volumeStatus } from '../../device/index.js';
import type { Volume } from '../../ec2/model.js';
import { prefillVolume } from '../../device/prefill.js';
import type { Runtime } from '../runtime.js';

const GIB = 1024 ** 3;
/** One `volume read` returns at most this much (it is held in memory, and printed as base64 without --out). */
const MAX_READ_BYTES = 256 * 2 ** 20;

/** --offset and --length: whole byte counts, 0 or more (yargs gives NaN for "abc"). */
function byteCount(flag: string, value: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new UsageError(`--${flag} must be a whole number of bytes, 0 or more (got ${value})`);
  if (value > max) throw new UsageError(`--${flag} ${value} is more than one read returns (${max} bytes): read in parts, or use ebsim volume export`);
  return value;
}

/** The volume's size in bytes, read without a trail record (the user asked for host-side I/O). */
function volumeBytes(r: Runtime, volumeId: string): number {
  return r.open().ec2().volume(volumeId).sizeGiB * GIB;
}

/** Refuses an export target that cannot be written before any key is decrypted. */
function checkWritableTarget(out: string): void {
  const path = resolve(out);
  let reason: string | undefined;
  try {
    if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) reason = 'it is a directory';
    else accessSync(dirname(path), constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    reason = code === 'ENOENT' ? `the directory ${dirname(path)} does not exist` : code === 'EROFS' ? 'the file system is read-only' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
  }
  if (reason) throw new UserError(`cannot export to ${out}: ${reason}; name a file in a writable directory`);
}

/** The volume's plaintext data key, decrypted by its instance's role; null for an unencrypted volume. */
function dataKeyFor(r: Runtime, volume: Volume): Buffer | null {
  return volume.encrypted ? r.open().ec2().decryptDataKey(volume) : null;
}

/** Attaches the volume to --instance when it is not attached yet. */
function ensureAttached(r: Runtime, volumeId: string, instanceId: string | undefined): Volume {
  const ec2 = r.open().ec2();
  let v = ec2.volume(volumeId);
  if (instanceId && v.instanceId && v.instanceId !== instanceId) throw new UserError(`${volumeId} is attached to ${v.instanceId}, not ${instanceId}`);
  if (!v.instanceId) {
    if (!instanceId) throw new UserError(`${volumeId} is not attached to an instance: pass --instance INSTANCE-ID (or run ebsim ec2 attach-volume)`);
    // The instance's free device names, read without a DescribeVolumes record: the user asked to mount.
    const taken = ec2.volumesQuietly().filter((x) => x.instanceId === instanceId).map((x) => x.device);
    const device = 'fghijklmnop'.split('').map((c) => `/dev/sd${c}`).find((d) => !taken.includes(d))!;
    ec2.attachVolume(r.caller(), { VolumeId: volumeId, InstanceId: instanceId, Device: device });
    v = ec2.volume(volumeId);
  }
  return v;
}

async function withDevice<T>(r: Runtime, volumeId: string, instance: string | undefined, fn: (dev: ReturnType<typeof openVolumeDevice>) => Promise<T>): Promise<T> {
  const v = ensureAttached(r, volumeId, instance);
  const image = r.open().ec2().imagePath(v.volumeId);
  // Two writers on one image (the FUSE daemon and us, or two of us) would corrupt it: take the
  // image's writer lock, which a mount's daemon holds for its whole life, before the data key.
  const lock = lockImage(v.volumeId, image);
  try {
    const key = dataKeyFor(r, v);
    const dev = openVolumeDevice(image, v.sizeGiB * GIB, key);
    key?.fill(0);
    try {
      return await fn(dev);
    } finally {
      await dev.close();
    }
  } finally {
    lock.release();
  }
}

export function volumeCommand(y: Argv, rt: () => Runtime) {
  return y.command('volume', 'Mount, inspect and use volumes as the instance\'s host', (c) =>
    c
      .command(
        'mount <volume-id> <mountpoint>',
        'Decrypt the data key as the instance\'s role, serve the decrypted device over FUSE, losetup, mkfs.ext4 on first use, mount',
        (o) =>
          o
            .positional('volume-id', { type: 'string', demandOption: true })
            .positional('mountpoint', { type: 'string', demandOption: true })
            .option('instance', { type: 'string', describe: 'attach to this instance first if needed' })
            .option('format', { choices: ['ext4', 'none'] as const, default: 'ext4' as const })
            .option('foreground', { type: 'boolean', default: false }),
        async (a) => {
          const r = rt();
          const v = ensureAttached(r, a['volume-id'], a.instance);
          // mountVolume wants 64 bytes even in pass-through mode, where they are never used.
          const key = dataKeyFor(r, v) ?? Buffer.alloc(64);
          try {
            const m = await mountVolume({
              volumeId: v.volumeId, imagePath: r.open().ec2().imagePath(v.volumeId), sizeBytes: v.sizeGiB * GIB, key,
              mountpoint: a.mountpoint, stateDir: r.open().paths.run, format: a.format, foreground: a.foreground, passThrough: !v.encrypted,
            });
            r.print({ VolumeId: m.volumeId, InstanceId: v.instanceId, Mountpoint: m.mountpoint, LoopDevice: m.loopDevice, DaemonPid: m.daemonPid, Engine: m.codec, Log: m.logPath });
            if (a.foreground && m.daemon) {
              // Ctrl-C in the foreground undoes every step, then waits for the daemon's final flush.
              // If ext4 cannot be unmounted (busy), say so and keep serving: killing the daemon would lose data.
              const stop = () => void unmountVolume(v.volumeId, r.open().paths.run).catch((err: Error) => r.io.err(`ebsim: ${err.message}`));
              process.once('SIGINT', stop);
              process.once('SIGTERM', stop);
              await new Promise((res) => m.daemon!.once('exit', res));
            }
          } finally {
            key.fill(0);
          }
        },
      )
      .command(
        'unmount <volume-id>',
        'Unmount, detach the loop device, stop the daemon (flushing everything)',
        (o) =>
          o
            .positional('volume-id', { type: 'string', demandOption: true })
            .option('force', { type: 'boolean', default: false, describe: 'for a stopped or hung daemon: abort its FUSE connection, kill it, detach lazily (unflushed writes are lost)' }),
        async (a) => {
          const r = rt();
          await unmountVolume(a['volume-id'], r.open().paths.run, { force: a.force });
          r.print({ VolumeId: a['volume-id'], Unmounted: true });
        },
      )
      .command('status', 'What is mounted where, and whether every piece is healthy', (o) => o.option('cleanup', { type: 'boolean', describe: 'clean up what a crash left behind' }), async (a) => {
        const r = rt();
        const cleaned = a.cleanup ? await cleanupStale(r.open().paths.run) : [];
        const st = await volumeStatus(r.open().paths.run);
        r.print({ Volumes: st.map((s) => ({ VolumeId: s.volumeId, Mountpoint: s.state.mountpoint, LoopDevice: s.state.loopDevice, DaemonPid: s.state.daemonPid, DaemonPids: s.daemonPids, Healthy: s.healthy, Problems: s.problems })), ...(a.cleanup ? { CleanedUp: cleaned } : {}) });
      })
      .command('inspect <volume-id>', 'What an auditor needs to check the encryption independently', (o) => o.positional('volume-id', { type: 'string', demandOption: true }), (a) => {
        const r = rt();
        const v = r.open().ec2().volume(a['volume-id']);
        r.print({
          VolumeId: v.volumeId, BackingImage: r.open().ec2().imagePath(v.volumeId), SizeBytes: v.sizeGiB * GIB, SectorSize: v.sectorSize,
          Cipher: v.encrypted ? 'aes-xts-plain64 (AES-256-XTS, tweak = 4096-byte sector number, little-endian)' : 'none',
          Encrypted: v.encrypted, KmsKeyId: v.kmsKeyArn, EncryptionContext: v.encrypted ? { 'aws:ebs:id': v.volumeId } : null,
          EncryptedDataKey: v.encryptedDataKey ? v.encryptedDataKey.toString('base64') : null, InstanceId: v.instanceId,
        });
      })
      .command(
        'read <volume-id>',
        'Read bytes through the in-process block device (no FUSE or root needed)',
        (o) => o.positional('volume-id', { type: 'string', demandOption: true }).option('offset', { type: 'number', default: 0 }).option('length', { type: 'number', demandOption: true }).option('out', { type: 'string', describe: 'write to a file instead of stdout (base64)' }).option('instance', { type: 'string' }),
        async (a) => {
          const r = rt();
          const offset = byteCount('offset', a.offset);
          const length = byteCount('length', a.length, MAX_READ_BYTES);
          const size = volumeBytes(r, a['volume-id']);
          if (offset > size) throw new UsageError(`--offset ${offset} is past the end of the ${size}-byte volume ${a['volume-id']}`);
          const data = await withDevice(r, a['volume-id'], a.instance, (dev) => dev.read(offset, length));
          if (a.out) writeFileSync(a.out, data);
          else r.print({ Offset: offset, Length: data.length, Data: data });
        },
      )
      .command(
        'write <volume-id>',
        'Write bytes through the in-process block device',
        (o) => o.positional('volume-id', { type: 'string', demandOption: true }).option('offset', { type: 'number', default: 0 }).option('data', { type: 'string', describe: 'base64' }).option('file', { type: 'string' }).option('instance', { type: 'string' }),
        async (a) => {
          const r = rt();
          if ((a.data === undefined) === (a.file === undefined)) throw new UsageError('pass exactly one of --data BASE64 or --file PATH');
          const offset = byteCount('offset', a.offset);
          const size = volumeBytes(r, a['volume-id']);
          const room = Math.max(0, size - offset);
          // One byte more than fits is enough to refuse: /dev/zero or a huge file is never read whole.
          const bytes = a.file ? readParamFile('file', a.file, a.file, room + 1) : Buffer.from(a.data!, 'base64');
          if (bytes.length > room) {
            const what = a.file ? `${a.file} holds more than ${room} bytes` : `--data holds ${bytes.length} bytes`;
            throw new UsageError(`${what}: written at --offset ${offset}, that passes the end of the ${size}-byte volume ${a['volume-id']}`);
          }
          const n = await withDevice(r, a['volume-id'], a.instance, async (dev) => {
            const w = await dev.write(offset, bytes);
            await dev.flush();
            return w;
          });
          r.print({ Offset: offset, BytesWritten: n });
        },
      )
      .command(
        'export <volume-id> <out>',
        'Decrypt a whole volume to a plain (sparse) image',
        (o) => o.positional('volume-id', { type: 'string', demandOption: true }).positional('out', { type: 'string', demandOption: true }).option('instance', { type: 'string' }),
        async (a) => {
          const r = rt();
          checkWritableTarget(a.out);
          const tty = process.stderr.isTTY && !process.env.CI;
          await withDevice(r, a['volume-id'], a.instance, (dev) =>
            exportVolume(dev, a.out, tty ? (done, total) => process.stderr.write(`\r${progressBar(done, total)}`) : undefined),
          );
          if (tty) process.stderr.write('\n');
          r.print({ VolumeId: a['volume-id'], Exported: a.out });
        },
      )
      .command(
        'prefill <volume-id>',
        'Write encrypted zeros into every never-written sector, so the image no longer shows which sectors hold data',
        (o) => o.positional('volume-id', { type: 'string', demandOption: true }).option('instance', { type: 'string' }),
        async (a) => {
          const r = rt();
          const image = r.open().ec2().imagePath(a['volume-id']);
          const tty = process.stderr.isTTY && !process.env.CI;
          const result = await withDevice(r, a['volume-id'], a.instance, (dev) =>
            prefillVolume(dev, image, tty ? (done, total) => process.stderr.write(`\r${progressBar(done, total)}`) : undefined),
          );
          if (tty) process.stderr.write('\n');
          r.print({ VolumeId: a['volume-id'], SectorsFilled: result.sectorsFilled });
        },
      )
      .command('cleanup', 'Clean up mounts, loop devices and daemons a crash left behind', (o) => o, async () => {
        const r = rt();
        r.print({ CleanedUp: await cleanupStale(r.open().paths.run) });
      })
      .demandCommand(1, 'Name a volume command (see --help)'),
  );
}

export function progressBar(done: number, total: number, width = 30): string {
  const f = total ? done / total : 1;
  const n = Math.round(f * width);
  return `[${'#'.repeat(n)}${'.'.repeat(width - n)}] ${(f * 100).toFixed(0).padStart(3)}%  ${(done / 2 ** 20).toFixed(0)}/${(total / 2 ** 20).toFixed(0)} MiB`;
}
