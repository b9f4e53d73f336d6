// Serves the console: GET / (the page), GET /console/api/state (JSON). Read-only, no key material.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Ebsim } from '../app/ebsim.js';
import { CONSOLE_PAGE } from './page.js';
import { consoleState } from './state.js';

/**
 * Handles the request if it is for the console; returns false to let the caller handle it.
 * `hostAllowed` (see host.ts) refuses names a web page could have re-pointed at this server.
 */
export async function handleConsoleRequest(app: Ebsim, req: IncomingMessage, res: ServerResponse, hostAllowed: (host: string | undefined) => boolean): Promise<boolean> {
  if (req.method !== 'GET') return false;
  const path = (req.url ?? '/').split('?')[0];
  if ((path === '/' || path === '/console' || path?.startsWith('/console/')) && !hostAllowed(req.headers.host)) {
    res.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(`The console answers only loopback host names (such as 127.0.0.1 or localhost) or the --host the server was started with, not ${JSON.stringify(req.headers.host ?? '')}.\n`);
    return true;
  }
  if (path === '/' || path === '/console') {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(CONSOLE_PAGE);
    return true;
  }
  if (path === '/console/api/state') {
    const body = JSON.stringify(await consoleState(app));
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    res.end(body);
    return true;
  }
  return false;
}
