// The 16 TiB volume (EBS gp3's largest) timed step by step, as test/host/huge-volume.test.ts
// checks it: create, mount (mkfs.ext4 with the tables assumed zeroed, through FUSE and a loop
// device), write and read back the last sector, unmount, read it in process, snapshot, delete.
// On a tmpfs home of its own: ext4 holds files up to 16 TiB - 4 KiB (the ext4 home's answer,
// InsufficientVolumeCapacity, is timed too). Needs root and FUSE; says why when it cannot run.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { initHome, openEbsim, type Ebsim } from '../../src/app/ebsim.js';
import { findMissingPrerequisite } from '../../src/device/prerequisites.js';
import type { BenchContext, BenchRow } from '../harness.js';

const GIB = 1024 ** 3;
const SIZE_GIB = 16384;
const SIZE = SIZE_GIB * GIB;
const SECTOR = 4096;

const allocated = (p: string) => fs.statSync(p).blocks * 512;
const rssOf = (pid: number) => Number(/^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

/** Rows of step timings, or a reason it could not run. */
export async function hugeVolumeTimings(ctx: BenchContext): Promise<{ rows: BenchRow[]; notes: string[] }> {
  const missing = findMissingPrerequisite();
  if (missing) return { rows: [], notes: [`16 TiB volume not measured: ${missing.message}`] };
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  const step = async <T>(name: string, fn: () => T | Promise<T>, extra: Partial<BenchRow> = {}): Promise<T> => {
    ctx.log(`16 TiB volume: ${name}…`);
    const t0 = performance.now();
    const r = await fn();
    rows.push({ curve: '16 TiB volume', size: '16384 GiB', measure: name, value: performance.now() - t0, unit: 'ms', ...extra });
    return r;
  };

  // On the machine's own temp directory first: where ext4 refuses, the refusal is the answer.
  const plainHome = fs.mkdtempSync(path.join(tmpdir(), 'ebsim-bench-scale-ext4-'));
  try {
    initHome(plainHome);
    const app = openEbsim(plainHome);
    try {
      await step('CreateVolume 16384 GiB on this machine\'s temp directory', () => {
        try {
          app.ec2().createVolume(app.as('Alice'), { Size: SIZE_GIB, Encrypted: true, VolumeType: 'gp3' });
          return notes.push(`${tmpdir()} holds a 16 TiB sparse file`);
        } catch (err) {
          return notes.push(`on ${tmpdir()}: ${(err as { code?: string }).code}: ${(err as Error).message}`);
        }
      });
    } finally {
      app.close();
    }
  } finally {
    fs.rmSync(plainHome, { recursive: true, force: true });
  }

  const root = fs.mkdtempSync(path.join(tmpdir(), 'ebsim-bench-scale-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2g,mode=0700', 'ebsim-bench-scale', root]);
  let app: Ebsim | undefined;
  try {
    const home = path.join(root, 'home');
    initHome(home);
    app = openEbsim(home);
    const alice = app.as('Alice');
    const ec2 = app.ec2();
    const host = app.host();
    const instanceId = (ec2.runInstances(alice, { ImageId: 'ami-12345678', InstanceType: 't3.micro' }).Instances as { InstanceId: string }[])[0]!.InstanceId;
    const vol = await step('CreateVolume 16384 GiB (tmpfs home)', () => ec2.createVolume(alice, { Size: SIZE_GIB, Encrypted: true, VolumeType: 'gp3' }) as { VolumeId: string });
    const image = host.imagePath(vol.VolumeId);
    const mnt = path.join(home, 'mnt');
    await step('mount: attach, Decrypt, daemon, loop, mkfs.ext4, mount', () => host.mount(alice, { volumeId: vol.VolumeId, instanceId, mountpoint: mnt, format: 'ext4' }));
    const status = (await host.status()).volumes.find((v) => v.volumeId === vol.VolumeId)!;
    const loop = status.state.loopDevice!;
    rows.push({ curve: '16 TiB volume', size: '16384 GiB', measure: 'image allocated after mkfs (ext4 metadata)', value: allocated(image) / 2 ** 20, unit: 'MiB' });
    const plain = randomBytes(SECTOR);
    const pattern = path.join(root, 'pattern');
    fs.writeFileSync(pattern, plain);
    await step('write the last sector through the loop device (O_DIRECT)', () =>
      execFileSync('dd', [`if=${pattern}`, `of=${loop}`, 'bs=4096', `seek=${SIZE / SECTOR - 1}`, 'count=1', 'oflag=direct', 'conv=notrunc', 'status=none']));
    const back = path.join(root, 'back');
    await step('read it back through the loop device (O_DIRECT)', () => execFileSync('dd', [`if=${loop}`, `of=${back}`, 'bs=4096', `skip=${SIZE / SECTOR - 1}`, 'count=1', 'iflag=direct', 'status=none']));
    if (!fs.readFileSync(back).equals(plain)) throw new Error('the last sector did not read back as written');
    rows.push({ curve: '16 TiB volume', size: '16384 GiB', measure: 'device daemon resident memory', value: rssOf(status.state.daemonPid!) / 2 ** 20, unit: 'MiB' });
    await step('unmount', () => host.unmount(vol.VolumeId));
    const inProcess = await step('read the last sector in process', () => host.read(alice, vol.VolumeId, SIZE - SECTOR, SECTOR));
    if (!inProcess.equals(plain)) throw new Error('the last sector did not decrypt in process to what was written');
    await step('mount again (file system found, no mkfs)', () => host.mount(alice, { volumeId: vol.VolumeId, mountpoint: mnt, format: 'none' }));
    await step('unmount', () => host.unmount(vol.VolumeId));
    const snap = await step('CreateSnapshot (copy of the data extents)', () => ec2.createSnapshot(alice, { VolumeId: vol.VolumeId }) as { SnapshotId: string });
    rows.push({ curve: '16 TiB volume', size: '16384 GiB', measure: 'snapshot image allocated', value: allocated(host.imagePath(snap.SnapshotId)) / 2 ** 20, unit: 'MiB' });
    ec2.deleteSnapshot(alice, { SnapshotId: snap.SnapshotId });
    ec2.detachVolume(alice, { VolumeId: vol.VolumeId });
    await step('DeleteVolume', () => ec2.deleteVolume(alice, { VolumeId: vol.VolumeId }));
    notes.push('16 TiB volume: `volume export` not timed: it reads every sector (16 TiB) until export skips holes (another branch)');
  } finally {
    if (app) {
      await app.host().cleanup().catch(() => []);
      app.close();
    }
    execFileSync('umount', ['-l', root]);
    fs.rmdirSync(root);
  }
  return { rows, notes };
}
