// The request's condition keys, looked up case-insensitively (IAM: "Condition key names are not
// case-sensitive"). Lower-cased once per evaluation, and only if a condition or variable asks.
import type { Lookup } from './template.js';
import type { ConditionValue } from './types.js';
import { hasLowerCaseLookup } from './lazy-keys.js';
import { lowerOnce } from './lower.js';

export class RequestKeys implements Lookup {
  private lowered: Map<string, ConditionValue> | undefined;
  constructor(private readonly keys: ReadonlyMap<string, ConditionValue>) {}

  get(keyLower: string): ConditionValue | undefined {
    if (hasLowerCaseLookup(this.keys)) return this.keys.getLower(keyLower);
    if (!this.lowered) {
      this.lowered = new Map();
      for (const [k, v] of this.keys) this.lowered.set(lowerOnce(k), v);
    }
    return this.lowered.get(keyLower);
  }

  /** A single value, as a policy variable needs (a multivalued key is no variable). */
  single(keyLower: string): string | undefined {
    const v = this.get(keyLower);
    return typeof v === 'string' ? v : v?.length === 1 ? v[0] : undefined;
  }
}
