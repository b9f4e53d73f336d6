// Which curves a saved run yields: every point is the median of a measurement's rounds, its
// whisker the lowest and highest round, straight from the run's JSON.
import { median } from '../compare.js';
import type { Measurement } from '../harness.js';
import type { RunRecord } from '../record.js';
import { formatBytes, type ChartSpec, type Point, type Series } from './svg.js';

export function point(x: number, rounds: number[]): Point {
  return { x, y: median(rounds), lo: Math.min(...rounds), hi: Math.max(...rounds) };
}

/** Measurements grouped into series by `name(m)`, each point at x = `x(m)`. */
function group(ms: Measurement[], name: (m: Measurement) => string, x: (m: Measurement) => number): Series[] {
  const out = new Map<string, Series>();
  for (const m of ms) {
    const key = name(m);
    let s = out.get(key);
    if (!s) out.set(key, (s = { name: key, points: [] }));
    s.points.push(point(x(m), m.rounds));
  }
  return [...out.values()];
}

const withParams = (run: RunRecord, suite: string, has: string[]): Measurement[] =>
  (run.suites[suite]?.measurements ?? []).filter((m) => m.rounds.length > 0 && has.every((k) => m.params?.[k] !== undefined));

const uniq = (xs: (string | number)[]) => [...new Set(xs)];

function deviceCharts(run: RunRecord): ChartSpec[] {
  const ms = withParams(run, 'device', ['mode', 'bs', 'qd', 'target']);
  const mib = ms.filter((m) => m.unit === 'MiB/s');
  const iops = ms.filter((m) => m.unit === 'IOPS');
  if (mib.length === 0) return [];
  const qds = (uniq(mib.map((m) => m.params!.qd!)) as number[]).sort((a, b) => a - b);
  const shownQd = uniq([qds[0]!, qds[qds.length - 1]!]) as number[];
  const bss = (uniq(mib.map((m) => m.params!.bs!)) as number[]).sort((a, b) => a - b);
  const missing = Object.entries(run.suites.device?.missing ?? {}).map(([k, v]) => `${k}: ${v}`).join('; ');
  const charts: ChartSpec[] = [];
  for (const mode of uniq(mib.map((m) => m.params!.mode!)) as string[]) {
    charts.push({
      id: `device-${mode}-bs`,
      title: `device ${mode}: throughput vs block size`,
      xLabel: 'block size (bytes)',
      yLabel: 'MiB/s, log scale',
      xScale: 'log',
      yScale: 'log',
      xFormat: formatBytes,
      series: group(mib.filter((m) => m.params!.mode === mode && shownQd.includes(Number(m.params!.qd))), (m) => `${m.params!.target} qd=${m.params!.qd}`, (m) => Number(m.params!.bs)),
      note: missing || undefined,
    });
    charts.push({
      id: `device-${mode}-qd`,
      title: `device ${mode}: IOPS vs queue depth at ${formatBytes(bss[0]!)}`,
      xLabel: 'queue depth',
      yLabel: 'IOPS',
      xScale: 'log',
      yScale: 'linear',
      series: group(iops.filter((m) => m.params!.mode === mode && Number(m.params!.bs) === bss[0]), (m) => String(m.params!.target), (m) => Number(m.params!.qd)),
      note: missing || undefined,
    });
  }
  return charts;
}

function xtsCharts(run: RunRecord): ChartSpec[] {
  const ms = withParams(run, 'xts', ['engine', 'request']);
  const openssl = ms.filter((m) => m.params!.engine === 'openssl');
  const engines = ms.filter((m) => m.params!.engine !== 'openssl' && m.params!.sector !== undefined);
  if (engines.length === 0) return [];
  return (uniq(engines.map((m) => m.params!.sector!)) as number[]).sort((a, b) => a - b).map((sector) => {
    const series = group(engines.filter((m) => m.params!.sector === sector), (m) => `${m.params!.engine} (${m.params!.path})`, (m) => Number(m.params!.request));
    const ref = group(openssl.filter((m) => Number(m.params!.request) >= sector), () => 'openssl speed', (m) => Number(m.params!.request));
    return {
      id: `xts-${sector}`,
      title: `AES-256-XTS, ${sector}-byte sectors: MB/s vs request size`,
      xLabel: 'request size (bytes)',
      yLabel: 'MB/s (10^6 bytes/s), log scale',
      xScale: 'log',
      yScale: 'log',
      xFormat: formatBytes,
      series: [...series, ...ref.map((s) => ({ ...s, reference: true }))],
    } satisfies ChartSpec;
  });
}

function concurrencyCharts(run: RunRecord): ChartSpec[] {
  const charts: ChartSpec[] = [];
  const server = withParams(run, 'server', ['operation', 'connections']);
  if (server.length > 0) {
    charts.push({
      id: 'server-rps',
      title: 'ebsim serve: signed requests per second vs connections',
      xLabel: 'keep-alive connections',
      yLabel: 'requests/s',
      xScale: 'log',
      yScale: 'linear',
      series: group(server.filter((m) => m.unit === 'req/s'), (m) => [m.params!.server, m.params!.operation].filter((x) => x !== undefined).join(' · '), (m) => Number(m.params!.connections)),
    });
    charts.push({
      id: 'server-p99',
      title: 'ebsim serve: p99 latency vs connections',
      xLabel: 'keep-alive connections',
      yLabel: 'p99 ms',
      xScale: 'log',
      yScale: 'linear',
      series: group(server.filter((m) => m.id.endsWith('p99 ms')), (m) => [m.params!.server, m.params!.operation].filter((x) => x !== undefined).join(' · '), (m) => Number(m.params!.connections)),
    });
  }
  const kms = withParams(run, 'kms', ['threads']);
  if (kms.length > 0) {
    charts.push({
      id: 'kms-threads',
      title: 'KMS in process: GenerateDataKeyWithoutPlaintext per second vs threads on one home',
      xLabel: 'threads',
      yLabel: 'calls/s',
      xScale: 'log',
      yScale: 'linear',
      series: group(kms, () => 'GenerateDataKeyWithoutPlaintext', (m) => Number(m.params!.threads)),
    });
  }
  return charts;
}

/** Per suite, every measurement's round-to-round spread, sorted: a distribution of the noise. */
function spreadChart(run: RunRecord): ChartSpec[] {
  const series: Series[] = [];
  for (const [suite, rec] of Object.entries(run.suites)) {
    const spreads = (rec.measurements ?? [])
      .filter((m) => m.rounds.length >= 2 && median(m.rounds) !== 0)
      .map((m) => ((Math.max(...m.rounds) - Math.min(...m.rounds)) / median(m.rounds)) * 100)
      .sort((a, b) => a - b);
    if (spreads.length === 0) continue;
    // x = the share of the suite's measurements whose spread is at most y (in %).
    series.push({ name: suite, points: spreads.map((s, i) => ({ x: ((i + 1) / spreads.length) * 100, y: s, lo: s, hi: s })) });
  }
  if (series.length === 0) return [];
  return [{
    id: 'spread',
    title: 'round-to-round spread: (highest - lowest round) / median',
    xLabel: '% of the suite\'s measurements with at most this spread',
    yLabel: 'spread %',
    xScale: 'linear',
    yScale: 'linear',
    xTicks: [0, 25, 50, 75, 100],
    series,
  }];
}

export function chartsFor(run: RunRecord): ChartSpec[] {
  return [...deviceCharts(run), ...xtsCharts(run), ...concurrencyCharts(run), ...spreadChart(run)];
}
