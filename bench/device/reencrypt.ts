// bench/device's re-encryption rows: the copy CopySnapshot and CreateVolume make under another
// data key (src/device/image-reencrypt.ts: every written sector decrypted with one XTS key and
// encrypted with another), against a plain copy of the same file in the same run (copy_file_range
// via fs.copyFileSync, then fsync, as the re-encrypting copy syncs too) and ebsim's own sparse
// copy without the cipher (same scan, same writes). The image is dense (every sector written):
// the worst case. The output is cross-checked against OpenSSL before anything is timed.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { scaled, type BenchContext, type BenchRow } from '../harness.js';
import { reencryptImage } from '../../src/device/image-reencrypt.js';
import { transformImage } from '../../src/device/image-store.js';
import { selectedEngine } from '../../src/xts/index.js';
import { encryptSectorWithOpenssl } from '../../src/walkthrough/openssl-xts.js';

const MiB = 1 << 20;
const SECTOR = 4096;

function xtsKey(): Buffer {
  for (;;) {
    const k = randomBytes(64);
    if (!k.subarray(0, 32).equals(k.subarray(32))) return k;
  }
}

function readSector(file: string, sector: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(SECTOR);
    fs.readSync(fd, b, 0, SECTOR, sector * SECTOR);
    return b;
  } finally {
    fs.closeSync(fd);
  }
}

function timed(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function reencryptionRows(ctx: BenchContext): { rows: BenchRow[]; notes: string[] } {
  const sizeMiB = scaled(ctx, 256, 64, 4);
  const rounds = scaled(ctx, 5, 3, 1);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ebsim-bench-reencrypt-'));
  const from = path.join(dir, 'source.img');
  const to = path.join(dir, 'target.img');
  try {
    // A source "encrypted" under key A: random bytes stand for ciphertext (no sector is zero).
    const keyA = xtsKey();
    const keyB = xtsKey();
    const fd = fs.openSync(from, 'w');
    for (let off = 0; off < sizeMiB * MiB; off += MiB) fs.writeSync(fd, randomBytes(MiB), 0, MiB, off);
    fs.fsyncSync(fd);
    fs.closeSync(fd);

    // Cross-check before timing: the re-encrypted sector is OpenSSL's XTS under B of A's plaintext.
    ctx.log('re-encryption: cross-checking against OpenSSL');
    const probe = Buffer.alloc(SECTOR, 7);
    const probeFile = path.join(dir, 'probe.img');
    fs.writeFileSync(probeFile, Buffer.concat([Buffer.alloc(SECTOR), encryptSectorWithOpenssl(keyA, 1, probe)]));
    reencryptImage(probeFile, to, { fromKey: keyA, toKey: keyB });
    if (!readSector(to, 1).equals(encryptSectorWithOpenssl(keyB, 1, probe))) throw new Error('re-encryption does not match OpenSSL XTS: not timing it');
    fs.rmSync(to);

    const samples: Record<'plain' | 'scan' | 'reencrypt', number[]> = { plain: [], scan: [], reencrypt: [] };
    const runs: [keyof typeof samples, () => void][] = [
      ['plain', () => {
        fs.copyFileSync(from, to);
        const t = fs.openSync(to, 'r+');
        fs.fsyncSync(t);
        fs.closeSync(t);
      }],
      ['scan', () => void transformImage(from, to, {})],
      ['reencrypt', () => void reencryptImage(from, to, { fromKey: keyA, toKey: keyB })],
    ];
    for (let round = 0; round < rounds; round++) {
      // Each round in a rotated order, so that drift of the machine lands on every target alike.
      for (let i = 0; i < runs.length; i++) {
        const [name, run] = runs[(i + round) % runs.length]!;
        ctx.log(`re-encryption: round ${round + 1}/${rounds}, ${name}`);
        samples[name].push(sizeMiB / timed(run));
        fs.rmSync(to);
      }
    }
    const plain = median(samples.plain);
    const reencrypt = median(samples.reencrypt);
    const paired = samples.reencrypt.map((r, i) => r / samples.plain[i]!);
    return {
      rows: [
        { target: 'image copy: plain file copy (copy_file_range + fsync)', 'image copy MiB/s': Math.round(plain) },
        { target: 'image copy: ebsim sparse copy, no cipher', 'image copy MiB/s': Math.round(median(samples.scan)) },
        { target: `image copy: re-encryption, key A to key B (xts:${selectedEngine().name})`, 'image copy MiB/s': Math.round(reencrypt) },
        { target: 'ratio re-encryption / plain file copy, median of rounds', 'image copy MiB/s': Number(median(paired).toFixed(2)) },
      ],
      notes: [`image copies: a dense ${sizeMiB} MiB image (every sector written), ${rounds} rounds in rotating order, each figure the median; re-encryption is the copy CopySnapshot and CreateVolume make under another key, cross-checked against OpenSSL first`],
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
