// Encryption context: validated as AWS does, and encoded canonically for use as AAD.
// The encoding is length-prefixed over sorted pairs, so two different contexts can never
// produce the same bytes (joining keys and values without delimiters, as some emulators do,
// makes {"ab":"c"} and {"a":"bc"} authenticate each other).
import { ValidationException } from '../errors/index.js';

export type EncryptionContext = Record<string, string>;

/**
 * A map built from user-supplied keys. It has no prototype, so `m["__proto__"] = v` stores a key
 * like any other instead of changing the object's prototype (and the pair vanishing).
 */
export function userMap<T = string>(entries: Iterable<readonly [string, T]> = []): Record<string, T> {
  const m = Object.create(null) as Record<string, T>;
  for (const [k, v] of entries) m[k] = v;
  return m;
}

const MAX_CONTEXT_BYTES = 8192;
/** A UTF-16 surrogate not in a pair (in a /u pattern, a pair is one code point, not Cs). */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * A lone surrogate has no UTF-8 form: encoded, every one becomes U+FFFD's bytes, and two different
 * contexts would authenticate the same AAD. Checked where the API validates a context (so the
 * caller hears of it first) and again where the bytes are made (so no path can skip it).
 */
function assertWellFormed(k: string, v: string, field: string): void {
  if (LONE_SURROGATE.test(k) || LONE_SURROGATE.test(v)) {
    throw new ValidationException(`1 validation error detected: Value at '${field}' failed to satisfy constraint: Map keys and values must be well-formed Unicode (no lone UTF-16 surrogates)`);
  }
}

export function validateContext(value: unknown, field = 'encryptionContext'): EncryptionContext {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ValidationException(`1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must be a map of string to string`);
  }
  let size = 0;
  const out = userMap();
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== 'string') {
      throw new ValidationException(`1 validation error detected: Value at '${field}.${k}' failed to satisfy constraint: Member must be a string`);
    }
    if (k.length === 0) throw new ValidationException(`1 validation error detected: Value at '${field}' failed to satisfy constraint: Map keys must have length greater than or equal to 1`);
    assertWellFormed(k, v, field);
    size += Buffer.byteLength(k) + Buffer.byteLength(v);
    out[k] = v;
  }
  if (size > MAX_CONTEXT_BYTES) {
    throw new ValidationException(`Encryption context exceeds the maximum size of ${MAX_CONTEXT_BYTES} bytes.`);
  }
  return out;
}

/**
 * count (u32 BE), then for each pair in UTF-8 byte order of keys: len(key) key len(value) value.
 * Refuses a key or value that is not well-formed UTF-16 (ValidationException, as validateContext):
 * its UTF-8 would not be its own.
 */
export function encodeContext(ctx: EncryptionContext): Buffer {
  const pairs = Object.entries(ctx)
    .map(([k, v]) => {
      assertWellFormed(k, v, 'encryptionContext');
      return [Buffer.from(k, 'utf8'), Buffer.from(v, 'utf8')] as const;
    })
    .sort((a, b) => Buffer.compare(a[0], b[0]));
  const parts: Buffer[] = [u32(pairs.length)];
  for (const [k, v] of pairs) parts.push(u32(k.length), k, u32(v.length), v);
  return Buffer.concat(parts);
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n, 0);
  return b;
}

/** Every pair of `subset` appears in `ctx`, keys and values exactly (grant constraints compare keys without case: grants.ts's constraintIncludes). */
export function contextIncludes(ctx: EncryptionContext, subset: EncryptionContext): boolean {
  return Object.entries(subset).every(([k, v]) => Object.prototype.hasOwnProperty.call(ctx, k) && ctx[k] === v);
}

/** Exactly the same pairs, keys and values exactly: what encodeContext tells apart (grants.ts's constraintEquals for EncryptionContextEquals). */
export function contextEquals(a: EncryptionContext, b: EncryptionContext): boolean {
  return Object.keys(a).length === Object.keys(b).length && contextIncludes(a, b);
}
