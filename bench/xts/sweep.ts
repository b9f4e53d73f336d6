// `npm run bench -- xts --matrix small|full`: the sector cipher over sector size x request size x
// engine x the native addon's CPU paths (each forced in turn), against `openssl speed -evp
// aes-256-xts` at the same request size, every round kept. Each engine is checked against
// node:crypto (OpenSSL) before anything is timed.
import { spawnSync } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import type { BenchContext, BenchResult, BenchRow, Matrix, Measurement } from '../harness.js';
import { opsPerSecond } from '../harness.js';
import { availableEngines, createSectorCipher, type EngineName, type SectorSize } from '../../src/xts/index.js';
import { useXtsPath, xtsPaths } from '../../src/xts/native.js';

const KiB = 1024;
export const XTS_MATRIX: Record<Matrix, { sectors: SectorSize[]; requests: number[]; rounds: number; minMs: number; opensslSeconds: number }> = {
  small: { sectors: [512, 4096], requests: [512, 4 * KiB, 64 * KiB, 1024 * KiB], rounds: 3, minMs: 80, opensslSeconds: 1 },
  full: { sectors: [512, 4096], requests: [512, 4 * KiB, 16 * KiB, 64 * KiB, 128 * KiB, 256 * KiB, 1024 * KiB], rounds: 5, minMs: 300, opensslSeconds: 2 },
};

export interface CipherPath {
  /** The engine's name, and for the native addon the CPU path forced (e.g. "aesni+vaes512"). */
  engine: EngineName;
  path: string;
  /** Forces this path before a measurement. */
  use(): void;
}

/** Every engine available here, the native addon once per code path this CPU supports (forced). */
export function cipherPaths(): CipherPath[] {
  const widest = xtsPaths().at(-1);
  const out: CipherPath[] = [];
  for (const e of availableEngines().filter((x) => x.available)) {
    if (e.name !== 'native') out.push({ engine: e.name, path: e.name === 'node' ? 'openssl' : 'js', use: () => widest && useXtsPath(widest) });
    else for (const path of [...xtsPaths()].reverse()) out.push({ engine: 'native', path, use: () => useXtsPath(path) });
  }
  return out;
}

/** MB/s (10^6 bytes/s) of `openssl speed` for one request size, or null with the reason. */
function opensslSpeed(bytes: number, seconds: number): { mbps: number | null; note: string } {
  const r = spawnSync('openssl', ['speed', '-evp', 'aes-256-xts', '-bytes', String(bytes), '-seconds', String(seconds)], {
    encoding: 'utf8',
    timeout: (seconds + 30) * 1000,
  });
  if (r.error || r.status !== 0) return { mbps: null, note: `openssl speed failed: ${r.error?.message ?? r.stderr.trim().split('\n')[0]}` };
  const m = /^aes-256-xts\s+([\d.]+)k\s*$/im.exec(r.stdout);
  return m ? { mbps: Number(m[1]) / 1000, note: '' } : { mbps: null, note: 'could not parse openssl speed output' };
}

/** node:crypto with one aes-256-xts cipher per sector: the reference every engine must equal. */
function referenceEncrypt(key: Buffer, sectorSize: number, data: Buffer, first: number): Buffer {
  const out = Buffer.from(data);
  const iv = Buffer.alloc(16);
  for (let off = 0, s = first; off < out.length; off += sectorSize, s++) {
    iv.writeUInt32LE(s, 0);
    const c = createCipheriv('aes-256-xts', key, iv);
    c.update(out.subarray(off, off + sectorSize)).copy(out, off);
    c.final();
  }
  return out;
}

export function xtsSweep(ctx: BenchContext, matrix: Matrix): Promise<BenchResult> {
  const plan = XTS_MATRIX[matrix];
  const rounds = Number(process.env.EBSIM_BENCH_ROUNDS) > 0 ? Number(process.env.EBSIM_BENCH_ROUNDS) : plan.rounds;
  const notes: string[] = [];
  for (const e of availableEngines().filter((x) => !x.available)) notes.push(`engine ${e.name} not measured: ${e.reason}`);
  const paths = cipherPaths();
  const key = randomBytes(64);
  const first = 123_456;
  const cells = plan.sectors.flatMap((sector) => plan.requests.filter((r) => r >= sector).map((request) => ({ sector, request })));
  const total = rounds * (cells.length * paths.length + plan.requests.length);
  let done = 0;
  const step = (label: string) => ctx.progress?.(done++, total, label);

  const measurements: Measurement[] = [];
  const version = spawnSync('openssl', ['version'], { encoding: 'utf8' }).stdout?.trim() ?? 'openssl';
  for (const request of plan.requests) {
    const m: Measurement = { id: `openssl speed ${request}`, unit: 'MB/s', better: 'higher', rounds: [], params: { engine: 'openssl', path: 'openssl speed', request } };
    for (let r = 0; r < rounds; r++) {
      step(`openssl speed -bytes ${request}`);
      const s = opensslSpeed(request, plan.opensslSeconds);
      if (s.mbps === null) {
        notes.push(s.note);
        break;
      }
      m.rounds.push(s.mbps);
    }
    if (m.rounds.length) measurements.push(m);
  }
  notes.push(`reference: ${version}, speed -evp aes-256-xts -bytes REQUEST -seconds ${plan.opensslSeconds} (one data unit per call), ${rounds} rounds`);

  for (const { sector, request } of cells) {
    const data = randomBytes(request);
    const expected = referenceEncrypt(key, sector, data, first);
    const ciphers = new Map(paths.map((p) => [p.engine, createSectorCipher(key, { sectorSize: sector, engine: p.engine })]));
    // Cross-check before timing, every path forced in turn.
    for (const p of paths) {
      p.use();
      const got = Buffer.from(data);
      ciphers.get(p.engine)!.encrypt(got, first);
      if (!got.equals(expected)) throw new Error(`${p.engine} (${p.path}) disagrees with node:crypto at sector ${sector}, request ${request}`);
      ciphers.get(p.engine)!.decrypt(got, first);
      if (!got.equals(data)) throw new Error(`${p.engine} (${p.path}) does not round-trip at sector ${sector}, request ${request}`);
    }
    const buf = Buffer.from(data);
    const ms = paths.map((p) => ({
      p,
      m: { id: `${p.engine} ${p.path} sector ${sector} request ${request}`, unit: 'MB/s', better: 'higher', rounds: [], params: { engine: p.engine, path: p.path, sector, request } } as Measurement,
    }));
    // Rounds interleaved over the paths: a busy moment of the shared machine hits them all.
    for (let r = 0; r < rounds; r++) {
      for (const { p, m } of ms) {
        step(`sector ${sector} request ${request} ${p.engine} ${p.path}`);
        p.use();
        const c = ciphers.get(p.engine)!;
        m.rounds.push((opsPerSecond(() => c.encrypt(buf, first), plan.minMs) * request) / 1e6);
      }
    }
    const widest = xtsPaths().at(-1);
    if (widest) useXtsPath(widest);
    measurements.push(...ms.map((x) => x.m));
  }
  ctx.progress?.(total, total, '');

  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const ossl = new Map(measurements.filter((m) => m.params!.engine === 'openssl').map((m) => [m.params!.request, med(m.rounds)]));
  const rows: BenchRow[] = measurements
    .filter((m) => m.params!.engine !== 'openssl')
    .map((m) => {
      const mid = med(m.rounds);
      const ref = ossl.get(m.params!.request) ?? null;
      return {
        engine: String(m.params!.engine),
        path: String(m.params!.path),
        sector: m.params!.sector!,
        request: m.params!.request!,
        'enc MB/s (median)': mid,
        'lowest-highest round': `${Math.min(...m.rounds).toFixed(0)}-${Math.max(...m.rounds).toFixed(0)}`,
        'openssl MB/s': ref,
        'x openssl': ref ? mid / ref : null,
      };
    });
  notes.push(`MB/s = 10^6 bytes/s, encryption in place, one call = one request; median of ${rounds} interleaved rounds of >= ${plan.minMs} ms; paths forced in turn (native: ${paths.filter((p) => p.engine === 'native').map((p) => p.path).join(', ') || 'not built'})`);
  return Promise.resolve({ rows, notes, measurements });
}
