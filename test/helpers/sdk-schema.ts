// The request shapes an AWS SDK for JavaScript v3 client ships (@smithy/core's compact schema
// arrays): member names, kinds, required members and the sensitive trait, for the model checks of
// every service (test/kms/model.test.ts, test/iam/model.test.ts).
import type { Member } from '../../src/api/index.js';

export type SdkShape =
  | { kind: 'string' | 'integer' | 'boolean' | 'blob' | 'timestamp' | 'other'; sensitive: boolean }
  | { kind: 'list'; member: SdkShape; sensitive: boolean }
  | { kind: 'map'; value: SdkShape; sensitive: boolean }
  | { kind: 'structure'; members: Record<string, SdkShape>; required: string[]; sensitive: boolean };

const SENSITIVE = 8;

export function sdkShape(t: unknown, sensitive = false): SdkShape {
  if (typeof t === 'function') return sdkShape(t());
  if (typeof t === 'number') {
    if (t & 64) return { kind: 'list', member: sdkShape(t & ~64), sensitive };
    if (t & 128) return { kind: 'map', value: sdkShape(t & ~128), sensitive };
    const kind = t === 0 ? 'string' : t === 1 ? 'integer' : t === 2 ? 'boolean' : t === 21 ? 'blob' : t >= 4 && t <= 7 ? 'timestamp' : 'other';
    return { kind, sensitive };
  }
  const a = t as unknown[];
  if (typeof a[0] === 'function') return sdkShape(a[0], sensitive);
  const traits = typeof a[3] === 'number' ? a[3] : 0;
  const s = sensitive || (traits & SENSITIVE) !== 0;
  switch (a[0]) {
    case 0: return sdkShape(a[4], s);
    case 1: return { kind: 'list', member: sdkShape(a[4]), sensitive: s };
    case 2: return { kind: 'map', value: sdkShape(a[5]), sensitive: s };
    case 3: {
      const names = a[4] as string[];
      const types = a[5] as unknown[];
      const members: Record<string, SdkShape> = {};
      names.forEach((n, i) => (members[n] = sdkShape(types[i])));
      return { kind: 'structure', members, required: names.slice(0, (a[6] as number | undefined) ?? 0), sensitive: s };
    }
    // A union (IAM's PolicyIdentifier in SimulatePrincipalPolicy's PolicyExclusionList): no ebsim member has that kind.
    case 4: return { kind: 'other', sensitive: s };
  }
  throw new Error(`unknown schema ${JSON.stringify(a)}`);
}

/** Problems of a declared operation's members against the SDK's request shape. */
export function compareWithSdk(op: { name: string; input: Record<string, Member> }, request: Extract<SdkShape, { kind: 'structure' }>, requiredByService: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  const kinds = (path: string, m: Member, s: SdkShape) => {
    if (m.kind !== s.kind) return void problems.push(`${path}: declared ${m.kind}, model ${s.kind}`);
    if (m.kind === 'list' && s.kind === 'list') kinds(`${path}.member`, m.member, s.member);
    if (m.kind === 'map' && s.kind === 'map') kinds(`${path}.value`, m.value, s.value);
    if (m.kind === 'structure' && s.kind === 'structure') {
      for (const [k, x] of Object.entries(m.members)) {
        if (!(k in s.members)) problems.push(`${path}.${k}: not a member in the model`);
        else kinds(`${path}.${k}`, x, s.members[k]!);
      }
      for (const k of s.required) if (k in m.members && !m.members[k]!.required) problems.push(`${path}.${k}: required in the model`);
    }
    if (s.sensitive && !m.secret) problems.push(`${path}: sensitive in the model, not declared secret`);
  };
  for (const [name, m] of Object.entries(op.input)) {
    const path = `${op.name}.${name}`;
    const s = request.members[name];
    if (!s) {
      problems.push(`${path}: not a member of ${op.name}Request`);
      continue;
    }
    kinds(path, m, s);
    const requiredInModel = request.required.includes(name);
    if (requiredInModel && !m.required) problems.push(`${path}: required in the model`);
    if (!requiredInModel && m.required && !requiredByService.has(path)) problems.push(`${path}: declared required, optional in the model`);
  }
  for (const name of request.required) if (!(name in op.input)) problems.push(`${op.name}.${name}: required in the model, not declared`);
  return problems;
}
