// One thread of `bench kms --matrix`: its own handle on the shared home (as separate CLI
// processes and `ebsim serve` have), calling GenerateDataKeyWithoutPlaintext from the start
// signal until the deadline, then committing its trail records before it reports.
import { parentPort, workerData } from 'node:worker_threads';
import { openEbsim } from '../../src/app/ebsim.js';

const { home, keyId, ms } = workerData as { home: string; keyId: string; ms: number };
const app = openEbsim(home);
app.trail.useBackgroundWriter();
const kms = app.kms();
const alice = app.as('Alice');
const context = { app: 'bench' };
const call = () => kms.call(alice, 'GenerateDataKeyWithoutPlaintext', { KeyId: keyId, NumberOfBytes: 32, EncryptionContext: context });
for (let i = 0; i < 200; i++) call();
app.trail.flush();
parentPort!.once('message', () => {
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < ms) {
    for (let i = 0; i < 64; i++) call();
    n += 64;
  }
  app.trail.flush();
  const elapsed = performance.now() - t0;
  app.close();
  parentPort!.postMessage({ calls: n, elapsed });
});
parentPort!.postMessage('ready');
