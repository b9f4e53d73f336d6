// Requests are served in batches, after the event-loop turn that read them: a request whose
// client goes away, or that is still waiting when the server is closed, must be served and
// recorded as it would have been at once.
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, Server, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Socket } from 'node:net';
import type { RunningServer } from '../../src/server/index.js';
import { LeanConnection } from '../../src/server/lean-http.js';
import { aliceCredentials, inProcess, KMS, newHome, raw, removeHome, sleep, trailRecords } from './helpers.js';

let home: string | undefined;
let restore: (() => void) | undefined;

afterEach(() => {
  restore?.();
  restore = undefined;
  if (home) removeHome(home);
  home = undefined;
});

type Path = 'node:http' | 'lean';

/**
 * Runs `then` once the server has read a request whole and queued it for the batch (before the
 * batch runs): the moment a client can vanish or a close can start. On node:http, after the
 * server's own 'end' listener; on a lean connection, after it handed the request on.
 */
function whenQueued(path: Path, then: (socket: Socket) => void): void {
  if (path === 'node:http') {
    const emit = Server.prototype.emit;
    Server.prototype.emit = function (this: Server, event: string, ...args: unknown[]) {
      const handled = emit.call(this, event, ...args);
      if (event === 'request') (args[0] as IncomingMessage).on('end', () => then((args[0] as IncomingMessage).socket));
      return handled;
    } as typeof emit;
    restore = () => {
      Server.prototype.emit = emit;
    };
    return;
  }
  const lean = LeanConnection.prototype as unknown as { readNext(this: LeanConnection): void };
  const readNext = lean.readNext;
  lean.readNext = function (this: LeanConnection) {
    readNext.call(this);
    if ((this as unknown as { inFlight: boolean }).inFlight) then(this.socket);
  };
  restore = () => {
    lean.readNext = readNext;
  };
}

describe.each<[Path]>([['node:http'], ['lean']])('a request waiting for its batch (%s)', (path) => {
  const options = { leanConnections: path === 'lean' };

  it('whose client disconnects is still served and recorded from the address it called from', async () => {
    home = newHome();
    const lines: string[] = [];
    const server = await inProcess(home, { log: (l) => lines.push(l), ...options });
    try {
      whenQueued(path, (socket) => socket.destroy());
      const sent = raw(server.url, `${KMS}CreateKey`, JSON.stringify({ Description: 'client left' }), { creds: aliceCredentials(home) });
      await expect(sent).rejects.toThrow();
      restore?.();
      await sleep(100);
    } finally {
      await server.close();
    }
    const created = trailRecords(home, 'CreateKey');
    expect(created).toHaveLength(1);
    expect(created[0]!.sourceIPAddress).toBe('127.0.0.1');
    const logged = lines.join('').split('\n').find((l) => l.includes('kms.CreateKey'));
    expect(logged).toMatch(/ 127\.0\.0\.1 kms\.CreateKey 200 /);
  });

  it('when the server is closed and the client leaves in the same turn, is served before the store closes', async () => {
    home = newHome();
    const lines: string[] = [];
    const server: RunningServer = await inProcess(home, { log: (l) => lines.push(l), ...options });
    let closed: Promise<void> | undefined;
    whenQueued(path, (socket) => {
      closed = server.close();
      socket.destroy();
    });
    const sent = raw(server.url, `${KMS}CreateKey`, JSON.stringify({ Description: 'closing' }), { creds: aliceCredentials(home) });
    await expect(sent).rejects.toThrow();
    await closed;
    const log = lines.join('');
    expect(log).not.toMatch(/ 500 |InternalFailure|not open/);
    expect(log).toMatch(/kms\.CreateKey 200 /);
    const created = trailRecords(home, 'CreateKey');
    expect(created).toHaveLength(1);
    expect(created[0]!.requestParameters.description).toBe('closing');
  });
});

describe('a batch of calls that change state', () => {
  it('is answered only once every record of it is committed (one commit a batch)', async () => {
    home = newHome();
    const server = await inProcess(home);
    const alice = aliceCredentials(home);
    const trail = new Database(join(home, 'trail.db'), { readonly: true });
    const recorded = trail.prepare("SELECT count(*) AS n FROM trail_events WHERE json_extract(record, '$.requestID') = ?");
    const agent = new Agent({ keepAlive: true, maxSockets: 32 });
    try {
      // 32 connections at once: the server reads several requests a turn, so batches hold many.
      const found = await Promise.all(
        Array.from({ length: 96 }, async (_, i) => {
          const r = await raw(server.url, `${KMS}CreateKey`, JSON.stringify({ Description: `batch ${i}` }), { creds: alice, agent });
          expect(r.status).toBe(200);
          // Read from another connection the moment the answer arrives.
          return (recorded.get(r.headers['x-amzn-requestid']) as { n: number }).n;
        }),
      );
      expect(found).toEqual(Array(96).fill(1));
    } finally {
      agent.destroy();
      trail.close();
      await server.close();
    }
  });
});
