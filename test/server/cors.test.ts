// `ebsim serve --cors ORIGIN`, over real HTTP: preflights from that origin answered with what
// they ask, its calls marked readable; other origins get no CORS header; off by default.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/index.js';
import { signRequest } from '../../src/server/sigv4.js';
import { runEbsim } from '../helpers/cli.js';
import { aliceCredentials, inProcess, newHome, removeHome } from './helpers.js';

const ALLOWED = 'http://localhost:3000';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(url: string, method: string, headers: Record<string, string>, body = ''): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function preflight(url: string, origin: string, method = 'POST', headers = 'authorization,content-type,x-amz-date,x-amz-target,x-amz-user-agent,amz-sdk-invocation-id') {
  return send(url, 'OPTIONS', { origin, 'access-control-request-method': method, 'access-control-request-headers': headers });
}

/** A signed KMS ListKeys, as a browser SDK sends it (with its page's Origin). */
function listKeys(url: string, home: string, origin?: string) {
  const u = new URL(url);
  const body = '{}';
  const headers: Record<string, string> = { host: u.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.ListKeys' };
  Object.assign(headers, signRequest({ method: 'POST', url: '/', headers, body: Buffer.from(body) }, aliceCredentials(home), { region: 'us-east-1', service: 'kms' }));
  if (origin) headers.origin = origin;
  return send(url, 'POST', headers, body);
}

describe('serve --cors', () => {
  let home: string;
  let withCors: RunningServer;
  let without: RunningServer;
  beforeAll(async () => {
    home = newHome('ebsim-h18-cors-');
    withCors = await inProcess(home, { cors: ALLOWED });
    without = await inProcess(home);
  });
  afterAll(async () => {
    await withCors?.close();
    await without?.close();
    if (home) removeHome(home);
  });

  it('answers a preflight from the allowed origin with the method and headers it asked for', async () => {
    const r = await preflight(withCors.url, ALLOWED);
    expect(r.status).toBe(204);
    expect(r.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(r.headers['access-control-allow-methods']).toBe('POST, GET');
    expect(r.headers['access-control-allow-headers']).toBe('authorization, content-type, x-amz-date, x-amz-target, x-amz-user-agent, amz-sdk-invocation-id');
    expect(r.headers['access-control-max-age']).toBe('600');
    expect(r.headers.vary).toBe('Origin');
  });

  it('refuses a preflight from another origin, or for a method it does not serve, without any CORS header', async () => {
    for (const r of [await preflight(withCors.url, 'http://evil.example'), await preflight(withCors.url, `${ALLOWED}.evil.example`), await preflight(withCors.url, ALLOWED, 'DELETE')]) {
      expect(r.status).toBe(403);
      expect(r.headers['access-control-allow-origin']).toBeUndefined();
      expect(r.headers['access-control-allow-headers']).toBeUndefined();
    }
  });

  it('marks the allowed origin\'s calls readable, and only its calls', async () => {
    const ok = await listKeys(withCors.url, home, ALLOWED);
    expect(ok.status, ok.body).toBe(200);
    expect(JSON.parse(ok.body).Keys).toBeInstanceOf(Array);
    expect(ok.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(String(ok.headers['access-control-expose-headers'])).toContain('x-amzn-RequestId');
    const other = await listKeys(withCors.url, home, 'http://evil.example');
    expect(other.status).toBe(200); // not a browser: the call itself is signed and served
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    const none = await listKeys(withCors.url, home);
    expect(none.headers['access-control-allow-origin']).toBeUndefined();
    // An error answer carries the header too, so the page can read the AWS error.
    const u = new URL(withCors.url);
    const unsigned = await send(withCors.url, 'POST', { host: u.host, origin: ALLOWED, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.ListKeys' }, '{}');
    expect(unsigned.status).toBe(400);
    expect(JSON.parse(unsigned.body).__type).toBe('MissingAuthenticationTokenException');
    expect(unsigned.headers['access-control-allow-origin']).toBe(ALLOWED);
  });

  it('is off by default: no CORS header, and OPTIONS is no preflight', async () => {
    const r = await preflight(without.url, ALLOWED);
    expect(r.status).not.toBe(204);
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
    const call = await listKeys(without.url, home, ALLOWED);
    expect(call.status).toBe(200);
    expect(call.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('refuses a --cors value that is not an origin, in the CLI\'s words', async () => {
    for (const bad of ['*', 'localhost:3000', 'http://localhost:3000/', 'ftp://x']) {
      const r = await runEbsim(['serve', '--home', home, '--port', '0', '--cors', bad]);
      expect(r.code, bad).toBe(1);
      expect(r.stderr).toContain(`--cors ${bad}: expected an origin such as http://localhost:3000`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
