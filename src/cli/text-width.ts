// How many terminal columns a string takes, as the AWS CLI counts them when it draws a table:
// East Asian wide, fullwidth and ambiguous characters count two, every other one.
import { WIDE_RANGES } from './wide-chars.js';

let starts: Uint32Array | undefined;
let ends: Uint32Array | undefined;

function load(): [Uint32Array, Uint32Array] {
  if (!starts || !ends) {
    const pairs = WIDE_RANGES.split(',').map((r) => r.split('-').map((h) => parseInt(h, 16)));
    starts = Uint32Array.from(pairs, (p) => p[0]!);
    ends = Uint32Array.from(pairs, (p) => p[1]!);
  }
  return [starts, ends];
}

function isWide(cp: number): boolean {
  if (cp < 0xa1) return false;
  const [s, e] = load();
  let lo = 0;
  let hi = s.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < s[mid]!) hi = mid - 1;
    else if (cp > e[mid]!) lo = mid + 1;
    else return true;
  }
  return false;
}

export function textWidth(text: string): number {
  let n = 0;
  for (const ch of text) n += isWide(ch.codePointAt(0)!) ? 2 : 1;
  return n;
}
