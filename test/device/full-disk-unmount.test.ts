// Issue 11, item 3, end to end: a volume mounted from a home that then fills up can still be
// taken down. `volume status` sees it and `volume unmount` unmounts ext4, detaches the loop
// device and stops the daemon without writing to the database first; the files written before
// the disk filled are intact after a remount. Real tmpfs, real FUSE mount, real processes.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { listDaemons, listLoopDevices, readMounts } from '../../src/device/host.js';
import { runEbsim, type RunResult } from '../helpers/cli.js';
import { tempDir } from './helpers.js';
import { describeRealMount, leftovers, tearDownAll } from './real-mount.js';

describeRealMount('a mounted volume whose home fills up', () => {
  let root: string;
  let home: string;
  let tmpfsMounted = false;
  const ebsim = (...args: string[]): Promise<RunResult> => runEbsim([...args, '--home', home]);
  const json = (r: RunResult) => {
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as Record<string, any>;
  };

  beforeAll(() => {
    root = tempDir('ebsim-fullmount-');
    // Room for the database, the daemon's log and ext4's metadata on a sparse 1 GiB image.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', root]);
    tmpfsMounted = true;
    home = path.join(root, 'home');
  });
  afterAll(async () => {
    if (!tmpfsMounted) return;
    fs.rmSync(path.join(root, 'fill'), { force: true });
    await tearDownAll(path.join(home, 'run'));
    const left = leftovers(root).filter((l) => l !== `mount tmpfs on ${root}`); // the test's own tmpfs aside
    execFileSync('umount', [root]);
    fs.rmdirSync(root);
    expect(left).toEqual([]);
  });

  it('status and unmount work on the full disk, and the data written before it filled survives', async () => {
    json(await ebsim('init'));
    const out = json(await ebsim('ec2', 'run-instances', '--image-id', 'ami-12345678', '--instance-type', 't3.micro', '--block-device-mappings', JSON.stringify([{ DeviceName: '/dev/sdb', Ebs: { VolumeSize: 1, Encrypted: true } }])));
    const v = out.Instances[0].BlockDeviceMappings.find((m: { DeviceName: string }) => m.DeviceName === '/dev/sdb').Ebs.VolumeId as string;
    const mnt = path.join(root, 'mnt');
    const m = json(await ebsim('volume', 'mount', v, mnt)) as { LoopDevice: string; DaemonPid: number };
    fs.writeFileSync(path.join(mnt, 'before-full.txt'), 'written before the disk filled\n');
    execFileSync('sync');

    // Fill the file system holding the home: the database cannot grow, nothing can be created.
    expect(() => fs.writeFileSync(path.join(root, 'fill'), Buffer.alloc(64 << 20))).toThrow(/ENOSPC/);
    const listKeys = await ebsim('kms', 'list-keys');
    expect(listKeys.code).toBe(1);
    expect(listKeys.stderr).toContain('no space left on the device holding $EBSIM_HOME');

    const st = json(await ebsim('volume', 'status'));
    expect(st.Volumes).toEqual([expect.objectContaining({ VolumeId: v, Healthy: true, DaemonPids: [m.DaemonPid] })]);
    const un = await ebsim('volume', 'unmount', v);
    expect(un.stderr).not.toMatch(/SqliteError|disk I\/O error|internal error|\n\s+at /);
    expect(un.code, un.stderr).toBe(0);
    expect(listDaemons().filter((d) => d.volumeId === v)).toEqual([]);
    expect(listLoopDevices().filter((l) => l.device === m.LoopDevice && l.backingFile.includes(v))).toEqual([]);
    expect(readMounts().filter((x) => x.target === mnt)).toEqual([]);

    // With space again, the volume mounts and holds what was written before the disk filled.
    fs.rmSync(path.join(root, 'fill'), { force: true });
    json(await ebsim('volume', 'mount', v, mnt));
    expect(fs.readFileSync(path.join(mnt, 'before-full.txt'), 'utf8')).toBe('written before the disk filled\n');
    json(await ebsim('volume', 'unmount', v));
  });
});
