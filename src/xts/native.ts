// AES-NI engine: the native addon (see ./addon.ts, which loads it). It handles a whole request
// in one call, in place; this file keeps the key schedule.
import { loadAddon, SCHED_BYTES, type Addon } from './addon.js';
import { checkUnits, checkXtsKey, type EngineFactory, type EngineProbe, type XtsCore } from './core.js';

let probed: EngineProbe | undefined;

/** Settled at the first call, with the addon's default (widest) code path. */
function probe(): EngineProbe {
  if (probed) return probed;
  const { addon, reason } = loadAddon();
  probed = addon
    ? { available: true, reason: `N-API addon on ${addon.features() === 'aesni+vaes512' ? 'AES-NI + VAES (AVX-512)' : 'AES-NI'}, whole request per call` }
    : { available: false, reason };
  return probed;
}

/** The addon's code path ("aesni" or "aesni+vaes512"), or null if it is not loaded. */
export function nativeFeatures(): string | null {
  return loadAddon().addon?.features() ?? null;
}

/** Turns the addon's VAES-512 path on or off (tests, benchmark); returns whether it is now on. */
export function setNativeWide(on: boolean): boolean {
  return loadAddon().addon?.setWide(on) ?? false;
}

class NativeXts implements XtsCore {
  readonly engine = 'native' as const;
  private readonly sched = new Uint8Array(SCHED_BYTES);
  private readonly rounds: number;

  constructor(private readonly addon: Addon, key: Uint8Array) {
    checkXtsKey(key);
    this.rounds = addon.expandKeys(key, this.sched);
  }

  encryptUnits(data: Uint8Array, unitLen: number, tweak: Uint8Array): void {
    checkUnits(data, unitLen, tweak);
    this.addon.crypt(this.sched, this.rounds, data, unitLen, tweak, true);
  }

  decryptUnits(data: Uint8Array, unitLen: number, tweak: Uint8Array): void {
    checkUnits(data, unitLen, tweak);
    this.addon.crypt(this.sched, this.rounds, data, unitLen, tweak, false);
  }
}

export const nativeEngine: EngineFactory = {
  name: 'native',
  probe,
  create: (key) => {
    const { addon, reason } = loadAddon();
    if (!addon) throw new Error(`XTS engine "native" is not available: ${reason}`);
    return new NativeXts(addon, key);
  },
};
