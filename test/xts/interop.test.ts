// Proves docs/xts.md's claim: an ebsim image opens without ebsim, with a few lines of node:crypto
// (fixtures/decrypt-image.mjs) or Python's cryptography (fixtures/decrypt_image.py), run as
// separate processes on bytes the engines really produced.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createSectorCipher, type SectorSize } from '../../src/xts/index.js';
import { VARIANTS, using, type Variant } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ebsim-xts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const nodeScript = fileURLToPath(new URL('./fixtures/decrypt-image.mjs', import.meta.url));
const pyScript = fileURLToPath(new URL('./fixtures/decrypt_image.py', import.meta.url));
const hasPyCryptography = spawnSync('python3', ['-c', 'import cryptography'], { stdio: 'ignore' }).status === 0;

/** An image as ebsim writes it: sector n at byte n*size, encrypted with tweak n, in uneven batches; some holes. */
function makeImage(variant: Variant, sectorSize: SectorSize) {
  return using(variant, () => makeImageWith(variant.engine, variant.label.replace('/', '-'), sectorSize));
}

function makeImageWith(engine: string, label: string, sectorSize: SectorSize) {
  const key = randomBytes(64);
  const sectors = 70;
  const plain = randomBytes(sectors * sectorSize);
  const image = Buffer.from(plain);
  const c = createSectorCipher(key, { sectorSize, engine: engine as never });
  for (let s = 0; s < sectors; ) {
    const n = Math.min(1 + (s % 33), sectors - s);
    c.encrypt(image.subarray(s * sectorSize, (s + n) * sectorSize), s);
    s += n;
  }
  // Never-written sectors stay sparse holes (all-zero on disk) and read as zeros, as in src/device.
  for (const hole of [3, 40, 69]) {
    plain.fill(0, hole * sectorSize, (hole + 1) * sectorSize);
    image.fill(0, hole * sectorSize, (hole + 1) * sectorSize);
  }
  const base = join(dir, `${label}-${sectorSize}`);
  writeFileSync(`${base}.key`, key);
  writeFileSync(`${base}.img`, image);
  return { base, plain, image };
}

describe.each(VARIANTS.map((v) => [v.label, v] as const))('image written by engine %s', (_label, engine) => {
  it.each([4096, 512] as const)('opens with the node:crypto snippet (sector size %i)', (size) => {
    const { base, plain, image } = makeImage(engine, size);
    expect(image.equals(plain)).toBe(false);
    execFileSync(process.execPath, [nodeScript, `${base}.key`, `${base}.img`, `${base}.node.out`, String(size)]);
    expect(readFileSync(`${base}.node.out`).equals(plain)).toBe(true);
  });

  it.skipIf(!hasPyCryptography)('opens with the Python cryptography snippet (sector size 4096)', () => {
    const { base, plain } = makeImage(engine, 4096);
    execFileSync('python3', [pyScript, `${base}.key`, `${base}.img`, `${base}.py.out`, '4096']);
    expect(readFileSync(`${base}.py.out`).equals(plain)).toBe(true);
  });
});
