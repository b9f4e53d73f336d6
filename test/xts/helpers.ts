// Shared by the XTS tests: the engines that can run here, and node:crypto's own aes-xts as oracle.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { availableEngines, type EngineName } from '../../src/xts/index.js';
import { withXtsPath, xtsPaths, type XtsPath } from '../../src/xts/native.js';

export const ENGINES: EngineName[] = availableEngines().filter((e) => e.available).map((e) => e.name);

/** An engine and, for native, which of its code paths (every one this CPU supports is tested). */
export interface Variant {
  label: string;
  engine: EngineName;
  path?: XtsPath;
}

export const VARIANTS: Variant[] = ENGINES.flatMap((engine): Variant[] =>
  engine === 'native' ? xtsPaths().map((path) => ({ label: `native/${path}`, engine, path })) : [{ label: engine, engine }],
);

/** Runs `fn` with the variant's native code path forced, then restores the one in use before. */
export function using<T>(v: Variant, fn: () => T): T {
  return v.path === undefined ? fn() : withXtsPath(v.path, fn);
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
