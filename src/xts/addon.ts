// The one loader of the native addon (native/build/Release/ebsim_xts.node, built by
// native/build.mjs): the XTS engine (./native.ts), the block device's native sector store
// (src/device/native-sector-store.ts) and KMS's blob cipher (src/kms/blob.ts) take it from here, with its constants. It lives in
// xts, the lowest layer of the two, so that both may import it.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Bytes of an expanded key schedule: K1 encryption, K1 decryption and K2 encryption round keys. */
export const SCHED_BYTES = 720;
/** The addon's sector I/O works on sectors of this size (DEV_SECTOR in ebsim_sector_io.c). */
export const ADDON_SECTOR_BYTES = 4096;
export const ADDON_PATH = join('native', 'build', 'Release', 'ebsim_xts.node');

/** An opaque handle to a shared mapping of a backing image (mapImage()). */
export type ImageMap = { readonly __brand: 'ImageMap' };

/** The addon's functions; native/src/ebsim_xts.c and ebsim_sector_io.c document each. */
export interface Addon {
  supported(): string | null;
  expandKeys(key: Uint8Array, sched: Uint8Array): number;
  crypt(sched: Uint8Array, rounds: number, data: Uint8Array, unitLen: number, tweak: Uint8Array, encrypt: boolean): void;
  paths(): string[];
  path(): string;
  setPath(name: string): void;
  pathBlocks(): [number, number, number];
  readDecrypt(fd: number, offset: number, buf: Uint8Array, firstSector: number, sched: Uint8Array | null, rounds: number, cb: (err: number, holes: number) => void, map?: ImageMap | null): void;
  /**
   * cb null: at once, only from the page cache (through the mapping if given, else preadv2
   * RWF_NOWAIT); the hole count, or -1 if not served. `defer` (preadv2 only): buf is libfuse's
   * buffer of the FUSE read being answered; leave the decryption to its worker where the preload
   * allows (then 0 holes).
   */
  readDecrypt(fd: number, offset: number, buf: Uint8Array, firstSector: number, sched: Uint8Array | null, rounds: number, cb: null, map: ImageMap | null, defer?: boolean): number;
  encryptWrite(fd: number, offset: number, src: Uint8Array, dst: Uint8Array, firstSector: number, sched: Uint8Array | null, rounds: number, cb: (err: number) => void, map?: ImageMap | null): void;
  /** cb null: at once on the calling thread (mapping or pwrite); 0 or the errno. */
  encryptWrite(fd: number, offset: number, src: Uint8Array, dst: Uint8Array, firstSector: number, sched: Uint8Array | null, rounds: number, cb: null, map?: ImageMap | null): number;
  mapImage(fd: number, length: number): ImageMap | null;
  unmapImage(map: ImageMap): void;
  ioStats(): [number, number, number, number, number];
  setMapCheck(on: boolean): boolean;
  /** lseek SEEK_DATA (hole false) or SEEK_HOLE (hole true): the offset, or -1 (ENXIO); throws where unsupported. */
  seekData(fd: number, offset: number, hole: boolean): number;
  /** ebsim_gcm.c: whether Node's OpenSSL AES-256-GCM was found (src/kms/blob.ts uses it). */
  gcmAvailable(): boolean;
  /** out (plaintext's length + 16) = ciphertext || tag; key 32 bytes, iv 12. */
  gcmSeal(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array): void;
  /** true and out = plaintext if the tag is authentic; false and out zeroed if not. */
  gcmOpen(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array, out: Uint8Array): boolean;
  /** How many OpenSSL contexts the GCM functions hold now, over all threads (tests: a thread's go when it ends). */
  gcmContexts?(): number;
}

export type AddonLoad = { addon: Addon; reason: null } | { addon: null; reason: string };

let loaded: AddonLoad | undefined;

/** Finds the addon from here upwards: this module runs from src/xts (tests) or dist/src/xts. */
function findAddon(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++, dir = dirname(dir)) {
    const p = join(dir, ADDON_PATH);
    if (existsSync(p)) return p;
  }
  return null;
}

/** The addon if it is built, loads and accepts this CPU; otherwise why not. Loaded once. */
export function loadAddon(): AddonLoad {
  if (loaded) return loaded;
  const path = findAddon();
  if (!path) return (loaded = { addon: null, reason: `native addon not built (${ADDON_PATH} missing; run \`node native/build.mjs\`)` });
  try {
    const addon = createRequire(import.meta.url)(path) as Addon;
    const why = addon.supported();
    loaded = why ? { addon: null, reason: `native addon refuses this CPU: ${why}` } : { addon, reason: null };
  } catch (err) {
    loaded = { addon: null, reason: `native addon failed to load: ${(err as Error).message.split('\n')[0]}` };
  }
  return loaded;
}
