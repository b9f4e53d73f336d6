// The benchmark harness every suite joins. A suite measures, cross-checks its outputs before
// timing, and returns rows; the harness prints them as a table or one JSON document.
export type BenchValue = string | number | null;
export type BenchRow = Record<string, BenchValue>;

export interface BenchContext {
  /** Shorter runs (EBSIM_BENCH_QUICK=1 or --quick): same code paths, fewer iterations. */
  quick: boolean;
  /**
   * A smoke run (EBSIM_BENCH_SMOKE=1 or --smoke; quick is set too): every code path of the suite
   * once, with tiny counts, one round and very short timings, so the tests can tell that a suite
   * still runs. Its figures measure nothing worth reading.
   */
  smoke?: boolean;
  /** Progress and notes go to stderr so stdout stays a clean table or JSON document. */
  log(message: string): void;
  /** `--matrix small|full`: sweep instead of the suite's fixed jobs (suites that have a sweep). */
  matrix?: Matrix;
  /** Steps done of a known total (a sweep's cells x rounds): drawn as a bar with the time left. */
  progress?(done: number, total: number, label: string): void;
}

export type Matrix = 'small' | 'full';

/** A count or duration by the kind of run: a full run's, --quick's, or --smoke's. */
export function scaled<T>(ctx: Pick<BenchContext, 'quick' | 'smoke'>, full: T, quick: T, smoke: T): T {
  return ctx.smoke ? smoke : ctx.quick ? quick : full;
}

/**
 * One measured quantity with every round kept, so that a comparison of two runs can tell a
 * change from the noise measured in the runs themselves (bench/compare.ts). `id` is unique
 * within the suite and stable from run to run; `params` are the sweep coordinates.
 */
export interface Measurement {
  id: string;
  unit: string;
  better: 'higher' | 'lower';
  rounds: number[];
  params?: Record<string, string | number>;
}

export interface BenchResult {
  rows: BenchRow[];
  notes?: string[];
  /** Raw measurements behind the rows (JSON output only), e.g. every round of every target. */
  samples?: unknown;
  /** Every round of every figure, for saved runs, `bench compare` and `bench report`. */
  measurements?: Measurement[];
  /** References or prerequisites absent here, with the reason: reported, never replaced by made-up figures. */
  missing?: Record<string, string>;
}

export interface BenchSuite {
  name: string;
  description: string;
  run(ctx: BenchContext): Promise<BenchResult>;
}

export function formatTable(rows: BenchRow[]): string {
  if (rows.length === 0) return '(no rows)';
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: BenchValue | undefined) =>
    v === undefined || v === null ? '-' : typeof v === 'number' ? formatNumber(v) : v;
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(cols), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))].join('\n');
}

function formatNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toFixed(3);
}

/** Runs `fn` repeatedly for at least `minMs` after a warm-up and returns calls per second. */
export function opsPerSecond(fn: () => void, minMs: number): number {
  for (let i = 0; i < 50; i++) fn();
  let calls = 0;
  let batch = 1;
  const start = process.hrtime.bigint();
  for (;;) {
    for (let i = 0; i < batch; i++) fn();
    calls += batch;
    const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
    if (elapsed >= minMs) return (calls * 1000) / elapsed;
    batch = Math.min(batch * 2, 1 << 16);
  }
}

/**
 * For suites that keep no rounds: every number of every row as a one-round measurement, named by
 * the row's text cells and the column, so that `bench compare` still shows their ratios (and,
 * with one round, flags nothing). Columns in ms or seconds are lower-is-better.
 */
/** Columns whose numbers say which case a row is (not what was measured), and columns of verdicts. */
const COORDINATES = new Set(['sector', 'batch', 'bytes', 'request', 'bs', 'qd', 'connections', 'threads', 'live grants']);
const VERDICTS = new Set(['target', 'met']);

/** A rate ("/s" in the column or the row's label) is better higher; a time (ms, µs, seconds) lower. */
function lowerIsBetter(label: string, col: string): boolean {
  if (/\/s\b/.test(col) || /\/s\)/.test(label)) return false;
  return /\b(ms|seconds|latency)\b|µs/.test(`${label} ${col}`);
}

export function measurementsFromRows(rows: BenchRow[]): Measurement[] {
  const out: Measurement[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    // Coordinates: the text cells and the numbers of known coordinate columns; a verdict column
    // (target, met) only when nothing else names the row (bench/device calls its rows' name "target").
    const named = (k: string, v: BenchValue) => (typeof v === 'string' && !VERDICTS.has(k)) || (typeof v === 'number' && COORDINATES.has(k));
    const cells = Object.entries(row);
    const parts = cells.some(([k, v]) => typeof v === 'string' && named(k, v)) ? cells.filter(([k, v]) => named(k, v)) : cells.filter(([k, v]) => typeof v === 'string' || named(k, v));
    const label = parts.map(([k, v]) => (typeof v === 'string' ? v : `${k}=${v}`)).join(' ');
    for (const [col, v] of Object.entries(row)) {
      if (typeof v !== 'number' || !Number.isFinite(v) || COORDINATES.has(col)) continue;
      const id = `${label} | ${col}`;
      if (seen.has(id)) continue;
      seen.add(id);
      out.push({ id, unit: col, better: lowerIsBetter(label, col) ? 'lower' : 'higher', rounds: [v] });
    }
  }
  return out;
}
