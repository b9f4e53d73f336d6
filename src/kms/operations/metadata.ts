// KeyMetadata as the API returns it (with what a key's imported material adds) and as
// CloudTrail logs it in responseElements: camelCase names, ISO dates.
import { memberName } from '../../api/index.js';
import { keyMetadata, type KmsKey } from '../keys.js';
import type { KmsEnv } from '../operation.js';

/** DescribeKey's and CreateKey's KeyMetadata. */
export function describedKey(env: Pick<KmsEnv, 'imports'>, key: KmsKey): Record<string, unknown> {
  return keyMetadata(key, env.imports.facts(key));
}

export function camelMetadata(m: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m)) out[memberName(k)] = v instanceof Date ? v.toISOString() : v;
  return out;
}
