// bench/device: fio through loop + ext4 on the ebsim volume (encrypted), on the same FUSE path
// with encryption off (the ceiling), on a plain directory of the disk, and on gocryptfs where
// installed. Each target is cross-checked with a small fio --verify run before it is timed.
// Then the image copies of snapshots and restores (reencrypt.ts): re-encryption vs a plain copy.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { measurementsFromRows, scaled, type BenchContext, type BenchResult, type BenchRow, type BenchSuite, type Measurement } from '../harness.js';
import { daemonReadPages, daemonThreadpoolSize, fuseInitPreload } from '../../src/device/daemon-client.js';
import { run as runCommand, which } from '../../src/device/host.js';
import { cleanupStale, mountVolume, unmountVolume } from '../../src/device/mount.js';
import { findMissingPrerequisite } from '../../src/device/prerequisites.js';
import { tuning } from '../../src/device/tuning.js';
import { reencryptionRows } from './reencrypt.js';
import { deviceSweep } from './sweep.js';

const MiB = 1 << 20;
const PASS_JS = 'ebsim pass-through (js)';
const PASS_NATIVE = 'ebsim pass-through (native)';
const CEILING = 'ebsim pass-through (best of js, native)';
const EBSIM_TARGETS = ['ebsim encrypted', PASS_JS, PASS_NATIVE];
/** The peer's binary; EBSIM_GOCRYPTFS names another (a test names a missing one to check the run without it). */
export const GOCRYPTFS = process.env.EBSIM_GOCRYPTFS || 'gocryptfs';

/** Rounds for the ebsim targets, and for the references (disk, gocryptfs): EBSIM_BENCH_ROUNDS overrides the first. */
function roundPlan(ctx: BenchContext): { rounds: number; referenceRounds: number } {
  const env = Number(process.env.EBSIM_BENCH_ROUNDS);
  const rounds = Number.isInteger(env) && env > 0 ? env : scaled(ctx, 7, 3, 1);
  return { rounds, referenceRounds: Math.min(rounds, 3) };
}

interface Job {
  name: 'seq_write' | 'seq_read' | 'rand_read' | 'rand_write';
  rw: string;
  bs: string;
  iodepth: number;
}

const ALL_JOBS: Job[] = [
  { name: 'seq_write', rw: 'write', bs: '1M', iodepth: 4 },
  { name: 'seq_read', rw: 'read', bs: '1M', iodepth: 4 },
  { name: 'rand_read', rw: 'randread', bs: '4k', iodepth: 16 },
  { name: 'rand_write', rw: 'randwrite', bs: '4k', iodepth: 16 },
];

/** EBSIM_BENCH_JOBS=rand_read,rand_write (comma-separated job names) times only those jobs; unset: all. */
export function chooseJobs(env: string | undefined = process.env.EBSIM_BENCH_JOBS): Job[] {
  if (!env) return ALL_JOBS;
  const names = env.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !ALL_JOBS.some((j) => j.name === n));
  if (unknown.length > 0) throw new Error(`EBSIM_BENCH_JOBS: unknown job(s) ${unknown.join(', ')}; expected some of ${ALL_JOBS.map((j) => j.name).join(', ')}`);
  return ALL_JOBS.filter((j) => names.includes(j.name));
}

export function fio(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('fio', args, { maxBuffer: 32 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(`fio ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout))),
  );
}

async function runJob(dir: string, job: Job, sizeMiB: number, seconds: number): Promise<number> {
  const out = await fio([
    `--name=${job.name}`, `--filename=${path.join(dir, 'bench.fio')}`, `--size=${sizeMiB}M`, `--rw=${job.rw}`, `--bs=${job.bs}`,
    '--direct=1', '--ioengine=libaio', `--iodepth=${job.iodepth}`,
    ...(seconds > 0 ? [`--runtime=${seconds}`, '--time_based=1', '--ramp_time=1'] : []),
    '--output-format=json', '--randrepeat=0',
  ]);
  const j = JSON.parse(out.slice(out.indexOf('{'))) as { jobs: { read: { bw_bytes: number; iops: number }; write: { bw_bytes: number; iops: number } }[] };
  const side = job.rw.includes('write') ? j.jobs[0]!.write : j.jobs[0]!.read;
  return job.bs === '4k' ? Math.round(side.iops) : Math.round(side.bw_bytes / MiB);
}

export async function verify(dir: string): Promise<void> {
  await fio([
    '--name=verify', `--filename=${path.join(dir, 'verify.fio')}`, '--size=16M', '--rw=randwrite', '--bs=4k,128k', '--direct=1',
    '--ioengine=libaio', '--iodepth=8', '--verify=crc32c', '--do_verify=1', '--verify_fatal=1',
  ]);
  fs.rmSync(path.join(dir, 'verify.fio'), { force: true });
}

export interface Target {
  name: string;
  dir: string;
  stop: () => Promise<void>;
}

export async function ebsimTarget(root: string, name: string, passThrough: 'js' | 'native' | null, sizeBytes: number): Promise<Target> {
  const stateDir = path.join(root, 'run');
  const volumeId = `vol-bench${passThrough ? `plain${passThrough}` : 'xts'}00000000`.slice(0, 21);
  const mountpoint = path.join(root, `mnt-${volumeId}`);
  let key = randomBytes(64);
  while (key.subarray(0, 32).equals(key.subarray(32))) key = randomBytes(64);
  await mountVolume({ volumeId, imagePath: path.join(root, `${volumeId}.img`), sizeBytes, key, mountpoint, stateDir, format: 'ext4', passThrough: passThrough !== null, passThroughIO: passThrough ?? undefined });
  return { name, dir: mountpoint, stop: () => unmountVolume(volumeId, stateDir) };
}

export async function gocryptfsTarget(root: string): Promise<Target> {
  const cipher = path.join(root, 'gocryptfs-cipher');
  const plain = path.join(root, 'gocryptfs-plain');
  const pass = path.join(root, 'gocryptfs-pass');
  fs.mkdirSync(cipher);
  fs.mkdirSync(plain);
  fs.writeFileSync(pass, 'bench-only-password\n', { mode: 0o600 });
  const run = (args: string[]) =>
    new Promise<void>((resolve, reject) => execFile(args[0]!, args.slice(1), (err, _o, e) => (err ? reject(new Error(`${args.join(' ')}: ${e}`)) : resolve())));
  await run([GOCRYPTFS, '-q', '-init', '-passfile', pass, cipher]);
  await run([GOCRYPTFS, '-q', '-passfile', pass, cipher, plain]);
  return { name: 'gocryptfs', dir: plain, stop: () => run(['fusermount', '-u', plain]) };
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  if (ctx.matrix) return deviceSweep(ctx, ctx.matrix);
  // The image copies need no mount: measured first, and whatever the fio part can do.
  const copies = reencryptionRows(ctx);
  const fio = await runFio(ctx);
  return {
    ...fio,
    rows: [...fio.rows, ...copies.rows],
    notes: [...(fio.notes ?? []), ...copies.notes],
    measurements: [...(fio.measurements ?? []), ...measurementsFromRows(copies.rows)],
  };
}

async function runFio(ctx: BenchContext): Promise<BenchResult> {
  const JOBS = chooseJobs();
  const missing = findMissingPrerequisite();
  if (missing) return { rows: [], notes: [`skipped: ${missing.message}`] };
  if (!which('fio')) return { rows: [], notes: ['skipped: fio is not installed (apt-get install fio)'] };
  const sizeMiB = scaled(ctx, 1024, 256, 16);
  // --smoke: each job one pass over the file (no ramp, no clock).
  const seconds = scaled(ctx, 4, 2, 0);
  const plan = roundPlan(ctx);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ebsim-bench-'));
  const samples = new Map<string, Record<string, number[]>>();
  const notes: string[] = [
    `fio, direct I/O, libaio; the same ${sizeMiB} MiB file on every target, laid out first; ${seconds > 0 ? `${seconds} s per job after 1 s ramp` : 'one pass over the file per job'}; per job, the three ebsim targets back to back in an order that rotates each round, then the references; \`sync\` before every job so that one target's write-back does not land in another's measurement; ${plan.rounds} rounds (EBSIM_BENCH_ROUNDS), the references in ${plan.referenceRounds}; each figure is the median of its rounds, and the paired ratio is the median of per-round ratios`,
    'ebsim rows go through loop (--direct-io=on, 4096-byte sectors) + ext4; pass-through = same daemon and FUSE path without the cipher, served two ways: synchronous pread/pwrite on the JS thread (js), and the encrypted path\'s native sector store (the same inline and pool paths, mapping and preadv2) with the cipher left out (native); the ceiling is the better of the two, job by job',
    fuseInitPreload()
      ? 'ebsim daemons run with ebsim_fuse_init.so (FUSE_ASYNC_DIO: the loop device\'s O_DIRECT requests reach the daemon concurrently)'
      : 'ebsim_fuse_init.so not built or EBSIM_FUSE_ASYNC_DIO=0: the loop device\'s O_DIRECT requests reach the daemon one at a time',
    tuning.forceJsIO
      ? `EBSIM_DEVICE_IO=${process.env.EBSIM_DEVICE_IO}: the encrypted daemon decrypts and encrypts on its JS thread (JS sector store)`
      : `encrypted daemon: whole-sector decrypt / encrypt in native code if the native XTS engine is built: requests whose pages are cached at once on the JS thread (reads up to ${tuning.inlineReadMaxBytes} bytes: up to ${tuning.mapReadMaxBytes} out of a shared mapping of the image, larger with preadv2 and, with the preload, decrypted by the libfuse worker that replies; writes up to ${tuning.inlineWriteMaxBytes} bytes: encrypt + pwrite), the rest on libuv's pool (UV_THREADPOOL_SIZE=${daemonThreadpoolSize()})`,
    `FUSE reads of up to ${daemonReadPages() * 4} KiB (FUSE_MAX_PAGES via the same preload; EBSIM_FUSE_MAX_PAGES=32 for 128 KiB)`,
  ];
  const makers: [string, () => Promise<Target>][] = [
    ['ebsim encrypted', () => ebsimTarget(root, 'ebsim encrypted', null, (sizeMiB + 512) * MiB)],
    [PASS_JS, () => ebsimTarget(root, PASS_JS, 'js', (sizeMiB + 512) * MiB)],
    [PASS_NATIVE, () => ebsimTarget(root, PASS_NATIVE, 'native', (sizeMiB + 512) * MiB)],
    ['plain disk', async () => {
      const dir = path.join(root, 'plain');
      fs.mkdirSync(dir);
      return { name: 'plain disk', dir, stop: async () => {} };
    }],
  ];
  if (which(GOCRYPTFS)) makers.push(['gocryptfs', () => gocryptfsTarget(root)]);
  else notes.push('gocryptfs not installed: no peer row');
  const targets: Target[] = [];
  try {
    for (const [name, make] of makers) {
      ctx.log(`${name}: setting up, cross-checking with fio --verify, laying out the file`);
      const t = await make();
      targets.push(t);
      await verify(t.dir);
      await runJob(t.dir, { name: 'seq_write', rw: 'write', bs: '1M', iodepth: 4 }, sizeMiB, 0);
      samples.set(name, {});
    }
    const ebsim = targets.filter((t) => EBSIM_TARGETS.includes(t.name));
    const references = targets.filter((t) => !EBSIM_TARGETS.includes(t.name));
    for (let round = 0; round < plan.rounds; round++) {
      for (const job of JOBS) {
        // The three ebsim targets back to back, in an order that rotates each round, so that each
        // round's encrypted / pass-through ratio compares measurements seconds apart; the
        // references (disk, gocryptfs) after them, in fewer rounds.
        const order = [...rotate(ebsim, round), ...(round < plan.referenceRounds ? rotate(references, round) : [])];
        for (const t of order) {
          ctx.log(`round ${round + 1}/${plan.rounds} ${job.name} on ${t.name}`);
          await runCommand('sync', []);
          ((samples.get(t.name)![job.name] ??= [])).push(await runJob(t.dir, job, sizeMiB, seconds));
        }
      }
    }
  } finally {
    for (const t of targets) await t.stop().catch((err: Error) => ctx.log(`stop ${t.name}: ${err.message}`));
    await cleanupStale(path.join(root, 'run')).catch(() => {});
    fs.rmSync(root, { recursive: true, force: true });
  }
  const results = new Map([...samples].map(([k, v]) => [k, Object.fromEntries(Object.entries(v).map(([j, xs]) => [j, median(xs)]))]));
  // The ceiling: the better pass-through, job by job.
  const js = results.get(PASS_JS);
  const native = results.get(PASS_NATIVE);
  if (js && native) results.set(CEILING, Object.fromEntries(JOBS.map((j) => [j.name, Math.max(js[j.name] ?? 0, native[j.name] ?? 0)])));
  const rows: BenchRow[] = [...results].map(([target, r]) => jobRow(target, (j) => r[j] ?? null));
  const ratio = (a: string, b: string, label: string) => {
    const x = results.get(a);
    const y = results.get(b);
    if (x && y) rows.push(jobRow(label, (k) => (y[k] ? round2(x[k]! / y[k]!) : null)));
  };
  ratio('ebsim encrypted', CEILING, 'ratio of medians: encrypted / best pass-through');
  // Paired: each round's encrypted figure over the better of that round's two pass-throughs.
  // Drift of the machine between rounds cancels out of these; the better-of-two in the
  // denominator makes them, if anything, low.
  const paired = pairedRatios(JOBS, samples.get('ebsim encrypted'), samples.get(PASS_JS), samples.get(PASS_NATIVE));
  if (paired) {
    const has = (k: Job['name']) => (paired[k]?.length ?? 0) > 0;
    rows.push(jobRow('paired ratio encrypted / best pass-through, median of rounds (target >= 0.9)', (k) => (has(k) ? round2(median(paired[k]!)) : null)));
    rows.push(jobRow('  paired ratio, lowest - highest round', (k) => (has(k) ? `${round2(Math.min(...paired[k]!))} - ${round2(Math.max(...paired[k]!))}` : null)));
  }
  ratio('ebsim encrypted', 'gocryptfs', 'ratio encrypted / gocryptfs (target >= 2 sequential)');
  const measurements: Measurement[] = [...samples].flatMap(([target, jobs]) =>
    Object.entries(jobs).map(([job, rounds]) => ({ id: `${target} ${job}`, unit: job.startsWith('rand') ? 'IOPS' : 'MiB/s', better: 'higher' as const, rounds, params: { target, job } })),
  );
  return { rows, notes, samples: Object.fromEntries(samples), measurements };
}

function rotate<T>(xs: T[], by: number): T[] {
  return xs.map((_, i) => xs[(i + by) % xs.length]!);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function round2(x: number): number {
  return Number(x.toFixed(2));
}

function jobRow(target: string, value: (job: Job['name']) => number | string | null): BenchRow {
  return {
    target,
    'seq write MiB/s': value('seq_write'),
    'seq read MiB/s': value('seq_read'),
    '4k rand read IOPS': value('rand_read'),
    '4k rand write IOPS': value('rand_write'),
  };
}

/** Per job, round by round: encrypted / max(js, native) of the same round. */
function pairedRatios(
  JOBS: Job[],
  enc: Record<string, number[]> | undefined,
  js: Record<string, number[]> | undefined,
  native: Record<string, number[]> | undefined,
): Record<string, number[]> | null {
  if (!enc || !js || !native) return null;
  return Object.fromEntries(
    JOBS.map((j) => [j.name, (enc[j.name] ?? []).map((e, r) => e / Math.max(js[j.name]![r]!, native[j.name]![r]!))]),
  );
}

export const suite: BenchSuite = {
  name: 'device',
  description: 'fio on the mounted volume: ebsim encrypted vs its pass-through ceiling, the plain disk and gocryptfs; image re-encryption vs a plain file copy',
  run,
};
