// `npm run bench -- compare A.json B.json`: B against A, measurement by measurement. A change is
// flagged only when it stands out of the noise the two runs measured themselves: when every
// round of B lies above every round of A, or every one below (the ranges of rounds do not
// overlap). With fewer than two rounds on a side there is no noise estimate, and no flag.
import type { Measurement } from './harness.js';
import type { RunRecord } from './record.js';

export interface RoundStats {
  n: number;
  median: number;
  min: number;
  max: number;
  /** (max - min) / median: the round-to-round spread, relative; null when undefined (n < 2, median 0). */
  spread: number | null;
}

export type Verdict = 'better' | 'worse' | 'within noise' | 'no noise estimate';

export interface Comparison {
  suite: string;
  id: string;
  unit: string;
  better: Measurement['better'];
  a: RoundStats;
  b: RoundStats;
  /** median(B) / median(A); null when A's median is 0. */
  ratio: number | null;
  /** The ratio's range over the rounds: min(B) / max(A) .. max(B) / min(A); null where A has a 0. */
  low: number | null;
  high: number | null;
  /** The larger of the two runs' spreads: the noise a change has to beat. */
  noise: number | null;
  verdict: Verdict;
}

export interface RunComparison {
  rows: Comparison[];
  /** Measurements in one run only, as "suite: id". */
  onlyA: string[];
  onlyB: string[];
  /** What differs between the two machines and builds (CPU, kernel, Node, XTS path, commit). */
  machine: string[];
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median: no values');
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function roundStats(rounds: readonly number[]): RoundStats {
  const finite = rounds.filter((x) => Number.isFinite(x));
  if (finite.length === 0) throw new RangeError('roundStats: no finite rounds');
  const med = median(finite);
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  return { n: finite.length, median: med, min, max, spread: finite.length >= 2 && med !== 0 ? (max - min) / Math.abs(med) : null };
}

const div = (x: number, y: number): number | null => (y === 0 ? null : x / y);

export function compareMeasurements(suite: string, a: Measurement, b: Measurement): Comparison {
  const sa = roundStats(a.rounds);
  const sb = roundStats(b.rounds);
  let verdict: Verdict;
  if (sa.n < 2 || sb.n < 2) verdict = 'no noise estimate';
  else if (sb.min > sa.max) verdict = b.better === 'higher' ? 'better' : 'worse';
  else if (sb.max < sa.min) verdict = b.better === 'higher' ? 'worse' : 'better';
  else verdict = 'within noise';
  const noise = sa.spread === null || sb.spread === null ? null : Math.max(sa.spread, sb.spread);
  return {
    suite,
    id: a.id,
    unit: b.unit,
    better: b.better,
    a: sa,
    b: sb,
    ratio: div(sb.median, sa.median),
    low: div(sb.min, sa.max),
    high: div(sb.max, sa.min),
    noise,
    verdict,
  };
}

function measurementsOf(run: RunRecord): Map<string, [string, Measurement]> {
  const out = new Map<string, [string, Measurement]>();
  for (const [suite, rec] of Object.entries(run.suites)) {
    for (const m of rec.measurements ?? []) out.set(`${suite}: ${m.id}`, [suite, m]);
  }
  return out;
}

function machineDifferences(a: RunRecord, b: RunRecord): string[] {
  const facts = (r: RunRecord): [string, string][] => [
    ['CPU', `${r.machine.cpu.model} (${r.machine.cpu.cores} cores)`],
    ['kernel', r.machine.kernel],
    ['Node', r.machine.node],
    ['XTS engine', `${r.machine.xts.engine ?? 'none'} (${r.machine.xts.path ?? 'no native addon'})`],
    ['commit', `${r.machine.git.commit?.slice(0, 12) ?? 'unknown'}${r.machine.git.dirty ? ' + uncommitted changes' : ''}`],
  ];
  const fb = new Map(facts(b));
  const out: string[] = [];
  for (const [k, v] of facts(a)) if (fb.get(k) !== v) out.push(`${k}: ${v} -> ${fb.get(k)}`);
  const fa = new Set(a.machine.cpu.flags);
  const fbFlags = new Set(b.machine.cpu.flags);
  const lost = [...fa].filter((f) => !fbFlags.has(f));
  const gained = [...fbFlags].filter((f) => !fa.has(f));
  if (lost.length || gained.length) out.push(`CPU flags: ${[...lost.map((f) => `-${f}`), ...gained.map((f) => `+${f}`)].join(' ')}`);
  return out;
}

export function compareRuns(a: RunRecord, b: RunRecord): RunComparison {
  const ma = measurementsOf(a);
  const mb = measurementsOf(b);
  const rows: Comparison[] = [];
  for (const [key, [suite, m]] of ma) {
    const other = mb.get(key);
    if (other) rows.push(compareMeasurements(suite, m, other[1]));
  }
  return {
    rows,
    onlyA: [...ma.keys()].filter((k) => !mb.has(k)),
    onlyB: [...mb.keys()].filter((k) => !ma.has(k)),
    machine: machineDifferences(a, b),
  };
}

const fmt = (x: number | null, digits = 2) => (x === null ? '-' : x.toFixed(digits));
const fmtValue = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3));

export function formatComparison(c: RunComparison, nameA: string, nameB: string): string {
  const lines: string[] = [`A = ${nameA}`, `B = ${nameB}`];
  if (c.machine.length) lines.push('', 'differences between the two runs\' machines and builds:', ...c.machine.map((m) => `  ${m}`));
  lines.push('', 'B/A = ratio of the medians of the rounds; range = lowest round of B / highest of A .. highest of B / lowest of A;');
  lines.push('noise = the larger round-to-round spread (max - min) / median of the two runs; flagged (**) when the rounds do not overlap');
  const header = ['suite', 'measurement', 'unit', 'A median', 'B median', 'B/A', 'range', 'noise', 'verdict'];
  const body = c.rows.map((r) => [
    r.suite,
    r.id,
    `${r.unit} (${r.better} is better)`,
    `${fmtValue(r.a.median)} (${r.a.n})`,
    `${fmtValue(r.b.median)} (${r.b.n})`,
    fmt(r.ratio, 3),
    `${fmt(r.low)} .. ${fmt(r.high)}`,
    r.noise === null ? '-' : `${(r.noise * 100).toFixed(1)}%`,
    r.verdict === 'better' || r.verdict === 'worse' ? `** ${r.verdict}` : r.verdict,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((x, i) => x.padEnd(widths[i]!)).join('  ').trimEnd();
  lines.push('', line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line));
  const flagged = c.rows.filter((r) => r.verdict === 'better' || r.verdict === 'worse');
  lines.push('', `${c.rows.length} measurements compared, ${flagged.length} changed beyond the noise (${flagged.filter((r) => r.verdict === 'worse').length} worse)`);
  if (c.onlyA.length) lines.push(`only in A (${c.onlyA.length}): ${c.onlyA.slice(0, 10).join('; ')}${c.onlyA.length > 10 ? '; ...' : ''}`);
  if (c.onlyB.length) lines.push(`only in B (${c.onlyB.length}): ${c.onlyB.slice(0, 10).join('; ')}${c.onlyB.length > 10 ? '; ...' : ''}`);
  return lines.join('\n') + '\n';
}
