// Public face of the sector cipher: XTS-AES-256 per IEEE 1619, one data unit per sector,
// tweak = sector number as a 64-bit little-endian integer in 16 bytes, counted in sectors of the
// volume's size: dm-crypt's aes-xts-plain64 with --sector-size N --iv-large-sectors.
// Key = K1||K2 (64 bytes): K1 encrypts data, K2 encrypts the tweak. See docs/xts.md.
import { checkXtsKey, type EngineFactory, type EngineName, type XtsCore } from './core.js';
import { nativeEngine } from './native.js';
import { nobleEngine } from './noble.js';
import { nodeEngine } from './node.js';

export type { EngineName } from './core.js';
export { currentXtsPath, ENV_XTS_PATH, useXtsPath, withXtsPath, XTS_PATHS, xtsPathBlocks, xtsPaths, type XtsPath } from './native.js';

export type SectorSize = 512 | 4096;

export interface SectorCipher {
  readonly engine: string;
  readonly sectorSize: SectorSize;
  /** Encrypts whole sectors of `data` in place, the first one being sector `firstSector`. */
  encrypt(data: Uint8Array, firstSector: number | bigint): void;
  /** Decrypts whole sectors of `data` in place. */
  decrypt(data: Uint8Array, firstSector: number | bigint): void;
}

export interface SectorCipherOptions {
  sectorSize?: SectorSize;
  /** Forces an engine; default: EBSIM_XTS_ENGINE, else the fastest available. */
  engine?: EngineName;
}

export interface EngineInfo {
  name: EngineName;
  available: boolean;
  reason: string;
}

export interface EngineSelection {
  name: EngineName;
  reason: string;
}

/** Fastest first: this order is the automatic preference. */
const FACTORIES: readonly EngineFactory[] = [nativeEngine, nodeEngine, nobleEngine];
export const ENGINE_NAMES: readonly EngineName[] = FACTORIES.map((f) => f.name);
export const ENV_ENGINE = 'EBSIM_XTS_ENGINE';
const TWO_POW_64 = 1n << 64n;

function factory(name: string, what: string): EngineFactory {
  const f = FACTORIES.find((e) => e.name === name);
  if (!f) throw new RangeError(`${what}: unknown XTS engine "${name}"; expected one of ${ENGINE_NAMES.join(', ')}`);
  return f;
}

/** Every engine with whether it can run here and why (for `ebsim doctor`). */
export function availableEngines(): EngineInfo[] {
  return FACTORIES.map((f) => ({ name: f.name, ...f.probe() }));
}

let fallbackNoted = false;

/**
 * The engine new ciphers use and why: EBSIM_XTS_ENGINE if set (an unknown or unavailable name
 * is an error), else the fastest available. If the native engine is unavailable this says why,
 * and the first automatic selection notes it once on stderr.
 */
export function selectedEngine(): EngineSelection {
  const forced = process.env[ENV_ENGINE];
  if (forced !== undefined && forced !== '') {
    const f = factory(forced, ENV_ENGINE);
    const p = f.probe();
    if (!p.available) throw new Error(`${ENV_ENGINE}=${forced}: engine not available: ${p.reason}`);
    return { name: f.name, reason: `${ENV_ENGINE}=${forced}: ${p.reason}` };
  }
  const native = nativeEngine.probe();
  if (native.available) return { name: 'native', reason: `fastest available: ${native.reason}` };
  const f = FACTORIES.find((e) => e.probe().available)!;
  const reason = `native engine unavailable (${native.reason}); using ${f.name}: ${f.probe().reason}`;
  if (!fallbackNoted) {
    fallbackNoted = true;
    process.stderr.write(`ebsim: ${reason}\n`);
  }
  return { name: f.name, reason };
}

/** Creates the internal engine directly (tests, benchmarks): any key length the engines accept. */
export function createXtsCore(key: Uint8Array, engine: EngineName): XtsCore {
  return factory(engine, 'engine').create(key);
}

export function createSectorCipher(key: Uint8Array, options: SectorCipherOptions = {}): SectorCipher {
  checkXtsKey(key, [64]);
  const sectorSize = options.sectorSize ?? 4096;
  if (sectorSize !== 512 && sectorSize !== 4096) {
    throw new RangeError(`options.sectorSize: expected 512 or 4096, got ${String(sectorSize)}`);
  }
  let name: EngineName;
  if (options.engine !== undefined) {
    const f = factory(options.engine, 'options.engine');
    const p = f.probe();
    if (!p.available) throw new Error(`options.engine: XTS engine "${f.name}" is not available: ${p.reason}`);
    name = f.name;
  } else {
    name = selectedEngine().name;
  }
  const core = factory(name, 'engine').create(key);

  // One tweak buffer per cipher, rewritten per call: nothing allocated per sector.
  const tweak = new Uint8Array(16);
  const view = new DataView(tweak.buffer);
  const prepare = (data: Uint8Array, firstSector: number | bigint): void => {
    if (!(data instanceof Uint8Array)) throw new TypeError('data: expected a Uint8Array');
    if (data.length % sectorSize !== 0) {
      throw new RangeError(`data: length ${data.length} is not a whole number of ${sectorSize}-byte sectors (partial sectors are not allowed)`);
    }
    const count = data.length / sectorSize;
    if (typeof firstSector === 'number') {
      // Safe integers are far below 2^64, so the run cannot wrap.
      if (!Number.isSafeInteger(firstSector) || firstSector < 0) {
        throw new RangeError(`firstSector: expected a non-negative safe integer, got ${firstSector}`);
      }
      view.setUint32(0, firstSector >>> 0, true);
      view.setUint32(4, Math.floor(firstSector / 0x1_0000_0000), true);
    } else if (typeof firstSector === 'bigint') {
      // plain64 is a 64-bit counter: refuse runs that would wrap rather than diverge from dm-crypt.
      if (firstSector < 0n || firstSector + BigInt(count) > TWO_POW_64) {
        throw new RangeError(`firstSector: ${firstSector} + ${count} sectors is outside 0..2^64`);
      }
      view.setBigUint64(0, firstSector, true);
    } else {
      throw new TypeError('firstSector: expected a number or a bigint');
    }
  };
  return {
    engine: name,
    sectorSize,
    encrypt(data, firstSector) {
      prepare(data, firstSector);
      core.encryptUnits(data, sectorSize, tweak);
    },
    decrypt(data, firstSector) {
      prepare(data, firstSector);
      core.decryptUnits(data, sectorSize, tweak);
    },
  };
}
