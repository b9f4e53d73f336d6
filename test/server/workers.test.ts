// `ebsim serve --workers 2`: two processes behind one port, sharing the home's SQLite store.
// Hundreds of concurrent requests signed by @aws-sdk/client-kms (reads, and writes that commit
// before they answer) all succeed, both processes serve some (each response names its process in
// x-ebsim-worker), each request leaves exactly one trail record whichever process served it, a
// process's records are found by a lookup the other serves, a worker that dies is replaced, and
// SIGTERM stops them all with every acknowledged call committed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from 'node:https';
import { Agent as HttpAgent } from 'node:http';
import { CreateKeyCommand, EncryptCommand, GenerateRandomCommand, KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { aliceCredentials, eventually, newHome, removeHome, sleep, spawnServe, trailRecords } from './helpers.js';
import { availableParallelism } from 'node:os';
import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { runEbsim } from '../helpers/cli.js';

let home: string;
let serve: Awaited<ReturnType<typeof spawnServe>>;
let kms: KMSClient;
let pids: number[];
/** Per request ID, the process that answered it (from the x-ebsim-worker header). */
const servedBy = new Map<string, number>();

beforeAll(async () => {
  home = newHome('ebsim-workers-h17s-');
  serve = await spawnServe(home, ['--workers', '2', '--quiet']);
  pids = /worker processes \(pids (\d+), (\d+)\)/.exec(serve.stderr())!.slice(1).map(Number);
  kms = client();
}, 60_000);

/** A KMS client with up to 64 keep-alive connections of its own; it notes which process answered each request. */
function client(): KMSClient {
  const c = new KMSClient({
    endpoint: serve.url,
    region: 'us-east-1',
    credentials: aliceCredentials(home),
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 64 }), httpsAgent: new Agent() }),
  });
  c.middlewareStack.add(
    (next) => async (args) => {
      const out = await next(args);
      const headers = (out.response as { headers: Record<string, string> }).headers;
      servedBy.set(headers['x-amzn-requestid']!, Number(headers['x-ebsim-worker']));
      return out;
    },
    { step: 'deserialize', name: 'workerOf' },
  );
  return c;
}
afterAll(async () => {
  kms?.destroy();
  if (serve && serve.child.exitCode === null) await serve.stop();
  if (home) removeHome(home);
});

describe('ebsim serve --workers 2', () => {
  it('serves concurrent SDK requests from both processes, each recorded once, reads and writes alike', async () => {
    expect(pids).toHaveLength(2);
    const key = (await kms.send(new CreateKeyCommand({ Description: 'shared by both workers' }))).KeyMetadata!.KeyId!;
    const N = { random: 160, encrypt: 120, create: 40 };
    const calls = [
      ...Array.from({ length: N.random }, () => kms.send(new GenerateRandomCommand({ NumberOfBytes: 16 }))),
      ...Array.from({ length: N.encrypt }, (_, i) => kms.send(new EncryptCommand({ KeyId: key, Plaintext: Buffer.from(`m${i}`) }))),
      ...Array.from({ length: N.create }, (_, i) => kms.send(new CreateKeyCommand({ Description: `made in a crowd ${i}` }))),
    ];
    const results = await Promise.allSettled(calls);
    const failures = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
    expect(failures).toEqual([]);
    const ids = results.map((r) => (r as PromiseFulfilledResult<{ $metadata: { requestId?: string } }>).value.$metadata.requestId!);
    expect(new Set(ids).size).toBe(calls.length);
    // Both processes answered some, and nothing else did.
    const by = ids.map((id) => servedBy.get(id));
    for (const pid of pids) expect(by.filter((p) => p === pid).length, `pid ${pid} served none of ${by.length}`).toBeGreaterThan(0);
    expect(by.every((p) => p !== undefined && pids.includes(p))).toBe(true);
    // The keys made concurrently by both processes are all there, each once.
    const listed = (await kms.send(new ListKeysCommand({ Limit: 1000 }))).Keys!.map((k) => k.KeyId!);
    expect(new Set(listed).size).toBe(listed.length);
    const created = results.slice(-N.create).map((r) => (r as PromiseFulfilledResult<{ KeyMetadata?: { KeyId?: string } }>).value.KeyMetadata!.KeyId!);
    expect(new Set(created).size).toBe(N.create);
    for (const id of [key, ...created]) expect(listed).toContain(id);
    // A lookup served by either process finds the CreateKey records both wrote.
    const trail = new CloudTrailClient({ endpoint: serve.url, region: 'us-east-1', credentials: aliceCredentials(home), maxAttempts: 1 });
    const lookedUp = async () => {
      let n = 0;
      let NextToken: string | undefined;
      do {
        const page = await trail.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'CreateKey' }], NextToken }));
        n += page.Events!.length;
        NextToken = page.NextToken;
      } while (NextToken);
      return n;
    };
    const found = await lookedUp();
    trail.destroy();
    expect(found).toBe(1 + N.create);
    // Every request is in the trail exactly once, under the request ID its answer carried (the
    // read-only calls' records once each process's group commit ran: CreateKey's are durable).
    const recordedNow = () =>
      [...trailRecords(home, 'GenerateRandom'), ...trailRecords(home, 'Encrypt'), ...trailRecords(home, 'CreateKey')].map((r) => r.requestID as string).filter((id) => ids.includes(id));
    const recorded = await eventually(recordedNow, (rs) => rs.length >= calls.length);
    expect(recorded.length).toBe(calls.length);
    expect(new Set(recorded).size).toBe(calls.length);
  }, 120_000);

  it('a worker killed while serving is replaced, and the endpoint keeps answering', async () => {
    const victim = pids[0]!;
    process.kill(victim, 'SIGKILL');
    for (let i = 0; i < 100 && !/worker 1 .*exited/.test(serve.stderr()); i++) await sleep(100);
    expect(serve.stderr()).toMatch(new RegExp(`worker \\d \\(pid ${victim}\\) exited \\(SIGKILL\\); starting another`));
    // The dead process's connections are gone with it (a client retries those on new ones); new
    // connections go to the living: the other worker, and the new one once it listens.
    const fresh = client();
    const answered = await Promise.all(Array.from({ length: 40 }, () => fresh.send(new GenerateRandomCommand({ NumberOfBytes: 8 }))));
    fresh.destroy();
    expect(answered).toHaveLength(40);
    const by = answered.map((a) => servedBy.get(a.$metadata.requestId!));
    expect(by).not.toContain(victim);
    expect(by.every((p) => p !== undefined)).toBe(true);
  }, 60_000);

  it('SIGTERM stops the primary and every worker, each acknowledged call committed', async () => {
    const last = await Promise.all(Array.from({ length: 30 }, () => kms.send(new GenerateRandomCommand({ NumberOfBytes: 8 }))));
    const workers = [...new Set([...servedBy.values()])];
    expect(await serve.stop()).toBe(0);
    // Read-only records are group-committed: each of these is in the trail once the processes are gone.
    const ids = new Set(last.map((a) => a.$metadata.requestId));
    expect(trailRecords(home, 'GenerateRandom').filter((r) => ids.has(r.requestID)).length).toBe(last.length);
    for (const pid of workers) {
      let alive = true;
      try {
        process.kill(pid, 0);
      } catch {
        alive = false;
      }
      expect(alive, `worker ${pid} still running`).toBe(false);
    }
  }, 60_000);

  it('a worker that cannot start fails the whole command with its reason, once (the command’s pipes close only when its workers are gone)', async () => {
    const r = await runEbsim(['serve', '--home', home, '--port', '0', '--workers', '2', '--as-user', 'Bob']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('ebsim: --as-user only applies with --accept-any-credentials');
    expect(r.stdout).not.toMatch(/listening/);
    const zero = await runEbsim(['serve', '--home', home, '--port', '0', '--workers', '0']);
    expect([zero.code, zero.stderr.trim()]).toEqual([252, `ebsim: --workers must be a whole number of processes from 1 to ${Math.max(16, 4 * availableParallelism())} (4 per core, at least 16), not 0\nTry 'ebsim --help'.`]);
  }, 60_000);

  it('refuses a --workers count that is negative, not a number or far beyond the cores, before forking anything', async () => {
    const max = Math.max(16, 4 * availableParallelism());
    for (const [n, message] of [
      ['-3', `ebsim: --workers must be a whole number of processes from 1 to ${max} (4 per core, at least 16), not -3`],
      ['many', `ebsim: --workers must be a whole number of processes from 1 to ${max} (4 per core, at least 16), not many`],
      ['100000', `ebsim: --workers must be a whole number of processes from 1 to ${max} (4 per core, at least 16), not 100000`],
    ]) {
      // Bad usage (252), as yargs's own refusals and every other counting flag (test/cli/integer-flags.test.ts).
      const r = await runEbsim(['serve', '--home', home, '--port', '0', '--workers', n!]);
      expect([r.code, r.stderr.trim(), r.stdout], n).toEqual([252, `${message}\nTry 'ebsim --help'.`, '']);
    }
  }, 60_000);
});

describe('ebsim serve --workers 2, a replacement that cannot start', () => {
  it('is logged with its reason while the other worker keeps serving; with no worker left the command ends, failed', async () => {
    const own = newHome('ebsim-workers-review-');
    const away = `${own}.db-away`;
    const s = await spawnServe(own, ['--workers', '2', '--quiet']);
    try {
      const [first, second] = /worker processes \(pids (\d+), (\d+)\)/.exec(s.stderr())!.slice(1).map(Number);
      const kms = new KMSClient({ endpoint: s.url, region: 'us-east-1', credentials: aliceCredentials(own), maxAttempts: 1 });
      // The store gone from under the home: a new worker cannot open it; the running ones hold it open.
      renameSync(join(own, 'ebsim.db'), away);
      process.kill(first!, 'SIGKILL');
      for (let i = 0; i < 100 && !/could not start/.test(s.stderr()); i++) await sleep(100);
      expect(s.stderr()).toMatch(/error worker 1 \(pid \d+\) could not start: no ebsim home at /);
      const r = await kms.send(new GenerateRandomCommand({ NumberOfBytes: 8 }));
      expect(r.Plaintext).toHaveLength(8);
      expect(s.child.exitCode).toBeNull();
      kms.destroy();
      process.kill(second!, 'SIGKILL');
      const code = await new Promise<number | null>((resolve) => (s.child.exitCode !== null ? resolve(s.child.exitCode) : s.child.once('exit', (c) => resolve(c))));
      expect(code).toBe(1);
      expect(s.stderr()).toMatch(/error no worker left; stopping/);
    } finally {
      if (s.child.exitCode === null) await s.stop();
      if (existsSync(away)) renameSync(away, join(own, 'ebsim.db'));
      removeHome(own);
    }
  }, 60_000);
});
