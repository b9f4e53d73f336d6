// Prints results the way the AWS CLI does: JSON (4-space indent, blobs as base64, ISO dates),
// text (tab-separated, one line per list item, prefixed with the list's name) or a table.
import { UsageError } from '../errors/index.js';

export type OutputFormat = 'json' | 'text' | 'table';

export function toPlain(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(toPlain);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, toPlain(v)]));
  }
  return value;
}

/**
 * The part of a response a `--query` names, for the JMESPath subset scripts use: names joined by
 * dots, each with optional [N] indexes (`Policy`, `KeyMetadata.Arn`, `Keys[0].KeyId`). A missing
 * name is null, as JMESPath has it; any other expression is a usage error.
 */
export function query(value: unknown, expression: string): unknown {
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\[\d+\])*(\.[A-Za-z_][A-Za-z0-9_]*(\[\d+\])*)*$/.test(expression)) {
    throw new UsageError(`--query: ebsim understands names, dots and [N] indexes only (such as KeyMetadata.Arn or Keys[0].KeyId), not ${JSON.stringify(expression)}`);
  }
  let v: unknown = value;
  for (const step of expression.match(/[A-Za-z_][A-Za-z0-9_]*|\[\d+\]/g)!) {
    if (v === null || v === undefined) return null;
    if (step.startsWith('[')) v = Array.isArray(v) ? v[Number(step.slice(1, -1))] : null;
    else v = typeof v === 'object' && !(v instanceof Uint8Array) && !(v instanceof Date) && Object.prototype.hasOwnProperty.call(v, step) ? (v as Record<string, unknown>)[step] : null;
  }
  return v ?? null;
}

export function render(value: unknown, format: OutputFormat): string {
  const plain = toPlain(value);
  // The AWS CLI prints nothing for an operation with an empty response (put-user-policy,
  // attach-role-policy…), not "{}".
  if (plain && typeof plain === 'object' && !Array.isArray(plain) && Object.keys(plain).length === 0) return '';
  if (format === 'json') return JSON.stringify(plain, null, 4);
  if (format === 'text') return textLines(plain, '').join('\n');
  return tableOf(plain);
}

function scalar(v: unknown): string {
  return v === null || v === undefined ? 'None' : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function textLines(v: unknown, prefix: string): string[] {
  if (Array.isArray(v)) return v.flatMap((item) => (item && typeof item === 'object' ? textLines(item, prefix) : [`${prefix ? prefix + '\t' : ''}${scalar(item)}`]));
  if (!v || typeof v !== 'object') return [scalar(v)];
  const entries = Object.entries(v as Record<string, unknown>);
  const scalars = entries.filter(([, x]) => !x || typeof x !== 'object' || isStringList(x)).sort(([a], [b]) => a.localeCompare(b));
  const nested = entries.filter(([, x]) => x && typeof x === 'object' && !isStringList(x));
  const lines: string[] = [];
  if (scalars.length) {
    const vals = scalars.map(([, x]) => (Array.isArray(x) ? x.join('\t') : scalar(x)));
    lines.push((prefix ? [prefix, ...vals] : vals).join('\t'));
  }
  for (const [k, x] of nested) lines.push(...textLines(x, k.toUpperCase()));
  return lines;
}

function isStringList(x: unknown): boolean {
  return Array.isArray(x) && x.every((i) => typeof i !== 'object' || i === null);
}

function tableOf(v: unknown): string {
  const rows: [string, string][] = [];
  const walk = (x: unknown, path: string) => {
    if (x && typeof x === 'object' && !isStringList(x)) {
      for (const [k, y] of Object.entries(x as Record<string, unknown>)) walk(y, path ? `${path}.${k}` : k);
    } else {
      rows.push([path, Array.isArray(x) ? x.join(', ') : scalar(x)]);
    }
  };
  walk(v, '');
  if (rows.length === 0) return '';
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  const bar = `+${'-'.repeat(w0 + 2)}+${'-'.repeat(w1 + 2)}+`;
  return [bar, ...rows.map(([a, b]) => `| ${a.padEnd(w0)} | ${b.padEnd(w1)} |`), bar].join('\n');
}
