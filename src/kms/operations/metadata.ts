// KeyMetadata as CloudTrail logs it in responseElements: camelCase names, ISO dates.
import { memberName } from '../../api/index.js';

export function camelMetadata(m: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m)) out[memberName(k)] = v instanceof Date ? v.toISOString() : v;
  return out;
}
