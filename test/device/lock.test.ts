// The exclusive lock behind "one writer per image": refused across processes and within one,
// named in /proc/locks, released by the kernel when its holder dies (kill -9 included). No root
// or FUSE needed, so these run everywhere.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { waitFor } from '../../src/device/host.js';
import { ExclusiveLock, imageLockFile, lockHolder } from '../../src/device/lock.js';
import { deleteImage } from '../../src/device/image-store.js';
import { makeHome } from '../helpers/home.js';
import { Ec2Store } from '../../src/ec2/store.js';
import { REPO, runEbsim } from '../helpers/cli.js';
import { tempDir } from './helpers.js';

/** Another process that takes the lock on `file` and holds it until killed. */
async function holder(file: string): Promise<ChildProcess> {
  const lockModule = path.join(REPO, 'dist/src/device/lock.js');
  const child = spawn(process.execPath, ['-e', `import(${JSON.stringify(lockModule)}).then((m) => { if (!m.ExclusiveLock.tryAcquire(${JSON.stringify(file)})) process.exit(3); process.stdout.write('held\\n'); setInterval(() => {}, 1 << 30); })`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`lock holder exited ${code}`)));
  });
  return child;
}

const exited = (c: ChildProcess) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r)));

describe('ExclusiveLock', () => {
  let dir: string;
  const children: ChildProcess[] = [];
  beforeAll(() => {
    dir = tempDir('ebsim-lock-');
  });
  afterEach(async () => {
    for (const c of children.splice(0)) {
      c.kill('SIGKILL');
      await exited(c);
    }
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is refused to a second taker in the same process until released', () => {
    const file = path.join(dir, 'same.lock');
    const a = ExclusiveLock.tryAcquire(file);
    expect(a).not.toBeNull();
    expect(ExclusiveLock.tryAcquire(file)).toBeNull();
    expect(lockHolder(file)).toBe(process.pid);
    a!.release();
    expect(lockHolder(file)).toBeNull();
    const b = ExclusiveLock.tryAcquire(file);
    expect(b).not.toBeNull();
    b!.release();
  });

  it('is refused to other processes, names its holder, and dies with a holder killed by SIGKILL', async () => {
    const file = path.join(dir, 'cross.lock');
    const child = await holder(file);
    children.push(child);
    expect(ExclusiveLock.tryAcquire(file)).toBeNull();
    expect(lockHolder(file)).toBe(child.pid);
    child.kill('SIGKILL');
    await exited(child);
    await waitFor('the kernel to drop the lock', () => lockHolder(file) === null, 5_000);
    const mine = ExclusiveLock.tryAcquire(file);
    expect(mine).not.toBeNull();
    mine!.release();
  });

  it('goes with a deleted image when free; held by another process, its file stays under its holder (no second lock file beside it)', async () => {
    const image = path.join(dir, 'vol-0123456789abcdef0.img');
    const lockFile = imageLockFile(image);
    fs.writeFileSync(image, '');
    ExclusiveLock.tryAcquire(lockFile)!.release();
    deleteImage(image);
    expect([fs.existsSync(image), fs.existsSync(lockFile)]).toEqual([false, false]);

    fs.writeFileSync(image, '');
    const child = await holder(lockFile);
    children.push(child);
    deleteImage(image);
    expect(fs.existsSync(image)).toBe(false);
    // The same file, still held: a new taker is refused rather than handed a fresh file.
    expect(lockHolder(lockFile)).toBe(child.pid);
    expect(ExclusiveLock.tryAcquire(lockFile)).toBeNull();
    child.kill('SIGKILL');
    await exited(child);
    await waitFor('the kernel to drop the lock', () => lockHolder(lockFile) === null, 5_000);
    deleteImage(image);
    expect(fs.existsSync(lockFile)).toBe(false);
  });

  it('DeleteVolume and DeleteSnapshot leave no lock file in the home', () => {
    const h = makeHome('ebsim-h26-delete-lock-');
    try {
      const alice = h.app.as('Alice');
      const ec2 = h.app.ec2();
      const vol = ec2.createVolume(alice, { Size: 1, Encrypted: true }).VolumeId as string;
      const snap = (ec2.createSnapshot(alice, { VolumeId: vol }) as { SnapshotId: string }).SnapshotId;
      for (const id of [vol, snap]) expect(fs.existsSync(imageLockFile(ec2.imagePath(id))), id).toBe(true); // their makers'
      ec2.deleteSnapshot(alice, { SnapshotId: snap });
      ec2.deleteVolume(alice, { VolumeId: vol });
      for (const id of [vol, snap]) expect([fs.existsSync(ec2.imagePath(id)), fs.existsSync(imageLockFile(ec2.imagePath(id)))], id).toEqual([false, false]);
      const left = (d: string) => fs.readdirSync(path.dirname(ec2.imagePath(d)));
      expect([...left(vol), ...left(snap)]).toEqual([]);
      // A lock file a delete had to leave (its lock held then), or one from before deletes took
      // them: the next delete's orphan sweep removes it, and never a live volume's.
      const kept = ec2.createVolume(alice, { Size: 1 }).VolumeId as string;
      const stale = ec2.createVolume(alice, { Size: 1 }).VolumeId as string;
      new Ec2Store(h.app.db, '123456789012', 'us-east-1').updateVolume(stale, { state: 'deleted' });
      fs.rmSync(ec2.imagePath(stale));
      expect(fs.existsSync(imageLockFile(ec2.imagePath(stale)))).toBe(true);
      ec2.deleteVolume(alice, { VolumeId: ec2.createVolume(alice, { Size: 1 }).VolumeId as string });
      expect(fs.existsSync(imageLockFile(ec2.imagePath(stale)))).toBe(false);
      expect(fs.existsSync(imageLockFile(ec2.imagePath(kept)))).toBe(true);
    } finally {
      h.cleanup();
    }
  });

  it('makes CreateSnapshot refuse (IncorrectState) while another process has the image open, and succeed after', async () => {
    const home = path.join(dir, 'home');
    const io = { out: [] as string[], err: [] as string[] };
    const ebsim = async (...args: string[]) => {
      io.out.length = 0;
      io.err.length = 0;
      const code = await main([...args, '--home', home], { out: (t) => io.out.push(t), err: (t) => io.err.push(t) });
      return { code, json: () => JSON.parse(io.out.join('\n')) as Record<string, any>, stderr: io.err.join('\n') };
    };
    expect((await ebsim('init')).code).toBe(0);
    const vol = (await ebsim('ec2', 'create-volume', '--size', '1', '--encrypted')).json().VolumeId as string;
    const child = await holder(imageLockFile(path.join(home, 'volumes', `${vol}.img`)));
    children.push(child);
    const refused = await ebsim('ec2', 'create-snapshot', '--volume-id', vol);
    expect(refused.code).toBe(254);
    expect(refused.stderr).toContain(`An error occurred (IncorrectState) when calling the CreateSnapshot operation: The volume '${vol}' is open for writing on its host (pid ${child.pid})`);
    child.kill('SIGKILL');
    await exited(child);
    const ok = await ebsim('ec2', 'create-snapshot', '--volume-id', vol);
    expect(ok.code).toBe(0);
    expect(ok.json().SnapshotId).toMatch(/^snap-/);
  });

  it('lets one in-process `volume` command at a time have an image: a write during a prefill is refused, naming it', async () => {
    const home = path.join(dir, 'home2');
    const cli = (...args: string[]) => runEbsim([...args, '--home', home]);
    expect((await cli('init')).code).toBe(0);
    const run = JSON.parse((await cli('ec2', 'run-instances', '--image-id', 'ami-12345678', '--instance-type', 't3.micro', '--block-device-mappings', JSON.stringify([{ DeviceName: '/dev/sdb', Ebs: { VolumeSize: 1, Encrypted: true } }]))).stdout);
    const vol = run.Instances[0].BlockDeviceMappings.find((m: { DeviceName: string }) => m.DeviceName === '/dev/sdb').Ebs.VolumeId as string;
    const prefill = cli('volume', 'prefill', vol);
    const lock = imageLockFile(path.join(home, 'volumes', `${vol}.img`));
    await waitFor('prefill to hold the image', () => lockHolder(lock) !== null, 10_000);
    const write = await cli('volume', 'write', vol, '--offset', '0', '--data', 'aGVsbG8=');
    expect(write.code).toBe(1);
    expect(write.stderr).toMatch(new RegExp(`^ebsim: ${vol} is in use by another process \\(pid \\d+, ebsim volume prefill\\); wait for it to finish, then retry\n$`));
    expect((await prefill).code).toBe(0);
    expect((await cli('volume', 'write', vol, '--offset', '0', '--data', 'aGVsbG8=')).code).toBe(0);
    expect(JSON.parse((await cli('volume', 'read', vol, '--offset', '0', '--length', '5')).stdout).Data).toBe('aGVsbG8=');
  }, 60_000);
});
