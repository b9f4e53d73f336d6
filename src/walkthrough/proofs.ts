// The walkthrough's proofs that the volume is encrypted on disk. Each one can fail: each is shown
// in test/walkthrough/proofs.test.ts to fail when the sector cipher is the identity (the image
// then holds the plaintext) or when the data key is written to disk.
import { closeSync, openSync, readSync } from 'node:fs';
import { decryptSectorWithOpenssl, XTS_SECTOR_BYTES } from './openssl-xts.js';
import { scanImage, type ImageScan } from './image-scan.js';
import { countEqualBytes } from '../core/bytes.js';

export interface Proof {
  claim: string;
  holds: boolean;
  /** What was measured, in one line. */
  detail: string;
}

/** One device sector as the backing image stores it, beside the bytes the file system reads there. */
export interface SectorView {
  sector: number;
  onDisk: Buffer;
  /** The decrypted view: the file's bytes in that sector, read through the mount (or the device). */
  plaintext: Buffer;
}

/** Sector `sector` of a backing image, as stored (4096 bytes; zeros for a hole). */
export function readImageSector(imagePath: string, sector: number): Buffer {
  const fd = openSync(imagePath, 'r');
  try {
    const b = Buffer.alloc(XTS_SECTOR_BYTES);
    readSync(fd, b, 0, b.length, sector * XTS_SECTOR_BYTES);
    return b;
  } finally {
    closeSync(fd);
  }
}

/** The sector on disk differs from the file's bytes there, and the marker the file holds is not in it. */
export function proveSectorIsCiphertext(v: SectorView, marker: Uint8Array): Proof {
  const inFile = v.plaintext.indexOf(marker) >= 0;
  const onDisk = v.onDisk.indexOf(marker) >= 0;
  const same = countEqualBytes(v.onDisk, v.plaintext);
  return {
    claim: `sector ${v.sector} on disk is ciphertext, not the file's bytes`,
    holds: inFile && !onDisk && !v.onDisk.equals(v.plaintext),
    detail: `${same} of ${v.plaintext.length} bytes equal the file's (about ${Math.round(v.plaintext.length / 256)} by chance); marker ${onDisk ? 'FOUND' : 'absent'} on disk${inFile ? '' : ', MISSING from the file'}`,
  };
}

/** OpenSSL (node:crypto's aes-256-xts, not ebsim's XTS code) decrypts the sector on disk to the file's bytes. */
export function proveIndependentDecryption(key: Uint8Array, v: SectorView): Proof {
  const mine = decryptSectorWithOpenssl(key, v.sector, v.onDisk);
  const same = countEqualBytes(mine, v.plaintext);
  return {
    claim: `OpenSSL's aes-256-xts decrypts sector ${v.sector} to the file's bytes`,
    holds: same === v.plaintext.length && mine.length === v.plaintext.length,
    detail: `${same} of ${v.plaintext.length} bytes match (tweak = ${v.sector} as 16 bytes little-endian)`,
  };
}

/** The same plaintext in two sectors is two different ciphertexts (the tweak is the sector number). */
export function proveTweakSeparatesSectors(a: SectorView, b: SectorView): Proof {
  const samePlain = a.plaintext.equals(b.plaintext);
  const same = countEqualBytes(a.onDisk, b.onDisk);
  return {
    claim: `the same plaintext in sectors ${a.sector} and ${b.sector} is different ciphertext`,
    holds: samePlain && a.sector !== b.sector && !a.onDisk.equals(b.onDisk),
    detail: `plaintexts ${samePlain ? 'identical' : 'DIFFERENT'}; ciphertexts share ${same} of ${a.onDisk.length} bytes`,
  };
}

/** None of `needles` appears anywhere in the whole image (every byte read, holes included). */
export function proveAbsentFromImage(imagePath: string, needles: { what: string; bytes: Uint8Array }[], claim?: string): Proof & { scan: ImageScan } {
  const scan = scanImage(imagePath, needles.map((n) => n.bytes));
  const found = scan.hits.map((h) => `${needles[h.needle]!.what} at byte ${h.offset}`);
  return {
    claim: claim ?? `${needles.map((n) => n.what).join(' and ')} appear${needles.length > 1 ? '' : 's'} nowhere in the backing image`,
    holds: scan.hits.length === 0,
    detail: `read all ${mib(scan.bytesScanned)} (${mib(scan.dataBlocks * 4096)} written, the rest holes): ${found.length ? `FOUND ${found.slice(0, 3).join(', ')}` : 'no match'}`,
    scan,
  };
}

/** None of `needles` appears in any of `files` (the home's database, logs, state files…). */
export function proveAbsentFromFiles(files: string[], needles: { what: string; bytes: Uint8Array }[], claim: string): Proof {
  const found: string[] = [];
  let bytes = 0;
  for (const f of files) {
    const scan = scanImage(f, needles.map((n) => n.bytes), 1);
    bytes += scan.bytesScanned;
    for (const h of scan.hits) found.push(`${needles[h.needle]!.what} in ${f}`);
  }
  return { claim, holds: found.length === 0, detail: `read ${files.length} files, ${mib(bytes)}: ${found.length ? `FOUND ${found.slice(0, 2).join(', ')}` : 'no match'}` };
}


function mib(bytes: number): string {
  return bytes >= 1 << 30 ? `${(bytes / (1 << 30)).toFixed(bytes % (1 << 30) ? 1 : 0)} GiB` : `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}
