// A sequence diagram of the trail: one lifeline per principal and service, one arrow per call,
// each labelled with the volume, key and encryption context it names; the calls of one request
// (a call and the calls it caused, sharing its request ID) grouped in a band, cause first; denied
// calls marked; a legend. Mermaid for docs; self-contained SVG and HTML (click an arrow to read
// its record) for everyone else.
import type { TrailRecord } from './record.js';

export interface DiagramArrow {
  from: string;
  to: string;
  label: string;
  /** The volume, key and encryption context the call names, in one line ('' if none). */
  detail: string;
  denied: boolean;
  error?: string;
  time: string;
  requestID: string;
  /** Index of the arrow's record in the records given to buildDiagram. */
  record: number;
}

/** Calls drawn together: one request's cause and the calls it caused. */
export interface DiagramGroup {
  requestID: string;
  /** First and last arrow index (inclusive). */
  first: number;
  last: number;
}

export interface Diagram {
  participants: string[];
  arrows: DiagramArrow[];
  groups: DiagramGroup[];
}

const SERVICE_NAMES: Record<string, string> = Object.assign(Object.create(null) as Record<string, string>, {
  'kms.amazonaws.com': 'KMS',
  'ec2.amazonaws.com': 'EC2',
  'iam.amazonaws.com': 'IAM',
  'sts.amazonaws.com': 'STS',
  'cloudtrail.amazonaws.com': 'CloudTrail',
});

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

const obj = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);

/** The volume a call is about: its encryption context's aws:ebs:id, a grant's constraint, or the volume it names. */
function volumeOf(r: TrailRecord): string | undefined {
  const p = obj(r.requestParameters);
  const ctx = obj(p?.encryptionContext) ?? obj(obj(p?.constraints)?.encryptionContextSubset) ?? obj(obj(p?.constraints)?.encryptionContextEquals);
  const fromCtx = ctx?.['aws:ebs:id'];
  if (typeof fromCtx === 'string') return fromCtx;
  if (typeof p?.volumeId === 'string') return p.volumeId;
  const text = JSON.stringify(r.responseElements ?? null);
  return /"(vol-[0-9a-f]{8,17})"/.exec(text)?.[1];
}

/** The key, as short as a reader needs: an alias as it is, a key ARN or ID by its first 8 characters. */
function keyOf(r: TrailRecord): string | undefined {
  const p = obj(r.requestParameters);
  const named = typeof p?.keyId === 'string' ? p.keyId : (r.resources ?? []).find((x) => x.ARN.includes(':key/'))?.ARN;
  if (!named) return undefined;
  const alias = /alias\/.+$/.exec(named)?.[0];
  if (alias) return alias;
  const id = /([0-9a-f]{8})-[0-9a-f-]{27}$/.exec(named)?.[1] ?? /(mrk-[0-9a-f]{8})/.exec(named)?.[1];
  return `key ${id ?? named}`;
}

function contextOf(r: TrailRecord): string | undefined {
  const p = obj(r.requestParameters);
  const ctx = obj(p?.encryptionContext);
  if (ctx) return `context ${Object.entries(ctx).map(([k, v]) => `${k}=${String(v)}`).join(',')}`;
  const subset = obj(obj(p?.constraints)?.encryptionContextSubset);
  if (subset) return `only for ${Object.entries(subset).map(([k, v]) => `${k}=${String(v)}`).join(',')}`;
  return undefined;
}

/** A launch's or a new volume's encrypted disks, as its request names them (the volume has no ID yet). */
function disksOf(r: TrailRecord): string | undefined {
  const p = obj(r.requestParameters);
  const items = (obj(p?.blockDeviceMapping)?.items ?? []) as unknown[];
  const disks = items.map(obj).filter((m) => obj(m?.ebs)).map((m) => {
    const ebs = obj(m!.ebs)!;
    return `${String(m!.deviceName ?? '')} ${ebs.volumeSize ?? '?'} GiB${ebs.encrypted ? ' encrypted' : ''}${typeof ebs.kmsKeyId === 'string' ? ` under ${ebs.kmsKeyId}` : ''}`.trim();
  });
  if (r.eventName === 'CreateVolume' && p) disks.push(`${p.size ?? '?'} GiB${p.encrypted ? ' encrypted' : ''}${typeof p.kmsKeyId === 'string' ? ` under ${p.kmsKeyId}` : ''}`);
  return disks.length ? disks.join(', ') : undefined;
}

function detailOf(r: TrailRecord): string {
  const disks = disksOf(r);
  if (disks && !volumeOf(r)) return disks;
  const volume = volumeOf(r);
  const context = contextOf(r);
  // The context already names the volume: say it once.
  const parts = [context?.includes(volume ?? '\u0000') ? undefined : volume, keyOf(r), context].filter(Boolean);
  return parts.join(' · ');
}

const direct = (r: TrailRecord) => r.userIdentity.invokedBy !== 'AWS Internal';

/**
 * The records in cause-effect order, grouped by request: a request's direct call (its cause)
 * first, then the calls a service made for it (same request ID), by time. A service's call whose
 * request has no direct call of its own (AWS gives some their own ID, as the seed's
 * GenerateDataKeyWithoutPlaintext) joins the latest earlier request of the same user about the
 * same volume.
 */
function causeEffectOrder(records: TrailRecord[]): { index: number; group: string }[][] {
  const groups: { id: string; user: string; volumes: Set<string>; items: number[] }[] = [];
  const byId = new Map<string, (typeof groups)[number]>();
  const user = (r: TrailRecord) => String(r.userIdentity.userName ?? r.userIdentity.arn ?? '');
  const idOf = (r: TrailRecord) => r.requestID ?? r.eventID;
  // Requests with a direct call (a cause) first, so a service's call stored before its
  // request's other calls still finds the request.
  const hasCause = new Set(records.filter(direct).map(idOf));
  const orphans: number[] = [];
  records.forEach((r, i) => {
    const id = idOf(r);
    if (!direct(r) && !hasCause.has(id) && volumeOf(r)) {
      orphans.push(i);
      return;
    }
    let g = byId.get(id);
    if (!g) {
      g = { id, user: user(r), volumes: new Set(), items: [] };
      groups.push(g);
      byId.set(id, g);
    }
    g.items.push(i);
    const v = volumeOf(r);
    if (v) g.volumes.add(v);
  });
  for (const i of orphans) {
    const r = records[i]!;
    const v = volumeOf(r)!;
    // The latest request begun before it, by the same user, about the same volume; else its own.
    let g = [...groups].reverse().find((x) => x.items[0]! < i && x.user === user(r) && x.volumes.has(v));
    if (!g) {
      g = { id: idOf(r), user: user(r), volumes: new Set([v]), items: [] };
      const at = groups.findIndex((x) => x.items[0]! > i);
      groups.splice(at < 0 ? groups.length : at, 0, g);
    }
    g.items.push(i);
  }
  const time = (i: number) => Date.parse(records[i]!.eventTime) || 0;
  return groups.map((g) => {
    const causes = g.items.filter((i) => direct(records[i]!)).sort((a, b) => a - b);
    const effects = g.items.filter((i) => !direct(records[i]!)).sort((a, b) => time(a) - time(b) || a - b);
    return [...causes, ...effects].map((index) => ({ index, group: g.id }));
  });
}

export function buildDiagram(records: TrailRecord[]): Diagram {
  const arrows: DiagramArrow[] = [];
  const groups: DiagramGroup[] = [];
  for (const group of causeEffectOrder(records)) {
    const first = arrows.length;
    for (const { index, group: requestID } of group) {
      const r = records[index]!;
      const from = callerName(r);
      const to = SERVICE_NAMES[r.eventSource] ?? r.eventSource;
      const forWhom = r.userIdentity.invokedBy === 'AWS Internal' ? ` (for ${String(r.userIdentity.userName ?? r.userIdentity.arn)})` : '';
      arrows.push({ from, to, label: `${r.eventName}${forWhom}`, detail: detailOf(r), denied: Boolean(r.errorCode), error: r.errorCode, time: r.eventTime, requestID, record: index });
    }
    groups.push({ requestID: group[0]!.group, first, last: arrows.length - 1 });
  }
  // Callers first in order of appearance, then the services: the picture reads left to right.
  const callers = [...new Set(arrows.map((a) => a.from))].filter((p) => !Object.values(SERVICE_NAMES).includes(p) || p === 'EC2');
  const services = ['EC2', 'KMS', 'IAM', 'STS', 'CloudTrail'].filter((s) => arrows.some((a) => a.to === s) || (s === 'EC2' && callers.includes('EC2')));
  // People, then the services they call, then the roles whose sessions call back in.
  const people = callers.filter((c) => c !== 'EC2' && !c.includes(' ('));
  const sessions = callers.filter((c) => c.includes(' ('));
  const participants = [...people, ...services, ...sessions, ...[...new Set(arrows.map((a) => a.to))].filter((t) => !services.includes(t))];
  return { participants, arrows, groups };
}

export function toMermaid(d: Diagram): string {
  const id = (p: string) => `P${d.participants.indexOf(p)}`;
  const clean = (s: string) => s.replace(/[;#]/g, ' ');
  const lines = ['sequenceDiagram'];
  for (const p of d.participants) lines.push(`    participant ${id(p)} as ${clean(p)}`);
  const banded = new Map(d.groups.filter((g) => g.last > g.first).map((g) => [g.first, g]));
  const ends = new Set([...banded.values()].map((g) => g.last));
  d.arrows.forEach((a, i) => {
    const g = banded.get(i);
    if (g) lines.push(`    rect rgba(31, 95, 168, 0.08)`, `    Note over ${id(a.from)},${id(a.to)}: request ${g.requestID.slice(0, 8)}: one call and the calls it caused`);
    const detail = a.detail ? `<br/>${clean(a.detail)}` : '';
    lines.push(`    ${id(a.from)}${a.denied ? '-x' : '->>'}${id(a.to)}: ${a.label}${a.denied ? ` DENIED ${a.error}` : ''}${detail}`);
    if (ends.has(i)) lines.push('    end');
  });
  return lines.join('\n') + '\n';
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Text width in px, generous (0.62 em a character, 0.66 bold): a box sized by it holds its label. */
export function textPx(text: string, fontSize: number, bold = false): number {
  return Math.ceil([...text].length * fontSize * (bold ? 0.66 : 0.62));
}

const BOX_FONT = 12;
const LABEL_FONT = 12;
const DETAIL_FONT = 11;

/** Each participant's lifeline x, so that boxes fit their labels and adjacent calls' labels fit between lifelines. */
export function layout(d: Diagram): { x: Map<string, number>; box: Map<string, number>; width: number } {
  const box = new Map(d.participants.map((p) => [p, textPx(p, BOX_FONT, true) + 24]));
  const x = new Map<string, number>();
  let at = 20;
  d.participants.forEach((p, i) => {
    if (i === 0) at += box.get(p)! / 2;
    else {
      const prev = d.participants[i - 1]!;
      // Room for both half-boxes, and for the labels of calls between these two lifelines.
      const labels = d.arrows
        .filter((a) => Math.abs(d.participants.indexOf(a.from) - d.participants.indexOf(a.to)) === 1 && [a.from, a.to].includes(p) && [a.from, a.to].includes(prev))
        .map((a) => Math.max(textPx(a.label + (a.denied ? ` — DENIED (${a.error ?? ''})` : ''), LABEL_FONT), textPx(a.detail, DETAIL_FONT)) + 24);
      at += Math.max(box.get(prev)! / 2 + box.get(p)! / 2 + 30, ...labels);
    }
    x.set(p, at);
  });
  const last = d.participants.at(-1);
  const width = Math.max(520, (last ? x.get(last)! + box.get(last)! / 2 : 0) + 20);
  return { x, box, width };
}

const LEGEND = [
  ['ok', 'a call (one CloudTrail record): caller → service; click it in the HTML page to read the record'],
  ['no', 'a denied call, with its error code'],
  ['band', 'one request: a call and the calls it caused (same request ID), cause first'],
  ['text', '(for Alice): a service calling on someone\'s behalf · second line: volume · key · encryption context'],
] as const;

export function toSvg(d: Diagram, opts: { clickable?: boolean } = {}): string {
  const rowH = 44;
  const top = 70;
  const { x, box, width } = layout(d);
  const legendTop = top + (d.arrows.length + 1) * rowH;
  const height = legendTop + LEGEND.length * 20 + 30;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="${LABEL_FONT}">`,
    '<defs><marker id="ok" markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="8" refX="9" refY="4" orient="auto"><path d="M0,0 L10,4 L0,8 z" fill="#1f5fa8"/></marker>',
    '<marker id="no" markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" refX="5" refY="5" orient="auto"><path d="M1,1 L9,9 M9,1 L1,9" stroke="#c0392b" stroke-width="2"/></marker></defs>',
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
  ];
  const yOf = (i: number) => top + (i + 1) * rowH;
  for (const g of d.groups) {
    if (g.last <= g.first) continue;
    const y0 = yOf(g.first) - rowH + 12;
    const y1 = yOf(g.last) + 14;
    parts.push(`<g class="request"><rect x="6" y="${y0}" width="${width - 12}" height="${y1 - y0}" rx="6" fill="#1f5fa8" fill-opacity="0.06" stroke="#1f5fa8" stroke-opacity="0.25"/>`);
    parts.push(`<text x="12" y="${y0 + 12}" font-size="10" fill="#4a5a70">request ${esc(g.requestID.slice(0, 8))}</text></g>`);
  }
  for (const p of d.participants) {
    const w = box.get(p)!;
    parts.push(`<g class="participant"><rect x="${x.get(p)! - w / 2}" y="10" width="${w}" height="30" rx="6" fill="#eef3fb" stroke="#1f5fa8"/>`);
    parts.push(`<text x="${x.get(p)}" y="30" text-anchor="middle" font-weight="600" font-size="${BOX_FONT}">${esc(p)}</text></g>`);
    parts.push(`<line x1="${x.get(p)}" y1="40" x2="${x.get(p)}" y2="${legendTop - 10}" stroke="#9aa9bd" stroke-dasharray="4 4"/>`);
  }
  d.arrows.forEach((a, i) => {
    const y = yOf(i);
    const x1 = x.get(a.from)!;
    const x2 = x.get(a.to)!;
    const color = a.denied ? '#c0392b' : '#1f5fa8';
    const click = opts.clickable ? ` data-record="${a.record}" style="cursor:pointer"` : '';
    parts.push(`<g class="arrow"${click}><title>${esc(`${a.time} ${a.label}${a.detail ? ` · ${a.detail}` : ''}`)}</title>`);
    // A wide transparent line: easy to click.
    parts.push(`<line x1="${x1}" y1="${y - 8}" x2="${x2}" y2="${y - 8}" stroke="transparent" stroke-width="26"/>`);
    parts.push(`<line x1="${x1}" y1="${y}" x2="${x2}" y2="${y}" stroke="${color}" stroke-width="1.6" ${a.denied ? 'stroke-dasharray="6 3" ' : ''}marker-end="url(#${a.denied ? 'no' : 'ok'})"/>`);
    parts.push(`<text x="${(x1 + x2) / 2}" y="${y - 20}" text-anchor="middle" fill="${color}">${esc(a.label)}${a.denied ? ` — DENIED (${esc(a.error ?? '')})` : ''}</text>`);
    if (a.detail) parts.push(`<text x="${(x1 + x2) / 2}" y="${y - 6}" text-anchor="middle" font-size="${DETAIL_FONT}" fill="#4a5a70">${esc(a.detail)}</text>`);
    parts.push('</g>');
  });
  parts.push(`<g class="legend"><text x="12" y="${legendTop + 4}" font-weight="600">Legend</text>`);
  LEGEND.forEach(([kind, text], i) => {
    const y = legendTop + 22 + i * 20;
    if (kind === 'ok' || kind === 'no') parts.push(`<line x1="14" y1="${y - 4}" x2="60" y2="${y - 4}" stroke="${kind === 'ok' ? '#1f5fa8' : '#c0392b'}" stroke-width="1.6" ${kind === 'no' ? 'stroke-dasharray="6 3" ' : ''}marker-end="url(#${kind})"/>`);
    else if (kind === 'band') parts.push(`<rect x="14" y="${y - 12}" width="46" height="14" rx="3" fill="#1f5fa8" fill-opacity="0.06" stroke="#1f5fa8" stroke-opacity="0.25"/>`);
    else parts.push(`<text x="14" y="${y}" fill="#4a5a70" font-size="${DETAIL_FONT}">abc</text>`);
    parts.push(`<text x="72" y="${y}">${esc(text)}</text>`);
  });
  parts.push('</g>', '</svg>');
  return parts.join('\n') + '\n';
}

/** JSON inside a <script> element: nothing in it can close the element. */
const scriptJson = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

export function toHtml(d: Diagram, records: TrailRecord[], title = 'ebsim trail'): string {
  const rows = d.arrows
    .map((a) => {
      const r = records[a.record]!;
      return `<tr class="${r.errorCode ? 'denied' : ''}" data-record="${a.record}"><td>${esc(r.eventTime)}</td><td>${esc(callerName(r))}</td><td>${esc(r.eventSource)}</td><td>${esc(r.eventName)}</td><td>${esc(a.detail)}</td><td>${esc(r.errorCode ?? 'ok')}</td></tr>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;color:#1c2733}table{border-collapse:collapse;margin-top:16px}td,th{border:1px solid #d5dde8;padding:4px 8px;text-align:left}tr.denied td{color:#c0392b}tr[data-record]{cursor:pointer}tr.selected td{background:#eef3fb}g.arrow.selected line{stroke-width:3}#record{white-space:pre-wrap;background:#f6f8fb;border:1px solid #d5dde8;padding:12px;max-width:1100px;font-size:12px}</style>
</head><body>
<h1>${esc(title)}</h1>
<p>${records.length} calls, ${records.filter((r) => r.errorCode).length} denied, in ${d.groups.length} requests. Every arrow is one CloudTrail record: click one to read it.</p>
${toSvg(d, { clickable: true })}
<h2 id="record-title">Record</h2>
<pre id="record">Click an arrow (or a row below) to see its CloudTrail record.</pre>
<table><thead><tr><th>time</th><th>caller</th><th>service</th><th>call</th><th>volume · key · context</th><th>result</th></tr></thead><tbody>
${rows}
</tbody></table>
<script type="application/json" id="records">${scriptJson(records)}</script>
<script>
const records = JSON.parse(document.getElementById('records').textContent);
function show(i) {
  document.querySelectorAll('.selected').forEach((e) => e.classList.remove('selected'));
  document.querySelectorAll('[data-record="' + i + '"]').forEach((e) => e.classList.add('selected'));
  const r = records[i];
  document.getElementById('record-title').textContent = 'Record: ' + r.eventName + ' at ' + r.eventTime;
  document.getElementById('record').textContent = JSON.stringify(r, null, 2);
}
document.querySelectorAll('[data-record]').forEach((e) => e.addEventListener('click', () => show(Number(e.getAttribute('data-record')))));
</script>
</body></html>
`;
}
