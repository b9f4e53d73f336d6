// What every engine implements: XTS-AES (IEEE 1619) over a run of consecutive data units, in place.
// The public sector API (index.ts) sits on top; tests use this layer directly because the
// published vectors have 16- to 512-byte data units, XTS-AES-128 keys and full 128-bit tweaks.

export type EngineName = 'noble' | 'native' | 'node';

export interface XtsCore {
  readonly engine: EngineName;
  /**
   * Encrypts `data` in place as consecutive data units of `unitLen` bytes. `tweak` is the
   * 16-byte little-endian tweak of the first unit; each following unit's tweak is one more
   * (as a 128-bit integer). `tweak` is read, never modified.
   */
  encryptUnits(data: Uint8Array, unitLen: number, tweak: Uint8Array): void;
  decryptUnits(data: Uint8Array, unitLen: number, tweak: Uint8Array): void;
}

export interface EngineProbe {
  available: boolean;
  /** Why it is (not) available, for `ebsim doctor`. */
  reason: string;
}

export interface EngineFactory {
  readonly name: EngineName;
  probe(): EngineProbe;
  /** `key` is K1||K2: 32 bytes (XTS-AES-128, tests only) or 64 bytes (XTS-AES-256). */
  create(key: Uint8Array): XtsCore;
}

/** Validates an XTS key: a Uint8Array of an allowed length whose two halves differ. */
export function checkXtsKey(key: unknown, allowed: readonly number[] = [32, 64]): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array)) throw new TypeError('key: expected a Uint8Array');
  if (!allowed.includes(key.length)) {
    throw new RangeError(`key: expected ${allowed.join(' or ')} bytes (K1||K2), got ${key.length}`);
  }
  const half = key.length / 2;
  let diff = 0;
  for (let i = 0; i < half; i++) diff |= key[i]! ^ key[half + i]!;
  // IEEE 1619-2018 5.1 / SP 800-38E: K1 == K2 voids XTS's security argument; OpenSSL refuses it too.
  if (diff === 0) throw new RangeError('key: the two XTS key halves (K1 data key, K2 tweak key) must differ');
}

/** Cheap per-call argument checks shared by the engines (once per call, not per unit). */
export function checkUnits(data: unknown, unitLen: unknown, tweak: unknown): asserts data is Uint8Array {
  if (!(data instanceof Uint8Array)) throw new TypeError('data: expected a Uint8Array');
  if (typeof unitLen !== 'number' || !Number.isInteger(unitLen) || unitLen <= 0 || unitLen % 16 !== 0) {
    throw new RangeError(`unitLen: expected a positive multiple of 16, got ${String(unitLen)}`);
  }
  if (data.length % unitLen !== 0) {
    throw new RangeError(`data: length ${data.length} is not a whole number of ${unitLen}-byte data units`);
  }
  if (!(tweak instanceof Uint8Array) || tweak.length !== 16) throw new TypeError('tweak: expected a 16-byte Uint8Array');
}

export const IS_LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Reverses the bytes of every 32-bit word of `b` (length a multiple of 4); used only on big-endian hosts. */
export function bswap32InPlace(b: Uint8Array): void {
  for (let i = 0; i < b.length; i += 4) {
    const a0 = b[i]!, a1 = b[i + 1]!;
    b[i] = b[i + 3]!;
    b[i + 1] = b[i + 2]!;
    b[i + 2] = a1;
    b[i + 3] = a0;
  }
}

/**
 * Grows-only scratch space, so a cipher allocates when it first sees a bigger request,
 * never per sector or per call in the steady state.
 */
export class Scratch {
  private buf = new Uint8Array(0);
  get(len: number): Uint8Array {
    if (this.buf.length < len) this.buf = new Uint8Array(Math.max(len, this.buf.length * 2));
    return this.buf.subarray(0, len);
  }
}
