// Line charts as inline SVG, no library and no external assets: points at the median of the
// rounds, a whisker from the lowest to the highest round, ticks carrying their value
// (data-value) so that a test can read the scale back from what is drawn.

export interface Point {
  x: number;
  y: number;
  /** Lowest and highest round. */
  lo: number;
  hi: number;
}

export interface Series {
  name: string;
  points: Point[];
  /** Drawn dashed: a reference rather than a measured target (openssl speed). */
  reference?: boolean;
}

export type Scale = 'linear' | 'log';

export interface ChartSpec {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  xScale: Scale;
  yScale: Scale;
  series: Series[];
  /** Formats an x tick (e.g. 4096 -> "4K"). */
  xFormat?: (x: number) => string;
  /** x values to tick; default: every x in the data. */
  xTicks?: number[];
  note?: string;
}

export const W = 640;
export const H = 360;
export const MARGIN = { left: 70, right: 190, top: 36, bottom: 50 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

export const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Pixel position of `v` on an axis from `lo` to `hi` mapped onto `p0`..`p1`. */
export function project(v: number, lo: number, hi: number, p0: number, p1: number, scale: Scale): number {
  const t = scale === 'log' ? (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo)) : (v - lo) / (hi - lo);
  return p0 + t * (p1 - p0);
}

/** Round numbers for a linear axis from 0: 1, 2 or 5 times a power of ten. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * pow).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = 0; v < max + step; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** Powers of ten that span [lo, hi] on a log axis. */
export function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) ticks.push(10 ** e);
  return ticks;
}

export function formatNumber(v: number): string {
  if (v >= 1e9) return `${+(v / 1e9).toPrecision(3)}G`;
  if (v >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (v >= 1e4) return `${+(v / 1e3).toPrecision(3)}k`;
  return String(+v.toPrecision(3));
}

export function formatBytes(v: number): string {
  if (v >= 1 << 20 && v % (1 << 20) === 0) return `${v / (1 << 20)}M`;
  if (v >= 1024 && v % 1024 === 0) return `${v / 1024}K`;
  return String(v);
}

export function renderChart(spec: ChartSpec): string {
  const all = spec.series.flatMap((s) => s.points);
  const x0 = MARGIN.left;
  const x1 = W - MARGIN.right;
  const y0 = H - MARGIN.bottom;
  const y1 = MARGIN.top;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="${esc(spec.id)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" data-xscale="${spec.xScale}" data-yscale="${spec.yScale}" font-family="sans-serif" font-size="11">`);
  out.push(`<title>${esc(spec.title)}</title>`);
  out.push(`<text x="${x0}" y="20" font-size="13" font-weight="bold">${esc(spec.title)}</text>`);
  if (all.length === 0) {
    out.push(`<text x="${x0}" y="${(y0 + y1) / 2}">no data in this run</text></svg>`);
    return out.join('\n');
  }
  const xs = [...new Set(all.map((p) => p.x))].sort((a, b) => a - b);
  const xLo = spec.xScale === 'log' ? xs[0]! : Math.min(0, xs[0]!);
  let xHi = xs[xs.length - 1]!;
  if (xHi === xLo) xHi = xLo * 2 || 1;
  const yMax = Math.max(...all.map((p) => Math.max(p.hi, p.y)));
  const yMin = Math.min(...all.map((p) => Math.min(p.lo, p.y)).filter((v) => v > 0), yMax);
  const yTicks = spec.yScale === 'log' ? logTicks(yMin, yMax) : niceTicks(yMax);
  const yLo = yTicks[0]!;
  const yHi = yTicks[yTicks.length - 1]!;
  const px = (x: number) => project(x, xLo, xHi, x0, x1, spec.xScale);
  const py = (y: number) => project(spec.yScale === 'log' ? Math.max(y, yLo) : y, yLo, yHi, y0, y1, spec.yScale);
  const fx = spec.xFormat ?? formatNumber;

  // Axes, grid and ticks.
  out.push(`<g class="axes" stroke="#444"><line x1="${x0}" y1="${y0}" x2="${x1}" y2="${y0}"/><line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y1}"/></g>`);
  for (const t of spec.xTicks ?? xs) {
    const x = px(t).toFixed(2);
    out.push(`<g class="xtick" data-value="${t}" data-px="${x}"><line x1="${x}" y1="${y0}" x2="${x}" y2="${y0 + 5}" stroke="#444"/><text x="${x}" y="${y0 + 18}" text-anchor="middle">${esc(fx(t))}</text></g>`);
  }
  for (const t of yTicks) {
    const y = py(t).toFixed(2);
    out.push(`<g class="ytick" data-value="${t}" data-px="${y}"><line x1="${x0}" y1="${y}" x2="${x1}" y2="${y}" stroke="#e4e4e4"/><text x="${x0 - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${esc(formatNumber(t))}</text></g>`);
  }
  out.push(`<text x="${(x0 + x1) / 2}" y="${H - 12}" text-anchor="middle">${esc(spec.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${(y0 + y1) / 2}) rotate(-90)" text-anchor="middle">${esc(spec.yLabel)}</text>`);

  // Series: line through the medians, whiskers for the rounds, a point per median.
  spec.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    out.push(`<g class="series" data-series="${esc(s.name)}" stroke="${color}" fill="${color}">`);
    out.push(`<polyline fill="none" stroke-width="1.5"${s.reference ? ' stroke-dasharray="5 3"' : ''} points="${pts.map((p) => `${px(p.x).toFixed(2)},${py(p.y).toFixed(2)}`).join(' ')}"/>`);
    for (const p of pts) {
      const cx = px(p.x).toFixed(2);
      if (p.hi > p.lo) out.push(`<line class="whisker" x1="${cx}" x2="${cx}" y1="${py(p.lo).toFixed(2)}" y2="${py(p.hi).toFixed(2)}" stroke-width="1"/>`);
      out.push(`<circle class="point" cx="${cx}" cy="${py(p.y).toFixed(2)}" r="3"><title>${esc(`${s.name}: ${fx(p.x)} -> ${formatNumber(p.y)} (rounds ${formatNumber(p.lo)}-${formatNumber(p.hi)})`)}</title></circle>`);
    }
    out.push('</g>');
    // Legend.
    const ly = y1 + 4 + i * 16;
    out.push(`<g class="legend"><line x1="${x1 + 12}" x2="${x1 + 30}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${s.reference ? ' stroke-dasharray="5 3"' : ''}/><text x="${x1 + 34}" y="${ly}" dominant-baseline="middle">${esc(s.name)}</text></g>`);
  });
  if (spec.note) out.push(`<text x="${x0}" y="${H - 1}" font-size="9" fill="#666">${esc(spec.note)}</text>`);
  out.push('</svg>');
  return out.join('\n');
}
