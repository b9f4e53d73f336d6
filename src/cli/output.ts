// Prints results the way the AWS CLI v2 does: the response made plain as the CLI sees it (blobs
// as base64, timestamps in Python's ISO 8601), then --query (JMESPath, the `jmespath` package:
// the AWS CLI uses the same language), then json (4-space indent), text or table.
import jmespath from 'jmespath';
import { UsageError } from '../errors/index.js';
import { awsTable } from './aws-table.js';
import { awsTextLines } from './aws-text.js';

export type OutputFormat = 'json' | 'text' | 'table';

/** A timestamp as the AWS CLI v2 prints it: Python's datetime.isoformat() in UTC. */
export function awsTimestamp(d: Date): string {
  const iso = d.toISOString();
  const ms = d.getUTCMilliseconds();
  return `${iso.slice(0, 19)}${ms ? `.${String(ms * 1000).padStart(6, '0')}` : ''}+00:00`;
}

export function toPlain(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value instanceof Date) return awsTimestamp(value);
  if (Array.isArray(value)) return value.map(toPlain);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, toPlain(v)]));
  }
  return value;
}

/**
 * Checks a --query before anything is called, as the AWS CLI parses it with its arguments: a bad
 * expression is a usage error, and nothing is created on the way.
 */
export function checkQuery(expression: string): void {
  try {
    (jmespath as unknown as { compile(e: string): unknown }).compile(expression);
  } catch (err) {
    throw new UsageError(`Bad value for --query ${expression}: Invalid jmespath expression: ${(err as Error).message}`);
  }
}

/** The part of a (plain) response a JMESPath expression names; null where it names nothing. */
export function query(plain: unknown, expression: string): unknown {
  try {
    return jmespath.search(plain, expression) ?? null;
  } catch (err) {
    // Type errors (a function given the wrong kind of value) surface only while searching.
    throw new UsageError(`--query ${expression}: ${(err as Error).message}`);
  }
}

export interface RenderOptions {
  /** The table's title: the operation's name, as the AWS CLI uses (ListKeys, DescribeVolumes). */
  title?: string;
  /** Columns the table may take (the AWS CLI: the terminal's, or 80 when not a terminal). */
  width?: number;
}

/**
 * What to print for a result, or undefined to print nothing: an operation with an empty response
 * (create-alias, disable-key) prints nothing in every format, and a table of nothing is nothing.
 */
export function render(value: unknown, format: OutputFormat, expression?: string, opts: RenderOptions = {}): string | undefined {
  let plain = toPlain(value);
  const empty = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0;
  if (expression === undefined && empty(plain)) return undefined;
  if (expression !== undefined) plain = query(plain, expression);
  if (format === 'json') return empty(plain) ? undefined : JSON.stringify(plain, null, 4);
  if (format === 'text') {
    const lines = awsTextLines(plain);
    return lines.length ? lines.join('\n') : undefined;
  }
  return awsTable(plain, opts.title ?? '', opts.width) || undefined;
}
