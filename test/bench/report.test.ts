// bench report: every point and whisker drawn equals the saved run's numbers, read back from the
// SVG through its own axis ticks (the expected points are worked out here from the JSON, not by
// the report's code); the page is self-contained and renders in Debian's chromium; the README's
// "Measured here" table is what the generator makes of the run it names.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { Measurement } from '../../bench/harness.js';
import { RUN_SCHEMA, type RunRecord } from '../../bench/record.js';
import { renderHtml } from '../../bench/report/html.js';
import { measuredHere, measuredHereSource } from '../../bench/report/markdown.js';
import { chartsFor } from '../../bench/report/charts.js';
import { renderChart } from '../../bench/report/svg.js';

const REPO = join(__dirname, '../..');
const EXAMPLES = join(REPO, 'bench/results/examples');
const ARTIFACTS = join(REPO, 'test/artifacts');
const CHROMIUM = '/usr/bin/chromium';

const mid = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const unesc = (s: string) => s.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

// ---- a hand-built sweep run: odd round counts, a value of 0.5, ten-fold ranges ----
function meas(id: string, unit: string, rounds: number[], params: Measurement['params'], better: Measurement['better'] = 'higher'): Measurement {
  return { id, unit, better, rounds, params };
}
function handRun(): RunRecord {
  const device: Measurement[] = [];
  let k = 1;
  for (const target of ['ebsim encrypted', 'ebsim pass-through'])
    for (const mode of ['read', 'randwrite'])
      for (const bs of [4096, 65536, 1048576])
        for (const qd of [1, 4, 32]) {
          k = (k * 7919) % 1000;
          const base = (bs / 4096) * qd * (1 + k / 1000);
          const params = { target, mode, bs, qd };
          device.push(meas(`${target} ${mode} ${bs} ${qd} MiB/s`, 'MiB/s', [base, base * 1.1, base * 0.93], params));
          device.push(meas(`${target} ${mode} ${bs} ${qd} IOPS`, 'IOPS', [base * 256, base * 250], params));
        }
  const xts: Measurement[] = [4096, 65536, 1048576].map((request) => meas(`openssl ${request}`, 'MB/s', [5000 + request / 1000, 5100], { engine: 'openssl', path: 'openssl speed', request }));
  for (const sector of [512, 4096])
    for (const [engine, path, speed] of [['native', 'aesni', 3000], ['noble', 'js', 0.5]] as const)
      for (const request of [512, 4096, 65536, 1048576].filter((r) => r >= sector))
        xts.push(meas(`${engine} ${sector} ${request}`, 'MB/s', [speed * (1 + request / 2e6), speed * 0.8, speed * 1.3], { engine, path, sector, request }));
  const server: Measurement[] = [1, 8, 64].flatMap((connections) => [
    meas(`Decrypt ${connections} req/s`, 'req/s', [1000 * Math.sqrt(connections), 900 * connections ** 0.5], { operation: 'Decrypt', connections }),
    meas(`Decrypt ${connections} p99 ms`, 'ms', [connections * 0.7, connections * 0.9, connections], { operation: 'Decrypt', connections }, 'lower'),
  ]);
  const kms: Measurement[] = [1, 2, 4].map((threads) => meas(`gen ${threads}`, 'ops/s', [2000 / threads, 2100 / threads], { threads }));
  const suite = (ms: Measurement[], missing?: Record<string, string>) => ({ description: 'test', seconds: 1, rows: [], measurements: ms, missing });
  return {
    schema: RUN_SCHEMA,
    time: '2026-01-01T00:00:00.000Z',
    argv: ['device', 'xts', '--matrix', 'small'],
    quick: false,
    matrix: 'small',
    machine: {
      cpu: { model: 'Test CPU <&>', cores: 2, flags: ['aes', 'avx2'] },
      kernel: 'Linux 6.1',
      node: 'v20.19.0',
      platform: 'linux',
      arch: 'x64',
      xts: { engine: 'native', path: 'aesni', reason: '' },
      git: { commit: 'c'.repeat(40), dirty: false },
      loadavg: { start: 0.5, end: 0.7 },
    },
    suites: { device: suite(device, { gocryptfs: 'not installed' }), xts: suite(xts), server: suite(server), kms: suite(kms) },
  };
}

/** What each chart must show, worked out from the JSON alone: chart id -> series -> x -> rounds. */
function expectedCharts(run: RunRecord): Map<string, Map<string, Map<number, number[]>>> {
  const charts = new Map<string, Map<string, Map<number, number[]>>>();
  const add = (chart: string, series: string, x: number, rounds: number[]) => {
    const c = charts.get(chart) ?? new Map<string, Map<number, number[]>>();
    charts.set(chart, c);
    const s = c.get(series) ?? new Map<number, number[]>();
    c.set(series, s);
    s.set(x, rounds);
  };
  const ms = (suite: string) => run.suites[suite]?.measurements ?? [];
  const dev = ms('device').filter((m) => m.params?.mode !== undefined);
  const qds = dev.map((m) => Number(m.params!.qd));
  const bsMin = Math.min(...dev.map((m) => Number(m.params!.bs)));
  for (const m of dev) {
    const p = m.params!;
    if (m.unit === 'MiB/s' && (p.qd === Math.min(...qds) || p.qd === Math.max(...qds))) add(`device-${p.mode}-bs`, `${p.target} qd=${p.qd}`, Number(p.bs), m.rounds);
    if (m.unit === 'IOPS' && p.bs === bsMin) add(`device-${p.mode}-qd`, String(p.target), Number(p.qd), m.rounds);
  }
  const xts = ms('xts').filter((m) => m.params?.request !== undefined);
  const sectors = new Set(xts.filter((m) => m.params!.sector !== undefined).map((m) => Number(m.params!.sector)));
  for (const m of xts) {
    const p = m.params!;
    if (p.engine === 'openssl') for (const s of sectors) if (Number(p.request) >= s) add(`xts-${s}`, 'openssl speed', Number(p.request), m.rounds);
    if (p.engine !== 'openssl') add(`xts-${p.sector}`, `${p.engine} (${p.path})`, Number(p.request), m.rounds);
  }
  for (const m of ms('server').filter((x) => x.params?.connections !== undefined)) {
    // One curve per server configuration (--workers N) and operation, where the run names the server.
    const name = m.params!.server === undefined ? String(m.params!.operation) : `${m.params!.server} · ${m.params!.operation}`;
    if (m.unit === 'req/s') add('server-rps', name, Number(m.params!.connections), m.rounds);
    if (m.id.endsWith('p99 ms')) add('server-p99', name, Number(m.params!.connections), m.rounds);
  }
  for (const m of ms('kms').filter((x) => x.params?.threads !== undefined)) add('kms-threads', 'GenerateDataKeyWithoutPlaintext', Number(m.params!.threads), m.rounds);
  // Spread: per suite, each measurement's (max - min) / median in %, sorted, at x = its rank in %.
  for (const suite of Object.keys(run.suites)) {
    const spreads = ms(suite)
      .filter((m) => m.rounds.length >= 2 && mid(m.rounds) !== 0)
      .map((m) => ((Math.max(...m.rounds) - Math.min(...m.rounds)) / mid(m.rounds)) * 100)
      .sort((a, b) => a - b);
    spreads.forEach((v, i) => add('spread', suite, ((i + 1) / spreads.length) * 100, [v]));
  }
  return charts;
}

interface Drawn {
  id: string;
  series: Map<string, { cx: number; cy: number }[]>;
  whiskers: Map<string, { x: number; y1: number; y2: number }[]>;
  /** Axis value -> pixel, from two ticks drawn on the axis. */
  x: (v: number) => number;
  y: (v: number) => number;
}

function axis(ticks: [number, number][], scale: string): (v: number) => number {
  expect(ticks.length).toBeGreaterThanOrEqual(2);
  const [a, b] = [ticks[0]!, ticks[ticks.length - 1]!];
  const f = scale === 'log' ? Math.log : (v: number) => v;
  return (v) => a[1] + ((f(v) - f(a[0])) / (f(b[0]) - f(a[0]))) * (b[1] - a[1]);
}

function parseSvgs(html: string): Map<string, Drawn> {
  const out = new Map<string, Drawn>();
  for (const svg of html.match(/<svg [\s\S]*?<\/svg>/g) ?? []) {
    const id = /id="([^"]+)"/.exec(svg)![1]!;
    const xs = /data-xscale="(\w+)"/.exec(svg)![1]!;
    const ys = /data-yscale="(\w+)"/.exec(svg)![1]!;
    const xt = [...svg.matchAll(/<g class="xtick" data-value="([^"]+)"[^>]*><line x1="([^"]+)"/g)].map((m) => [Number(m[1]), Number(m[2])] as [number, number]);
    const yt = [...svg.matchAll(/<g class="ytick" data-value="([^"]+)"[^>]*><line x1="[^"]+" y1="([^"]+)"/g)].map((m) => [Number(m[1]), Number(m[2])] as [number, number]);
    const series = new Map<string, { cx: number; cy: number }[]>();
    const whiskers = new Map<string, { x: number; y1: number; y2: number }[]>();
    for (const g of svg.matchAll(/<g class="series" data-series="([^"]*)"[^>]*>([\s\S]*?)\n<\/g>/g)) {
      const name = unesc(g[1]!);
      series.set(name, [...g[2]!.matchAll(/<circle class="point" cx="([^"]+)" cy="([^"]+)"/g)].map((m) => ({ cx: Number(m[1]), cy: Number(m[2]) })));
      whiskers.set(name, [...g[2]!.matchAll(/<line class="whisker" x1="([^"]+)" x2="[^"]+" y1="([^"]+)" y2="([^"]+)"/g)].map((m) => ({ x: Number(m[1]), y1: Number(m[2]), y2: Number(m[3]) })));
    }
    if (xt.length < 2 || yt.length < 2) continue;
    out.set(id, { id, series, whiskers, x: axis(xt, xs), y: axis(yt, ys) });
  }
  return out;
}

/** Every expected point drawn where the axes put its median, with its whisker at the lowest and highest round. */
function checkRun(run: RunRecord): number {
  const drawn = parseSvgs(renderHtml(run, 'test.json'));
  const expected = expectedCharts(run);
  let points = 0;
  for (const [chart, series] of expected) {
    const d = drawn.get(chart);
    expect(d, `chart ${chart} is drawn`).toBeDefined();
    expect([...d!.series.keys()].sort(), `series of ${chart}`).toEqual([...series.keys()].sort());
    for (const [name, byX] of series) {
      const circles = d!.series.get(name)!;
      expect(circles.length, `${chart} / ${name}: one point per measurement`).toBe(byX.size);
      for (const [x, rounds] of byX) {
        const px = d!.x(x);
        const c = circles.find((p) => Math.abs(p.cx - px) < 0.02);
        expect(c, `${chart} / ${name}: a point at x=${x}`).toBeDefined();
        // Coordinates are written to 0.01 px.
        expect(Math.abs(c!.cy - d!.y(mid(rounds))), `${chart} / ${name} x=${x}: median ${mid(rounds)}`).toBeLessThan(0.011);
        const lo = Math.min(...rounds);
        const hi = Math.max(...rounds);
        const w = d!.whiskers.get(name)!.find((p) => Math.abs(p.x - px) < 0.02);
        if (hi > lo) {
          expect(Math.abs(w!.y1 - d!.y(lo)), `${chart} / ${name} x=${x}: lowest round`).toBeLessThan(0.011);
          expect(Math.abs(w!.y2 - d!.y(hi)), `${chart} / ${name} x=${x}: highest round`).toBeLessThan(0.011);
        } else expect(w).toBeUndefined();
        points++;
      }
    }
  }
  return points;
}

const examples = existsSync(EXAMPLES) ? readdirSync(EXAMPLES).filter((f) => f.endsWith('.json')) : [];

describe('bench report: the figures drawn', () => {
  it('equal a hand-built run\'s medians and round ranges, point for point', () => {
    // device: 2 modes x 2 targets x (3 block sizes x 2 queue depths shown + 3 queue depths);
    // xts: 512-byte sectors 2 engines x 4 requests + openssl at 3, 4096-byte 2 x 3 + 3;
    // server: req/s and p99 at 3 connection counts; kms: 3 thread counts; the spread chart: one
    // point per measurement of two rounds or more (all of them: device 72, xts 3 + 8 + 6, server 6, kms 3).
    expect(checkRun(handRun())).toBe(2 * 2 * (3 * 2 + 3) + (2 * 4 + 3) + (2 * 3 + 3) + 2 * 3 + 3 + (72 + 17 + 6 + 3));
  });

  it('fail the check when one number is drawn wrong (the check can fail)', () => {
    const run = handRun();
    const html = renderHtml(run, 'x');
    const tampered = html.replace(/(<circle class="point" cx="[^"]+" cy=")([\d.]+)/, (_, a: string, y: string) => `${a}${(Number(y) + 1).toFixed(2)}`);
    expect(tampered).not.toBe(html);
    const drawn = parseSvgs(tampered);
    const first = [...drawn.values()][0]!;
    const [name, circles] = [...first.series][0]!;
    const byX = expectedCharts(run).get(first.id)!.get(name)!;
    const bad = circles.filter((c) => ![...byX].some(([x, r]) => Math.abs(c.cx - first.x(x)) < 0.02 && Math.abs(c.cy - first.y(mid(r))) < 0.011));
    expect(bad.length).toBe(1);
  });

  it.each(examples)('equal the numbers of the checked-in run %s', (file) => {
    const run = JSON.parse(readFileSync(join(EXAMPLES, file), 'utf8')) as RunRecord;
    checkRun(run);
  });

  it('make a self-contained page: no scripts, nothing fetched, the machine named and absent references reported', () => {
    const html = renderHtml(handRun(), 'x.json');
    expect(html).not.toMatch(/<script|<link|<img|\ssrc=|\shref=|url\(/i);
    expect(html.match(/https?:\/\/[^"\s]+/g)).toEqual(Array(html.match(/<svg /g)!.length).fill('http://www.w3.org/2000/svg'));
    expect(html).toContain('Test CPU &lt;&amp;&gt;, 2 cores');
    expect(html).toContain('missing, not measured: device: gocryptfs: not installed');
    expect(html).not.toMatch(/gocryptfs qd=/);
  });
});

describe.skipIf(!existsSync(CHROMIUM))('bench report in Debian\'s chromium', () => {
  it('renders every chart with every point on screen (screenshot in test/artifacts/bench-report.png)', async () => {
    const run = examples.length ? (JSON.parse(readFileSync(join(EXAMPLES, examples.find((f) => f.includes('-small')) ?? examples[0]!), 'utf8')) as RunRecord) : handRun();
    const html = renderHtml(run, 'example');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.setContent(html);
      const charts = await page.$$eval('svg.chart', (els) => els.map((e) => {
        const box = e.getBoundingClientRect();
        const pts = [...e.querySelectorAll('circle.point')].map((c) => (c as SVGGraphicsElement).getBoundingClientRect());
        return { w: box.width, h: box.height, points: pts.length, inside: pts.every((p) => p.left >= box.left && p.right <= box.right && p.top >= box.top && p.bottom <= box.bottom) };
      }));
      expect(charts.length).toBe(html.match(/<svg /g)!.length);
      for (const c of charts) {
        expect(c.w).toBeGreaterThan(600);
        expect(c.inside).toBe(true);
      }
      expect(charts.reduce((a, c) => a + c.points, 0)).toBe(html.match(/class="point"/g)!.length);
      expect(requests.filter((u) => !u.startsWith('about:') && !u.startsWith('data:'))).toEqual([]);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'bench-report.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });
});

describe('README: the "Measured here" table', () => {
  it('is the generator\'s output on the saved run it names, which is checked in', () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const source = measuredHereSource(readme);
    expect(source, 'README names the run its table was made from').not.toBeNull();
    const run = JSON.parse(readFileSync(join(REPO, source!), 'utf8')) as RunRecord;
    const block = measuredHere(run, source!);
    expect(readme).toContain(block);
    expect(block).toContain(run.machine.cpu.model);
  });
});

describe('README: the figures', () => {
  it('are the report\'s SVG files for the checked-in sweep run the README names, and that run\'s points check out', () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const source = /<!-- figures: generated by .* from (\S+) -->/.exec(readme)?.[1];
    expect(source, 'README names the run its figures were made from').toBeDefined();
    const run = JSON.parse(readFileSync(join(REPO, source!), 'utf8')) as RunRecord;
    const charts = new Map(chartsFor(run).map((c) => [c.id, c]));
    const shown = [...readme.matchAll(/!\[[^\]]*\]\(docs\/bench\/([\w-]+)\.svg\)/g)].map((m) => m[1]!);
    expect(shown.length).toBeGreaterThan(0);
    for (const id of shown) {
      expect(charts.has(id), id).toBe(true);
      expect(readFileSync(join(REPO, 'docs/bench', `${id}.svg`), 'utf8')).toBe(renderChart(charts.get(id)!) + '\n');
    }
    checkRun(run);
  });
});

describe('npm run bench -- report (the built command)', () => {
  it('writes the page and one SVG per chart, and prints the table, from a saved run', async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'ebsim-h18-report-'));
    try {
      const file = join(dir, 'run.json');
      const run = handRun();
      writeFileSync(file, JSON.stringify(run));
      const bin = join(REPO, 'dist/bench/run.js');
      execFileSync(process.execPath, [bin, 'report', file, '--svg-dir', join(dir, 'svg')], { stdio: 'pipe' });
      expect(readFileSync(join(dir, 'run.html'), 'utf8')).toBe(renderHtml(run, file));
      const ids = chartsFor(run).map((c) => c.id);
      expect(readdirSync(join(dir, 'svg')).sort()).toEqual(ids.map((id) => `${id}.svg`).sort());
      execFileSync(process.execPath, [bin, 'report', file, '--out', join(dir, 'other.html')], { stdio: 'pipe' });
      expect(readFileSync(join(dir, 'other.html'), 'utf8')).toBe(renderHtml(run, file));
      const md = execFileSync(process.execPath, [bin, 'report', file, '--markdown'], { encoding: 'utf8' });
      expect(md).toBe(measuredHere(run, file) + '\n');
      expect(() => execFileSync(process.execPath, [bin, 'report', file, '--bogus'], { stdio: 'pipe' })).toThrow(/unknown option --bogus/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
