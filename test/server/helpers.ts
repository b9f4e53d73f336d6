// Shared by the server tests: a home with a running endpoint, the real AWS CLI, raw signed
// requests (our signer, for the cases real clients never produce), and store snapshots.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request, type Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initHome, openEbsim } from '../../src/app/ebsim.js';
import { startServer, type RunningServer, type ServerOptions } from '../../src/server/index.js';
import { signRequest, type SigningCredentials } from '../../src/server/sigv4.js';
import { assertBuilt, EBSIM_BIN } from '../helpers/cli.js';

export const AWS = '/usr/bin/aws';
export const KMS = 'TrentService.';
export const CLOUDTRAIL = 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.';

export function newHome(prefix = 'ebsim-server-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  initHome(dir);
  return dir;
}

export function removeHome(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Alice's key from the credentials file `ebsim init` wrote. */
export function aliceCredentials(home: string): SigningCredentials {
  const text = readFileSync(join(home, 'credentials'), 'utf8');
  return {
    accessKeyId: /aws_access_key_id = (\S+)/.exec(text)![1]!,
    secretAccessKey: /aws_secret_access_key = (\S+)/.exec(text)![1]!,
  };
}

export function inProcess(home: string, opts: Partial<ServerOptions> = {}): Promise<RunningServer> {
  return startServer({ home, port: 0, log: false, ...opts });
}

/** `ebsim serve --port 0` as a real process; resolves with its URL once it listens. */
export async function spawnServe(home: string, extra: string[] = []): Promise<{ url: string; child: ChildProcess; stderr: () => string; stop(): Promise<number | null> }> {
  assertBuilt();
  const child = spawn(process.execPath, [EBSIM_BIN, 'serve', '--home', home, '--port', '0', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      stdout += d;
      const m = /listening on (http:\/\/\S+)/.exec(stdout);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`ebsim serve exited ${code}: ${stderr}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    url,
    child,
    stderr: () => stderr,
    stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

export interface AwsResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real AWS CLI v2 (Debian's awscli), with the home's credentials file or explicit keys. */
export function aws(url: string, home: string, args: string[], creds?: SigningCredentials & { sessionToken?: string }): Promise<AwsResult> {
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    AWS_CONFIG_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
  };
  delete env.AWS_ACCESS_KEY_ID;
  delete env.AWS_SECRET_ACCESS_KEY;
  delete env.AWS_SESSION_TOKEN;
  if (creds) {
    Object.assign(env, { AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_DEFAULT_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: creds.accessKeyId, AWS_SECRET_ACCESS_KEY: creds.secretAccessKey });
    if (creds.sessionToken) env.AWS_SESSION_TOKEN = creds.sessionToken;
    delete env.AWS_PROFILE;
  } else {
    Object.assign(env, { AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'), AWS_PROFILE: 'ebsim' });
  }
  return new Promise((resolve) => {
    execFile(AWS, ['--endpoint-url', url, ...args], { env, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** The error line the AWS CLI (and `ebsim`) prints: "An error occurred (Code) when calling the Op operation: …". */
export function errorLine(stderr: string): string {
  return stderr.split('\n').find((l) => l.startsWith('An error occurred')) ?? `(no error line in: ${stderr})`;
}

export function errorCodeOf(stderr: string): string | undefined {
  return /An error occurred \(([^)]+)\)/.exec(stderr)?.[1];
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json(): Record<string, any>;
}

export interface RawOptions {
  creds?: SigningCredentials;
  date?: Date;
  /** Headers after signing (overrides, or `undefined` to remove). */
  headers?: Record<string, string | undefined>;
  service?: string;
  /** The credential scope's Region (default us-east-1, the home's). */
  region?: string;
  /** Headers sent but left out of the signature. */
  unsigned?: string[];
  agent?: Agent;
  userAgent?: string;
}

/** A JSON 1.1 request signed by our signer (or deliberately not). */
export function raw(url: string, target: string | undefined, body: string | Buffer, opts: RawOptions = {}): Promise<RawResponse> {
  const u = new URL(url);
  const payload = typeof body === 'string' ? Buffer.from(body) : body;
  const headers: Record<string, string> = { host: u.host, 'content-type': 'application/x-amz-json-1.1' };
  if (target !== undefined) headers['x-amz-target'] = target;
  if (opts.creds) {
    const signed = Object.fromEntries(Object.entries(headers).filter(([k]) => !opts.unsigned?.includes(k)));
    Object.assign(headers, signRequest({ method: 'POST', url: '/', headers: signed, body: payload }, opts.creds, { region: opts.region ?? 'us-east-1', service: opts.service ?? serviceOf(target), date: opts.date }));
  }
  if (opts.userAgent) headers['user-agent'] = opts.userAgent;
  for (const [k, v] of Object.entries(opts.headers ?? {})) {
    if (v === undefined) delete headers[k];
    else headers[k] = v;
  }
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method: 'POST', path: '/', headers: { ...headers, 'content-length': String(payload.length) }, agent: opts.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode!, headers: res.headers, body: text, json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

function serviceOf(target: string | undefined): string {
  return target?.startsWith(CLOUDTRAIL) ? 'cloudtrail' : 'kms';
}

/** Everything but the trail: what bad input must never change. */
export function storeSnapshot(home: string): string {
  const app = openEbsim(home);
  try {
    const tables = ['accounts', 'principals', 'access_keys', 'kms_keys', 'kms_key_versions', 'kms_aliases', 'kms_grants'];
    return JSON.stringify(tables.map((t) => app.db.prepare(`SELECT * FROM ${t} ORDER BY rowid`).all()));
  } finally {
    app.close();
  }
}

export function trailCount(home: string): number {
  const app = openEbsim(home);
  try {
    return (app.db.prepare('SELECT count(*) AS n FROM trail_events').get() as { n: number }).n;
  } finally {
    app.close();
  }
}

/** Trail records (parsed), newest first, optionally for one event name. */
export function trailRecords(home: string, eventName?: string): Record<string, any>[] {
  const app = openEbsim(home);
  try {
    const rows = (eventName
      ? app.db.prepare('SELECT record FROM trail_events WHERE event_name = ? ORDER BY seq DESC').all(eventName)
      : app.db.prepare('SELECT record FROM trail_events ORDER BY seq DESC').all()) as { record: string }[];
    return rows.map((r) => JSON.parse(r.record));
  } finally {
    app.close();
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `read()` again every 20 ms until `done` accepts its value, or `timeoutMs` passed (then the last
 * value, for the test's own assertion to fail on): a spawned server group-commits its trail
 * records a few milliseconds after it answers, sooner or later by the machine's load.
 */
export async function eventually<T>(read: () => T | Promise<T>, done: (v: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v) || Date.now() >= deadline) return v;
    await sleep(20);
  }
}

/** Whether python3 has boto3 (.ci/run installs python3-boto3; elsewhere its tests skip with that reason). */
export function hasBoto3(): boolean {
  try {
    execFileSync('python3', ['-c', 'import boto3'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Runs a boto3 script with the home's credentials file (profile `ebsim`) and no other AWS configuration; resolves with its stdout. */
export function runBoto3(home: string, script: string, args: string[]): Promise<string> {
  const env = { ...process.env, AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'), AWS_CONFIG_FILE: '/dev/null', AWS_EC2_METADATA_DISABLED: 'true' };
  return new Promise<string>((resolve, reject) =>
    execFile('python3', [script, ...args], { env }, (err, out, errText) => (err ? reject(new Error(`${err.message}\n${errText}`)) : resolve(out))),
  );
}
