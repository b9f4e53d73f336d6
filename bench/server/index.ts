// Signed requests over loopback to `ebsim serve` (a separate process, as users run it): requests
// per second and p50/p99 latency for Decrypt and GenerateDataKeyWithoutPlaintext from 1, 8 and
// 64 keep-alive connections. The load generator shares the machine's cores with the server.
// Requests are signed once with SigV4 and replayed (valid for 15 minutes, as with AWS): the
// server verifies every one; the client spends no CPU re-signing.
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initHome, openEbsim } from '../../src/app/ebsim.js';
import { signRequest } from '../../src/server/sigv4.js';
import type { BenchContext, BenchRow, BenchSuite, Measurement } from '../harness.js';

const BIN = fileURLToPath(new URL('../../../bin/ebsim.js', import.meta.url));
const TARGET_RPS = 5500;
const TARGET_P99_MS = 50;

const CRLF2 = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = Buffer.from('Content-Length: ');
const CONTENT_LENGTH_LC = Buffer.from('content-length: ');

/** Connections per cell, rounds and milliseconds per cell: fixed cells, or `--matrix small|full`. */
export function serverPlan(ctx: Pick<BenchContext, 'quick' | 'matrix'>): { connections: number[]; rounds: number; ms: number } {
  if (ctx.matrix === 'small') return { connections: [1, 4, 16, 64], rounds: 2, ms: 1000 };
  if (ctx.matrix === 'full') return { connections: [1, 2, 4, 8, 16, 32, 64, 128], rounds: 3, ms: 3000 };
  return { connections: [1, 8, 64], rounds: 1, ms: ctx.quick ? 1500 : 5000 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const k = s.length >> 1;
  return s.length % 2 ? s[k]! : (s[k - 1]! + s[k]!) / 2;
}

interface Endpoint {
  host: string;
  port: number;
}

/** One keep-alive connection, one request in flight: send, read the whole response, repeat. */
class Connection {
  private socket: Socket;
  private buf: Buffer = Buffer.alloc(0);
  private waiting: ((status: number) => void) | undefined;

  constructor(ep: Endpoint) {
    this.socket = connect(ep.port, ep.host);
    this.socket.setNoDelay(true);
    this.socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.tryComplete();
    });
  }

  ready(): Promise<void> {
    return new Promise((resolve, reject) => this.socket.once('connect', resolve).once('error', reject));
  }

  send(request: Buffer): Promise<number> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.socket.write(request);
    });
  }

  // Parsed on the bytes, without regular expressions or string copies: the client must cost
  // far less than the server for the numbers to be the server's.
  private tryComplete(): void {
    const end = this.buf.indexOf(CRLF2);
    if (end < 0) return;
    let at = this.buf.indexOf(CONTENT_LENGTH);
    if (at < 0 || at > end) at = this.buf.indexOf(CONTENT_LENGTH_LC);
    let length = 0;
    if (at >= 0 && at < end) {
      for (let i = at + CONTENT_LENGTH.length; this.buf[i]! >= 48 && this.buf[i]! <= 57; i++) length = length * 10 + this.buf[i]! - 48;
    }
    if (this.buf.length < end + 4 + length) return;
    const status = (this.buf[9]! - 48) * 100 + (this.buf[10]! - 48) * 10 + (this.buf[11]! - 48);
    this.buf = this.buf.subarray(end + 4 + length);
    const w = this.waiting;
    this.waiting = undefined;
    w?.(status);
  }

  close(): void {
    this.socket.destroy();
  }
}

function signedRequest(ep: Endpoint, creds: { accessKeyId: string; secretAccessKey: string }, operation: string, params: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(params));
  const headers: Record<string, string> = {
    host: `${ep.host}:${ep.port}`,
    'content-type': 'application/x-amz-json-1.1',
    'x-amz-target': `TrentService.${operation}`,
  };
  Object.assign(headers, signRequest({ method: 'POST', url: '/', headers, body }, creds, { region: 'us-east-1', service: 'kms' }));
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}`);
  return Buffer.concat([Buffer.from(`POST / HTTP/1.1\r\n${lines.join('\r\n')}\r\nuser-agent: ebsim-bench\r\ncontent-length: ${body.length}\r\n\r\n`), body]);
}

async function load(ep: Endpoint, request: Buffer, connections: number, ms: number) {
  const conns = Array.from({ length: connections }, () => new Connection(ep));
  await Promise.all(conns.map((c) => c.ready()));
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const deadline = start + ms;
  await Promise.all(
    conns.map(async (c) => {
      while (performance.now() < deadline) {
        const t = performance.now();
        const status = await c.send(request);
        latencies.push(performance.now() - t);
        if (status !== 200) errors++;
      }
    }),
  );
  const elapsed = performance.now() - start;
  conns.forEach((c) => c.close());
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? NaN;
  return { requests: latencies.length, errors, rps: (latencies.length * 1000) / elapsed, p50: pct(0.5), p99: pct(0.99) };
}

export const suite: BenchSuite = {
  name: 'server',
  description: 'signed KMS requests over loopback to `ebsim serve` (separate process), keep-alive connections',
  async run(ctx) {
    const dir = mkdtempSync(join(tmpdir(), 'ebsim-bench-server-'));
    const logPath = join(dir, 'serve.log');
    try {
      initHome(dir);
      const text = readFileSync(join(dir, 'credentials'), 'utf8');
      const creds = { accessKeyId: /aws_access_key_id = (\S+)/.exec(text)![1]!, secretAccessKey: /aws_secret_access_key = (\S+)/.exec(text)![1]! };
      // The server logs one line per request, to a file, as it would in production.
      const logFd = openSync(logPath, 'a');
      const child = spawn(process.execPath, [BIN, 'serve', '--home', dir, '--port', '0'], { stdio: ['ignore', 'pipe', logFd] });
      closeSync(logFd);
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (d) => {
          out += d;
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`ebsim serve exited ${code}: ${readFileSync(logPath, 'utf8')}`)));
      });
      const u = new URL(url);
      const ep = { host: u.hostname, port: Number(u.port) };

      // Set-up through the endpoint itself, checked before timing.
      const once = async (op: string, params: unknown) => {
        const c = new Connection(ep);
        await c.ready();
        let body = '';
        const sock = (c as unknown as { socket: Socket }).socket;
        sock.on('data', (d) => (body += d));
        const status = await c.send(signedRequest(ep, creds, op, params));
        c.close();
        if (status !== 200) throw new Error(`${op} → ${status}: ${body}`);
        return JSON.parse(body.slice(body.indexOf('\r\n\r\n') + 4)) as Record<string, any>;
      };
      const keyId = (await once('CreateKey', { Description: 'bench' })).KeyMetadata.KeyId as string;
      const context = { 'aws:ebs:id': 'vol-0123456789abcdef0' };
      const blob = (await once('GenerateDataKeyWithoutPlaintext', { KeyId: keyId, NumberOfBytes: 64, EncryptionContext: context })).CiphertextBlob as string;
      const plain = (await once('Decrypt', { CiphertextBlob: blob, EncryptionContext: context })).Plaintext as string;
      if (Buffer.from(plain, 'base64').length !== 64) throw new Error('decrypt check failed');

      const requests = {
        Decrypt: signedRequest(ep, creds, 'Decrypt', { CiphertextBlob: blob, EncryptionContext: context }),
        GenerateDataKeyWithoutPlaintext: signedRequest(ep, creds, 'GenerateDataKeyWithoutPlaintext', { KeyId: keyId, NumberOfBytes: 64, EncryptionContext: context }),
      };
      const trailCount = () => {
        const app = openEbsim(dir);
        try {
          return (app.db.prepare('SELECT count(*) AS n FROM trail_events').get() as { n: number }).n;
        } finally {
          app.close();
        }
      };
      await new Promise((r) => setTimeout(r, 100)); // the set-up Decrypt's record is group-committed
      const before = trailCount();
      let sent = 0;
      ctx.log('warm-up…');
      sent += (await load(ep, requests.Decrypt, 8, ctx.quick || ctx.matrix === 'small' ? 500 : 1500)).requests;
      const rows: BenchRow[] = [];
      const notes: string[] = [];
      const plan = serverPlan(ctx);
      const measurements: Measurement[] = [];
      const cells = Object.keys(requests).flatMap((op) => plan.connections.map((connections) => ({ op: op as keyof typeof requests, connections })));
      const total = plan.rounds * cells.length;
      let done = 0;
      const results = new Map<string, { rps: number[]; p50: number[]; p99: number[]; errors: number }>();
      // Rounds interleaved over the cells, so that a busy moment of the machine touches them all.
      for (let round = 0; round < plan.rounds; round++) {
        for (const { op, connections } of cells) {
          const label = `${op}, ${connections} connection(s)`;
          if (ctx.matrix) ctx.progress?.(done++, total, `round ${round + 1}/${plan.rounds} ${label}`);
          else ctx.log(`${label}…`);
          const r = await load(ep, requests[op], connections, plan.ms);
          sent += r.requests;
          const key = `${op} ${connections}`;
          const acc = results.get(key) ?? { rps: [], p50: [], p99: [], errors: 0 };
          acc.rps.push(r.rps);
          acc.p50.push(r.p50);
          acc.p99.push(r.p99);
          acc.errors += r.errors;
          results.set(key, acc);
        }
      }
      if (ctx.matrix) ctx.progress?.(total, total, '');
      for (const { op, connections } of cells) {
        const acc = results.get(`${op} ${connections}`)!;
        const params = { operation: op, connections };
        const id = `${op} connections=${connections}`;
        measurements.push(
          { id: `${id} req/s`, unit: 'req/s', better: 'higher', rounds: acc.rps, params },
          { id: `${id} p50 ms`, unit: 'ms', better: 'lower', rounds: acc.p50, params },
          { id: `${id} p99 ms`, unit: 'ms', better: 'lower', rounds: acc.p99, params },
        );
        const rps = median(acc.rps);
        const p99 = median(acc.p99);
        const row: BenchRow = { operation: op, connections, 'req/s': Math.round(rps), 'p50 ms': median(acc.p50), 'p99 ms': p99, errors: acc.errors };
        if (plan.rounds > 1) row['req/s rounds'] = `${Math.round(Math.min(...acc.rps))}-${Math.round(Math.max(...acc.rps))}`;
        if (op === 'Decrypt' && connections === 64) {
          const met = rps >= TARGET_RPS && p99 < TARGET_P99_MS;
          row.target = `${TARGET_RPS}/s, p99<${TARGET_P99_MS}ms: ${met ? 'met' : 'MISSED'}`;
        }
        rows.push(row);
      }
      child.kill('SIGTERM');
      const code = await exited;
      const recorded = trailCount() - before;
      notes.push(`${sent} signed requests sent, ${recorded} trail records written (${recorded === sent ? 'one per request' : 'MISMATCH'}); server exit ${code}`);
      notes.push(`${plan.ms} ms per cell, ${plan.rounds} round(s), figures the median of rounds; the server logged one line per request to a file; requests signed once, verified by the server on every call`);
      return { rows, notes, measurements };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
