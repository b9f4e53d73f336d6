// docs/xts.md's independent checks on volumes past 2 GiB: the node:crypto snippet streams in
// bounded memory (Node has no SEEK_DATA, so it reads the holes), the Python one visits only the
// written extents (os.SEEK_DATA); both keep the output sparse. Peak RSS is the child's own.
import { spawnSync } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import { closeSync, ftruncateSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'ebsim-h16-xts-large-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const nodeScript = fileURLToPath(new URL('./fixtures/decrypt-image.mjs', import.meta.url));
const pyScript = fileURLToPath(new URL('./fixtures/decrypt_image.py', import.meta.url));
const hasPyCryptography = spawnSync('python3', ['-c', 'import cryptography, os; os.SEEK_DATA'], { stdio: 'ignore' }).status === 0;
const GIB = 1024 ** 3;

/** A sparse image of `size` bytes with three sectors encrypted (first, middle, last), as ebsim writes them. */
function sparseImage(name: string, size: number) {
  const key = randomBytes(64);
  const sectors = [0, Math.floor(size / 8192) + 3, size / 4096 - 1];
  const base = join(dir, name);
  writeFileSync(`${base}.key`, key);
  const fd = openSync(`${base}.img`, 'w');
  ftruncateSync(fd, size);
  for (const n of sectors) {
    const iv = Buffer.alloc(16);
    iv.writeBigUInt64LE(BigInt(n));
    const c = createCipheriv('aes-256-xts', key, iv);
    writeSync(fd, Buffer.concat([c.update(Buffer.alloc(4096, (n % 250) + 1)), c.final()]), 0, 4096, n * 4096);
  }
  closeSync(fd);
  return { base, sectors };
}

/** Runs a snippet under /usr/bin/time for its peak RSS (KiB). */
function run(cmd: string, args: string[]): { kib: number; seconds: number } {
  const r = spawnSync('/usr/bin/time', ['-f', 'MAXRSS %M SECONDS %e', cmd, ...args], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const m = /MAXRSS (\d+) SECONDS ([\d.]+)/.exec(r.stderr)!;
  return { kib: Number(m[1]), seconds: Number(m[2]) };
}

function expectDecrypted(base: string, size: number, sectors: number[]) {
  const out = `${base}.out`;
  expect(statSync(out).size).toBe(size);
  expect(statSync(out).blocks * 512).toBeLessThan(1 << 20); // sparse: three sectors' worth
  const fd = openSync(out, 'r');
  try {
    for (const n of [...sectors, 5]) {
      const b = Buffer.alloc(4096);
      readSync(fd, b, 0, 4096, n * 4096);
      expect(b.equals(Buffer.alloc(4096, sectors.includes(n) ? (n % 250) + 1 : 0)), `sector ${n}`).toBe(true);
    }
  } finally {
    closeSync(fd);
  }
}

describe('docs/xts.md snippets past 2 GiB', { timeout: 300_000 }, () => {
  it('node:crypto: a 3 GiB image (more than one Buffer holds) in bounded memory', () => {
    const { base, sectors } = sparseImage('node3g', 3 * GIB);
    const { kib, seconds } = run(process.execPath, [nodeScript, `${base}.key`, `${base}.img`, `${base}.out`]);
    expectDecrypted(base, 3 * GIB, sectors);
    expect(kib).toBeLessThan(200 * 1024);
    console.log(`node snippet, 3 GiB: ${seconds} s, peak RSS ${(kib / 1024).toFixed(0)} MB`);
  });

  it.skipIf(!hasPyCryptography)('Python cryptography: an 8 GiB image through SEEK_DATA, in seconds', () => {
    const { base, sectors } = sparseImage('py8g', 8 * GIB);
    const { kib, seconds } = run('python3', [pyScript, `${base}.key`, `${base}.img`, `${base}.out`]);
    expectDecrypted(base, 8 * GIB, sectors);
    expect(kib).toBeLessThan(200 * 1024);
    expect(seconds).toBeLessThan(30);
    console.log(`python snippet, 8 GiB: ${seconds} s, peak RSS ${(kib / 1024).toFixed(0)} MB`);
  });
});
