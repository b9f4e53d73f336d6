// Policy variables (IAM User Guide, "IAM policy elements: Variables and tags"): `${key}` in a
// Resource or a condition value is replaced by the request's value for that key; `${*}`, `${?}`
// and `${$}` stand for the literal characters; `${key, 'default'}` supplies a default. A
// variable with no single value in the request makes that value not match. Only documents of
// Version 2012-10-17 have variables; in 2008-10-17 "${" is literal text.

/** A piece of a value as written: text (where `*`/`?` are wildcards for the operators that glob), literal text, or a variable. */
export type Part = string | { text: string } | { variable: string; keyLower: string; fallback?: string };

/** What a template needs from the request: a key's single value, looked up case-insensitively. */
export interface Lookup {
  single(keyLower: string): string | undefined;
}

const VARIABLE = /\$\{([^}]*)\}/g;
const SPECIAL: Record<string, string> = { '*': '*', '?': '?', $: '$' };

/** Splits a value into parts; `undefined` when it has no variable (the common case: no work per call). */
export function parseTemplate(value: string, variables: boolean): Part[] | undefined {
  if (!variables || !value.includes('${')) return undefined;
  const parts: Part[] = [];
  let last = 0;
  let any = false;
  for (const m of value.matchAll(VARIABLE)) {
    if (m.index! > last) parts.push(value.slice(last, m.index));
    const inner = m[1]!.trim();
    if (inner in SPECIAL) parts.push({ text: SPECIAL[inner]! });
    else {
      // ${key, 'default'}: the default is quoted with single quotes.
      const d = /^([^,]+?)\s*,\s*'([^']*)'$/.exec(inner);
      const variable = d ? d[1]!.trim() : inner;
      parts.push({ variable, keyLower: variable.toLowerCase(), ...(d ? { fallback: d[2]! } : {}) });
      any = true;
    }
    last = m.index! + m[0].length;
  }
  if (last < value.length) parts.push(value.slice(last));
  // ${*} etc. alone still need the template path: they are literal, not wildcards.
  return any || parts.some((p) => typeof p !== 'string') ? parts : undefined;
}

/** The parts with each variable replaced by its value as literal text, or `undefined` if one has no value. */
export function resolveParts(parts: readonly Part[], lookup: Lookup): Part[] | undefined {
  const out: Part[] = [];
  for (const p of parts) {
    if (typeof p === 'string' || 'text' in p) out.push(p);
    else {
      const v = lookup.single(p.keyLower) ?? p.fallback;
      if (v === undefined) return undefined;
      out.push({ text: v });
    }
  }
  return out;
}

/** The parts as plain text (for operators where `*` is not a wildcard). */
export function joinParts(parts: readonly Part[]): string {
  let s = '';
  for (const p of parts) s += typeof p === 'string' ? p : 'text' in p ? p.text : '${' + p.variable + '}';
  return s;
}

/** How a template reads in an explanation: `${aws:username} (= Alice)`, or `(unresolved)`. */
export function describeTemplate(source: string, parts: readonly Part[] | undefined, lookup: Lookup): string {
  if (!parts) return source;
  const r = resolveParts(parts, lookup);
  return r ? `${source} (= ${joinParts(r)})` : `${source} (unresolved)`;
}
