// The input members of an AWS operation, declared once: kinds, bounds, enums, secrecy. The same
// declaration validates a request (with AWS's ValidationException wording), tells the wire
// layer which members are blobs, gives the CLI its flags and the trail its redaction.
import { ValidationException, validationError } from '../errors/index.js';

interface MemberCommon {
  required?: boolean;
  /** Never logged: secrets and opaque blobs stay out of the trail's requestParameters. */
  secret?: boolean;
  /** One line of help (the CLI's flag description). */
  doc?: string;
  /**
   * A domain's own check of a present value, replacing the generic one for this member (an
   * encryption context's size limit and wording). Returns the value the operation receives.
   */
  check?: (value: unknown, field: string) => unknown;
}

export interface StringMember extends MemberCommon {
  kind: 'string';
  min?: number;
  max?: number;
  pattern?: RegExp;
  enum?: readonly string[];
}
export interface IntegerMember extends MemberCommon {
  kind: 'integer';
  min?: number;
  max?: number;
}
export interface BooleanMember extends MemberCommon {
  kind: 'boolean';
}
/** A point in time: JSON 1.1 sends epoch seconds; an ISO 8601 string (the CLI's form) is accepted too. Validates to a Date. */
export interface TimestampMember extends MemberCommon {
  kind: 'timestamp';
}
export interface BlobMember extends MemberCommon {
  kind: 'blob';
  min?: number;
  max?: number;
}
export interface ListMember extends MemberCommon {
  kind: 'list';
  member: Member;
  min?: number;
  max?: number;
}
export interface MapMember extends MemberCommon {
  kind: 'map';
  value: Member;
}
export interface StructureMember extends MemberCommon {
  kind: 'structure';
  members: Members;
}

export type Member = StringMember | IntegerMember | BooleanMember | TimestampMember | BlobMember | ListMember | MapMember | StructureMember;
export type MemberKind = Member['kind'];
export type Members = Readonly<Record<string, Member>>;

/** Validated input: each present member as its kind describes it (maps and structures without prototype). */
export type Input = Record<string, unknown>;

/** The value a member declaration validates to. */
export type ValueOf<M> = M extends { check: (...args: never[]) => infer R }
  ? R
  : M extends { kind: 'string'; enum: readonly (infer E)[] }
    ? E
    : M extends { kind: 'string' }
      ? string
      : M extends { kind: 'integer' }
        ? number
        : M extends { kind: 'boolean' }
          ? boolean
          : M extends { kind: 'timestamp' }
            ? Date
            : M extends { kind: 'blob' }
              ? Uint8Array
              : M extends { kind: 'list'; member: infer E }
                ? ValueOf<E>[]
                : M extends { kind: 'map'; value: infer V }
                  ? Record<string, ValueOf<V>>
                  : M extends { kind: 'structure'; members: infer S }
                    ? InputOf<S>
                    : unknown;

type RequiredKeys<Ms> = { [K in keyof Ms]: Ms[K] extends { required: true } ? K : never }[keyof Ms];

/** The validated input of an operation whose members are `Ms`: required members present, the others optional. */
export type InputOf<Ms> = string extends keyof Ms
  ? Input // members not known at compile time
  : { [K in RequiredKeys<Ms>]: ValueOf<Ms[K]> } & { [K in Exclude<keyof Ms, RequiredKeys<Ms>>]?: ValueOf<Ms[K]> };

const memberNames = new Map<string, string>();

/**
 * AWS's camelCase member name ("KeyId" → "keyId"): used in validation messages and in CloudTrail's
 * requestParameters. Memoized: the same few dozen names come on every call.
 */
export function memberName(name: string): string {
  let c = memberNames.get(name);
  if (c === undefined) {
    c = name.charAt(0).toLowerCase() + name.slice(1);
    if (memberNames.size < 1000) memberNames.set(name, c);
  }
  return c;
}

const has = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/** Refuses members the operation does not declare (the JSON protocol ignores them; the CLI never sends them). */
export function rejectUnknown(params: Record<string, unknown>, members: Members): void {
  for (const k of Object.keys(params)) {
    if (!has(members, k) && params[k] !== undefined) {
      const names = Object.keys(members);
      throw new ValidationException(`Unknown parameter '${k}'. ${names.length ? `Valid parameters are: ${names.join(', ')}.` : 'This operation takes no parameters.'}`);
    }
  }
}

/**
 * Checks every declared member of `params`, in declaration order (the first failure is the one
 * reported), and returns the validated input. null counts as absent, as AWS's JSON front end treats it.
 */
export function validateInput(params: Record<string, unknown>, members: Members): Input {
  rejectUnknown(params, members);
  const out = Object.create(null) as Input;
  for (const name in members) {
    const value = checkMember(members[name]!, params[name], memberName(name));
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** One member's value checked against its declaration; `field` is AWS's path for messages. */
export function checkMember(m: Member, v: unknown, field: string): unknown {
  if (v === undefined || v === null) {
    if (m.required) throw validationError('null', field, 'Member must not be null');
    return undefined;
  }
  if (m.check) return m.check(v, field);
  switch (m.kind) {
    case 'string': return checkString(m, v, field);
    case 'integer': return checkInteger(m, v, field);
    case 'boolean':
      if (typeof v !== 'boolean') throw mustBe(field, 'a boolean');
      return v;
    case 'timestamp': return checkTimestamp(v, field);
    case 'blob': return checkBlob(m, v, field);
    case 'list': return checkList(m, v, field);
    case 'map': {
      if (typeof v !== 'object' || Array.isArray(v)) throw mustBe(field, 'a map');
      const out = Object.create(null) as Record<string, unknown>;
      for (const k of Object.keys(v)) out[k] = checkMember(m.value, (v as Record<string, unknown>)[k], `${field}.${k}`);
      return out;
    }
    case 'structure': return checkStructure(m, v, field);
  }
}

function mustBe(field: string, what: string) {
  return new ValidationException(`1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must be ${what}`);
}

/**
 * A bound violation in AWS's words. A secret member's value is never shown (the message reaches
 * the trail's errorMessage): AWS's form for sensitive members, "Value at 'plaintext' failed to…".
 */
function invalid(m: Member, value: unknown, field: string, constraint: string) {
  if (m.secret) return new ValidationException(`1 validation error detected: Value at '${field}' failed to satisfy constraint: ${constraint}`);
  return validationError(value, field, constraint);
}

function checkString(m: StringMember, v: unknown, field: string): string {
  if (typeof v !== 'string') throw mustBe(field, 'a string');
  const min = m.min ?? 0;
  if (v.length < min) throw invalid(m, v, field, `Member must have length greater than or equal to ${min}`);
  if (m.max !== undefined && v.length > m.max) throw invalid(m, v, field, `Member must have length less than or equal to ${m.max}`);
  if (m.pattern && !m.pattern.test(v)) throw invalid(m, v, field, `Member must satisfy regular expression pattern: ${m.pattern.source}`);
  if (m.enum && !m.enum.includes(v)) throw invalid(m, v, field, `Member must satisfy enum value set: [${m.enum.join(', ')}]`);
  return v;
}

function checkInteger(m: IntegerMember, v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new ValidationException(`1 validation error detected: Value '${String(v)}' at '${field}' failed to satisfy constraint: Member must be an integer`);
  }
  if (m.min !== undefined && v < m.min) throw validationError(v, field, `Member must have value greater than or equal to ${m.min}`);
  if (m.max !== undefined && v > m.max) throw validationError(v, field, `Member must have value less than or equal to ${m.max}`);
  return v;
}

/** The time a timestamp member's value names (a Date, epoch seconds, or ISO 8601), or undefined if it names none. */
export function timestampOf(v: unknown): Date | undefined {
  const d =
    v instanceof Date ? v
    : typeof v === 'number' ? new Date(v * 1000)
    : typeof v === 'string' ? (/^\d+(\.\d+)?$/.test(v) ? new Date(Number(v) * 1000) : new Date(v))
    : undefined;
  return d && !Number.isNaN(d.getTime()) ? d : undefined;
}

function checkTimestamp(v: unknown, field: string): Date {
  const d = timestampOf(v);
  if (!d) throw new ValidationException(`1 validation error detected: Value '${String(v)}' at '${field}' failed to satisfy constraint: Member must be a timestamp`);
  return d;
}

function checkBlob(m: BlobMember, v: unknown, field: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw mustBe(field, 'a blob');
  // AWS's Java front end names a blob by its buffer.
  const shown = `java.nio.HeapByteBuffer[pos=0 lim=${v.length} cap=${v.length}]`;
  if (m.min !== undefined && v.length < m.min) throw invalid(m, shown, field, `Member must have length greater than or equal to ${m.min}`);
  if (m.max !== undefined && v.length > m.max) throw invalid(m, shown, field, `Member must have length less than or equal to ${m.max}`);
  return v;
}

function checkList(m: ListMember, v: unknown, field: string): unknown[] {
  const ofStrings = m.member.kind === 'string' && !m.member.check;
  if (!Array.isArray(v) || (ofStrings && v.some((x) => typeof x !== 'string'))) throw mustBe(field, ofStrings ? 'a list of strings' : 'a list');
  if (m.min !== undefined && v.length < m.min) throw invalid(m, `[${v.join(', ')}]`, field, `Member must have length greater than or equal to ${m.min}`);
  if (m.max !== undefined && v.length > m.max) throw invalid(m, `[${v.join(', ')}]`, field, `Member must have length less than or equal to ${m.max}`);
  // The items of a secret list (grant tokens) are secret too. An item is never absent: null in a
  // list is AWS's "Member must not be null" at the item, not a hole the operation trips over.
  const item = { ...m.member, required: true, ...(m.secret ? { secret: true } : {}) } as Member;
  return v.map((x, i) => checkMember(item, x, `${field}.${i + 1}.member`));
}

function checkStructure(m: StructureMember, v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== 'object' || Array.isArray(v)) throw mustBe(field, 'a structure');
  const raw = v as Record<string, unknown>;
  const names = Object.keys(m.members);
  for (const k of Object.keys(raw)) {
    if (!has(m.members, k)) {
      const label = field.charAt(0).toUpperCase() + field.slice(1);
      throw new ValidationException(`Unknown parameter in ${label}: '${k}'. Must be one of: ${names.join(', ')}`);
    }
  }
  const out = Object.create(null) as Record<string, unknown>;
  for (const k of names) {
    const value = checkMember(m.members[k]!, raw[k], `${field}.${memberName(k)}`);
    if (value !== undefined) out[k] = value;
  }
  return out;
}
