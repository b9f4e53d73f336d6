// `npm run bench -- device --matrix small|full`: fio over block size x queue depth x access
// pattern on the encrypted volume, its pass-through (the same daemon and FUSE path without the
// cipher) and gocryptfs where installed (reported missing otherwise: no figures are made up).
// Every cell runs on every target back to back, in an order that rotates each round.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BenchContext, BenchResult, BenchRow, Matrix, Measurement } from '../harness.js';
import { run as runCommand, which } from '../../src/device/host.js';
import { cleanupStale } from '../../src/device/mount.js';
import { findMissingPrerequisite } from '../../src/device/prerequisites.js';
import { ebsimTarget, fio, GOCRYPTFS, gocryptfsTarget, verify, type Target } from './index.js';

const KiB = 1024;
const MiB = 1 << 20;
export type Mode = 'read' | 'write' | 'randread' | 'randwrite';
export const ENCRYPTED = 'ebsim encrypted';
export const PASS_THROUGH = 'ebsim pass-through';
export const GOCRYPTFS_TARGET = 'gocryptfs';

export interface DevicePlan {
  bs: number[];
  qd: number[];
  modes: Mode[];
  rounds: number;
  seconds: number;
  sizeMiB: number;
}

export const DEVICE_MATRIX: Record<Matrix, DevicePlan> = {
  // About three minutes on two cores: the corners of the full matrix.
  small: { bs: [4 * KiB, 1024 * KiB], qd: [1, 32], modes: ['read', 'write', 'randread', 'randwrite'], rounds: 2, seconds: 1, sizeMiB: 128 },
  full: { bs: [4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, 1024 * KiB], qd: [1, 2, 4, 8, 16, 32], modes: ['read', 'write', 'randread', 'randwrite'], rounds: 3, seconds: 3, sizeMiB: 1024 },
};

/** The plan with EBSIM_BENCH_ROUNDS and EBSIM_BENCH_SECONDS applied. */
export function devicePlan(matrix: Matrix, env: NodeJS.ProcessEnv = process.env): DevicePlan {
  const plan = { ...DEVICE_MATRIX[matrix] };
  const rounds = Number(env.EBSIM_BENCH_ROUNDS);
  const seconds = Number(env.EBSIM_BENCH_SECONDS);
  if (Number.isInteger(rounds) && rounds > 0) plan.rounds = rounds;
  if (Number.isInteger(seconds) && seconds > 0) plan.seconds = seconds;
  return plan;
}

interface Cell {
  mode: Mode;
  bs: number;
  qd: number;
}

export function cellId(target: string, c: Cell): string {
  return `${target} ${c.mode} bs=${c.bs} qd=${c.qd}`;
}

async function fioCell(dir: string, c: Cell, sizeMiB: number, seconds: number): Promise<{ mibps: number; iops: number }> {
  const out = await fio([
    `--name=${c.mode}`, `--filename=${path.join(dir, 'bench.fio')}`, `--size=${sizeMiB}M`, `--rw=${c.mode}`, `--bs=${c.bs}`,
    '--direct=1', '--ioengine=libaio', `--iodepth=${c.qd}`, `--runtime=${seconds}`, '--time_based=1',
    ...(seconds >= 3 ? ['--ramp_time=1'] : []), '--output-format=json', '--randrepeat=0',
  ]);
  type Side = { bw_bytes: number; iops: number };
  const j = JSON.parse(out.slice(out.indexOf('{'))) as { jobs: { read: Side; write: Side }[] };
  const side = c.mode.includes('write') ? j.jobs[0]!.write : j.jobs[0]!.read;
  return { mibps: side.bw_bytes / MiB, iops: side.iops };
}

export async function deviceSweep(ctx: BenchContext, matrix: Matrix): Promise<BenchResult> {
  const missing = findMissingPrerequisite();
  if (missing) return { rows: [], notes: [`skipped: ${missing.message}`], missing: { device: missing.message } };
  if (!which('fio')) return { rows: [], notes: ['skipped: fio is not installed (apt-get install fio)'], missing: { fio: 'not installed' } };
  const plan = devicePlan(matrix);
  const cells: Cell[] = plan.modes.flatMap((mode) => plan.bs.flatMap((bs) => plan.qd.map((qd) => ({ mode, bs, qd }))));
  const volumeBytes = (plan.sizeMiB + 512) * MiB;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ebsim-bench-sweep-'));
  const makers: [string, () => Promise<Target>][] = [
    [ENCRYPTED, () => ebsimTarget(root, ENCRYPTED, null, volumeBytes)],
    [PASS_THROUGH, () => ebsimTarget(root, PASS_THROUGH, 'native', volumeBytes)],
  ];
  const absent: Record<string, string> = {};
  if (which(GOCRYPTFS)) makers.push([GOCRYPTFS_TARGET, () => gocryptfsTarget(root)]);
  else absent[GOCRYPTFS_TARGET] = `${GOCRYPTFS} not found on PATH (apt-get install gocryptfs): reported missing, no figures`;
  const notes = [
    `fio, direct I/O, libaio, a ${plan.sizeMiB} MiB file laid out first on each target; ${plan.seconds} s per cell; ${plan.rounds} rounds (EBSIM_BENCH_ROUNDS, EBSIM_BENCH_SECONDS), each cell on every target back to back in an order rotating each round; figures are medians of rounds`,
    'ebsim rows: loop (--direct-io=on) + ext4 on the FUSE device; pass-through = the same daemon and native sector store without the cipher',
    ...Object.entries(absent).map(([k, v]) => `${k}: ${v}`),
  ];
  const total = makers.length + plan.rounds * cells.length * makers.length;
  let done = 0;
  const step = (label: string) => ctx.progress?.(done++, total, label);
  const targets: Target[] = [];
  const byId = new Map<string, { mibps: Measurement; iops: Measurement }>();
  try {
    for (const [name, make] of makers) {
      step(`${name}: mount, fio --verify, lay out ${plan.sizeMiB} MiB`);
      const t = await make();
      targets.push(t);
      await verify(t.dir);
      await fio([`--name=layout`, `--filename=${path.join(t.dir, 'bench.fio')}`, `--size=${plan.sizeMiB}M`, '--rw=write', '--bs=1M', '--direct=1', '--ioengine=libaio', '--iodepth=4']);
    }
    for (let round = 0; round < plan.rounds; round++) {
      for (const c of cells) {
        for (let i = 0; i < targets.length; i++) {
          const t = targets[(i + round) % targets.length]!;
          step(`round ${round + 1}/${plan.rounds} ${t.name} ${c.mode} bs=${c.bs} qd=${c.qd}`);
          await runCommand('sync', []);
          const r = await fioCell(t.dir, c, plan.sizeMiB, plan.seconds);
          const id = cellId(t.name, c);
          let m = byId.get(id);
          if (!m) {
            const params = { target: t.name, mode: c.mode, bs: c.bs, qd: c.qd };
            m = {
              mibps: { id: `${id} MiB/s`, unit: 'MiB/s', better: 'higher', rounds: [], params },
              iops: { id: `${id} IOPS`, unit: 'IOPS', better: 'higher', rounds: [], params },
            };
            byId.set(id, m);
          }
          m.mibps.rounds.push(r.mibps);
          m.iops.rounds.push(r.iops);
        }
      }
    }
    ctx.progress?.(total, total, '');
  } finally {
    for (const t of targets) await t.stop().catch((err: Error) => ctx.log(`stop ${t.name}: ${err.message}`));
    await cleanupStale(path.join(root, 'run')).catch(() => {});
    fs.rmSync(root, { recursive: true, force: true });
  }
  const med = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const k = s.length >> 1;
    return s.length % 2 ? s[k]! : (s[k - 1]! + s[k]!) / 2;
  };
  const rows: BenchRow[] = [];
  for (const c of cells) {
    const enc = byId.get(cellId(ENCRYPTED, c));
    for (const t of targets) {
      const m = byId.get(cellId(t.name, c))!;
      const row: BenchRow = {
        target: t.name,
        mode: c.mode,
        bs: c.bs,
        qd: c.qd,
        'MiB/s': med(m.mibps.rounds),
        IOPS: Math.round(med(m.iops.rounds)),
        'MiB/s rounds': `${Math.min(...m.mibps.rounds).toFixed(0)}-${Math.max(...m.mibps.rounds).toFixed(0)}`,
      };
      if (t.name !== ENCRYPTED && enc) row['encrypted / this'] = med(enc.mibps.rounds) / med(m.mibps.rounds);
      rows.push(row);
    }
  }
  return { rows, notes, measurements: [...byId.values()].flatMap((m) => [m.mibps, m.iops]), missing: absent };
}
