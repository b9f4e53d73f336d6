// The sweeps run in CI's time and save what they measured: `xts --matrix small`, and a
// `device --matrix small` sweep on real mounts with gocryptfs made absent (EBSIM_GOCRYPTFS names a
// binary that does not exist), which must be reported missing, never given figures.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { describe } from 'vitest';
import type { RunRecord } from '../../bench/record.js';
import { XTS_MATRIX, cipherPaths } from '../../bench/xts/sweep.js';
import { DEVICE_MATRIX } from '../../bench/device/sweep.js';
import { currentXtsPath, xtsPaths } from '../../src/xts/native.js';
import { REPO } from '../helpers/cli.js';
import { describeRealMount } from '../device/real-mount.js';

const out = mkdtempSync(join(tmpdir(), 'ebsim-h18-sweeps-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function bench(args: string[], env: Record<string, string>): Promise<{ code: number; stderr: string; run: RunRecord; seconds: number }> {
  const dir = mkdtempSync(join(out, 'run-'));
  const t0 = Date.now();
  return new Promise((resolve) =>
    execFile(process.execPath, [join(REPO, 'dist/bench/run.js'), ...args, '--out', dir], { env: { ...process.env, ...env }, maxBuffer: 64 << 20 }, (err, _stdout, stderr) => {
      const files = readdirSync(dir);
      const run = files.length === 1 ? (JSON.parse(readFileSync(join(dir, files[0]!), 'utf8')) as RunRecord) : (undefined as unknown as RunRecord);
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr, run, seconds: (Date.now() - t0) / 1000 });
    }),
  );
}

describe('bench xts --matrix small', () => {
  it('measures every sector x request x engine path, forced in turn, and openssl speed per request, every round kept', async () => {
    const r = await bench(['xts', '--matrix', 'small'], { EBSIM_BENCH_ROUNDS: '2' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.seconds).toBeLessThan(300);
    const plan = XTS_MATRIX.small;
    const paths = cipherPaths().map((p) => `${p.engine} ${p.path}`);
    // The native addon is measured on every path this CPU supports.
    expect(paths).toEqual(expect.arrayContaining(xtsPaths().map((p) => `native ${p}`)));
    const ms = r.run.suites.xts!.measurements!;
    const ids = new Set(ms.map((m) => m.id));
    for (const sector of plan.sectors)
      for (const request of plan.requests.filter((x) => x >= sector))
        for (const p of paths) expect(ids.has(`${p} sector ${sector} request ${request}`), `${p} ${sector} ${request}`).toBe(true);
    for (const request of plan.requests) expect(ids.has(`openssl speed ${request}`)).toBe(true);
    for (const m of ms) {
      expect(m.rounds.length, m.id).toBe(2);
      for (const x of m.rounds) expect(x, m.id).toBeGreaterThan(0);
    }
    expect(r.run.machine.xts.path).toBe(currentXtsPath());
    expect(r.run.machine.cpu.flags.length).toBeGreaterThan(0);
  }, 400_000);
});

describeRealMount('bench device --matrix small, gocryptfs absent', () => {
  it('runs every cell on the encrypted volume and its pass-through, reports gocryptfs missing, leaves no mount behind', async () => {
    const r = await bench(['device', '--matrix', 'small'], { EBSIM_GOCRYPTFS: 'gocryptfs-absent-h18', EBSIM_BENCH_ROUNDS: '1', EBSIM_BENCH_SECONDS: '1' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.seconds).toBeLessThan(480);
    const suite = r.run.suites.device!;
    expect(suite.missing?.gocryptfs).toContain('gocryptfs-absent-h18 not found');
    const ms = suite.measurements!;
    expect(ms.some((m) => m.params?.target === 'gocryptfs')).toBe(false);
    expect(suite.rows.some((row) => row.target === 'gocryptfs')).toBe(false);
    const plan = DEVICE_MATRIX.small;
    for (const target of ['ebsim encrypted', 'ebsim pass-through'])
      for (const mode of plan.modes)
        for (const bs of plan.bs)
          for (const qd of plan.qd) {
            const m = ms.find((x) => x.id === `${target} ${mode} bs=${bs} qd=${qd} IOPS`);
            expect(m, `${target} ${mode} ${bs} ${qd}`).toBeDefined();
            expect(m!.rounds).toHaveLength(1);
            expect(m!.rounds[0]).toBeGreaterThan(0);
          }
    expect(readFileSync('/proc/mounts', 'utf8')).not.toContain('ebsim-bench-sweep-');
  }, 600_000);
});
