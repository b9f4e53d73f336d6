// `ebsim volume verify`: decrypt a volume's sectors straight from its backing image with OpenSSL
// (node:crypto's aes-256-xts, sharing no code with src/xts) and count the bytes that match what
// they should be: with --file, the file as read through the mount, sector by sector where the file
// system says it lives (filefrag); without, ebsim's own decryption of every written sector (the
// image's data extents: holes are never-written sectors, skipped). Under an identity cipher
// neither could match: OpenSSL would "decrypt" plaintext into noise.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Ebsim } from '../app/ebsim.js';
import type { CallContext } from '../core/call-context.js';
import { dataExtents, SECTOR_SIZE } from '../device/index.js';
import { withVolumeDevice } from '../host/in-process.js';
import { UserError } from '../errors/index.js';
import { decryptSectorWithOpenssl } from '../walkthrough/openssl-xts.js';
import { fileSectorsByFilefrag } from '../walkthrough/file-blocks.js';
import { countEqualBytes } from '../core/bytes.js';

const GIB = 1024 ** 3;
const CHUNK = 1 << 20;
const ZERO_SECTOR = Buffer.alloc(SECTOR_SIZE);

export interface VerifyReport {
  VolumeId: string;
  File?: string;
  Cipher: string;
  ComparedWith: string;
  SectorsLocatedBy: string;
  SectorsChecked: number;
  BytesCompared: number;
  MatchingBytes: number;
  /** Sectors whose bytes on disk differ from their plaintext (all of them, when encrypted). */
  SectorsUnlikeTheirPlaintext: number;
  FirstMismatchAt?: number;
  Verified: boolean;
}

const CIPHER = 'AES-256-XTS by OpenSSL (node:crypto), tweak = sector number, 4096-byte sectors';


function preadExactly(fd: number, length: number, position: number): Buffer {
  const b = Buffer.alloc(length);
  const n = fs.readSync(fd, b, 0, length, position);
  if (n < length) b.fill(0, n);
  return b;
}

/** The volume's data key as its instance's role (through its grant): a Decrypt in the trail. */
function dataKeyOf(app: Ebsim, caller: () => CallContext, volumeId: string): Uint8Array {
  const host = app.host();
  const key = host.dataKey(host.volumeFor(caller, volumeId));
  if (!key) throw new UserError(`${volumeId} is not encrypted: there is no ciphertext to verify`);
  return key;
}

export async function verifyVolume(app: Ebsim, caller: () => CallContext, volumeId: string, opts: { file?: string; instanceId?: string; onProgress?: (done: number, total: number) => void } = {}): Promise<VerifyReport> {
  return opts.file === undefined ? verifyImage(app, caller, volumeId, opts) : verifyFile(app, caller, volumeId, opts.file);
}

/** With --file: the file's sectors, decrypted from the image, against the file read through the mount. */
async function verifyFile(app: Ebsim, caller: () => CallContext, volumeId: string, file: string): Promise<VerifyReport> {
  const host = app.host();
  host.volumeFor(caller, volumeId); // the caller's own volume, or NotFound before anything else is read
  const mounted = (await host.status()).volumes.find((v) => v.volumeId === volumeId);
  const mountpoint = mounted?.state.mountpoint;
  if (!mountpoint) throw new UserError(`${volumeId} is not mounted: --file names a file on the mounted volume (ebsim volume mount ${volumeId} DIR), so its blocks can be asked of the file system`);
  const abs = fs.realpathSync(path.resolve(file));
  const root = fs.realpathSync(mountpoint);
  if (abs !== root && !abs.startsWith(root + path.sep)) throw new UserError(`${file} is not on ${volumeId}, which is mounted at ${mountpoint}`);
  const size = fs.statSync(abs).size;
  const located = fileSectorsByFilefrag(abs);
  if (located.sectors.length * SECTOR_SIZE < size) throw new UserError(`${file} has holes or inline data (${located.sectors.length} sectors for ${size} bytes): verify a file written whole`);
  const key = dataKeyOf(app, caller, volumeId);
  const image = fs.openSync(host.imagePath(volumeId), 'r');
  const plainFd = fs.openSync(abs, 'r');
  const report: VerifyReport = { VolumeId: volumeId, File: file, Cipher: CIPHER, ComparedWith: `${file} read through the mount`, SectorsLocatedBy: located.how, SectorsChecked: 0, BytesCompared: 0, MatchingBytes: 0, SectorsUnlikeTheirPlaintext: 0, Verified: false };
  try {
    for (let i = 0; i * SECTOR_SIZE < size; i++) {
      const sector = located.sectors[i]!;
      const onDisk = preadExactly(image, SECTOR_SIZE, sector * SECTOR_SIZE);
      const len = Math.min(SECTOR_SIZE, size - i * SECTOR_SIZE);
      const expected = preadExactly(plainFd, len, i * SECTOR_SIZE);
      const decrypted = decryptSectorWithOpenssl(key, sector, onDisk).subarray(0, len);
      tally(report, decrypted, expected, onDisk.subarray(0, len), i * SECTOR_SIZE);
    }
  } finally {
    key.fill(0);
    fs.closeSync(plainFd);
    fs.closeSync(image);
  }
  report.Verified = report.SectorsChecked > 0 && report.MatchingBytes === report.BytesCompared;
  return report;
}

function tally(report: VerifyReport, decrypted: Uint8Array, expected: Uint8Array, onDisk: Uint8Array, at: number): void {
  const same = countEqualBytes(decrypted, expected);
  if (same !== expected.length && report.FirstMismatchAt === undefined) report.FirstMismatchAt = at + decrypted.findIndex((b, j) => b !== expected[j]);
  report.SectorsChecked++;
  report.BytesCompared += expected.length;
  report.MatchingBytes += same;
  if (!Buffer.from(onDisk).equals(Buffer.from(expected))) report.SectorsUnlikeTheirPlaintext++;
}

/** Without --file: every written sector, OpenSSL's decryption against ebsim's (the volume must not be mounted). */
async function verifyImage(app: Ebsim, caller: () => CallContext, volumeId: string, opts: { instanceId?: string; onProgress?: (done: number, total: number) => void }): Promise<VerifyReport> {
  const host = app.host();
  const v = host.attach(caller, volumeId, opts.instanceId);
  if (!v.encrypted) throw new UserError(`${volumeId} is not encrypted: there is no ciphertext to verify`);
  const imagePath = host.imagePath(volumeId);
  const sizeBytes = v.sizeGiB * GIB;
  let key: Uint8Array | undefined;
  const report = imageReport(volumeId);
  // One Decrypt: the device gets the key, and this check keeps a copy until it is done.
  const keyForDevice = () => {
    const k = host.dataKey(v)!;
    key = Uint8Array.from(k);
    return k;
  };
  await withVolumeDevice({ volumeId, imagePath, sizeBytes }, keyForDevice, async (dev) => {
    try {
      await compareWrittenSectors(dev, imagePath, sizeBytes, key!, report, opts.onProgress);
    } finally {
      key?.fill(0);
    }
  });
  report.Verified = report.SectorsChecked > 0 && report.MatchingBytes === report.BytesCompared;
  return report;
}

/** What the image check needs of a block device: its decrypted bytes at an offset. */
export interface DecryptedReader {
  readInto(offset: number, into: Buffer): Promise<number>;
}

/**
 * Every written sector of the image at `imagePath` (its data extents), decrypted by OpenSSL with
 * `key`, against what `dev` reads there; tallied into `report`.
 */
export async function compareWrittenSectors(dev: DecryptedReader, imagePath: string, sizeBytes: number, key: Uint8Array, report: VerifyReport, onProgress?: (done: number, total: number) => void): Promise<void> {
  const image = fs.openSync(imagePath, 'r');
  const plain = Buffer.alloc(CHUNK);
  try {
    const extents = dataExtents(image, sizeBytes);
    for (let next = extents.next(); ; next = extents.next()) {
      if (next.done) {
        report.SectorsLocatedBy = next.value === 'SEEK_DATA' ? "the image's data extents (lseek SEEK_DATA/SEEK_HOLE)" : 'a scan of the image for non-zero sectors';
        break;
      }
      const [start, end] = next.value;
      for (let off = start; off < end; off += CHUNK) {
        const len = Math.min(CHUNK, end - off);
        const onDisk = preadExactly(image, len, off);
        await dev.readInto(off, plain.subarray(0, len));
        for (let s = 0; s < len; s += SECTOR_SIZE) {
          // All zeros on disk is a never-written sector, which the device reads as zeros without
          // decrypting (sector-store.ts): a data extent may hold one (a file system block wider
          // than a sector, zeros written explicitly), and OpenSSL would turn it into noise.
          if (onDisk.subarray(s, s + SECTOR_SIZE).equals(ZERO_SECTOR)) continue;
          const decrypted = decryptSectorWithOpenssl(key, (off + s) / SECTOR_SIZE, onDisk.subarray(s, s + SECTOR_SIZE));
          tally(report, decrypted, plain.subarray(s, s + SECTOR_SIZE), onDisk.subarray(s, s + SECTOR_SIZE), off + s);
        }
        onProgress?.(off + len, sizeBytes);
      }
    }
  } finally {
    fs.closeSync(image);
  }
  report.Verified = report.SectorsChecked > 0 && report.MatchingBytes === report.BytesCompared;
}

/** An empty report of the image check, for callers of compareWrittenSectors. */
export function imageReport(volumeId: string): VerifyReport {
  return { VolumeId: volumeId, Cipher: CIPHER, ComparedWith: "ebsim's own decryption (src/xts, through the block device)", SectorsLocatedBy: '', SectorsChecked: 0, BytesCompared: 0, MatchingBytes: 0, SectorsUnlikeTheirPlaintext: 0, Verified: false };
}
