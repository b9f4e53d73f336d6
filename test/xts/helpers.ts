// Shared by the XTS tests: the engines that can run here, and node:crypto's own aes-xts as oracle.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { availableEngines, type EngineName } from '../../src/xts/index.js';
import { nativeFeatures, setNativeWide } from '../../src/xts/native.js';

export const ENGINES: EngineName[] = availableEngines().filter((e) => e.available).map((e) => e.name);

/** An engine and, for native on a VAES CPU, which of its two code paths. */
export interface Variant {
  label: string;
  engine: EngineName;
  wide?: boolean;
}

export const VARIANTS: Variant[] = ENGINES.flatMap((engine): Variant[] =>
  engine === 'native' && nativeFeatures() === 'aesni+vaes512'
    ? [{ label: 'native/vaes512', engine, wide: true }, { label: 'native/aesni', engine, wide: false }]
    : [{ label: engine, engine }],
);

/** Runs `fn` with the variant's native code path selected, then restores the default. */
export function using<T>(v: Variant, fn: () => T): T {
  if (v.wide === undefined) return fn();
  setNativeWide(v.wide);
  try {
    return fn();
  } finally {
    setNativeWide(true);
  }
}

/** Sector-by-sector reference: a fresh OpenSSL aes-xts cipher per data unit. */
export function opensslXts(key: Uint8Array, data: Uint8Array, unitLen: number, firstTweak: bigint, encrypt: boolean): Uint8Array {
  const alg = key.length === 64 ? 'aes-256-xts' : 'aes-128-xts';
  const out = new Uint8Array(data.length);
  const iv = Buffer.alloc(16);
  for (let off = 0, t = firstTweak; off < data.length; off += unitLen, t++) {
    iv.writeBigUInt64LE(t & 0xffff_ffff_ffff_ffffn, 0);
    iv.writeBigUInt64LE(t >> 64n, 8);
    const c = (encrypt ? createCipheriv : createDecipheriv)(alg, key, iv);
    out.set(Buffer.concat([c.update(data.subarray(off, off + unitLen)), c.final()]), off);
  }
  return out;
}

export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
export const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

/** Calls `fn` once per engine variant (both native code paths where the CPU has VAES). */
export function forEachVariant(fn: (engine: EngineName, label: string) => void): void {
  for (const v of VARIANTS) using(v, () => fn(v.engine, v.label));
}
