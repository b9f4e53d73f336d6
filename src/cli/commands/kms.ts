// `ebsim kms OPERATION`: every declared KMS operation with the AWS CLI's kebab-case names and
// flags, derived from the declarations (names, kinds, help) so the CLI cannot drift from the domain.
import type { Argv } from 'yargs';
import type { Member } from '../../api/index.js';
import { KMS_OPERATIONS } from '../../kms/index.js';
import type { Runtime } from '../runtime.js';
import { UsageError } from '../../errors/index.js';
import { kebab, parseBlob, parseMap, parseStructure } from '../input.js';

export function kmsCommand(y: Argv, rt: () => Runtime) {
  return y.command('kms', 'The simulated AWS KMS (same operations and flags as `aws kms`)', (c) => {
    for (const op of KMS_OPERATIONS) {
      const members = Object.entries(op.input as Record<string, Member>);
      c.command(
        kebab(op.name),
        op.description,
        (o) => {
          for (const [name, m] of members) {
            o.option(kebab(name), { type: flagType(m), describe: m.doc ?? describeKind(m) });
          }
          return o;
        },
        (a) => {
          const r = rt();
          const params: Record<string, unknown> = {};
          for (const [name, m] of members) {
            const flag = kebab(name);
            const v = (a as Record<string, unknown>)[flag];
            if (v !== undefined) params[name] = convert(m, flag, v);
          }
          r.print(r.open().kms().call(r.caller(), op.name, params));
        },
      );
    }
    return c.demandCommand(1, 'Name a kms operation (see --help)');
  });
}

function flagType(m: Member): 'string' | 'number' | 'boolean' | 'array' {
  switch (m.kind) {
    case 'integer': return 'number';
    case 'boolean': return 'boolean';
    // A list of structures is passed as JSON, like a structure.
    case 'list': return m.member.kind === 'structure' ? 'string' : 'array';
    default: return 'string';
  }
}

function describeKind(m: Member): string {
  switch (m.kind) {
    case 'blob': return 'base64, or fileb://PATH for raw bytes';
    case 'map': return 'k=v,k2=v2 or JSON';
    case 'structure': return 'JSON';
    case 'list': return m.member.kind === 'structure' ? 'JSON list' : 'space-separated values';
    case 'string': return m.enum ? m.enum.join(' | ') : '';
    default: return '';
  }
}

function convert(m: Member, flag: string, v: unknown): unknown {
  switch (m.kind) {
    case 'blob': return parseBlob(flag, String(v));
    case 'map': return parseMap(flag, String(v));
    case 'structure': return parseStructure(flag, String(v));
    case 'list':
      if (m.member.kind === 'structure') return parseJsonList(flag, String(v));
      return (v as unknown[]).flatMap((x) => String(x).split(',')).filter(Boolean);
    default: return v;
  }
}

function parseJsonList(flag: string, text: string): unknown[] {
  try {
    const v = JSON.parse(text) as unknown;
    if (Array.isArray(v)) return v;
  } catch {
    // reported below
  }
  throw new UsageError(`Expected a JSON list for --${flag}, got: ${text}`);
}
