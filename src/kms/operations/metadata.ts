// KeyMetadata as the API returns it (with a multi-Region key's set and what a key's imported
// material adds) and as CloudTrail logs it in responseElements: camelCase names, nested ones too
// (multiRegionConfiguration.primaryKey.arn, as in the ReplicateKey record of the KMS Developer
// Guide), ISO dates.
import { memberName } from '../../api/index.js';
import type { KmsKey } from '../keys.js';
import { describedMetadata } from '../multi-region-metadata.js';
import type { KmsEnv } from '../operation.js';

/** DescribeKey's and CreateKey's KeyMetadata. */
export function describedKey(env: Pick<KmsEnv, 'imports' | 'keys'>, key: KmsKey): Record<string, unknown> {
  return describedMetadata(env.keys, key, env.imports.facts(key));
}

export function camelMetadata(m: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m)) out[memberName(k)] = camelValue(v);
  return out;
}

function camelValue(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(camelValue);
  if (v !== null && typeof v === 'object') return camelMetadata(v as Record<string, unknown>);
  return v;
}
