// A sequence diagram of the trail: one lifeline per principal and service, one arrow per call,
// denied calls marked. Mermaid for docs; self-contained SVG and HTML for everyone else.
import type { TrailRecord } from './record.js';

export interface DiagramArrow {
  from: string;
  to: string;
  label: string;
  denied: boolean;
  error?: string;
  time: string;
}

export interface Diagram {
  participants: string[];
  arrows: DiagramArrow[];
}

const SERVICE_NAMES: Record<string, string> = {
  'kms.amazonaws.com': 'KMS',
  'ec2.amazonaws.com': 'EC2',
  'iam.amazonaws.com': 'IAM',
  'sts.amazonaws.com': 'STS',
};

/** Who made the call, as a reader would name them. A service acting for someone is that service. */
export function callerName(r: TrailRecord): string {
  const id = r.userIdentity;
  if (id.invokedBy === 'AWS Internal') return 'EC2';
  const arn = String(id.arn ?? '');
  if (id.type === 'AssumedRole') {
    const [, role, session] = arn.split(':assumed-role/')[1]?.match(/^(.*)\/([^/]+)$/) ?? [];
    return role ? `${role} (${session})` : arn;
  }
  return String(id.userName ?? arn);
}

export function buildDiagram(records: TrailRecord[]): Diagram {
  const arrows = records.map((r) => {
    const from = callerName(r);
    const to = SERVICE_NAMES[r.eventSource] ?? r.eventSource;
    const forWhom = r.userIdentity.invokedBy === 'AWS Internal' ? ` (for ${String(r.userIdentity.userName ?? r.userIdentity.arn)})` : '';
    return { from, to, label: `${r.eventName}${forWhom}`, denied: Boolean(r.errorCode), error: r.errorCode, time: r.eventTime };
  });
  // Callers first in order of appearance, then the services: the picture reads left to right.
  const callers = [...new Set(arrows.map((a) => a.from))].filter((p) => !Object.values(SERVICE_NAMES).includes(p) || p === 'EC2');
  const services = ['EC2', 'KMS', 'IAM', 'STS'].filter((s) => arrows.some((a) => a.to === s) || (s === 'EC2' && callers.includes('EC2')));
  // People, then the services they call, then the roles whose sessions call back in.
  const people = callers.filter((c) => c !== 'EC2' && !c.includes(' ('));
  const sessions = callers.filter((c) => c.includes(' ('));
  const participants = [...people, ...services, ...sessions, ...[...new Set(arrows.map((a) => a.to))].filter((t) => !services.includes(t))];
  return { participants, arrows };
}

export function toMermaid(d: Diagram): string {
  const id = (p: string) => `P${d.participants.indexOf(p)}`;
  const lines = ['sequenceDiagram'];
  for (const p of d.participants) lines.push(`    participant ${id(p)} as ${p.replace(/[;#]/g, ' ')}`);
  for (const a of d.arrows) {
    lines.push(`    ${id(a.from)}${a.denied ? '-x' : '->>'}${id(a.to)}: ${a.label}${a.denied ? ` DENIED ${a.error}` : ''}`);
  }
  return lines.join('\n') + '\n';
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function toSvg(d: Diagram): string {
  const colW = 220;
  const rowH = 34;
  const top = 60;
  const width = Math.max(1, d.participants.length) * colW + 40;
  const height = top + (d.arrows.length + 1) * rowH + 30;
  const x = (p: string) => 20 + d.participants.indexOf(p) * colW + colW / 2;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    '<defs><marker id="ok" markerWidth="10" markerHeight="8" refX="9" refY="4" orient="auto"><path d="M0,0 L10,4 L0,8 z" fill="#1f5fa8"/></marker>',
    '<marker id="no" markerWidth="10" markerHeight="10" refX="5" refY="5" orient="auto"><path d="M1,1 L9,9 M9,1 L1,9" stroke="#c0392b" stroke-width="2"/></marker></defs>',
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
  ];
  for (const p of d.participants) {
    parts.push(`<rect x="${x(p) - 95}" y="10" width="190" height="30" rx="6" fill="#eef3fb" stroke="#1f5fa8"/>`);
    parts.push(`<text x="${x(p)}" y="30" text-anchor="middle" font-weight="600">${esc(p)}</text>`);
    parts.push(`<line x1="${x(p)}" y1="40" x2="${x(p)}" y2="${height - 10}" stroke="#9aa9bd" stroke-dasharray="4 4"/>`);
  }
  d.arrows.forEach((a, i) => {
    const y = top + (i + 1) * rowH;
    const x1 = x(a.from);
    const x2 = x(a.to);
    const color = a.denied ? '#c0392b' : '#1f5fa8';
    parts.push(`<line x1="${x1}" y1="${y}" x2="${x2}" y2="${y}" stroke="${color}" stroke-width="1.6" ${a.denied ? 'stroke-dasharray="6 3" ' : ''}marker-end="url(#${a.denied ? 'no' : 'ok'})"/>`);
    parts.push(`<text x="${(x1 + x2) / 2}" y="${y - 6}" text-anchor="middle" fill="${color}">${esc(a.label)}${a.denied ? ` — DENIED (${esc(a.error ?? '')})` : ''}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

export function toHtml(d: Diagram, records: TrailRecord[], title = 'ebsim trail'): string {
  const rows = records
    .map((r) => `<tr class="${r.errorCode ? 'denied' : ''}"><td>${esc(r.eventTime)}</td><td>${esc(callerName(r))}</td><td>${esc(r.eventSource)}</td><td>${esc(r.eventName)}</td><td>${esc(r.errorCode ?? 'ok')}</td></tr>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;color:#1c2733}table{border-collapse:collapse;margin-top:16px}td,th{border:1px solid #d5dde8;padding:4px 8px;text-align:left}tr.denied td{color:#c0392b}</style>
</head><body>
<h1>${esc(title)}</h1>
<p>${records.length} calls, ${records.filter((r) => r.errorCode).length} denied. Every arrow is one CloudTrail record.</p>
${toSvg(d)}
<table><thead><tr><th>time</th><th>caller</th><th>service</th><th>call</th><th>result</th></tr></thead><tbody>
${rows}
</tbody></table>
</body></html>
`;
}
