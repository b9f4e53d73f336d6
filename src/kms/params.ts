// Request parameter checks with AWS's wording. The wire layer hands us decoded JSON (blobs
// already bytes); the CLI hands us the same shape, so both get identical errors.
import { ValidationException, validationError } from '../errors/index.js';

export type Params = Record<string, unknown>;

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
const camel = memberName;

/** The bound AWS puts on every KeyId parameter. */
export const KEY_ID_PARAM = { max: 2048 } as const;

interface StrOptions {
  min?: number;
  max?: number;
  pattern?: RegExp;
}

export function str(p: Params, name: string, opts: StrOptions & { required?: boolean } = {}): string | undefined {
  return checkStr(p[name], name, opts, opts.required === true);
}

export function requiredStr(p: Params, name: string, opts: StrOptions = {}): string {
  return checkStr(p[name], name, opts, true)!;
}

function checkStr(v: unknown, name: string, opts: StrOptions, required: boolean): string | undefined {
  if (v === undefined || v === null) {
    if (required) throw validationError('null', camel(name), 'Member must not be null');
    return undefined;
  }
  if (typeof v !== 'string') throw new ValidationException(`1 validation error detected: Value at '${camel(name)}' failed to satisfy constraint: Member must be a string`);
  const min = opts.min ?? (required ? 1 : 0);
  if (v.length < min) throw validationError(v, camel(name), `Member must have length greater than or equal to ${min}`);
  if (opts.max !== undefined && v.length > opts.max) throw validationError(v, camel(name), `Member must have length less than or equal to ${opts.max}`);
  if (opts.pattern && !opts.pattern.test(v)) throw validationError(v, camel(name), `Member must satisfy regular expression pattern: ${opts.pattern.source}`);
  return v;
}

export function int(p: Params, name: string, opts: { min: number; max: number; required?: boolean }): number | undefined {
  const v = p[name];
  if (v === undefined || v === null) {
    if (opts.required) throw validationError('null', camel(name), 'Member must not be null');
    return undefined;
  }
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ValidationException(`1 validation error detected: Value '${String(v)}' at '${camel(name)}' failed to satisfy constraint: Member must be an integer`);
  if (v < opts.min) throw validationError(v, camel(name), `Member must have value greater than or equal to ${opts.min}`);
  if (v > opts.max) throw validationError(v, camel(name), `Member must have value less than or equal to ${opts.max}`);
  return v;
}

export function bool(p: Params, name: string): boolean | undefined {
  const v = p[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new ValidationException(`1 validation error detected: Value at '${camel(name)}' failed to satisfy constraint: Member must be a boolean`);
  return v;
}

export function blob(p: Params, name: string, opts: { required?: boolean; min: number; max: number }): Uint8Array | undefined {
  const v = p[name];
  if (v === undefined || v === null) {
    if (opts.required) throw validationError('null', camel(name), 'Member must not be null');
    return undefined;
  }
  const field = camel(name);
  if (!(v instanceof Uint8Array)) throw new ValidationException(`1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must be a blob`);
  if (v.length < opts.min) throw validationError(`java.nio.HeapByteBuffer[pos=0 lim=${v.length} cap=${v.length}]`, field, `Member must have length greater than or equal to ${opts.min}`);
  if (v.length > opts.max) throw validationError(`java.nio.HeapByteBuffer[pos=0 lim=${v.length} cap=${v.length}]`, field, `Member must have length less than or equal to ${opts.max}`);
  return v;
}

export function strList(p: Params, name: string, opts: { required?: boolean; min?: number; max?: number; allowed?: readonly string[] } = {}): string[] | undefined {
  const v = p[name];
  if (v === undefined || v === null) {
    if (opts.required) throw validationError('null', camel(name), 'Member must not be null');
    return undefined;
  }
  const field = camel(name);
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw new ValidationException(`1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must be a list of strings`);
  }
  if (opts.min !== undefined && v.length < opts.min) throw validationError(`[${v.join(', ')}]`, field, `Member must have length greater than or equal to ${opts.min}`);
  if (opts.max !== undefined && v.length > opts.max) throw validationError(`[${v.join(', ')}]`, field, `Member must have length less than or equal to ${opts.max}`);
  if (opts.allowed) {
    v.forEach((x: string, i: number) => {
      if (!opts.allowed!.includes(x)) throw validationError(x, `${field}.${i + 1}.member`, `Member must satisfy enum value set: [${opts.allowed!.join(', ')}]`);
    });
  }
  return v as string[];
}

export function oneOf<T extends string>(p: Params, name: string, allowed: readonly T[]): T | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  if (!allowed.includes(v as T)) throw validationError(v, camel(name), `Member must satisfy enum value set: [${allowed.join(', ')}]`);
  return v as T;
}

/** Rejects parameters the operation does not define (the JSON protocol ignores them; the CLI never sends them). */
export function known(p: Params, names: readonly string[]): void {
  for (const k of Object.keys(p)) {
    if (!names.includes(k) && p[k] !== undefined) {
      throw new ValidationException(`Unknown parameter '${k}'. Valid parameters are: ${names.join(', ')}.`);
    }
  }
}
