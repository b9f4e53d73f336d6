// The seed's records (the AWS KMS guide's "Amazon EC2 example two"), for side-by-side comparison.
import { existsSync, readFileSync } from 'node:fs';
import type { TrailRecord } from '../trail/record.js';

// From src/walkthrough (tests) or dist/src/walkthrough (the built CLI), the repo root is 2 or 3 levels up.
const CANDIDATES = ['../../test/fixtures/seed-ec2-example-two.json', '../../../test/fixtures/seed-ec2-example-two.json'].map((p) => new URL(p, import.meta.url));

export function seedRecords(): TrailRecord[] {
  const url = CANDIDATES.find((u) => existsSync(u));
  if (!url) throw new Error('the seed records (test/fixtures/seed-ec2-example-two.json) are missing from this checkout');
  return (JSON.parse(readFileSync(url, 'utf8')) as { Records: TrailRecord[] }).Records;
}

/** Paths of leaf keys; encryption-context maps count as one leaf (their keys are data). */
export function keyPaths(v: unknown, path = ''): string[] {
  if (v === null || typeof v !== 'object') return [path];
  if (Array.isArray(v)) return v.length ? keyPaths(v[0], `${path}[]`) : [path];
  if (/encryptionContext(Subset|Equals)?$/.test(path)) return [path];
  const entries = Object.entries(v);
  return entries.length ? entries.flatMap(([k, x]) => keyPaths(x, path ? `${path}.${k}` : k)) : [path];
}

export interface ShapeComparison {
  missing: string[];
  extra: string[];
  differingValues: string[];
}

export function compareWithSeed(ours: TrailRecord, seed: TrailRecord): ShapeComparison {
  const a = new Set(keyPaths(ours));
  const b = new Set(keyPaths(seed));
  const get = (r: unknown, p: string) => p.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k.replace('[]', '')] : undefined), r);
  return {
    missing: [...b].filter((p) => !a.has(p)),
    extra: [...a].filter((p) => !b.has(p)),
    differingValues: [...a].filter((p) => b.has(p) && !p.includes('[]') && JSON.stringify(get(ours, p)) !== JSON.stringify(get(seed, p))),
  };
}
