// AES-NI engine: the N-API addon built from native/ (see native/build.mjs). It handles a whole
// request in one call, in place; this file only finds and loads it and keeps the key schedule.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkUnits, checkXtsKey, type EngineFactory, type EngineProbe, type XtsCore } from './core.js';

interface Addon {
  supported(): string | null;
  expandKeys(key: Uint8Array, sched: Uint8Array): number;
  crypt(sched: Uint8Array, rounds: number, data: Uint8Array, unitLen: number, tweak: Uint8Array, encrypt: boolean): void;
  features(): string;
  setWide(on: boolean): boolean;
}

const ADDON = join('native', 'build', 'Release', 'ebsim_xts.node');
const SCHED_BYTES = 720;

let loaded: { addon: Addon | null; probe: EngineProbe } | undefined;

/** Finds the addon from here upwards: this module runs from src/xts (tests) or dist/src/xts. */
function findAddon(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, ADDON);
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  return null;
}

function load(): { addon: Addon | null; probe: EngineProbe } {
  if (loaded) return loaded;
  const path = findAddon();
  if (!path) {
    loaded = { addon: null, probe: { available: false, reason: `native addon not built (${ADDON} missing; run \`node native/build.mjs\`)` } };
    return loaded;
  }
  try {
    const addon = createRequire(import.meta.url)(path) as Addon;
    const why = addon.supported();
    loaded = why
      ? { addon: null, probe: { available: false, reason: `native addon refuses this CPU: ${why}` } }
      : { addon, probe: { available: true, reason: `N-API addon on ${addon.features() === 'aesni+vaes512' ? 'AES-NI + VAES (AVX-512)' : 'AES-NI'}, whole request per call` } };
  } catch (err) {
    loaded = { addon: null, probe: { available: false, reason: `native addon failed to load: ${(err as Error).message.split('\n')[0]}` } };
  }
  return loaded;
}

/** The addon's code path ("aesni" or "aesni+vaes512"), or null if it is not loaded. */
export function nativeFeatures(): string | null {
  return load().addon?.features() ?? null;
}

/** Turns the addon's VAES-512 path on or off (tests, benchmark); returns whether it is now on. */
export function setNativeWide(on: boolean): boolean {
  return load().addon?.setWide(on) ?? false;
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
  probe: () => load().probe,
  create: (key) => {
    const { addon, probe } = load();
    if (!addon) throw new Error(`XTS engine "native" is not available: ${probe.reason}`);
    return new NativeXts(addon, key);
  },
};
