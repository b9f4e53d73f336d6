// AWS's own model of a service (the JSON model botocore ships with the AWS CLI), to check that
// declarations copy nothing by hand without a check: member names, kinds and enums.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Member, Members } from '../../src/api/index.js';

interface JsonShape {
  type: string;
  members?: Record<string, { shape: string }>;
  member?: { shape: string };
  value?: { shape: string };
  required?: string[];
  enum?: string[];
}

export interface AwsModel {
  shapes: Record<string, JsonShape>;
  operations: Record<string, { input?: { shape: string } }>;
}

function botocoreDirs(): string[] {
  const dirs: string[] = [];
  try {
    dirs.push(execFileSync('python3', ['-c', 'import botocore, os; print(os.path.dirname(botocore.__file__))'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    // no python botocore
  }
  dirs.push('/usr/lib/python3/dist-packages/awscli/botocore', '/usr/lib/python3/dist-packages/botocore');
  return dirs;
}

/** The newest API version of `service` in the first botocore that has it, or undefined. */
export function awsModel(service: string): AwsModel | undefined {
  for (const d of botocoreDirs()) {
    const dir = join(d, 'data', service);
    if (!existsSync(dir)) continue;
    const version = readdirSync(dir).filter((v) => /^\d{4}-\d\d-\d\d$/.test(v)).sort().pop();
    const file = version && join(dir, version, 'service-2.json');
    if (file && existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as AwsModel;
  }
  return undefined;
}

const KINDS: Record<Member['kind'], string[]> = {
  string: ['string'],
  integer: ['integer', 'long'],
  boolean: ['boolean'],
  timestamp: ['timestamp'],
  blob: ['blob'],
  list: ['list'],
  map: ['map'],
  structure: ['structure'],
};

/**
 * Problems of declared operations against the model: an operation or member the model does not
 * have, a kind that differs (a member with its own `check` may stand for a timestamp), an enum
 * value the model does not list, a member declared required that the model leaves optional
 * (unless listed in `requiredByService`).
 */
export function checkAgainstModel(model: AwsModel, operations: readonly { name: string; input: Members }[], requiredByService: readonly string[] = []): string[] {
  const problems: string[] = [];
  const check = (path: string, m: Member, shapeName: string) => {
    const s = model.shapes[shapeName];
    if (!s) return problems.push(`${path}: model shape ${shapeName} missing`);
    const kinds = m.check && m.kind === 'string' ? ['string', 'timestamp'] : KINDS[m.kind];
    if (!kinds.includes(s.type)) return problems.push(`${path}: declared ${m.kind}, model ${s.type}`);
    if (m.kind === 'string' && m.enum && s.enum) {
      for (const v of m.enum) if (!s.enum.includes(v)) problems.push(`${path}: enum value ${v} not in the model`);
    }
    if (m.kind === 'list' && s.member) check(`${path}[]`, m.member, s.member.shape);
    if (m.kind === 'map' && s.value) check(`${path}{}`, m.value, s.value.shape);
    if (m.kind === 'structure') structure(path, m.members, shapeName);
  };
  const structure = (path: string, members: Members, shapeName: string) => {
    const s = model.shapes[shapeName]!;
    for (const [name, m] of Object.entries(members)) {
      const ref = s.members?.[name];
      if (!ref) {
        problems.push(`${path}.${name}: not a member of ${shapeName}`);
        continue;
      }
      if (m.required && !(s.required ?? []).includes(name) && !requiredByService.includes(`${path}.${name}`)) problems.push(`${path}.${name}: required here, optional in the model`);
      check(`${path}.${name}`, m, ref.shape);
    }
  };
  for (const op of operations) {
    const input = model.operations[op.name]?.input?.shape;
    if (!input) {
      if (!model.operations[op.name]) problems.push(`${op.name}: not an operation of the model`);
      else if (Object.keys(op.input).length) problems.push(`${op.name}: the model has no input`);
      continue;
    }
    structure(op.name, op.input, input);
  }
  return problems;
}
