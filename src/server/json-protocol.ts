// AWS JSON 1.1 on the wire: request bodies to domain parameters (base64 blob members to bytes)
// and results back (bytes to base64, dates to epoch seconds), errors as {"__type", "message"}.
import { AwsError } from '../errors/index.js';
import { serialization } from './errors.js';

export const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Parses a request body into a parameter object. An empty body is `{}`, as AWS treats it. */
export function decodeBody(body: Uint8Array, blobMembers: readonly string[] = []): Record<string, unknown> {
  let value: unknown;
  if (body.length === 0) return {};
  try {
    value = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.length).toString('utf8'));
  } catch {
    throw serialization('Start of structure or map found where not expected.');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw serialization('Start of structure or map found where not expected.');
  }
  const params = value as Record<string, unknown>;
  for (const name of blobMembers) {
    const v = params[name];
    // Non-strings are left for the domain, which answers a wrong type with ValidationException.
    if (typeof v !== 'string') continue;
    if (!BASE64.test(v)) throw serialization(`Failed to deserialize member '${name}': not valid base64.`);
    params[name] = new Uint8Array(Buffer.from(v, 'base64'));
  }
  return params;
}

/** Results in wire form: bytes as base64, dates as epoch seconds (fractional, as AWS sends). */
export function toWire(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.length).toString('base64');
  if (v instanceof Date) return v.getTime() / 1000;
  if (Array.isArray(v)) return v.map(toWire);
  if (v !== null && typeof v === 'object') {
    // No prototype: map keys from users (a grant's constraint "__proto__") stay keys.
    const out = Object.create(null) as Record<string, unknown>;
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = toWire(x);
    return out;
  }
  return v;
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
