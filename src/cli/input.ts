// Parses AWS CLI style arguments: blobs as base64 or fileb://PATH, maps as JSON or k=v,k2=v2
// shorthand (structures and lists of them: shorthand.ts).
import { closeSync, openSync, readSync } from 'node:fs';
import { UsageError } from '../errors/index.js';

/** The bytes of a file:// or fileb:// argument, at most `limit`; a missing file is bad usage (AWS CLI: exit 252). */
export function readParamFile(flag: string, spec: string, path: string, limit: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw paramFileError(flag, spec, err);
  }
  try {
    const buf = Buffer.alloc(limit);
    let n = 0;
    while (n < limit) {
      const got = readSync(fd, buf, n, limit - n, null);
      if (got === 0) break;
      n += got;
    }
    return buf.subarray(0, n);
  } catch (err) {
    throw paramFileError(flag, spec, err);
  } finally {
    closeSync(fd);
  }
}

function paramFileError(flag: string, spec: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  const reason =
    code === 'ENOENT' ? 'no such file or directory' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
  // The AWS CLI's wording: "Error parsing parameter '--plaintext': Unable to load paramfile fileb://x: …".
  return new UsageError(`Error parsing parameter '--${flag}': Unable to load paramfile ${spec}: ${reason}`);
}

/** Text of a file:// argument (JSON, shorthand or base64): generous, but bounded. */
const MAX_TEXT_BYTES = 1 << 20;
const readText = (flag: string, value: string) => readParamFile(flag, value, value.slice('file://'.length), MAX_TEXT_BYTES).toString('utf8');

/**
 * A string argument: as given, or the text of file://PATH, as the AWS CLI reads any parameter
 * (policy documents, usually). Read up to one character past `maxChars`, so an oversized file
 * ends in the operation's own "Member must have length less than or equal to" error.
 */
export function parseText(flag: string, value: string, maxChars = MAX_TEXT_BYTES): string {
  if (!value.startsWith('file://')) return value;
  return readParamFile(flag, value, value.slice('file://'.length), Math.min(maxChars + 1, MAX_TEXT_BYTES) * 4).toString('utf8').slice(0, maxChars + 1);
}

/**
 * A blob argument. A fileb:// file is read up to one byte past the member's declared maximum, so
 * /dev/zero or a huge file ends in the operation's own ValidationException ("Member must have
 * length less than or equal to …"), as from AWS, without reading it all.
 */
export function parseBlob(flag: string, value: string, maxBytes: number): Uint8Array {
  if (value.startsWith('fileb://')) return readParamFile(flag, value, value.slice('fileb://'.length), maxBytes + 1);
  if (value.startsWith('file://')) return Buffer.from(readText(flag, value).trim(), 'base64');
  if (!/^[A-Za-z0-9+/=\s_-]*$/.test(value)) {
    throw new UsageError(`Invalid base64 for --${flag}: "${value.slice(0, 40)}". Pass base64, or fileb://PATH for raw bytes.`);
  }
  return Buffer.from(value, 'base64');
}

/** A user-supplied map: no prototype, so a key such as `__proto__` or `constructor` is only a key. */
export function parseMap(flag: string, value: string): Record<string, string> {
  const text = value.startsWith('file://') ? readText(flag, value) : value;
  const out = Object.create(null) as Record<string, string>;
  if (text.trim().startsWith('{') && !/^\{?[^"{]*=/.test(text.trim())) {
    try {
      return Object.assign(out, JSON.parse(text) as Record<string, string>);
    } catch {
      throw new UsageError(`Invalid JSON for --${flag}: ${text}`);
    }
  }
  const body = text.trim().replace(/^\{|\}$/g, '');
  if (!body) return out;
  for (const pair of body.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`Expected key=value pairs for --${flag}, got "${pair}"`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

export const kebab = (pascal: string) => pascal.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
