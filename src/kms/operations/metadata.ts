// KeyMetadata as CloudTrail logs it in responseElements: camelCase names, nested ones too
// (multiRegionConfiguration.primaryKey.arn, as in the ReplicateKey record of the KMS Developer
// Guide), ISO dates.
import { memberName } from '../../api/index.js';

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
