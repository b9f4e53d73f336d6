// Commands derived from a service's declared operations: one subcommand per operation with the
// AWS CLI's kebab-case name, one flag per input member (its kind gives the flag's type and
// parsing, its doc the help), so the CLI cannot drift from the domain.
import type { Argv } from 'yargs';
import type { Member, Members } from '../api/index.js';
import { decimalInteger, typed } from './integer-flag.js';
import { UsageError } from '../errors/index.js';
import { kebab, parseBlob, parseMap, parseText, readParamFile } from './input.js';
import { deeperThan } from '../server/shapes.js';
import { MAX_OPTION_DEPTH, structureFromShorthand } from './shorthand.js';
import type { Runtime } from './runtime.js';
import { allPages, type Paginator } from './pagination.js';
import { exampleOf } from './examples.js';

export interface DeclaredOperation {
  name: string;
  description: string;
  input: Members;
}

/**
 * Adds a subcommand per operation to `c`. `invoke` makes the call (through the service's one
 * invoke path) and returns what is printed (or a promise of it, where the host does part of the
 * work, as a forced StopInstances unmounts first). Required members are required flags, as the AWS CLI
 * checks them before sending anything, unless `requiredFlags` is false: KMS requires some members
 * the model leaves optional (the AWS CLI sends the call and the service refuses it), so its
 * missing members are the service's ValidationException.
 */
export function declaredCommands(
  c: Argv,
  operations: readonly DeclaredOperation[],
  rt: () => Runtime,
  invoke: (r: Runtime, operation: string, params: Record<string, unknown>) => unknown,
  opts: { requiredFlags?: boolean; paginators?: ReadonlyMap<string, Paginator>; service?: string } = {},
): Argv {
  const demand = opts.requiredFlags ?? true;
  for (const op of operations) {
    const members = Object.entries(op.input);
    c.command(
      kebab(op.name),
      op.description,
      (o) => {
        for (const [name, m] of members) o.option(kebab(name), { type: flagType(m), describe: m.doc ?? describeKind(m), ...(demand && m.required ? { demandOption: true } : {}) });
        const ex = exampleOf(opts.service ?? '', op);
        // As the AWS CLI's help ends: what the example does, then the command on its own line (long JSON stays whole).
        return o.epilogue(`Example: ${ex.description}\n  ${ex.command}`);
      },
      async (a) => {
        const r = rt();
        const params: Record<string, unknown> = {};
        for (const [name, m] of members) {
          const flag = kebab(name);
          const v = (a as Record<string, unknown>)[flag];
          if (v !== undefined) params[name] = convert(m, flag, v, name);
        }
        // List operations page through every page, as the AWS CLI does by default.
        r.print(await allPages(opts.paginators?.get(op.name), params, (p) => invoke(r, op.name, p)));
      },
    );
  }
  return c;
}

function flagType(m: Member): 'string' | 'number' | 'boolean' | 'array' {
  switch (m.kind) {
    // Read as text and parsed here: yargs's number type takes "1e3" and "0x10" as numbers.
    case 'integer': return 'string';
    case 'boolean': return 'boolean';
    case 'list': return 'array';
    default: return 'string';
  }
}

function describeKind(m: Member): string {
  switch (m.kind) {
    case 'blob': return 'base64, or fileb://PATH for raw bytes';
    case 'timestamp': return 'ISO 8601 time, or seconds since the epoch';
    case 'map': return 'k=v,k2=v2 or JSON';
    case 'structure': return 'JSON, or shorthand Key=Value,List=[{Key=Value}]';
    case 'list': return m.member.kind === 'structure' ? 'a JSON list (or file://PATH), or items in shorthand Key=Value,Key2={K=V},Key3=[a,b]' : 'space- or comma-separated values';
    case 'string': return m.enum ? m.enum.join(' | ') : '';
    default: return '';
  }
}

/** A blob member without a declared bound (AWS declares one on every KMS blob). */
const MAX_UNDECLARED_BLOB = 1 << 20;

function convert(m: Member, flag: string, v: unknown, name: string): unknown {
  switch (m.kind) {
    // As the AWS CLI reads an integer (Python's int()): decimal digits, a sign and spaces around.
    // Anything else is a usage mistake; a number out of range is the service's to refuse.
    case 'integer': {
      const n = decimalInteger(v);
      if (n === undefined) throw new UsageError(`Error parsing parameter '--${flag}': expected an integer, not ${typed(v)}`);
      return n;
    }
    case 'blob': return parseBlob(flag, String(v), m.max ?? MAX_UNDECLARED_BLOB);
    case 'string': return typeof v === 'string' ? parseText(flag, v, m.max) : v;
    case 'map': return notTooDeep(flag, parseMap(flag, String(v)));
    case 'structure': return notTooDeep(flag, parseStructureOption(flag, String(v), m.members, name));
    case 'list':
      if (m.member.kind === 'structure') return notTooDeep(flag, parseStructureList(flag, (v as unknown[]).map(String), m.member.members, name));
      // A policy document (PolicyInputList) is one item: read from file://, never split at its commas.
      return (v as unknown[]).flatMap((x) => {
        const item = String(x);
        if (m.member.kind === 'string' && (item.startsWith('file://') || item.trimStart().startsWith('{'))) return [parseText(flag, item, m.member.max)];
        return item.split(',');
      }).filter(Boolean);
    default: return v;
  }
}

/** As the AWS CLI takes a structure: JSON (it starts with "{"), or shorthand (src/cli/shorthand.ts), either maybe from file://PATH. */
function parseStructureOption(flag: string, value: string, members: Members, name: string): Record<string, unknown> {
  const text = fromFile(flag, value).trim();
  if (text.startsWith('{')) return parseJson(flag, text) as Record<string, unknown>;
  // JSON, but not an object: the AWS CLI's words (argprocess: "looks like JSON", not shorthand).
  if (text.startsWith('[')) throw new UsageError(`Error parsing parameter '--${flag}': Invalid JSON:\n${text}`);
  return structureFromShorthand(flag, text, members, name);
}

/** As the AWS CLI takes a list of structures: one JSON list, or items each in JSON or shorthand (Key=Value,Key2={K=V},Key3=[a,b]), each maybe from file://PATH. */
function parseStructureList(flag: string, items: string[], members: Members, name: string): unknown[] {
  const texts = items.map((item) => fromFile(flag, item).trim());
  // Text that starts with "[" parses (if at all) to a list.
  if (texts.length === 1 && texts[0]!.startsWith('[')) return parseJson(flag, texts[0]!) as unknown[];
  return texts.map((item, i) => (item.startsWith('{') ? parseJson(flag, item) : structureFromShorthand(flag, item, members, `${name}[${i}]`)));
}

/** An option's text, or the file's it names (file://PATH, as the AWS CLI reads it). */
function fromFile(flag: string, value: string): string {
  return value.startsWith('file://') ? readParamFile(flag, value, value.slice('file://'.length), 1 << 20).toString('utf8') : value;
}

/**
 * A value no deeper than the HTTP endpoint takes (JSON may nest without bound): a deeper one is
 * refused here, as a usage error, rather than overflowing a check or the trail record's depth.
 */
function notTooDeep<T>(flag: string, value: T): T {
  if (deeperThan(value, MAX_OPTION_DEPTH)) throw new UsageError(`Error parsing parameter '--${flag}': Nested more than ${MAX_OPTION_DEPTH} levels deep`);
  return value;
}

/** JSON, or a usage error in the AWS CLI's words (its parser's reason is Python's; this one is V8's). */
function parseJson(flag: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`Error parsing parameter '--${flag}': Invalid JSON: ${(err as Error).message}\nJSON received: ${text}`);
  }
}
