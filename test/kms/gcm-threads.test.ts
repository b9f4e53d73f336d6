// The native GCM (native/src/ebsim_gcm.c) keeps one OpenSSL context per thread and direction. A
// worker_thread that seals and opens blobs and then ends must not leave its two behind: they are
// freed when the thread exits (a pthread key's destructor, or its Node environment's cleanup), and
// the main thread's when its environment is torn down at exit. Counted by the addon itself
// (gcmContexts), and checked to still agree with node:crypto from threads that come and go.
import { spawnSync } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { expect, it } from 'vitest';
import { ADDON_PATH, loadAddon } from '../../src/xts/addon.js';
import { REPO } from '../helpers/cli.js';
import { describeNative } from '../helpers/native.js';

const loaded = loadAddon();
const addon = loaded.addon;
const missing = !addon
  ? loaded.reason
  : !addon.gcmAvailable?.()
    ? "the addon has no AES-256-GCM (built without it, or Node's OpenSSL symbols not found)"
    : typeof addon.gcmContexts !== 'function'
      ? 'the addon predates gcmContexts (rebuild it: node native/build.mjs)'
      : undefined;
const addonFile = join(REPO, ADDON_PATH);

// In each worker: seal and open `rounds` times with the addon, check one seal against node:crypto
// (passed in), report how many contexts existed while it held its own, then end.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const addon = require(workerData.addonFile);
const { key, iv, aad, pt, expected, rounds } = workerData;
const out = Buffer.alloc(pt.length + 16);
const opened = Buffer.alloc(pt.length);
let ok = true;
for (let i = 0; i < rounds; i++) {
  addon.gcmSeal(key, iv, aad, pt, out);
  ok = ok && addon.gcmOpen(key, iv, aad, out.subarray(0, pt.length), out.subarray(pt.length), opened) && opened.equals(Buffer.from(pt));
}
parentPort.postMessage({ ok, same: out.equals(Buffer.from(expected)), during: addon.gcmContexts() });
`;

function runWorker(data: Record<string, unknown>): Promise<{ ok: boolean; same: boolean; during: number }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { eval: true, workerData: { addonFile, ...data } });
    let message: { ok: boolean; same: boolean; during: number } | undefined;
    w.on('message', (m) => (message = m));
    w.on('error', reject);
    w.on('exit', (code) => (code === 0 && message ? resolve(message) : reject(new Error(`worker exited ${code} without a result`))));
  });
}

describeNative('the native GCM on threads that end', missing, () => {
  it('a worker_thread that sealed and opened frees its two contexts when it ends: 60 workers, 4 at a time, leave the count where it was', async () => {
    const key = randomBytes(32);
    const iv = randomBytes(12);
    const aad = randomBytes(29);
    const pt = randomBytes(100);
    const c = createCipheriv('aes-256-gcm', key, iv);
    c.setAAD(aad);
    const expected = Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
    // The main thread's own pair, made now so that it is in the count before and after.
    const out = Buffer.alloc(pt.length + 16);
    addon!.gcmSeal(key, iv, aad, pt, out);
    addon!.gcmOpen(key, iv, aad, out.subarray(0, pt.length), out.subarray(pt.length), Buffer.alloc(pt.length));
    const before = addon!.gcmContexts!();
    expect(before).toBeGreaterThanOrEqual(2);
    for (let batch = 0; batch < 15; batch++) {
      const results = await Promise.all(Array.from({ length: 4 }, () => runWorker({ key, iv, aad, pt, expected, rounds: 50 })));
      for (const r of results) {
        expect(r.ok, 'every open of its own seal succeeded').toBe(true);
        expect(r.same, "its seal is node:crypto's").toBe(true);
        // While it ran it held its own pair (the count can see them: it is not stuck at `before`).
        expect(r.during).toBeGreaterThanOrEqual(before + 2);
      }
      // All four have exited: their contexts are gone.
      expect(addon!.gcmContexts!(), `after batch ${batch + 1}`).toBe(before);
    }
  }, 120_000);

  it('a process whose main thread used it exits cleanly, at the end of its work or by process.exit', () => {
    const script = (ending: string) => `
      const addon = require(${JSON.stringify(addonFile)});
      const key = Buffer.alloc(32, 1), iv = Buffer.alloc(12, 2), pt = Buffer.from('main thread');
      const out = Buffer.alloc(pt.length + 16), opened = Buffer.alloc(pt.length);
      addon.gcmSeal(key, iv, Buffer.alloc(0), pt, out);
      if (!addon.gcmOpen(key, iv, Buffer.alloc(0), out.subarray(0, pt.length), out.subarray(pt.length), opened)) process.exit(3);
      console.log(opened.toString() + ' ' + addon.gcmContexts());
      ${ending}`;
    for (const ending of ['', 'process.exit(0);', "setTimeout(() => process.exit(0), 10);"]) {
      const r = spawnSync(process.execPath, ['-e', script(ending)], { encoding: 'utf8', timeout: 30_000 });
      expect([r.status, r.signal, r.stdout.trim(), r.stderr], ending || 'falling off the end').toEqual([0, null, 'main thread 2', '']);
    }
  });

  it('loads twice in one environment and in workers that only load it (Node aborts on a cleanup hook registered twice; an unloaded destructor would crash)', () => {
    const script = `
      const { Worker } = require('node:worker_threads');
      const file = ${JSON.stringify(addonFile)};
      require(file);
      delete require.cache[file];
      const addon = require(file);
      process.dlopen({ exports: {} }, file);
      const key = Buffer.alloc(32, 1), iv = Buffer.alloc(12, 2), pt = Buffer.from('twice');
      const out = Buffer.alloc(pt.length + 16);
      addon.gcmSeal(key, iv, Buffer.alloc(0), pt, out);
      (async () => {
        for (let i = 0; i < 5; i++) {
          await new Promise((done) => new Worker(
            'const a = require(' + JSON.stringify(file) + '); const o = Buffer.alloc(21); a.gcmSeal(Buffer.alloc(32, 1), Buffer.alloc(12, 2), Buffer.alloc(0), Buffer.from("twice"), o);',
            { eval: true }).on('exit', done));
        }
        console.log('ok ' + addon.gcmContexts());
      })();`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect([r.status, r.signal, r.stdout.trim()]).toEqual([0, null, 'ok 1']);
  });
});
