// Byte comparisons the proofs share (walkthrough claims, volume verify).

/** How many positions of the shorter array hold the same byte in both. */
export function countEqualBytes(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] === b[i]) n++;
  return n;
}
