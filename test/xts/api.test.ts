// The public sector API: argument errors name the argument, sector-number range, engine selection.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { availableEngines, createSectorCipher, selectedEngine } from '../../src/xts/index.js';
import { ENGINES } from './helpers.js';

const key = new Uint8Array(64).map((_, i) => i);

afterEach(() => {
  vi.unstubAllEnvs();
  vi.doUnmock('../../src/xts/native.js');
  vi.resetModules();
});

describe('arguments', () => {
  it('key must be 64 distinct-halved bytes', () => {
    expect(() => createSectorCipher('x' as never)).toThrow(TypeError);
    expect(() => createSectorCipher(new Uint8Array(32))).toThrow(/^key: expected 64 bytes/);
    expect(() => createSectorCipher(new Uint8Array(64))).toThrow(/^key: .*halves/);
  });

  it('sector size is 4096 by default, 512 as an option, nothing else', () => {
    expect(createSectorCipher(key).sectorSize).toBe(4096);
    expect(createSectorCipher(key, { sectorSize: 512 }).sectorSize).toBe(512);
    expect(() => createSectorCipher(key, { sectorSize: 1024 as never })).toThrow(/^options\.sectorSize/);
  });

  it.each(ENGINES)('sector numbers: 0..2^64-1 for the last sector of the run (%s)', (engine) => {
    const c = createSectorCipher(key, { sectorSize: 512, engine });
    const two = new Uint8Array(1024);
    c.encrypt(two, (1n << 64n) - 2n);
    c.decrypt(two, (1n << 64n) - 2n);
    expect(two.every((b) => b === 0)).toBe(true);
    expect(() => c.encrypt(two, (1n << 64n) - 1n)).toThrow(/^firstSector/);
    expect(() => c.encrypt(two, -1n)).toThrow(RangeError);
    expect(() => c.encrypt(two, -1)).toThrow(/^firstSector/);
    expect(() => c.encrypt(two, 1.5)).toThrow(/^firstSector/);
    expect(() => c.encrypt(two, Number.NaN)).toThrow(/^firstSector/);
    expect(() => c.encrypt(two, 2 ** 53)).toThrow(/^firstSector/);
    expect(() => c.encrypt(two, '1' as never)).toThrow(TypeError);
    expect(() => c.encrypt([1, 2] as never, 0)).toThrow(/^data/);
    c.encrypt(new Uint8Array(0), 0); // an empty run is a no-op
  });
});

describe('engine selection', () => {
  it('lists all three engines with reasons; picks native when it is available', () => {
    const all = availableEngines();
    expect(all.map((e) => e.name)).toEqual(['native', 'node', 'noble']);
    for (const e of all) expect(e.reason.length).toBeGreaterThan(0);
    const native = all[0]!;
    expect(selectedEngine().name).toBe(native.available ? 'native' : 'node');
    expect(createSectorCipher(key).engine).toBe(selectedEngine().name);
  });

  it('EBSIM_XTS_ENGINE overrides; an unknown name is a clear error', () => {
    vi.stubEnv('EBSIM_XTS_ENGINE', 'noble');
    expect(selectedEngine()).toMatchObject({ name: 'noble', reason: expect.stringMatching(/^EBSIM_XTS_ENGINE=noble/) });
    expect(createSectorCipher(key).engine).toBe('noble');
    vi.stubEnv('EBSIM_XTS_ENGINE', 'node');
    expect(createSectorCipher(key).engine).toBe('node');
    vi.stubEnv('EBSIM_XTS_ENGINE', 'fast');
    expect(() => createSectorCipher(key)).toThrow(RangeError);
    expect(() => selectedEngine()).toThrow(/EBSIM_XTS_ENGINE: unknown XTS engine "fast"; expected one of native, node, noble/);
    expect(() => createSectorCipher(key, { engine: 'fast' as never })).toThrow(/^options\.engine: unknown/);
  });

  it('without the native addon: falls back to node, says why, notes it on stderr once', async () => {
    vi.doMock('../../src/xts/native.js', () => ({
      nativeEngine: {
        name: 'native',
        probe: () => ({ available: false, reason: 'native addon not built (test)' }),
        create: () => { throw new Error('unavailable'); },
      },
      xtsPaths: () => [],
      currentXtsPath: () => null,
    }));
    vi.resetModules();
    const xts = await import('../../src/xts/index.js');
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const sel = xts.selectedEngine();
      expect(sel.name).toBe('node');
      expect(sel.reason).toMatch(/native engine unavailable \(native addon not built \(test\)\)/);
      expect(xts.createSectorCipher(key).engine).toBe('node');
      xts.selectedEngine();
      expect(err).toHaveBeenCalledTimes(1);
      expect(() => xts.createSectorCipher(key, { engine: 'native' })).toThrow(/not available: native addon not built/);
      vi.stubEnv('EBSIM_XTS_ENGINE', 'native');
      expect(() => xts.selectedEngine()).toThrow(/EBSIM_XTS_ENGINE=native: engine not available/);
    } finally {
      err.mockRestore();
    }
  });
});
