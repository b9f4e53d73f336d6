// AES-NI engine: the native addon (see ./addon.ts, which loads it). It handles a whole request
// in one call, in place; this file keeps the key schedule and chooses the addon's code path.
import { loadAddon, SCHED_BYTES, type Addon } from './addon.js';
import { checkUnits, checkXtsKey, type EngineFactory, type EngineProbe, type XtsCore } from './core.js';

/**
 * The addon's code paths, narrowest first: AES-NI one block per instruction; VAES on 256-bit
 * registers (AVX2, no AVX-512 needed: AMD Zen 3+, Intel Ice Lake+ and Alder Lake); VAES on
 * 512-bit registers (AVX-512). Every path produces the same bytes.
 */
export const XTS_PATHS = ['aesni', 'vaes256', 'vaes512'] as const;
export type XtsPath = (typeof XTS_PATHS)[number];
/** Forces the path at first use, in every process that inherits it (the device daemon too). */
export const ENV_XTS_PATH = 'EBSIM_XTS_PATH';

const DESCRIBE: Record<XtsPath, string> = {
  aesni: 'AES-NI',
  vaes256: 'AES-NI + VAES on 256-bit registers (AVX2)',
  vaes512: 'AES-NI + VAES on 512-bit registers (AVX-512)',
};

let envApplied: { error: string | null } | undefined;

/** Applies EBSIM_XTS_PATH once; an unknown or unsupported name makes the engine unavailable. */
function applyEnv(addon: Addon): string | null {
  if (envApplied) return envApplied.error;
  const forced = process.env[ENV_XTS_PATH];
  envApplied = { error: null };
  if (forced !== undefined && forced !== '') {
    try {
      select(addon, forced, ENV_XTS_PATH);
    } catch (err) {
      envApplied.error = (err as Error).message;
    }
  }
  return envApplied.error;
}

function select(addon: Addon, name: string, what: string): void {
  if (!(XTS_PATHS as readonly string[]).includes(name)) {
    throw new RangeError(`${what}: unknown XTS path "${name}"; expected one of ${XTS_PATHS.join(', ')}`);
  }
  const ok = addon.paths();
  if (!ok.includes(name)) {
    throw new RangeError(`${what}: XTS path "${name}" (${DESCRIBE[name as XtsPath]}) is not supported by this CPU; it supports ${ok.join(', ')}`);
  }
  addon.setPath(name);
}

/** The addon if loaded and its EBSIM_XTS_PATH (if any) is valid; otherwise why not. */
function usableAddon(): { addon: Addon; reason: null } | { addon: null; reason: string } {
  const { addon, reason } = loadAddon();
  if (!addon) return { addon: null, reason };
  const envError = applyEnv(addon);
  return envError ? { addon: null, reason: envError } : { addon, reason: null };
}

/** Recomputed each time: the path may be changed by useXtsPath. */
function probe(): EngineProbe {
  const { addon, reason } = usableAddon();
  if (!addon) return { available: false, reason };
  const path = addon.path() as XtsPath;
  const forced = process.env[ENV_XTS_PATH] ? ` (${ENV_XTS_PATH}=${process.env[ENV_XTS_PATH]})` : '';
  return { available: true, reason: `N-API addon on ${DESCRIBE[path]}${forced}, whole request per call` };
}

/** The code paths this CPU supports, narrowest first (e.g. ['aesni', 'vaes256', 'vaes512']); [] without the addon. */
export function xtsPaths(): XtsPath[] {
  return (loadAddon().addon?.paths() ?? []) as XtsPath[];
}

/** The path the native engine uses now (default: the widest supported), or null without the addon. */
export function currentXtsPath(): XtsPath | null {
  const { addon } = usableAddon();
  return addon ? (addon.path() as XtsPath) : null;
}

/**
 * Forces a code path for every native cipher of this process (tests, benchmarks), including
 * ciphers already created. Throws a RangeError naming the path for an unknown name or one this
 * CPU lacks, an Error if the addon is not loaded; the path in use is then unchanged.
 */
export function useXtsPath(name: XtsPath): void {
  const { addon, reason } = loadAddon();
  if (!addon) throw new Error(`useXtsPath: the native XTS engine is not available: ${reason}`);
  applyEnv(addon);
  select(addon, name, 'useXtsPath');
}

/**
 * 16-byte blocks each path has processed in this process since the addon loaded (tests prove a
 * forced path really ran with it). A VAES path's leftover blocks (units shorter than its group
 * of 16 or 32 blocks, and their tails) run on AES-NI and count there.
 */
export function xtsPathBlocks(): Record<XtsPath, number> {
  const [aesni, vaes256, vaes512] = loadAddon().addon?.pathBlocks() ?? [0, 0, 0];
  return { aesni, vaes256, vaes512 };
}

/** Runs `fn` on the given path, then restores the path that was in use. */
export function withXtsPath<T>(name: XtsPath, fn: () => T): T {
  const before = currentXtsPath();
  useXtsPath(name);
  try {
    return fn();
  } finally {
    if (before) useXtsPath(before);
  }
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
    const { addon, reason } = usableAddon();
    if (!addon) throw new Error(`XTS engine "native" is not available: ${reason}`);
    return new NativeXts(addon, key);
  },
};
