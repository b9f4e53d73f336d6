// `ebsim volume …`: the instance host's side (src/host does the work). Mount a volume as a real
// ext4 file system (FUSE block device → loop → ext4), or use the in-process block device where
// FUSE is unavailable.
import type { Argv } from 'yargs';
import { accessSync, constants, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError, UserError } from '../../errors/index.js';
import { readParamFile } from '../input.js';
import { integerFlag } from '../integer-flag.js';
import type { Runtime } from '../runtime.js';
import { terminalProgress } from '../progress.js';
import { verifyVolume } from '../volume-verify.js';

const GIB = 1024 ** 3;
/** One `volume read` returns at most this much (it is held in memory, and printed as base64 without --out). */
const MAX_READ_BYTES = 256 * 2 ** 20;

/** --offset and --length: whole byte counts, 0 or more. */
const byteCount = (flag: string, value: unknown): number => integerFlag(flag, value, { min: 0, max: Number.MAX_SAFE_INTEGER, unit: 'bytes' });
const readLength = (value: unknown): number =>
  integerFlag('length', value, { min: 0, max: MAX_READ_BYTES, unit: 'bytes', why: 'what one read returns: read in parts, or use ebsim volume export' });

/** The caller's volume's size in bytes, read without a trail record (the user asked for host-side I/O). */
function volumeBytes(r: Runtime, volumeId: string): number {
  return r.open().host().volumeFor(() => r.caller(), volumeId).sizeGiB * GIB;
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
          const host = r.open().host();
          const m = await host.mount(() => r.caller(), { volumeId: a['volume-id'], instanceId: a.instance, mountpoint: a.mountpoint, format: a.format, foreground: a.foreground });
          r.print({ VolumeId: m.volumeId, InstanceId: m.instanceId, Mountpoint: m.mountpoint, LoopDevice: m.loopDevice, DaemonPid: m.daemonPid, Engine: m.codec, Log: m.logPath });
          if (a.foreground && m.daemon) {
            // Ctrl-C in the foreground undoes every step, then waits for the daemon's final flush.
            // If ext4 cannot be unmounted (busy), say so and keep serving: killing the daemon would lose data.
            const stop = () => void host.unmount(m.volumeId).catch((err: Error) => r.io.err(`ebsim: ${err.message}`));
            process.once('SIGINT', stop);
            process.once('SIGTERM', stop);
            await new Promise((res) => m.daemon!.once('exit', res));
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
          await r.open().host().unmount(a['volume-id'], { force: a.force });
          r.print({ VolumeId: a['volume-id'], Unmounted: true });
        },
      )
      .command('status', 'What is mounted where, and whether every piece is healthy', (o) => o.option('cleanup', { type: 'boolean', describe: 'clean up what a crash left behind' }), async (a) => {
        const r = rt();
        const { volumes, cleanedUp } = await r.open().host().status({ cleanup: a.cleanup });
        r.print({ Volumes: volumes.map((s) => ({ VolumeId: s.volumeId, Mountpoint: s.state.mountpoint, LoopDevice: s.state.loopDevice, DaemonPid: s.state.daemonPid, DaemonPids: s.daemonPids, Healthy: s.healthy, Problems: s.problems })), ...(a.cleanup ? { CleanedUp: cleanedUp } : {}) });
      })
      .command('inspect <volume-id>', 'What an auditor needs to check the encryption independently', (o) => o.positional('volume-id', { type: 'string', demandOption: true }), (a) => {
        const r = rt();
        const host = r.open().host();
        const v = host.volumeFor(() => r.caller(), a['volume-id']);
        r.print({
          VolumeId: v.volumeId, BackingImage: host.imagePath(v.volumeId), SizeBytes: v.sizeGiB * GIB, SectorSize: v.sectorSize,
          Cipher: v.encrypted ? 'aes-xts-plain64 (AES-256-XTS, tweak = 4096-byte sector number, little-endian)' : 'none',
          Encrypted: v.encrypted, KmsKeyId: v.kmsKeyArn, EncryptionContext: v.encrypted ? { 'aws:ebs:id': v.volumeId } : null,
          EncryptedDataKey: v.encryptedDataKey ? v.encryptedDataKey.toString('base64') : null, InstanceId: v.instanceId,
        });
      })
      .command(
        'read <volume-id>',
        'Read bytes through the in-process block device (no FUSE or root needed)',
        (o) => o.positional('volume-id', { type: 'string', demandOption: true }).option('offset', { type: 'string', default: '0' }).option('length', { type: 'string', demandOption: true }).option('out', { type: 'string', describe: 'write to a file instead of stdout (base64)' }).option('instance', { type: 'string' }),
        async (a) => {
          const r = rt();
          const offset = byteCount('offset', a.offset);
          const length = readLength(a.length);
          const size = volumeBytes(r, a['volume-id']);
          if (offset > size) throw new UsageError(`--offset ${offset} is past the end of the ${size}-byte volume ${a['volume-id']}`);
          const data = await r.open().host().read(() => r.caller(), a['volume-id'], offset, length, a.instance);
          if (a.out) writeFileSync(a.out, data);
          else r.print({ Offset: offset, Length: data.length, Data: data });
        },
      )
      .command(
        'write <volume-id>',
        'Write bytes through the in-process block device',
        (o) => o.positional('volume-id', { type: 'string', demandOption: true }).option('offset', { type: 'string', default: '0' }).option('data', { type: 'string', describe: 'base64' }).option('file', { type: 'string' }).option('instance', { type: 'string' }),
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
          const n = await r.open().host().write(() => r.caller(), a['volume-id'], offset, bytes, a.instance);
          r.print({ Offset: offset, BytesWritten: n });
        },
      )
      .command(
        'export <volume-id> <out>',
        'Decrypt a whole volume to a plain sparse image: only written sectors are read (SEEK_DATA), holes stay holes, memory stays bounded',
        (o) => o.positional('volume-id', { type: 'string', demandOption: true }).positional('out', { type: 'string', demandOption: true }).option('instance', { type: 'string' }),
        async (a) => {
          const r = rt();
          checkWritableTarget(a.out);
          const bar = terminalProgress();
          const x = await r.open().host().export(() => r.caller(), a['volume-id'], a.out, { instanceId: a.instance, onProgress: bar.update }).finally(() => bar.end());
          // What was read and what was skipped: only the image's data extents are decrypted.
          r.print({ VolumeId: a['volume-id'], Exported: a.out, SizeBytes: x.bytesRead + x.bytesSkipped, BytesDecrypted: x.bytesRead, BytesWritten: x.bytesWritten, HoleBytesSkipped: x.bytesSkipped, HolesFoundBy: x.method === 'SEEK_DATA' ? 'lseek SEEK_DATA/SEEK_HOLE' : 'scanning the image for non-zero sectors' });
        },
      )
      .command(
        'verify <volume-id>',
        "Decrypt the volume's sectors from its image with OpenSSL (node:crypto, independent of ebsim's cipher) and count the bytes that match: every written sector against ebsim's decryption, or with --file the file's own sectors against the file",
        (o) =>
          o
            .positional('volume-id', { type: 'string', demandOption: true })
            .option('file', { type: 'string', describe: 'a file on the mounted volume: its sectors (found by filefrag) against its contents read through the mount' })
            .option('instance', { type: 'string' }),
        async (a) => {
          const r = rt();
          const bar = terminalProgress({ after: 300 });
          const report = await verifyVolume(r.open(), () => r.caller(), a['volume-id'], { file: a.file, instanceId: a.instance, onProgress: bar.update }).finally(() => bar.end());
          r.print(report);
          if (!report.Verified) throw new UserError(`verify: ${report.BytesCompared - report.MatchingBytes} of ${report.BytesCompared} bytes differ${report.FirstMismatchAt !== undefined ? ` (first at byte ${report.FirstMismatchAt})` : ''}${report.SectorsChecked === 0 ? ' (no written sector to check)' : ''}`);
        },
      )
      .command(
        'prefill <volume-id>',
        'Write encrypted zeros into every never-written sector, so the image no longer shows which sectors hold data',
        (o) => o.positional('volume-id', { type: 'string', demandOption: true }).option('instance', { type: 'string' }),
        async (a) => {
          const r = rt();
          const bar = terminalProgress();
          const result = await r.open().host().prefill(() => r.caller(), a['volume-id'], { instanceId: a.instance, onProgress: bar.update }).finally(() => bar.end());
          r.print({ VolumeId: a['volume-id'], SectorsFilled: result.sectorsFilled });
        },
      )
      .command('cleanup', 'Clean up mounts, loop devices and daemons a crash left behind', (o) => o, async () => {
        const r = rt();
        r.print({ CleanedUp: await r.open().host().cleanup() });
      })
      .demandCommand(1, 'Name a volume command (see --help)'),
  );
}
