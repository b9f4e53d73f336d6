// Parses AWS CLI style arguments: blobs as base64 or fileb://PATH, maps as JSON or k=v,k2=v2
// shorthand, structures as JSON or Name={k=v} shorthand.
import { readFileSync } from 'node:fs';
import { UserError } from '../errors/index.js';

export function parseBlob(flag: string, value: string): Uint8Array {
  if (value.startsWith('fileb://')) return readFileSync(value.slice('fileb://'.length));
  if (value.startsWith('file://')) return Buffer.from(readFileSync(value.slice('file://'.length), 'utf8').trim(), 'base64');
  if (!/^[A-Za-z0-9+/=\s_-]*$/.test(value)) {
    throw new UserError(`Invalid base64 for --${flag}: "${value.slice(0, 40)}". Pass base64, or fileb://PATH for raw bytes.`);
  }
  return Buffer.from(value, 'base64');
}

export function parseMap(flag: string, value: string): Record<string, string> {
  const text = value.startsWith('file://') ? readFileSync(value.slice(7), 'utf8') : value;
  if (text.trim().startsWith('{') && !/^\{?[^"{]*=/.test(text.trim())) {
    try {
      return JSON.parse(text) as Record<string, string>;
    } catch {
      throw new UserError(`Invalid JSON for --${flag}: ${text}`);
    }
  }
  const body = text.trim().replace(/^\{|\}$/g, '');
  // No prototype: a key named "__proto__" is kept as a key, as the JSON form keeps it.
  const out = Object.create(null) as Record<string, string>;
  if (!body) return out;
  for (const pair of body.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UserError(`Expected key=value pairs for --${flag}, got "${pair}"`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** JSON, or the shorthand `Name={k=v,k2=v2},Other={…}` used for --constraints. */
export function parseStructure(flag: string, value: string): Record<string, unknown> {
  const text = value.startsWith('file://') ? readFileSync(value.slice(7), 'utf8') : value;
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      return JSON.parse(trimmed) as Record<string, unknown>;
    } catch {
      throw new UserError(`Invalid JSON for --${flag}: ${trimmed}`);
    }
  }
  const out: Record<string, unknown> = {};
  const re = /([A-Za-z]+)=\{([^}]*)\}/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(trimmed))) out[m[1]!] = parseMap(flag, m[2]!);
  if (Object.keys(out).length === 0) throw new UserError(`Could not parse --${flag}: ${trimmed}`);
  return out;
}

export const kebab = (pascal: string) => pascal.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
