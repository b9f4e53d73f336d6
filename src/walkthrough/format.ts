// Text layouts the walkthrough prints: bytes side by side, one CloudTrail record per line.
import type { TrailRecord } from '../trail/index.js';

/** `rows` rows of 16 bytes: the left buffer in hex, the right one as text (dots for the unprintable). */
export function sideBySide(left: Uint8Array, right: Uint8Array, rows: number): string {
  const text = (b: Uint8Array) => [...b].map((x) => (x >= 32 && x < 127 ? String.fromCharCode(x) : '.')).join('');
  const lines = [`    offset  ${'on disk (hex)'.padEnd(47)}   decrypted`];
  for (let r = 0; r < rows; r++) {
    const at = r * 16;
    const hex = [...left.subarray(at, at + 16)].map((x) => x.toString(16).padStart(2, '0')).join(' ');
    lines.push(`    ${at.toString(16).padStart(6, '0')}  ${hex.padEnd(47)}   ${text(right.subarray(at, at + 16))}`);
  }
  return lines.join('\n');
}

/** The columns of one CloudTrail record as the walkthrough prints it. */
export interface RecordCells {
  call: string;
  caller: string;
  key: string;
  context: string;
  result: string;
}

const EBS_CONTEXT_KEY = 'aws:ebs:id';

/**
 * Who called, and for whom: "Alice", "EC2 for Alice", "host i-…" (the instance's role,
 * aws:ec2-infrastructure, in the instance's session), "EC2 vol-…" (that role in a session
 * named after a volume or snapshot EC2 is making: a copy that re-encrypts).
 */
export function callerOf(r: TrailRecord): string {
  const id = r.userIdentity;
  const arn = String(id.arn ?? '');
  if (id.type === 'AssumedRole') {
    const [, role, session] = /:assumed-role\/(.+)\/([^/]+)$/.exec(arn) ?? [];
    if (role === 'aws:ec2-infrastructure') return session?.startsWith('i-') ? `host ${session}` : `EC2 ${session}`;
    return role ? `${role}/${session}` : arn;
  }
  const name = String(id.userName ?? arn);
  return id.invokedBy === 'AWS Internal' ? `EC2 for ${name}` : name;
}

/** The encryption context a record names: the request's, or the grant's constraint. */
export function contextOf(r: TrailRecord): Record<string, string> | undefined {
  const p = (r.requestParameters ?? {}) as Record<string, unknown>;
  const c = (p.encryptionContext ?? (p.constraints as Record<string, unknown> | undefined)?.encryptionContextSubset ?? (p.constraints as Record<string, unknown> | undefined)?.encryptionContextEquals) as
    | Record<string, string>
    | undefined;
  return c && typeof c === 'object' ? c : undefined;
}

const contextText = (ctx: Record<string, string>) => Object.entries(ctx).map(([k, v]) => `${k}=${v}`).join(',');

/** ReEncrypt's two contexts as "FROM→TO" (one EBS context key: "aws:ebs:id=vol-…→snap-…"). */
function reEncryptContext(r: TrailRecord): string | undefined {
  const p = (r.requestParameters ?? {}) as { sourceEncryptionContext?: Record<string, string>; destinationEncryptionContext?: Record<string, string> };
  const from = p.sourceEncryptionContext;
  const to = p.destinationEncryptionContext;
  if (!from && !to) return undefined;
  const ebsOnly = (c: Record<string, string> | undefined) => c !== undefined && Object.keys(c).length === 1 && EBS_CONTEXT_KEY in c;
  if (ebsOnly(from) && ebsOnly(to)) return `${EBS_CONTEXT_KEY}=${from![EBS_CONTEXT_KEY]}→${to![EBS_CONTEXT_KEY]}`;
  return `${from ? contextText(from) : '-'}→${to ? contextText(to) : '-'}`;
}

export function recordCells(r: TrailRecord, keyName: (arn: string) => string): RecordCells {
  const keyArn = (r.resources ?? []).find((x) => x.ARN.includes(':key/'))?.ARN;
  const ctx = contextOf(r);
  return {
    call: r.eventName,
    caller: callerOf(r),
    key: keyArn ? keyName(keyArn) : '-',
    context: reEncryptContext(r) ?? (ctx ? contextText(ctx) : '-'),
    result: r.errorCode ?? 'ok',
  };
}

/**
 * One line per record under a header. A volume's context ({"aws:ebs:id": VOL}) shows as the
 * volume alone (the header says so when every context is one), to fit 100 columns.
 */
export function recordTable(records: TrailRecord[], keyName: (arn: string) => string): string[] {
  if (records.length === 0) return [];
  const cells = records.map((r) => recordCells(r, keyName));
  const prefix = `${EBS_CONTEXT_KEY}=`;
  const volumeOnly = (c: RecordCells) => c.context.startsWith(prefix) && !c.context.includes(',');
  const ebsOnly = cells.every((c) => c.context === '-' || volumeOnly(c));
  for (const c of cells) if (volumeOnly(c)) c.context = c.context.slice(prefix.length);
  const head: RecordCells = { call: 'trail record', caller: 'caller', key: 'key', context: ebsOnly ? `context (${EBS_CONTEXT_KEY})` : 'context', result: 'result' };
  const cols = ['call', 'caller', 'key', 'context'] as const;
  const width = Object.fromEntries(cols.map((k) => [k, Math.max(...[head, ...cells].map((c) => c[k].length))])) as Record<(typeof cols)[number], number>;
  const line = (c: RecordCells) => `  ${cols.map((k) => c[k].padEnd(width[k])).join('  ')}  ${c.result}`.trimEnd();
  return [line(head), ...cells.map(line)];
}

/** Wraps prose at `width` columns, keeping the given indent. */
export function wrap(text: string, width = 100, indent = ''): string {
  const words = text.replace(/\s+/g, ' ').trim().split(' ');
  const lines: string[] = [];
  let cur = indent;
  for (const w of words) {
    if (cur.trim() && cur.length + 1 + w.length > width) {
      lines.push(cur);
      cur = indent + w;
    } else cur = cur.trim() ? `${cur} ${w}` : indent + w;
  }
  if (cur.trim()) lines.push(cur);
  return lines.join('\n');
}
