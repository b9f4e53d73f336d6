// `npm run bench -- kms --matrix small|full`: GenerateDataKeyWithoutPlaintext per second from
// 1, 2, 4 ... threads at once, each with its own handle on one home (the way several CLI
// processes and `ebsim serve` share it): every call authorized and recorded in the one trail
// database, so the figure includes waiting for SQLite's write lock.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { initHome, openEbsim } from '../../src/app/ebsim.js';
import type { BenchContext, BenchResult, BenchRow, Matrix, Measurement } from '../harness.js';

export const KMS_MATRIX: Record<Matrix, { threads: number[]; rounds: number; ms: number }> = {
  small: { threads: [1, 2, 4], rounds: 2, ms: 1000 },
  full: { threads: [1, 2, 4, 8, 16], rounds: 3, ms: 3000 },
};

async function once(home: string, keyId: string, threads: number, ms: number): Promise<number> {
  const url = new URL('./concurrency-worker.js', import.meta.url);
  const workers = Array.from({ length: threads }, () => new Worker(url, { workerData: { home, keyId, ms } }));
  try {
    await Promise.all(workers.map((w) => new Promise((resolve, reject) => w.once('message', resolve).once('error', reject))));
    const results = workers.map((w) => new Promise<{ calls: number; elapsed: number }>((resolve, reject) => w.once('message', resolve).once('error', reject)));
    for (const w of workers) w.postMessage('go');
    const done = await Promise.all(results);
    // All threads started together; the slowest one's clock is the run's.
    return (done.reduce((a, r) => a + r.calls, 0) * 1000) / Math.max(...done.map((r) => r.elapsed));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

export async function kmsConcurrency(ctx: BenchContext, matrix: Matrix): Promise<BenchResult> {
  const plan = KMS_MATRIX[matrix];
  const home = mkdtempSync(join(tmpdir(), 'ebsim-bench-kms-threads-'));
  try {
    initHome(home);
    const app = openEbsim(home);
    const before = () => (app.db.prepare('SELECT count(*) n FROM trail_events').get() as { n: number }).n;
    const keyId = (app.kms().call(app.as('Alice'), 'CreateKey', { Description: 'bench' }).KeyMetadata as { KeyId: string }).KeyId;
    const ms: Measurement[] = plan.threads.map((threads) => ({ id: `GenerateDataKeyWithoutPlaintext threads=${threads}`, unit: 'ops/s', better: 'higher', rounds: [], params: { threads } }));
    const total = plan.rounds * plan.threads.length;
    let done = 0;
    const startCount = before();
    for (let round = 0; round < plan.rounds; round++) {
      for (const m of ms) {
        ctx.progress?.(done++, total, `round ${round + 1}/${plan.rounds}, ${m.params!.threads} thread(s)`);
        m.rounds.push(await once(home, keyId, Number(m.params!.threads), plan.ms));
      }
    }
    ctx.progress?.(total, total, '');
    const written = before() - startCount;
    app.close();
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    const one = med(ms[0]!.rounds);
    const rows: BenchRow[] = ms.map((m) => ({
      operation: 'GenerateDataKeyWithoutPlaintext (Alice, customer managed key)',
      threads: m.params!.threads!,
      'ops/s': Math.round(med(m.rounds)),
      'rounds ops/s': `${Math.round(Math.min(...m.rounds))}-${Math.round(Math.max(...m.rounds))}`,
      'x 1 thread': med(m.rounds) / one,
    }));
    return {
      rows,
      measurements: ms,
      notes: [
        `${plan.ms} ms per cell, ${plan.rounds} rounds (median shown); each thread opens the home itself; the clock stops once every thread has committed its trail records (${written} written)`,
      ],
    };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
