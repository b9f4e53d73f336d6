// `npm run bench [-- SUITE ...] [--json] [--quick | --smoke] [--matrix small|full] [--out DIR]`: runs
// the named suites (all by default) and saves the run as JSON under bench/results/ (or DIR).
// `npm run bench -- compare A.json B.json` and `npm run bench -- report RUN.json [...]`: see
// compare.ts and report/.
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { formatTable, measurementsFromRows, type BenchSuite, type Matrix } from './harness.js';
import { machineInfo, saveRun, loadRun, RUN_SCHEMA, type RunRecord } from './record.js';
import { compareRuns, formatComparison } from './compare.js';
import { countBar } from '../src/cli/progress.js';

const SUITES = ['kms', 'grants', 'trail', 'xts', 'device', 'server', 'policy', 'scale'] as const;
// Loaded on demand, so one suite's missing prerequisites never stop the others.
const suites: Record<string, () => Promise<BenchSuite>> = Object.fromEntries(
  SUITES.map((name) => [name, async () => ((await import(`./${name}/index.js`)) as { suite: BenchSuite }).suite]),
);

/** The repository (dist/bench/run.js is two levels below it). */
const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const DEFAULT_RESULTS = join(REPO, 'bench', 'results');

/** `--name value` or `--name=value`, removed from argv. */
function takeOption(argv: string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === `--${name}`) {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) throw new Error(`--${name} needs a value`);
      argv.splice(i, 2);
      return v;
    }
    if (argv[i]!.startsWith(`--${name}=`)) return argv.splice(i, 1)[0]!.slice(name.length + 3);
  }
  return undefined;
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'compare') {
    const files = argv.slice(1).filter((a) => !a.startsWith('--'));
    if (files.length !== 2) {
      process.stderr.write('usage: npm run bench -- compare A.json B.json\n');
      return 2;
    }
    const [a, b] = files.map(loadRun) as [RunRecord, RunRecord];
    process.stdout.write(formatComparison(compareRuns(a, b), files[0]!, files[1]!));
    return 0;
  }
  if (argv[0] === 'report') {
    const { reportCommand } = await import('./report/command.js');
    return reportCommand(argv.slice(1));
  }
  const json = argv.includes('--json');
  // --smoke: what the tests run (test/bench/smoke.test.ts), every suite's code once in seconds.
  const smoke = argv.includes('--smoke') || process.env.EBSIM_BENCH_SMOKE === '1';
  const quick = smoke || argv.includes('--quick') || process.env.EBSIM_BENCH_QUICK === '1';
  const outDir = takeOption(argv, 'out') ?? DEFAULT_RESULTS;
  const matrixArg = takeOption(argv, 'matrix');
  if (matrixArg !== undefined && matrixArg !== 'small' && matrixArg !== 'full') {
    process.stderr.write(`--matrix: expected small or full, got ${matrixArg}\n`);
    return 2;
  }
  const matrix = matrixArg as Matrix | undefined;
  if (smoke && matrix) {
    process.stderr.write('--smoke runs each suite\'s fixed jobs once: it does not combine with --matrix\n');
    return 2;
  }
  const named = argv.filter((a) => !a.startsWith('--'));
  const unknown = named.filter((n) => !(n in suites));
  if (unknown.length > 0) {
    process.stderr.write(`unknown suite(s): ${unknown.join(', ')}; available: ${Object.keys(suites).join(', ')}\n`);
    return 2;
  }
  const chosen = named.length > 0 ? named : Object.keys(suites);
  const run: RunRecord = {
    schema: RUN_SCHEMA,
    time: new Date().toISOString(),
    argv: process.argv.slice(2),
    quick,
    ...(smoke ? { smoke } : {}),
    matrix: matrix ?? null,
    machine: await machineInfo(REPO),
    suites: {},
  };
  for (const name of chosen) {
    let suite: BenchSuite;
    try {
      suite = await suites[name]!();
    } catch (err) {
      // A suite whose module is not built yet is reported, not fatal for the others.
      process.stderr.write(`[bench] ${name}: not available (${(err as Error).message})\n`);
      continue;
    }
    // Progress on a terminal only: pipes and CI get the table or JSON and nothing else.
    const tty = process.stderr.isTTY && !process.env.CI;
    const log = (m: string) => {
      if (tty) process.stderr.write(`\r\x1b[K[bench ${name}] ${m}`);
    };
    const started = Date.now();
    const progress = (done: number, total: number, label: string) => {
      if (tty) process.stderr.write(`\r\x1b[K[bench ${name}] ${countBar(done, total, Date.now() - started)} ${label}`);
    };
    const result = await suite.run({ quick, smoke, log, matrix, progress });
    if (tty) process.stderr.write('\r\x1b[K');
    const measurements = result.measurements ?? measurementsFromRows(result.rows);
    run.suites[name] = { description: suite.description, seconds: (Date.now() - started) / 1000, ...result, measurements };
    if (!json) {
      process.stdout.write(`\n## ${name}: ${suite.description}\n\n${formatTable(result.rows)}\n`);
      for (const n of result.notes ?? []) process.stdout.write(`  note: ${n}\n`);
    }
  }
  run.machine.loadavg.end = (await import('node:os')).loadavg()[0]!;
  const file = saveRun(run, outDir);
  if (json) process.stdout.write(JSON.stringify(run, null, 2) + '\n');
  process.stderr.write(`[bench] saved ${file}\n`);
  return 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exitCode = 2;
}
