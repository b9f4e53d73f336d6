// DNS rebinding: a web page whose name is re-pointed at 127.0.0.1 reaches the console with its
// own name in Host. The console answers only names that cannot be rebound.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { request } from 'node:http';
import type { RunningServer } from '../../src/server/index.js';
import { consoleHostCheck } from '../../src/console/host.js';
import { inProcess, newHome, removeHome } from '../server/helpers.js';

let home: string;
let server: RunningServer;

beforeAll(async () => {
  home = newHome('ebsim-console-host-');
  server = await inProcess(home);
});
afterAll(async () => {
  await server?.close();
  if (home) removeHome(home);
});

/** GET `path` from `to` (a listening server), sending `host` as the Host header. */
function get(to: RunningServer, path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: to.port, path, headers: { host }, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the console answers only loopback host names', () => {
  it('answers 127.0.0.1, localhost and [::1], with or without the port', async () => {
    for (const host of [`127.0.0.1:${server.port}`, `localhost:${server.port}`, 'localhost', `[::1]:${server.port}`, `LOCALHOST.:${server.port}`]) {
      const r = await get(server, '/console/api/state', host);
      expect(r.status, host).toBe(200);
      expect(JSON.parse(r.body), host).toBeTypeOf('object');
    }
  });

  it('refuses any other name with 403 and one sentence, for the page and the JSON alike', async () => {
    for (const host of [`evil.example:${server.port}`, 'evil.example', `127.0.0.1.evil.example:${server.port}`, 'localhost.evil.example']) {
      for (const path of ['/', '/console', '/console/api/state']) {
        const r = await get(server, path, host);
        expect(r.status, `${host} ${path}`).toBe(403);
        expect(r.body, host).toMatch(/^The console answers only loopback host names .*\.\n$/);
        expect(r.body).not.toContain('123456789012');
      }
    }
  });

  it('refuses a request with no Host header at all', async () => {
    const reply = await new Promise<string>((resolve) => {
      const s = connect(server.port, '127.0.0.1', () => s.write('GET /console/api/state HTTP/1.0\r\n\r\n'));
      let got = '';
      s.on('data', (d) => (got += d));
      s.on('close', () => resolve(got));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 403/);
  });

  it('with --host 0.0.0.0 also answers IP literals (which cannot be rebound), still no other name', async () => {
    const wide = await inProcess(home, { host: '0.0.0.0' });
    try {
      expect((await get(wide, '/console/api/state', `192.0.2.10:${wide.port}`)).status).toBe(200);
      expect((await get(wide, '/console/api/state', `[2001:db8::1]:${wide.port}`)).status).toBe(200);
      expect((await get(wide, '/console/api/state', `evil.example:${wide.port}`)).status).toBe(403);
    } finally {
      await wide.close();
    }
  });

  it('answers the name given with --host', () => {
    const ok = consoleHostCheck('ebsim.lan');
    expect(['ebsim.lan:4599', 'EBSIM.LAN', 'localhost:4599', '127.0.0.2'].map(ok)).toEqual([true, true, true, true]);
    expect(['evil.example', '192.0.2.10', 'ebsim.lan.evil.example', undefined].map(ok)).toEqual([false, false, false, false]);
    expect(consoleHostCheck('::1')('[::1]:4599')).toBe(true);
  });
});
