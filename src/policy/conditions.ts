// Condition operators (IAM User Guide, "IAM JSON policy elements: Condition operators") and the
// set operators ForAllValues / ForAnyValue ("Set operators for multivalued context keys").
// Compiled once per statement; evaluating one is a key lookup and a comparison per value.
import { PolicySyntaxError } from './errors.js';
import { arnMatch, compileGlob, globMatch, type Glob } from './glob.js';
import { cidrContains, parseCidr, parseIp, type Cidr } from './ip.js';
import type { RequestKeys } from './request-keys.js';
import { describeTemplate, joinParts, parseTemplate, resolveParts, type Part } from './template.js';

type Family = 'string' | 'stringIgnoreCase' | 'like' | 'numeric' | 'date' | 'bool' | 'binary' | 'ip' | 'arn' | 'null';
type Compare = 'eq' | 'lt' | 'le' | 'gt' | 'ge';

interface OperatorDef {
  family: Family;
  compare: Compare;
  /** StringNotEquals and the like: true when no request value matches (and when the key is absent). */
  negated: boolean;
}

const OPERATORS = new Map<string, [string, OperatorDef]>();
function op(name: string, family: Family, compare: Compare = 'eq', negated = false) {
  OPERATORS.set(name.toLowerCase(), [name, { family, compare, negated }]);
}
op('StringEquals', 'string');
op('StringNotEquals', 'string', 'eq', true);
op('StringEqualsIgnoreCase', 'stringIgnoreCase');
op('StringNotEqualsIgnoreCase', 'stringIgnoreCase', 'eq', true);
op('StringLike', 'like');
op('StringNotLike', 'like', 'eq', true);
for (const fam of ['Numeric', 'Date'] as const) {
  const family = fam === 'Numeric' ? 'numeric' : 'date';
  op(`${fam}Equals`, family);
  op(`${fam}NotEquals`, family, 'eq', true);
  op(`${fam}LessThan`, family, 'lt');
  op(`${fam}LessThanEquals`, family, 'le');
  op(`${fam}GreaterThan`, family, 'gt');
  op(`${fam}GreaterThanEquals`, family, 'ge');
}
op('Bool', 'bool');
op('BinaryEquals', 'binary');
op('IpAddress', 'ip');
op('NotIpAddress', 'ip', 'eq', true);
op('ArnEquals', 'arn');
op('ArnLike', 'arn');
op('ArnNotEquals', 'arn', 'eq', true);
op('ArnNotLike', 'arn', 'eq', true);
op('Null', 'null');

export interface ParsedOperator {
  /** Canonical spelling, e.g. "ForAnyValue:StringLikeIfExists". */
  name: string;
  def: OperatorDef;
  set: 'all' | 'any' | undefined;
  ifExists: boolean;
}

/** Parses an operator as written; undefined if IAM has no such operator. */
export function parseOperator(written: string): ParsedOperator | undefined {
  let rest = written;
  let set: ParsedOperator['set'];
  let prefix = '';
  const lower = rest.toLowerCase();
  if (lower.startsWith('forallvalues:')) [set, prefix, rest] = ['all', 'ForAllValues:', rest.slice(13)];
  else if (lower.startsWith('foranyvalue:')) [set, prefix, rest] = ['any', 'ForAnyValue:', rest.slice(12)];
  let ifExists = false;
  if (rest.toLowerCase().endsWith('ifexists')) [ifExists, rest] = [true, rest.slice(0, -8)];
  const found = OPERATORS.get(rest.toLowerCase());
  if (!found) return undefined;
  const [base, def] = found;
  // Null tests presence itself: it takes neither IfExists nor a set operator.
  if (def.family === 'null' && (ifExists || set)) return undefined;
  return { name: `${prefix}${base}${ifExists ? 'IfExists' : ''}`, def, set, ifExists };
}

interface PolicyValue {
  source: string;
  parts: readonly Part[] | undefined;
  str: string;
  glob?: Glob;
  num?: number;
  cidr?: Cidr;
}

export interface CompiledCondition {
  operator: ParsedOperator;
  /** The condition key as written, and lower-cased for lookup. */
  key: string;
  keyLower: string;
  values: readonly PolicyValue[];
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function parseNumber(s: string): number {
  return NUMBER.test(s.trim()) ? Number(s) : NaN;
}

// aws:CurrentTime changes once a second: remember the last one parsed.
let lastDateText: string | undefined;
let lastDate = NaN;

/** Dates: ISO 8601 ("2026-11-29T04:35:48Z", "2026-11-29") or epoch seconds ("1796000000"). */
export function parseDate(s: string): number {
  if (s !== lastDateText) {
    lastDate = parseDateUncached(s);
    lastDateText = s;
  }
  return lastDate;
}

function parseDateUncached(s: string): number {
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  return /^\d{4}-\d{2}-\d{2}/.test(s) ? Date.parse(s) : NaN;
}

export function compileCondition(operator: ParsedOperator, key: string, values: readonly string[], variables: boolean): CompiledCondition {
  const fam = operator.def.family;
  const compiled = values.map((source): PolicyValue => {
    const v: PolicyValue = { source, parts: undefined, str: source };
    switch (fam) {
      case 'string':
      case 'stringIgnoreCase':
        v.parts = parseTemplate(source, variables);
        if (fam === 'stringIgnoreCase') v.str = source.toLowerCase();
        break;
      case 'like':
      case 'arn':
        v.glob = compileGlob(source, { variables });
        break;
      case 'numeric':
        v.num = parseNumber(source);
        break;
      case 'date':
        v.num = parseDate(source);
        break;
      case 'bool':
      case 'null':
        v.str = source.toLowerCase();
        break;
      case 'ip': {
        const cidr = parseCidr(source);
        if (!cidr) throw new PolicySyntaxError('Syntax errors in policy.', `${operator.name} ${key}: ${JSON.stringify(source)} is not an IP address or CIDR block`);
        v.cidr = cidr;
        break;
      }
      case 'binary':
        break;
    }
    return v;
  });
  return { operator, key, keyLower: key.toLowerCase(), values: compiled };
}

function compare(c: Compare, a: number, b: number): boolean {
  switch (c) {
    case 'eq':
      return a === b;
    case 'lt':
      return a < b;
    case 'le':
      return a <= b;
    case 'gt':
      return a > b;
    case 'ge':
      return a >= b;
  }
}

/** Does one request value match some policy value under the operator's positive form? */
function anyValueMatches(c: CompiledCondition, x: string, req: RequestKeys): boolean {
  const { family, compare: cmp } = c.operator.def;
  switch (family) {
    case 'string':
    case 'stringIgnoreCase': {
      const xs = family === 'string' ? x : x.toLowerCase();
      for (const v of c.values) {
        let want = v.str;
        if (v.parts) {
          const r = resolveParts(v.parts, req);
          if (!r) continue;
          want = family === 'string' ? joinParts(r) : joinParts(r).toLowerCase();
        }
        if (xs === want) return true;
      }
      return false;
    }
    case 'like':
      for (const v of c.values) if (globMatch(v.glob!, x, req)) return true;
      return false;
    case 'arn':
      for (const v of c.values) if (arnMatch(v.glob!, x, req)) return true;
      return false;
    case 'numeric':
    case 'date': {
      const n = family === 'numeric' ? parseNumber(x) : parseDate(x);
      if (Number.isNaN(n)) return false;
      for (const v of c.values) if (compare(cmp, n, v.num!)) return true;
      return false;
    }
    case 'bool': {
      const xs = x.toLowerCase();
      for (const v of c.values) if (xs === v.str) return true;
      return false;
    }
    case 'binary':
      for (const v of c.values) if (x === v.str) return true;
      return false;
    case 'ip': {
      const ip = parseIp(x);
      if (!ip) return false;
      for (const v of c.values) if (cidrContains(v.cidr!, ip)) return true;
      return false;
    }
    case 'null':
      return false; // handled before: Null looks at presence only
  }
}

/**
 * Is the condition met? Absent key (or an empty list): Null "true" is met; IfExists and
 * ForAllValues are met; a negated operator is met; anything else is not. Present: without a set
 * operator, a positive operator needs one request value to match (AWS's rule for a single-valued
 * operator on a multivalued key), a negated one needs none to; ForAnyValue needs one request
 * value to satisfy the operator, ForAllValues every one.
 */
export function conditionMet(c: CompiledCondition, req: RequestKeys): boolean {
  const raw = req.get(c.keyLower);
  const absent = raw === undefined || (typeof raw !== 'string' && raw.length === 0);
  const { operator } = c;
  const negated = operator.def.negated;
  if (operator.def.family === 'null') {
    for (const v of c.values) if ((v.str === 'true') === absent) return true;
    return false;
  }
  if (absent) return operator.ifExists || operator.set === 'all' || (operator.set === undefined && negated);
  if (typeof raw === 'string') {
    const m = anyValueMatches(c, raw, req);
    return negated ? !m : m;
  }
  const values = raw as readonly string[];
  if (operator.set === 'all') {
    for (const x of values) if (anyValueMatches(c, x, req) === negated) return false;
    return true;
  }
  if (operator.set === 'any') {
    for (const x of values) if (anyValueMatches(c, x, req) !== negated) return true;
    return false;
  }
  for (const x of values) if (anyValueMatches(c, x, req)) return !negated;
  return negated;
}

/** One explanation line: `Condition StringEquals kms:ViaService: request has (absent); policy wants ec2.us-east-1.amazonaws.com (not met)`. */
export function describeCondition(c: CompiledCondition, req: RequestKeys, met: boolean): string {
  const raw = req.get(c.keyLower);
  const has = raw === undefined ? '(absent)' : typeof raw === 'string' ? raw : raw.length === 0 ? '(empty list)' : `[${raw.join(', ')}]`;
  const wants =
    c.operator.def.family === 'null'
      ? c.values.map((v) => (v.str === 'true' ? 'absent' : v.str === 'false' ? 'present' : JSON.stringify(v.source))).join(' or ')
      : c.values.map((v) => describeTemplate(v.source, v.parts ?? v.glob?.parts, req)).join(', ');
  return `Condition ${c.operator.name} ${c.key}: request has ${has}; policy wants ${wants} (${met ? 'met' : 'not met'})`;
}
