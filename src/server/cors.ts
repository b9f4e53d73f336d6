// `ebsim serve --cors ORIGIN`: browser SDKs on that one origin may call the endpoint. A
// preflight (OPTIONS) from it is answered with what it asks for; its calls get
// Access-Control-Allow-Origin and the headers the SDKs read. Any other origin gets no CORS
// header, so the browser keeps its answers from the page. Off unless the flag is given.
// https://fetch.spec.whatwg.org/#http-cors-protocol
import type { IncomingMessage, ServerResponse } from 'node:http';
import { UserError } from '../errors/index.js';

/** Response headers a browser SDK reads (request id, for retries and errors). */
const EXPOSED = 'x-amzn-RequestId, x-amzn-ErrorType, x-amz-request-id, Date';
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The origin as given, if it is one: scheme, host and port, no path. */
export function parseCorsOrigin(origin: string): string {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new UserError(`--cors ${origin}: expected an origin such as http://localhost:3000`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== origin) {
    throw new UserError(`--cors ${origin}: expected an origin such as http://localhost:3000 (scheme, host and port; no path or trailing slash)`);
  }
  return origin;
}

function allows(allowed: string, req: IncomingMessage): boolean {
  return req.headers.origin === allowed;
}

/** The CORS headers of a call's answer: Vary always, and the permissions for the allowed origin. */
export function corsHeaders(allowed: string, origin: string | string[] | undefined): [string, string][] {
  const headers: [string, string][] = [['Vary', 'Origin']];
  if (origin === allowed) headers.push(['Access-Control-Allow-Origin', allowed], ['Access-Control-Expose-Headers', EXPOSED]);
  return headers;
}

/** On a call: its CORS headers set on `res`. */
export function addCorsHeaders(allowed: string, req: IncomingMessage, res: ServerResponse): void {
  for (const [name, value] of corsHeaders(allowed, req.headers.origin)) res.setHeader(name, value);
}

/** Answers a preflight: 204 with the permissions for the allowed origin, 403 without any for others. */
export function answerPreflight(allowed: string, req: IncomingMessage, res: ServerResponse): void {
  const requested = String(req.headers['access-control-request-headers'] ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
  const method = String(req.headers['access-control-request-method'] ?? '');
  const ok = allows(allowed, req) && ['POST', 'GET'].includes(method) && requested.every((h) => TOKEN.test(h));
  if (!ok) {
    res.writeHead(403, { Vary: 'Origin', 'Content-Length': 0 });
    res.end();
    return;
  }
  res.writeHead(204, {
    'Access-Control-Allow-Origin': allowed,
    'Access-Control-Allow-Methods': 'POST, GET',
    ...(requested.length ? { 'Access-Control-Allow-Headers': requested.join(', ') } : {}),
    'Access-Control-Max-Age': '600',
    Vary: 'Origin',
    'Content-Length': 0,
  });
  res.end();
}
