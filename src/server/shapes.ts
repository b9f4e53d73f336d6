// Request members checked against their Smithy shapes at the wire edge, as AWS's JSON 1.1
// front end does before a service sees them: a value of the wrong JSON type cannot be
// deserialized and is a SerializationException (messages in the words AWS's Java front end
// uses). Only types are checked here; lengths, ranges, enums and unknown members are the
// domain's (ValidationException), so the CLI and the server keep one set of rules.
//
// Maps and structures come out as null-prototype objects: a key such as `__proto__` or
// `constructor` stays an ordinary entry, never the object's prototype.
import type { Member, Members } from '../api/index.js';
import { serialization } from './errors.js';

export type Shape =
  | 'string'
  | 'integer'
  | 'boolean'
  | 'blob'
  | 'timestamp'
  | { list: Shape }
  | { map: Shape }
  | { structure: Readonly<Record<string, Shape>> };

export type ShapeTable = ReadonlyMap<string, Shape>;

/** The wire shape of a declared member. */
export function shapeOf(m: Member): Shape {
  switch (m.kind) {
    case 'string':
    case 'integer':
    case 'boolean':
    case 'blob':
    case 'timestamp':
      return m.kind;
    case 'list': return { list: shapeOf(m.member) };
    case 'map': return { map: shapeOf(m.value) };
    case 'structure': return { structure: Object.fromEntries(Object.entries(m.members).map(([k, x]) => [k, shapeOf(x)])) };
  }
}

/** The shape table of declared members. */
export function shapesOf(members: Members): ShapeTable {
  return new Map(Object.entries(members).map(([name, m]) => [name, shapeOf(m)]));
}

// Padded base64: whole groups of four, at most two '=' and only at the end. Checked as the length
// and one character class, the same strings as a regex of groups, for a fraction of its time on a
// blob of hundreds of characters (every Decrypt's CiphertextBlob).
const BASE64_CHARS = /^[A-Za-z0-9+/]*={0,2}$/;
const isBase64 = (v: string): boolean => v.length % 4 === 0 && BASE64_CHARS.test(v);

/** Null-prototype copy of an object's own entries, each passed through `f`. */
export function mapEntries(o: object, f: (k: string, v: unknown) => unknown): Record<string, unknown> {
  const out = Object.create(null) as Record<string, unknown>;
  for (const k of Object.keys(o)) out[k] = f(k, (o as Record<string, unknown>)[k]);
  return out;
}

/** The value of `member` as `shape` describes it. null stays null: the domain treats it as absent. */
export function readShape(shape: Shape, v: unknown, member: string): unknown {
  if (v === null) return null;
  if (typeof v === 'object' && !Array.isArray(v) && (typeof shape === 'string' || 'list' in shape)) {
    throw serialization('Start of structure or map found where not expected.');
  }
  if (Array.isArray(v) && !(typeof shape === 'object' && 'list' in shape)) throw serialization('Start of list found where not expected.');
  if (shape === 'string') {
    if (typeof v !== 'string') throw serialization(`class ${javaClassOf(v)} can not be converted to an String`);
    return v;
  }
  if (shape === 'integer') {
    if (typeof v !== 'number') throw serialization(`${kindOf(v)} can not be converted to an Integer`);
    return v;
  }
  if (shape === 'boolean') {
    if (typeof v !== 'boolean') throw serialization(`${kindOf(v)} can not be converted to a Boolean`);
    return v;
  }
  // Epoch seconds, as the SDKs send it; a string is left for the domain to parse or refuse.
  if (shape === 'timestamp') {
    if (typeof v !== 'number' && typeof v !== 'string') throw serialization(`${kindOf(v)} can not be converted to a Timestamp`);
    return v;
  }
  if (shape === 'blob') {
    if (typeof v !== 'string') throw serialization(`${kindOf(v)} can not be converted to a Blob`);
    if (!isBase64(v)) throw serialization(`Failed to deserialize member '${member}': not valid base64.`);
    return new Uint8Array(Buffer.from(v, 'base64'));
  }
  if ('list' in shape) {
    if (!Array.isArray(v)) throw serialization(`${kindOf(v)} can not be converted to a List`);
    return v.map((x) => readShape(shape.list, x, member));
  }
  if (typeof v !== 'object') throw serialization(`${kindOf(v)} can not be converted to a ${'map' in shape ? 'Map' : 'Structure'}`);
  if ('map' in shape) return mapEntries(v, (_k, x) => readShape(shape.map, x, member));
  // Members the structure does not define are kept for the domain to name in its error.
  return mapEntries(v, (k, x) => (Object.prototype.hasOwnProperty.call(shape.structure, k) ? readShape(shape.structure[k]!, x, k) : x));
}

function kindOf(v: unknown): string {
  return typeof v === 'string' ? 'STRING_VALUE' : typeof v === 'number' ? 'NUMBER_VALUE' : 'BOOLEAN_VALUE';
}

function javaClassOf(v: unknown): string {
  return typeof v === 'number' ? 'com.amazon.coral.value.json.numbers.TruncatingBigNumber' : 'java.lang.Boolean';
}

/**
 * The deepest nesting of arrays and objects in `v` exceeds `max`. Iterative: JSON.parse accepts
 * any depth, but structured cloning and JSON.stringify recurse and would overflow the stack.
 */
export function deeperThan(v: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length) {
    const [x, depth] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    if (depth > max) return true;
    for (const c of Array.isArray(x) ? x : Object.values(x)) if (c !== null && typeof c === 'object') stack.push([c, depth + 1]);
  }
  return false;
}
