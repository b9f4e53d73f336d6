// The report page: one self-contained HTML file (inline CSS and SVG, nothing fetched), with the
// machine the run was made on, every curve, and each suite's table and notes.
import type { BenchRow } from '../harness.js';
import type { RunRecord } from '../record.js';
import { chartsFor } from './charts.js';
import { esc, renderChart } from './svg.js';

const CSS = `body{font-family:sans-serif;max-width:1320px;margin:24px auto;padding:0 16px;color:#222}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:12px;margin:8px 0}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left}
th{background:#f4f4f4}.charts{display:flex;flex-wrap:wrap;gap:8px}.chart{border:1px solid #eee;background:#fff}
.missing{color:#a00}.notes li{font-size:12px;color:#444}`;

export function machineSummary(run: RunRecord): [string, string][] {
  const m = run.machine;
  const crypto = ['aes', 'vaes', 'vpclmulqdq', 'avx2', 'avx512f', 'sha_ni'].filter((f) => m.cpu.flags.includes(f));
  return [
    ['CPU', `${m.cpu.model}, ${m.cpu.cores} cores`],
    ['CPU flags (crypto)', crypto.join(' ') || '(none of aes, vaes, vpclmulqdq, avx2, avx512f, sha_ni)'],
    ['kernel', m.kernel],
    ['Node', `${m.node} (${m.platform} ${m.arch})`],
    ['XTS engine', `${m.xts.engine ?? 'none'}${m.xts.path ? `, native path ${m.xts.path}` : ''}`],
    ['commit', `${m.git.commit ?? 'unknown'}${m.git.dirty ? ' (with uncommitted changes)' : ''}`],
    ['load average (1 min)', `${m.loadavg.start.toFixed(2)} at the start, ${m.loadavg.end?.toFixed(2) ?? '?'} at the end`],
    ['run', `${run.time}: ${run.argv.join(' ') || '(all suites)'}${run.smoke ? ' (--smoke: the figures mean nothing)' : run.quick ? ' (--quick)' : ''}`],
  ];
}

function table(rows: BenchRow[]): string {
  if (rows.length === 0) return '<p>(no rows)</p>';
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) => (v === null || v === undefined ? '-' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : String(v));
  return `<table><tr>${cols.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>${rows.map((r) => `<tr>${cols.map((c) => `<td>${esc(cell(r[c]))}</td>`).join('')}</tr>`).join('')}</table>`;
}

export function renderHtml(run: RunRecord, source: string): string {
  const charts = chartsFor(run);
  const parts: string[] = [];
  parts.push(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>ebsim bench report: ${esc(run.time)}</title><style>${CSS}</style></head><body>`);
  parts.push(`<h1>ebsim benchmark report</h1><p>From <code>${esc(source)}</code>. Points are the median of the rounds; whiskers span the lowest to the highest round.</p>`);
  parts.push(`<table class="machine">${machineSummary(run).map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>`);
  const missing = Object.entries(run.suites).flatMap(([s, r]) => Object.entries(r.missing ?? {}).map(([k, v]) => `${s}: ${k}: ${v}`));
  if (missing.length) parts.push(`<ul class="missing">${missing.map((x) => `<li>missing, not measured: ${esc(x)}</li>`).join('')}</ul>`);
  if (charts.length) parts.push(`<h2>Curves</h2><div class="charts">${charts.map(renderChart).join('\n')}</div>`);
  for (const [name, suite] of Object.entries(run.suites)) {
    parts.push(`<h2>${esc(name)}: ${esc(suite.description)} (${suite.seconds.toFixed(0)} s)</h2>`);
    parts.push(table(suite.rows));
    if (suite.notes?.length) parts.push(`<ul class="notes">${suite.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>`);
  }
  parts.push('</body></html>');
  return parts.join('\n');
}
