// Serves the console: GET / (the page), GET /console/api/state (JSON), GET /console/api/volumes/ID
// (a volume's envelope), GET /console/api/events/ID (one trail record). Read-only, no key material.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Ebsim } from '../app/ebsim.js';
import { CONSOLE_PAGE } from './page.js';
import { ConsoleScopeError, consoleEnvelope, consoleEvent, consoleState } from './state.js';
import { renderEnvelope } from '../envelope/index.js';

const VOLUME = /^\/console\/api\/volumes\/(vol-[0-9a-f]{8,17})$/;
const EVENT = /^\/console\/api\/events\/([0-9a-f-]{36})$/;

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

/**
 * Handles the request if it is for the console; returns false to let the caller handle it.
 * `hostAllowed` (see host.ts) refuses names a web page could have re-pointed at this server.
 */
export async function handleConsoleRequest(app: Ebsim, req: IncomingMessage, res: ServerResponse, hostAllowed: (host: string | undefined) => boolean): Promise<boolean> {
  if (req.method !== 'GET') return false;
  const [path = '/', search = ''] = (req.url ?? '/').split('?', 2);
  const query = new URLSearchParams(search);
  const asked = { account: query.get('account'), region: query.get('region') };
  if ((path === '/' || path === '/console' || path.startsWith('/console/')) && !hostAllowed(req.headers.host)) {
    res.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(`The console answers only loopback host names (such as 127.0.0.1 or localhost) or the --host the server was started with, not ${JSON.stringify(req.headers.host ?? '')}.\n`);
    return true;
  }
  if (path === '/' || path === '/console') {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(CONSOLE_PAGE);
    return true;
  }
  try {
    return await answerApi(app, path, asked, res);
  } catch (err) {
    if (!(err instanceof ConsoleScopeError)) throw err;
    json(res, err.status, { message: err.message, accounts: err.accounts });
    return true;
  }
}

async function answerApi(app: Ebsim, path: string, asked: { account: string | null; region: string | null }, res: ServerResponse): Promise<boolean> {
  if (path === '/console/api/state') {
    json(res, 200, await consoleState(app, asked));
    return true;
  }
  const volume = VOLUME.exec(path);
  if (volume) {
    const envelope = await consoleEnvelope(app, volume[1]!, asked);
    json(res, envelope ? 200 : 404, envelope ? { Envelope: envelope, Text: renderEnvelope(envelope) } : { message: `The volume '${volume[1]}' does not exist.` });
    return true;
  }
  const event = EVENT.exec(path);
  if (event) {
    const record = consoleEvent(app, event[1]!);
    json(res, record ? 200 : 404, record ?? { message: `No event ${event[1]} in the trail.` });
    return true;
  }
  return false;
}
