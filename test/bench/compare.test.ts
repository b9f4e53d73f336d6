// bench compare: the arithmetic on hand-built runs whose answers are worked out here by hand,
// edge cases (one round, a zero, overlapping rounds, lower-is-better), and the command itself.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareMeasurements, compareRuns, formatComparison, median, roundStats } from '../../bench/compare.js';
import { measurementsFromRows, type Measurement } from '../../bench/harness.js';
import { RUN_SCHEMA, type RunRecord } from '../../bench/record.js';

const m = (id: string, rounds: number[], better: Measurement['better'] = 'higher'): Measurement => ({ id, unit: 'MB/s', better, rounds });

function run(measurements: Record<string, Measurement[]>, machine: Partial<{ commit: string; flags: string[]; model: string }> = {}): RunRecord {
  return {
    schema: RUN_SCHEMA,
    time: '2026-01-01T00:00:00.000Z',
    argv: [],
    quick: false,
    matrix: null,
    machine: {
      cpu: { model: machine.model ?? 'Test CPU', cores: 2, flags: machine.flags ?? ['aes', 'avx2'] },
      kernel: 'Linux 6.1',
      node: 'v20.19.0',
      platform: 'linux',
      arch: 'x64',
      xts: { engine: 'native', path: 'aesni', reason: '' },
      git: { commit: machine.commit ?? 'a'.repeat(40), dirty: false },
      loadavg: { start: 0 },
    },
    suites: Object.fromEntries(Object.entries(measurements).map(([s, ms]) => [s, { description: s, seconds: 1, rows: [], measurements: ms }])),
  };
}

describe('median and round statistics', () => {
  it('takes the middle of an odd count and the mean of the two middles of an even one, whatever the order', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([10, 40, 20, 30])).toBe(25);
    expect(median([7])).toBe(7);
    expect(() => median([])).toThrow(RangeError);
  });

  it('spread = (max - min) / median', () => {
    const s = roundStats([10, 12, 11]);
    expect(s).toEqual({ n: 3, median: 11, min: 10, max: 12, spread: 2 / 11 });
  });

  it('has no spread for one round or a zero median, and skips rounds that are not numbers', () => {
    expect(roundStats([5]).spread).toBeNull();
    expect(roundStats([0, 0, 0]).spread).toBeNull();
    expect(roundStats([4, Number.NaN, 6])).toEqual({ n: 2, median: 5, min: 4, max: 6, spread: 0.4 });
    expect(() => roundStats([Number.NaN])).toThrow(RangeError);
  });
});

describe('compareMeasurements', () => {
  it('flags a rise whose rounds all lie above the other run\'s, with the ratio and its range', () => {
    const c = compareMeasurements('xts', m('x', [100, 104, 96]), m('x', [120, 118, 125]));
    expect(c.ratio).toBeCloseTo(1.2, 12); // 120 / 100
    expect(c.low).toBeCloseTo(118 / 104, 12);
    expect(c.high).toBeCloseTo(125 / 96, 12);
    expect(c.noise).toBeCloseTo(0.08, 12); // A: (104 - 96) / 100; B: (125 - 118) / 120 = 0.058
    expect(c.verdict).toBe('better');
  });

  it('calls overlapping rounds noise even when the medians differ by 5%', () => {
    const c = compareMeasurements('xts', m('x', [100, 110, 90]), m('x', [105, 95, 115]));
    expect(c.ratio).toBeCloseTo(1.05, 12);
    expect(c.verdict).toBe('within noise');
  });

  it('reads a fall as worse when higher is better, and as better when lower is (latency)', () => {
    expect(compareMeasurements('s', m('rps', [100, 101]), m('rps', [80, 82])).verdict).toBe('worse');
    const lat = compareMeasurements('s', m('p99', [10, 11, 12], 'lower'), m('p99', [8, 7, 9], 'lower'));
    expect(lat.verdict).toBe('better');
    expect(lat.ratio).toBeCloseTo(8 / 11, 12);
    expect(compareMeasurements('s', m('p99', [10, 11], 'lower'), m('p99', [13, 14], 'lower')).verdict).toBe('worse');
  });

  it('does not flag anything measured in one round, however large the change', () => {
    const c = compareMeasurements('d', m('x', [100]), m('x', [200, 200]));
    expect(c.ratio).toBeCloseTo(2, 12);
    expect(c.noise).toBeNull();
    expect(c.verdict).toBe('no noise estimate');
  });

  it('gives no ratio against a zero instead of Infinity', () => {
    const c = compareMeasurements('d', m('x', [0, 0]), m('x', [1, 2]));
    expect(c.ratio).toBeNull();
    expect(c.high).toBeNull();
    expect(c.low).toBeNull();
    expect(c.verdict).toBe('better');
  });
});

describe('compareRuns', () => {
  const a = run({ xts: [m('enc 4096', [10, 11]), m('gone', [1, 2])], kms: [m('ops', [5, 6])] });
  const b = run({ xts: [m('enc 4096', [20, 21]), m('new', [3, 4])], kms: [m('ops', [5.5, 5.8])] }, { commit: 'b'.repeat(40), flags: ['aes', 'vaes'] });

  it('pairs measurements by suite and id and lists those found in one run only', () => {
    const c = compareRuns(a, b);
    expect(c.rows.map((r) => `${r.suite}: ${r.id} ${r.verdict}`)).toEqual(['xts: enc 4096 better', 'kms: ops within noise']);
    expect(c.onlyA).toEqual(['xts: gone']);
    expect(c.onlyB).toEqual(['xts: new']);
  });

  it('names what changed between the machines and builds', () => {
    const c = compareRuns(a, b);
    expect(c.machine).toEqual([`commit: ${'a'.repeat(12)} -> ${'b'.repeat(12)}`, 'CPU flags: -avx2 +vaes']);
    expect(compareRuns(a, a).machine).toEqual([]);
  });

  it('prints the flag and the count of changes beyond the noise', () => {
    const text = formatComparison(compareRuns(a, b), 'A.json', 'B.json');
    expect(text).toMatch(/xts\s+enc 4096.*1\.952.*\*\* better/); // 20.5 / 10.5
    expect(text).toContain('2 measurements compared, 1 changed beyond the noise (0 worse)');
  });
});

describe('npm run bench -- compare (the built command)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ebsim-h18-compare-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const bin = join(__dirname, '../../dist/bench/run.js');

  it('compares two saved files, and refuses a file that is not a saved run', () => {
    writeFileSync(join(dir, 'a.json'), JSON.stringify(run({ device: [m('seq read', [100, 102, 98])] })));
    writeFileSync(join(dir, 'b.json'), JSON.stringify(run({ device: [m('seq read', [80, 79, 81])] })));
    const out = execFileSync(process.execPath, [bin, 'compare', join(dir, 'a.json'), join(dir, 'b.json')], { encoding: 'utf8' });
    expect(out).toMatch(/device\s+seq read.*0\.800.*\*\* worse/);
    writeFileSync(join(dir, 'c.json'), '{"rows": []}');
    let err = '';
    try {
      execFileSync(process.execPath, [bin, 'compare', join(dir, 'a.json'), join(dir, 'c.json')], { encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      err = String((e as { stderr: string }).stderr);
    }
    expect(err).toContain('not a saved ebsim bench run');
  });
});

describe('measurementsFromRows (suites that keep no rounds)', () => {
  it('names each figure by its row\'s text and coordinates, leaves verdicts out of the name, and knows rates from times', () => {
    const ms = measurementsFromRows([
      { measure: 'Decrypt through a grant (calls/s)', 'live grants': 50000, value: 6843, 'x 1 grant': 1.1, target: '>= 0.8' },
      { measure: 'CreateGrant (µs/call)', 'live grants': 10, value: 13200, 'x 1 grant': null, target: null },
      { operation: 'Decrypt', connections: 64, 'req/s': 7100, 'p99 ms': 14, target: '5500/s: met' },
    ]);
    expect(ms.map((m) => [m.id, m.better, m.rounds])).toEqual([
      ['Decrypt through a grant (calls/s) live grants=50000 | value', 'higher', [6843]],
      ['Decrypt through a grant (calls/s) live grants=50000 | x 1 grant', 'higher', [1.1]],
      ['CreateGrant (µs/call) live grants=10 | value', 'lower', [13200]],
      ['Decrypt connections=64 | req/s', 'higher', [7100]],
      ['Decrypt connections=64 | p99 ms', 'lower', [14]],
    ]);
  });
});

describe('measurementsFromRows, rows named only by a "target" column', () => {
  it('keeps that name (bench/device calls its targets so)', () => {
    const ms = measurementsFromRows([{ target: 'image copy: plain', 'image copy MiB/s': 300 }, { target: 'image copy: re-encryption', 'image copy MiB/s': 107 }]);
    expect(ms.map((m) => m.id)).toEqual(['image copy: plain | image copy MiB/s', 'image copy: re-encryption | image copy MiB/s']);
  });
});
