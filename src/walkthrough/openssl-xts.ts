// An independent check of the sector cipher: OpenSSL's aes-256-xts through node:crypto, one
// cipher per sector, tweak = the sector number as a 64-bit little-endian integer in 16 bytes
// (docs/xts.md). Deliberately shares no code with src/xts, so a bug there cannot hide here.
import { createCipheriv, createDecipheriv } from 'node:crypto';

export const XTS_SECTOR_BYTES = 4096;

/** The 16-byte XTS tweak (OpenSSL's IV) of sector `sector`. */
export function sectorTweak(sector: number): Buffer {
  if (!Number.isSafeInteger(sector) || sector < 0) throw new RangeError(`sector: expected a non-negative safe integer, got ${sector}`);
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64LE(BigInt(sector), 0);
  return iv;
}

/** Decrypts one 4096-byte sector read from a backing image, with the volume's 64-byte data key. */
export function decryptSectorWithOpenssl(key: Uint8Array, sector: number, onDisk: Uint8Array): Buffer {
  if (key.length !== 64) throw new RangeError(`key: expected 64 bytes (K1 || K2), got ${key.length}`);
  if (onDisk.length !== XTS_SECTOR_BYTES) throw new RangeError(`onDisk: expected ${XTS_SECTOR_BYTES} bytes, got ${onDisk.length}`);
  const d = createDecipheriv('aes-256-xts', key, sectorTweak(sector));
  return Buffer.concat([d.update(onDisk), d.final()]);
}

/** Encrypts one 4096-byte sector as ebsim's device stores it, with the volume's 64-byte data key. */
export function encryptSectorWithOpenssl(key: Uint8Array, sector: number, plaintext: Uint8Array): Buffer {
  if (key.length !== 64) throw new RangeError(`key: expected 64 bytes (K1 || K2), got ${key.length}`);
  if (plaintext.length !== XTS_SECTOR_BYTES) throw new RangeError(`plaintext: expected ${XTS_SECTOR_BYTES} bytes, got ${plaintext.length}`);
  const c = createCipheriv('aes-256-xts', key, sectorTweak(sector));
  return Buffer.concat([c.update(plaintext), c.final()]);
}
