// `npm run bench [-- SUITE ...] [--json] [--quick]`: runs the named suites (all by default).
import { formatTable, type BenchSuite } from './harness.js';

const SUITES = ['kms', 'grants', 'trail', 'xts', 'device', 'server', 'policy', 'scale'] as const;
// Loaded on demand, so one suite's missing prerequisites never stop the others.
const suites: Record<string, () => Promise<BenchSuite>> = Object.fromEntries(
  SUITES.map((name) => [name, async () => ((await import(`./${name}/index.js`)) as { suite: BenchSuite }).suite]),
);

async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const quick = argv.includes('--quick') || process.env.EBSIM_BENCH_QUICK === '1';
  const named = argv.filter((a) => !a.startsWith('--'));
  const unknown = named.filter((n) => !(n in suites));
  if (unknown.length > 0) {
    process.stderr.write(`unknown suite(s): ${unknown.join(', ')}; available: ${Object.keys(suites).join(', ')}\n`);
    return 2;
  }
  const chosen = named.length > 0 ? named : Object.keys(suites);
  const report: Record<string, unknown> = {};
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
    const result = await suite.run({ quick, log });
    if (tty) process.stderr.write('\r\x1b[K');
    report[name] = { description: suite.description, ...result };
    if (!json) {
      process.stdout.write(`\n## ${name}: ${suite.description}\n\n${formatTable(result.rows)}\n`);
      for (const n of result.notes ?? []) process.stdout.write(`  note: ${n}\n`);
    }
  }
  if (json) process.stdout.write(JSON.stringify({ machine: machineInfo(), suites: report }, null, 2) + '\n');
  return 0;
}

function machineInfo() {
  return { node: process.version, platform: process.platform, arch: process.arch, time: new Date().toISOString() };
}

process.exitCode = await main(process.argv.slice(2));
