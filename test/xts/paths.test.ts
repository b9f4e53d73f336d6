// The native engine's code paths (AES-NI; VAES on 256-bit registers; VAES on 512-bit ones): which
// this CPU has, that each can be forced and really runs when forced, and that each produces
// OpenSSL's bytes on random data of many sizes and sector numbers. (vectors.test.ts,
// properties.test.ts and interop.test.ts run every path too, through helpers.ts's VARIANTS.)
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createXtsCore } from '../../src/xts/index.js';
import { currentXtsPath, ENV_XTS_PATH, useXtsPath, withXtsPath, XTS_PATHS, xtsPathBlocks, xtsPaths, type XtsPath } from '../../src/xts/native.js';
import { assertBuilt, REPO } from '../helpers/cli.js';
import { describeNative } from '../helpers/native.js';
import { loadAddon } from '../../src/xts/addon.js';
import { hex, opensslXts } from './helpers.js';

const paths = xtsPaths();
// Skipped where the addon is not built or this CPU has no path for it; under EBSIM_REQUIRE_FUSE=1 (CI) a failure.
const loaded = loadAddon();
const missing = !loaded.addon ? loaded.reason : paths.length === 0 ? (loaded.addon.supported() ?? 'the addon reports no XTS code path on this CPU') : undefined;
const widest = paths[paths.length - 1];
const initial = currentXtsPath();
afterEach(() => {
  if (initial) useXtsPath(initial);
});

/** The kernel's view of the CPU (and of what the OS enables): an independent witness of cpuid. */
function cpuFlags(): Set<string> | null {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    return line ? new Set(line.split(':')[1]!.trim().split(/\s+/)) : null;
  } catch {
    return null;
  }
}

/** Blocks a path runs 16 (vaes256) or 32 (vaes512) at a time, per unit; the rest run on AES-NI. */
const GROUP: Record<XtsPath, number> = { aesni: 1, vaes256: 16, vaes512: 32 };

describeNative('native XTS code paths', missing, () => {
  it(`this CPU's paths (${paths.join(', ')}) are the ones /proc/cpuinfo's flags allow, and the widest is the default`, () => {
    const flags = cpuFlags();
    expect(paths[0]).toBe('aesni');
    if (flags) {
      const has = (...f: string[]) => f.every((x) => flags.has(x));
      const expected = XTS_PATHS.filter((p) =>
        p === 'aesni' ? has('aes', 'sse4_1') : p === 'vaes256' ? has('aes', 'avx', 'avx2', 'vaes', 'vpclmulqdq') : has('aes', 'avx512f', 'avx512bw', 'vaes', 'vpclmulqdq'));
      expect(paths).toEqual(expected);
    }
    if (!process.env[ENV_XTS_PATH]) expect(initial).toBe(widest);
  });

  it.each(XTS_PATHS.map((p) => [p] as const))('%s: forced, it runs, and equals OpenSSL on random data, sizes and sector numbers', (path) => {
    if (!paths.includes(path)) {
      // A path this CPU lacks is refused by name, and the path in use is left alone.
      const before = currentXtsPath();
      expect(() => useXtsPath(path)).toThrow(RangeError);
      expect(() => useXtsPath(path)).toThrow(new RegExp(`^useXtsPath: XTS path "${path}" .* is not supported by this CPU; it supports ${paths.join(', ')}$`));
      expect(currentXtsPath()).toBe(before);
      return;
    }
    useXtsPath(path);
    expect(currentXtsPath()).toBe(path);
    let expectWide = 0;
    let expectNarrow = 0;
    const before = xtsPathBlocks();
    // Unit lengths around every group boundary (16 or 32 blocks) and the device's sizes.
    const unitLens = [16, 48, 240, 256, 272, 496, 512, 528, 1008, 1024, 2064, 4096, 4112];
    for (const unitLen of unitLens) {
      for (let trial = 0; trial < 3; trial++) {
        const key = randomBytes(trial === 2 ? 32 : 64); // XTS-AES-256, and XTS-AES-128 once
        if (key.subarray(0, key.length / 2).equals(key.subarray(key.length / 2))) continue;
        const units = randomInt(1, 9);
        // Sector numbers: small, near 2^32, near 2^64 (the 128-bit tweak carries), random 128-bit.
        const tweakN = [BigInt(randomInt(0, 1000)), (1n << 32n) - 2n, (1n << 64n) - BigInt(units) + 1n][trial]!
          + (unitLen === 4112 ? BigInt(`0x${randomBytes(15).toString('hex')}`) : 0n);
        const pt = randomBytes(unitLen * units);
        const tweak = Buffer.alloc(16);
        tweak.writeBigUInt64LE(tweakN & 0xffff_ffff_ffff_ffffn, 0);
        tweak.writeBigUInt64LE(tweakN >> 64n, 8);
        const core = createXtsCore(key, 'native');
        const buf = new Uint8Array(pt);
        core.encryptUnits(buf, unitLen, tweak);
        expect(hex(buf), `${path} ${unitLen} x ${units} at ${tweakN}`).toBe(hex(opensslXts(key, pt, unitLen, tweakN, true)));
        core.decryptUnits(buf, unitLen, tweak);
        expect(hex(buf)).toBe(hex(pt));
        const blocks = unitLen / 16;
        const wide = path === 'aesni' ? 0 : Math.floor(blocks / GROUP[path]) * GROUP[path];
        expectWide += 2 * units * wide;
        expectNarrow += 2 * units * (blocks - wide);
      }
    }
    const after = xtsPathBlocks();
    // The forced path did the wide work, the others none: the forcing is real.
    for (const p of XTS_PATHS) {
      const delta = after[p] - before[p];
      if (p === 'aesni') expect(delta).toBe(path === 'aesni' ? expectNarrow + expectWide : expectNarrow);
      else expect(delta, p).toBe(p === path ? expectWide : 0);
    }
    if (path !== 'aesni') expect(expectWide).toBeGreaterThan(0);
  });

  it('paths agree with each other on a 128 KiB request of 4 KiB sectors', () => {
    const key = randomBytes(64);
    const pt = randomBytes(32 * 4096);
    const tweak = randomBytes(16);
    const outs = paths.map((p) => withXtsPath(p, () => {
      const buf = new Uint8Array(pt);
      createXtsCore(key, 'native').encryptUnits(buf, 4096, tweak);
      return hex(buf);
    }));
    expect(new Set(outs).size).toBe(1);
    expect(outs[0]).not.toBe(hex(pt));
  });

  it('an unknown path is a RangeError naming the choices; withXtsPath restores the path in use', () => {
    expect(() => useXtsPath('avx10' as XtsPath)).toThrow(/^useXtsPath: unknown XTS path "avx10"; expected one of aesni, vaes256, vaes512$/);
    useXtsPath('aesni');
    withXtsPath(widest!, () => expect(currentXtsPath()).toBe(widest));
    expect(currentXtsPath()).toBe('aesni');
    expect(() => withXtsPath('nope' as XtsPath, () => 1)).toThrow(RangeError);
    expect(currentXtsPath()).toBe('aesni');
  });

  it(`${ENV_XTS_PATH} forces the path in a new process; a path the CPU lacks makes the engine unavailable, saying why`, () => {
    assertBuilt();
    const script = `import('${REPO}dist/src/xts/index.js').then((x) => { const e = x.availableEngines().find((e) => e.name === 'native'); console.log(JSON.stringify({ path: x.currentXtsPath(), ...e })); })`;
    const run = (value: string) => JSON.parse(execFileSync(process.execPath, ['-e', script], {
      env: { ...process.env, [ENV_XTS_PATH]: value },
      encoding: 'utf8',
    })) as { path: string | null; available: boolean; reason: string };
    const forced = run('aesni');
    expect(forced).toMatchObject({ path: 'aesni', available: true });
    expect(forced.reason).toMatch(/^N-API addon on AES-NI \(EBSIM_XTS_PATH=aesni\)/);
    const bad = run('vaes1024');
    expect(bad.available).toBe(false);
    expect(bad.reason).toMatch(/^EBSIM_XTS_PATH: unknown XTS path "vaes1024"/);
  });
});
