// AWS JSON 1.1 on the wire: request bodies to domain parameters (base64 blob members to bytes)
// and results back (bytes to base64, dates to epoch seconds), errors as {"__type", "message"}.
import { AwsError } from '../errors/index.js';
import { serialization } from './errors.js';
import { deeperThan, mapEntries, readShape, type ShapeTable } from './shapes.js';

export const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';

/**
 * How deeply a request body may nest. KMS's deepest request shape is four levels (body,
 * Constraints, its map, the string), CloudTrail's three; anything far deeper is an attack, and
 * would overflow the stack of whatever serializes it next (the trail record).
 */
export const MAX_BODY_DEPTH = 16;

/**
 * JSON text is UTF-8 (RFC 8259 §8.1). Fatal: replacing bad bytes with U+FFFD would let two
 * different encryption contexts authenticate the same bytes. A BOM is kept, so it stays an error.
 */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses a request body into a parameter object (null prototype), each member in `shapes`
 * checked and converted (base64 blobs to bytes). An empty body is `{}`, as AWS treats it.
 */
export function decodeBody(body: Uint8Array, shapes: ShapeTable = new Map()): Record<string, unknown> {
  let value: unknown;
  if (body.length === 0) return Object.create(null) as Record<string, unknown>;
  let text: string;
  try {
    text = UTF8.decode(body);
  } catch {
    throw serialization('Request body is not valid UTF-8.');
  }
  try {
    value = JSON.parse(text);
  } catch {
    throw serialization('Start of structure or map found where not expected.');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw serialization('Start of structure or map found where not expected.');
  }
  if (deeperThan(value, MAX_BODY_DEPTH)) throw serialization(`Request body is nested more than ${MAX_BODY_DEPTH} levels deep.`);
  // Members without a shape are left as they are, for the domain to refuse by name.
  return mapEntries(value, (k, v) => {
    const shape = shapes.get(k);
    return shape === undefined ? v : readShape(shape, v, k);
  });
}

/** Results in wire form: bytes as base64, dates as epoch seconds (fractional, as AWS sends). */
export function toWire(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Uint8Array) return (Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.length)).toString('base64');
  if (v instanceof Date) return v.getTime() / 1000;
  if (Array.isArray(v)) return v.map(toWire);
  // No prototype: map keys from users (a grant's constraint "__proto__") stay keys. Keys, not
  // entries: one array a result object, not one per member (every response goes through here).
  const out = Object.create(null) as Record<string, unknown>;
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    const x = o[k];
    if (x !== undefined) out[k] = toWire(x);
  }
  return out;
}

export function encodeResult(result: unknown): string {
  return JSON.stringify(toWire(result ?? {}));
}

export interface WireErrorBody {
  status: number;
  body: string;
  code: string;
}

/** AWS's error shape; anything that is not an AwsError is an internal failure, its text kept off the wire. */
export function encodeError(err: unknown): WireErrorBody {
  if (err instanceof AwsError) {
    return { status: err.status, code: err.code, body: JSON.stringify({ __type: err.code, message: err.message }) };
  }
  return { status: 500, code: 'InternalFailure', body: JSON.stringify({ __type: 'InternalFailure', message: 'We encountered an internal error. Please try again.' }) };
}
