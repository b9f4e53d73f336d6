// A request's condition keys, built only if a policy asks, and only the group it asks about
// (the global aws: keys, or a service's own): most documents authorization reads (AWS's default
// key policy, AdministratorAccess) have no conditions, and an AWS managed key's policy asks only
// for kms: keys. Building every key for every call would cost more than the evaluation itself.
import type { ConditionValue } from './types.js';
import { lowerOnce } from './lower.js';

export interface KeyGroup {
  /** The names' common prefix, lower case ("aws:", "kms:"). */
  prefix: string;
  build(): Map<string, ConditionValue>;
}

/** Looks up a lower-cased key name without building the other groups (the evaluator's fast path). */
export interface LowerCaseLookup {
  getLower(keyLower: string): ConditionValue | undefined;
}

export function hasLowerCaseLookup(keys: ReadonlyMap<string, ConditionValue>): keys is ReadonlyMap<string, ConditionValue> & LowerCaseLookup {
  return typeof (keys as Partial<LowerCaseLookup>).getLower === 'function';
}

export class LazyConditionKeys implements ReadonlyMap<string, ConditionValue>, LowerCaseLookup {
  private readonly built: (Map<string, ConditionValue> | undefined)[];
  private readonly lowered: (Map<string, ConditionValue> | undefined)[];
  private all: Map<string, ConditionValue> | undefined;

  constructor(private readonly groups: readonly KeyGroup[]) {
    this.built = groups.map(() => undefined);
    this.lowered = groups.map(() => undefined);
  }

  getLower(keyLower: string): ConditionValue | undefined {
    for (let i = 0; i < this.groups.length; i++) {
      if (!keyLower.startsWith(this.groups[i]!.prefix)) continue;
      let m = this.lowered[i];
      if (!m) {
        m = new Map();
        for (const [k, v] of this.group(i)) m.set(lowerOnce(k), v);
        this.lowered[i] = m;
      }
      return m.get(keyLower);
    }
    return undefined;
  }

  private group(i: number): Map<string, ConditionValue> {
    return (this.built[i] ??= this.groups[i]!.build());
  }

  private get map(): Map<string, ConditionValue> {
    if (!this.all) {
      this.all = new Map();
      for (let i = 0; i < this.groups.length; i++) for (const [k, v] of this.group(i)) this.all.set(k, v);
    }
    return this.all;
  }

  get size(): number {
    return this.map.size;
  }
  get(key: string): ConditionValue | undefined {
    return this.map.get(key);
  }
  has(key: string): boolean {
    return this.map.has(key);
  }
  forEach(fn: (value: ConditionValue, key: string, map: ReadonlyMap<string, ConditionValue>) => void): void {
    for (const [k, v] of this.map) fn(v, k, this);
  }
  entries(): MapIterator<[string, ConditionValue]> {
    return this.map.entries();
  }
  keys(): MapIterator<string> {
    return this.map.keys();
  }
  values(): MapIterator<ConditionValue> {
    return this.map.values();
  }
  [Symbol.iterator](): MapIterator<[string, ConditionValue]> {
    return this.map[Symbol.iterator]();
  }
}
