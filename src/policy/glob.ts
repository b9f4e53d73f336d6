// Wildcard matching as IAM does it: `*` any run of characters (including none), `?` exactly one.
// Patterns are compiled once; matching is a linear scan with one backtrack point (no RegExp,
// so a pattern with variables costs no regex construction per call).
import { parseTemplate, resolveParts, type Lookup, type Part } from './template.js';

const LIT = 0;
const STAR = 1;
const ONE = 2;

/** A compiled wildcard pattern. `kinds` is null when the pattern has no wildcard. */
export interface Glob {
  /** The pattern as written. */
  readonly source: string;
  readonly chars: string;
  readonly kinds: Uint8Array | null;
  /** Fast paths: "*" matches all; "prefix*" is a startsWith. */
  readonly all: boolean;
  readonly prefix: string | undefined;
  /** Variable parts, resolved per request. */
  readonly parts: readonly Part[] | undefined;
  readonly ignoreCase: boolean;
}

function fromParts(source: string, parts: readonly Part[], ignoreCase: boolean): Glob {
  let chars = '';
  const kinds: number[] = [];
  for (const p of parts) {
    const wild = typeof p === 'string';
    const text = typeof p === 'string' ? p : 'text' in p ? p.text : '';
    for (const c of ignoreCase ? text.toLowerCase() : text) {
      chars += c;
      kinds.push(wild && c === '*' ? STAR : wild && c === '?' ? ONE : LIT);
    }
  }
  const wildcards = kinds.some((k) => k !== LIT);
  const starAt = kinds.indexOf(STAR);
  const onlyTrailingStar = starAt >= 0 && starAt === kinds.length - 1 && kinds.every((k, i) => (i === starAt ? true : k === LIT));
  return {
    source,
    chars,
    kinds: wildcards ? Uint8Array.from(kinds) : null,
    all: kinds.length > 0 && kinds.every((k) => k === STAR),
    prefix: onlyTrailingStar ? chars.slice(0, -1) : undefined,
    parts: undefined,
    ignoreCase,
  };
}

/** Compiles `pattern`; with `variables`, `${…}` parts are resolved at match time. */
export function compileGlob(pattern: string, opts: { ignoreCase?: boolean; variables?: boolean } = {}): Glob {
  const ignoreCase = opts.ignoreCase ?? false;
  const parts = parseTemplate(pattern, opts.variables ?? false);
  if (!parts) return fromParts(pattern, [pattern], ignoreCase);
  return { ...fromParts(pattern, [], ignoreCase), parts, all: false, prefix: undefined };
}

/** The pattern with its variables resolved for this request, or undefined when one has no value. */
export function resolveGlob(g: Glob, lookup: Lookup | undefined): Glob | undefined {
  if (!g.parts) return g;
  if (!lookup) return undefined;
  const r = resolveParts(g.parts, lookup);
  return r ? fromParts(g.source, r, g.ignoreCase) : undefined;
}

/** Does `text` match? `text` must already be lower-cased for an ignoreCase pattern. Unresolvable variables never match. */
export function globMatch(g: Glob, text: string, lookup?: Lookup): boolean {
  if (g.all) return true;
  if (g.parts) {
    const r = resolveGlob(g, lookup);
    return r !== undefined && globMatch(r, text);
  }
  if (g.prefix !== undefined) return text.startsWith(g.prefix);
  if (g.kinds === null) return text === g.chars;
  return scan(g.chars, g.kinds, text);
}

/** The classic wildcard scan: on a mismatch, retry from the last `*`, one character further. */
function scan(p: string, kinds: Uint8Array, t: string): boolean {
  const n = p.length;
  let pi = 0;
  let ti = 0;
  let starP = -1;
  let starT = 0;
  while (ti < t.length) {
    if (pi < n && (kinds[pi] === ONE || (kinds[pi] === LIT && p.charCodeAt(pi) === t.charCodeAt(ti)))) {
      pi++;
      ti++;
    } else if (pi < n && kinds[pi] === STAR) {
      starP = pi++;
      starT = ti;
    } else if (starP >= 0) {
      pi = starP + 1;
      ti = ++starT;
    } else return false;
  }
  while (pi < n && kinds[pi] === STAR) pi++;
  return pi === n;
}

/** ArnLike / ArnEquals: each of the six colon-separated components is matched on its own (a `*` does not cross a `:`). */
export function arnMatch(g: Glob, arn: string, lookup?: Lookup): boolean {
  const r = resolveGlob(g, lookup);
  if (!r) return false;
  if (r.all) return true;
  let pat = r === g ? arnSplits.get(g) : undefined;
  if (!pat) {
    pat = splitArn(r.chars, r.kinds);
    if (r === g) arnSplits.set(g, pat);
  }
  const txt = arn.split(':');
  if (pat.length < 6) return globMatch(r, arn); // not an ARN pattern: match the whole string
  if (txt.length < 6) return false;
  const txtParts = [...txt.slice(0, 5), txt.slice(5).join(':')];
  for (let i = 0; i < 6; i++) {
    const [chars, kinds] = pat[i]!;
    const ok = kinds === null ? chars === txtParts[i] : scan(chars, kinds, txtParts[i]!);
    if (!ok) return false;
  }
  return true;
}

const arnSplits = new WeakMap<Glob, [string, Uint8Array | null][]>();

/** Splits a compiled pattern at its first five literal colons. */
function splitArn(chars: string, kinds: Uint8Array | null): [string, Uint8Array | null][] {
  const out: [string, Uint8Array | null][] = [];
  let start = 0;
  for (let i = 0; i < chars.length && out.length < 5; i++) {
    if (chars[i] === ':' && (kinds === null || kinds[i] === LIT)) {
      out.push(piece(chars, kinds, start, i));
      start = i + 1;
    }
  }
  out.push(piece(chars, kinds, start, chars.length));
  return out;
}

function piece(chars: string, kinds: Uint8Array | null, a: number, b: number): [string, Uint8Array | null] {
  const k = kinds?.subarray(a, b) ?? null;
  return [chars.slice(a, b), k && k.some((x) => x !== LIT) ? k : null];
}
