// One daemon per volume, and status/cleanup from the kernel's tables (issue 11, items 1 and 10):
// real `ebsim` processes racing for one volume, an interrupted mount, a stopped daemon, and the
// one-sentence errors of mount/unmount.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { listDaemons, listLoopDevices, readMounts, waitFor } from '../../src/device/host.js';
import { EBSIM_BIN, runEbsim, type RunResult } from '../helpers/cli.js';
import { tempDir } from './helpers.js';
import { describeRealMount, leftovers, sh, tearDownAll } from './real-mount.js';

describeRealMount('one daemon per volume; status and cleanup from the kernel', () => {
  let root: string;
  let home: string;
  let run: string;
  const ebsim = (...args: string[]): Promise<RunResult> => runEbsim([...args, '--home', home]);
  const json = (r: RunResult) => {
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as Record<string, any>;
  };

  /** A new encrypted 1 GiB volume attached to a new instance. */
  async function newVolume(): Promise<string> {
    const out = json(await ebsim('ec2', 'run-instances', '--image-id', 'ami-12345678', '--instance-type', 't3.micro', '--block-device-mappings', JSON.stringify([{ DeviceName: '/dev/sdb', Ebs: { VolumeSize: 1, Encrypted: true } }])));
    const inst = out.Instances[0];
    return inst.BlockDeviceMappings.find((m: { DeviceName: string }) => m.DeviceName === '/dev/sdb').Ebs.VolumeId as string;
  }

  /** Everything of `volumeId` the kernel shows: daemons, loop devices, file systems on them. */
  function pieces(volumeId: string) {
    const loops = listLoopDevices().filter((l) => l.backingFile.includes(`${volumeId}.fuse`)).map((l) => l.device);
    return {
      daemons: listDaemons().filter((d) => d.volumeId === volumeId).map((d) => d.pid),
      loops,
      fsMounts: readMounts().filter((m) => loops.includes(m.source)).map((m) => m.target),
    };
  }

  const noStackTrace = (stderr: string) => {
    expect(stderr).not.toMatch(/internal error|\n\s+at /);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  };

  beforeAll(async () => {
    root = tempDir('ebsim-hostlock-');
    home = path.join(root, 'home');
    run = path.join(home, 'run');
    json(await ebsim('init'));
  });
  afterEach(async () => {
    await tearDownAll(run);
  });
  afterAll(async () => {
    await tearDownAll(run);
    const left = leftovers(root);
    fs.rmSync(root, { recursive: true, force: true });
    expect(left).toEqual([]);
  });

  it('two `volume mount` of one volume at once: exactly one wins, the loser leaves nothing behind, e2fsck is clean', async () => {
    const v = await newVolume();
    for (let round = 0; round < 4; round++) {
      const [a, b] = await Promise.all([ebsim('volume', 'mount', v, path.join(root, 'mnt-a')), ebsim('volume', 'mount', v, path.join(root, 'mnt-b'))]);
      const winners = [a, b].filter((r) => r.code === 0);
      expect(winners, `round ${round}: ${a.stderr} | ${b.stderr}`).toHaveLength(1);
      const loser = a.code === 0 ? b : a;
      expect(loser.code).toBe(1);
      noStackTrace(loser.stderr);
      expect(loser.stderr).toMatch(new RegExp(`${v} is (being mounted or unmounted by another process|already mounted at)`));
      const mounted = JSON.parse(winners[0]!.stdout) as { Mountpoint: string; LoopDevice: string; DaemonPid: number };
      expect(pieces(v)).toEqual({ daemons: [mounted.DaemonPid], loops: [mounted.LoopDevice], fsMounts: [mounted.Mountpoint] });
      fs.writeFileSync(path.join(mounted.Mountpoint, `round-${round}`), `round ${round} through ${mounted.Mountpoint}\n`);
      const st = json(await ebsim('volume', 'status'));
      expect(st.Volumes).toEqual([expect.objectContaining({ VolumeId: v, Healthy: true, DaemonPids: [mounted.DaemonPid] })]);
      json(await ebsim('volume', 'unmount', v));
      expect(pieces(v)).toEqual({ daemons: [], loops: [], fsMounts: [] });
    }
    const out = path.join(root, 'export.img');
    json(await ebsim('volume', 'export', v, out));
    sh('e2fsck', ['-fn', out]); // exit 0: clean
    fs.rmSync(out);
  }, 120_000);

  it('refuses a mount while an in-process `volume prefill` has the image open, and a snapshot or a write while mounted', async () => {
    const v = await newVolume();
    const prefill = ebsim('volume', 'prefill', v);
    // prefill takes the image's writer lock before its first write; wait for it to hold it.
    const lock = path.join(home, 'volumes', `${v}.img.lock`);
    await waitFor('prefill to hold the image', () => fs.existsSync(lock) && fs.readFileSync('/proc/locks', 'utf8').includes(`:${fs.statSync(lock).ino} `), 10_000);
    const refused = await ebsim('volume', 'mount', v, path.join(root, 'mnt-p'));
    expect(refused.code).toBe(1);
    noStackTrace(refused.stderr);
    expect(refused.stderr).toMatch(new RegExp(`${v} is in use by another process \\(pid \\d+, ebsim volume prefill\\)`));
    expect(pieces(v)).toEqual({ daemons: [], loops: [], fsMounts: [] });
    json(await prefill);

    // Prefilled: every sector written (encrypted zeros), so mkfs is not run over it; attached as it is.
    const unformatted = await ebsim('volume', 'mount', v, path.join(root, 'mnt-p'));
    expect(unformatted.code).toBe(1);
    expect(unformatted.stderr).toMatch(/refusing to mkfs.ext4 over it .*--format none/);
    json(await ebsim('volume', 'mount', v, path.join(root, 'mnt-p'), '--format', 'none'));
    const snap = await ebsim('ec2', 'create-snapshot', '--volume-id', v);
    expect(snap.code).toBe(254);
    expect(snap.stderr).toMatch(/An error occurred \(IncorrectState\) when calling the CreateSnapshot operation: The volume 'vol-[0-9a-f]+' is open for writing/);
    const write = await ebsim('volume', 'write', v, '--offset', '0', '--data', 'aGVsbG8=');
    expect(write.code).toBe(1);
    expect(write.stderr).toMatch(new RegExp(`${v} is mounted \\(pid \\d+, its device daemon\\); unmount it first`));
    // Detaching the volume or terminating its instance would pull the image from under the daemon.
    const instance = json(await ebsim('ec2', 'describe-volumes', '--volume-ids', v)).Volumes[0].Attachments[0].InstanceId as string;
    const detach = await ebsim('ec2', 'detach-volume', '--volume-id', v);
    expect(detach.code).toBe(254);
    expect(detach.stderr).toMatch(/\(IncorrectState\) when calling the DetachVolume operation: The volume 'vol-[0-9a-f]+' is open on its host \(pid \d+\); ebsim detaches only a volume nothing has open/);
    const terminate = await ebsim('ec2', 'terminate-instances', '--instance-ids', instance);
    expect(terminate.code).toBe(254);
    expect(terminate.stderr).toContain('(IncorrectState) when calling the TerminateInstances operation');
    expect(json(await ebsim('ec2', 'describe-instances', '--instance-ids', instance)).Reservations[0].Instances[0].State.Name).toBe('running');
    expect(json(await ebsim('volume', 'status')).Volumes).toEqual([expect.objectContaining({ VolumeId: v, Healthy: true })]);
    json(await ebsim('volume', 'unmount', v));
    json(await ebsim('ec2', 'create-snapshot', '--volume-id', v));
    json(await ebsim('ec2', 'terminate-instances', '--instance-ids', instance));
  }, 120_000);

  it('finds a mount interrupted between losetup and mount: status says so, cleanup removes every piece, a new mount succeeds', async () => {
    const v = await newVolume();
    // Its own process group, like a command in a terminal, so that Ctrl-C-like SIGKILL takes the
    // CLI and its mkfs.ext4 together (the daemon has a group of its own, as always).
    // A mkfs.ext4 that never finishes holds the CLI between losetup and mount, so the kill lands
    // there on any machine, however fast the real mkfs would be.
    const shim = path.join(root, 'slow-mkfs');
    fs.mkdirSync(shim, { recursive: true });
    fs.writeFileSync(path.join(shim, 'mkfs.ext4'), '#!/bin/sh\nexec sleep 60\n', { mode: 0o755 });
    const env = { ...process.env, PATH: `${shim}:${process.env.PATH}` };
    const cli = spawn(process.execPath, [EBSIM_BIN, 'volume', 'mount', v, path.join(root, 'mnt-i'), '--home', home], { detached: true, stdio: 'ignore', env });
    try {
      await waitFor('the loop device', () => pieces(v).loops.length > 0, 30_000);
      process.kill(-cli.pid!, 'SIGKILL');
    } finally {
      await new Promise((r) => (cli.exitCode !== null || cli.signalCode !== null ? r(null) : cli.once('exit', r)));
    }
    const left = pieces(v);
    expect(left.daemons).toHaveLength(1);
    expect(left.loops).toHaveLength(1);
    expect(left.fsMounts).toEqual([]);

    const st = json(await ebsim('volume', 'status'));
    expect(st.Volumes).toEqual([expect.objectContaining({ VolumeId: v, Healthy: false, Problems: expect.arrayContaining([expect.stringMatching(/interrupted/)]) })]);
    expect(json(await ebsim('volume', 'cleanup')).CleanedUp).toEqual([v]);
    expect(pieces(v)).toEqual({ daemons: [], loops: [], fsMounts: [] });
    expect(leftovers(run)).toEqual([]);
    json(await ebsim('volume', 'mount', v, path.join(root, 'mnt-i')));
    expect(json(await ebsim('volume', 'status')).Volumes).toEqual([expect.objectContaining({ VolumeId: v, Healthy: true })]);
  }, 120_000);

  it('a stopped daemon hangs neither status nor unmount: they say so, and unmount --force undoes everything', async () => {
    const v = await newVolume();
    const m = json(await ebsim('volume', 'mount', v, path.join(root, 'mnt-s')));
    fs.writeFileSync(path.join(m.Mountpoint, 'f'), 'x'); // dirty pages in ext4 over the stopped device
    process.kill(m.DaemonPid, 'SIGSTOP');
    try {
      const t0 = Date.now();
      const st = json(await ebsim('volume', 'status'));
      expect(st.Volumes).toEqual([expect.objectContaining({ VolumeId: v, Healthy: false, Problems: expect.arrayContaining([expect.stringMatching(new RegExp(`device daemon ${m.DaemonPid} is stopped`))]) })]);
      const un = await ebsim('volume', 'unmount', v);
      expect(un.code).toBe(1);
      noStackTrace(un.stderr);
      expect(un.stderr).toMatch(new RegExp(`device daemon \\(pid ${m.DaemonPid}\\) of ${v} is stopped .*ebsim volume unmount ${v} --force`));
      expect(Date.now() - t0).toBeLessThan(20_000);
      json(await ebsim('volume', 'unmount', v, '--force'));
    } finally {
      try {
        process.kill(m.DaemonPid, 'SIGCONT');
      } catch {
        // killed by --force
      }
    }
    expect(pieces(v)).toEqual({ daemons: [], loops: [], fsMounts: [] });
    expect(json(await ebsim('volume', 'status')).Volumes).toEqual([]);
  }, 120_000);

  it('finds the loop device and ext4 mount of a FUSE mount detached by hand (fusermount -uz), and cleanup removes them and the daemon', async () => {
    const v = await newVolume();
    const m = json(await ebsim('volume', 'mount', v, path.join(root, 'mnt-d')));
    fs.writeFileSync(path.join(m.Mountpoint, 'kept'), 'written before the detach\n');
    sh('fusermount', ['-u', '-z', path.join(run, `${v}.fuse`)]);
    expect(fs.readFileSync(`/sys/block/${path.basename(m.LoopDevice)}/loop/backing_file`, 'utf8').trim()).toBe('/disk');

    const st = json(await ebsim('volume', 'status'));
    expect(st.Volumes).toEqual([expect.objectContaining({ VolumeId: v, LoopDevice: m.LoopDevice, Mountpoint: m.Mountpoint, DaemonPids: [m.DaemonPid], Healthy: false })]);
    const t0 = Date.now();
    expect(json(await ebsim('volume', 'cleanup')).CleanedUp).toEqual([v]);
    expect(Date.now() - t0).toBeLessThan(15_000); // the daemon exits on SIGTERM, not after the SIGKILL deadline
    expect(pieces(v)).toEqual({ daemons: [], loops: [], fsMounts: [] });

    json(await ebsim('volume', 'mount', v, path.join(root, 'mnt-d')));
    expect(fs.readFileSync(path.join(m.Mountpoint, 'kept'), 'utf8')).toBe('written before the detach\n');
  }, 120_000);

  it('mount of a mounted volume, unmount of an unmounted or busy one: one sentence, exit 1, no stack trace', async () => {
    const v = await newVolume();
    const m = json(await ebsim('volume', 'mount', v, path.join(root, 'mnt-e')));
    const again = await ebsim('volume', 'mount', v, path.join(root, 'mnt-e2'));
    expect(again.code).toBe(1);
    noStackTrace(again.stderr);
    expect(again.stderr).toBe(`ebsim: ${v} is already mounted at ${m.Mountpoint}; unmount it first (ebsim volume unmount ${v})\n`);

    const holder = spawn('sleep', ['60'], { cwd: m.Mountpoint, stdio: 'ignore' });
    try {
      const busy = await ebsim('volume', 'unmount', v);
      expect(busy.code).toBe(1);
      noStackTrace(busy.stderr);
      expect(busy.stderr).toMatch(new RegExp(`^ebsim: cannot unmount ${m.Mountpoint}: it is busy .*fuser -vm`));
      expect(pieces(v).fsMounts).toEqual([m.Mountpoint]); // nothing was torn down
    } finally {
      holder.kill('SIGKILL');
      await new Promise((r) => (holder.exitCode !== null || holder.signalCode !== null ? r(null) : holder.once('exit', r)));
    }
    json(await ebsim('volume', 'unmount', v));

    const not = await ebsim('volume', 'unmount', v);
    expect(not.code).toBe(1);
    noStackTrace(not.stderr);
    expect(not.stderr).toBe(`ebsim: ${v} is not mounted (nothing of it is attached on this host); \`ebsim volume status\` lists what is\n`);
  }, 120_000);
});
