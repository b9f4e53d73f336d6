// `--output text` in the AWS CLI's layout (awscli/text.py): an object's scalar values on one
// tab-separated line in the order of their sorted keys, then each nested object or list under its
// key in capitals; a list of objects gives one line per item with the columns of all its items;
// a list of scalars under a key gives one line per value.
import { isScalar, pyStr, sorted } from './python-values.js';

/** The lines the AWS CLI prints for `value` (none for an empty list or object). */
export function awsTextLines(value: unknown): string[] {
  const lines: string[] = [];
  format(value, lines, undefined, undefined);
  return lines;
}

function format(v: unknown, out: string[], id: string | undefined, scalarKeys: string[] | undefined): void {
  if (Array.isArray(v)) formatList(v, out, id);
  else if (v !== null && typeof v === 'object') formatObject(v as Record<string, unknown>, out, id, scalarKeys);
  else out.push(pyStr(v));
}

function formatList(items: unknown[], out: string[], id: string | undefined): void {
  if (!items.length) return;
  if (items.some((x) => x !== null && typeof x === 'object' && !Array.isArray(x))) {
    // Every item prints the scalar columns of all items, so the columns line up.
    const keys = new Set<string>();
    for (const x of items) if (x !== null && typeof x === 'object' && !Array.isArray(x)) for (const [k, y] of Object.entries(x)) if (isScalar(y)) keys.add(k);
    const all = sorted(keys);
    for (const x of items) format(x, out, id, all);
  } else if (items.some(Array.isArray)) {
    const scalars = items.filter(isScalar);
    if (scalars.length) scalarList(scalars, out, id);
    for (const x of items.filter((y) => !isScalar(y))) format(x, out, id, undefined);
  } else scalarList(items, out, id);
}

function scalarList(items: unknown[], out: string[], id: string | undefined): void {
  if (id !== undefined) for (const x of items) out.push(`${id.toUpperCase()}\t${pyStr(x)}`);
  else out.push(items.map(pyStr).join('\t'));
}

function formatObject(o: Record<string, unknown>, out: string[], id: string | undefined, scalarKeys: string[] | undefined): void {
  const scalars: string[] = [];
  const nested: [string, unknown][] = [];
  if (scalarKeys === undefined) {
    for (const k of sorted(Object.keys(o))) {
      if (isScalar(o[k])) scalars.push(pyStr(o[k]));
      else nested.push([k, o[k]]);
    }
  } else {
    // An item of a list: the list's columns, empty where this item lacks one.
    for (const k of scalarKeys) scalars.push(Object.hasOwn(o, k) ? pyStr(o[k]) : '');
    for (const k of sorted(Object.keys(o).filter((x) => !scalarKeys.includes(x)))) nested.push([k, o[k]]);
  }
  if (scalars.length) out.push((id !== undefined ? [id.toUpperCase(), ...scalars] : scalars).join('\t'));
  for (const [k, x] of nested) format(x, out, k, undefined);
}
