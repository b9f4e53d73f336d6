// Which Host headers the console answers. The console has no credentials to check, only the
// socket's address, and a browser enforces the same-origin policy by name: a page at
// evil.example whose name is re-pointed at 127.0.0.1 (DNS rebinding) reaches the console with
// `Host: evil.example` and may read the answer. So the console answers only names that cannot be
// rebound: loopback, an IP literal when the server listens on every address, and the name the
// operator gave with --host.
import { isIP } from 'node:net';

const LOOPBACK_NAMES = new Set(['localhost', '::1']);
const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/** The host name of a Host header, without port or IPv6 brackets, lower case. */
export function hostName(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') < 0 ? undefined : h.indexOf(']'));
  const colon = h.lastIndexOf(':');
  return (colon < 0 ? h : h.slice(0, colon)).replace(/\.$/, '');
}

export function isLoopbackName(name: string): boolean {
  return LOOPBACK_NAMES.has(name) || (isIP(name) === 4 && name.startsWith('127.'));
}

/** A predicate for the Host headers to answer, for a server bound to `bindHost` (its --host). */
export function consoleHostCheck(bindHost: string): (host: string | undefined) => boolean {
  const bound = hostName(bindHost.includes(':') && !bindHost.startsWith('[') ? `[${bindHost}]` : bindHost);
  const wildcard = WILDCARDS.has(bound);
  return (host) => {
    if (!host) return false;
    const name = hostName(host);
    return isLoopbackName(name) || name === bound || (wildcard && isIP(name) !== 0);
  };
}
