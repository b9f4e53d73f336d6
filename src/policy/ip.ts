// IPv4 and IPv6 addresses and CIDR blocks for IpAddress / NotIpAddress (RFC 4632, RFC 4291).
// Addresses are 16 bytes; an IPv4 address is kept as its IPv4-mapped IPv6 form (::ffff:a.b.c.d).

export interface Cidr {
  readonly bytes: Uint8Array;
  /** Prefix length over the 16 bytes (an IPv4 /24 is 96 + 24). */
  readonly bits: number;
}

function v4(s: string): number[] | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    out.push(Number(p));
  }
  return out;
}

// The request's aws:SourceIp is the same from call to call: remember the last one parsed.
let lastText: string | undefined;
let lastBytes: Uint8Array | undefined;

/** Parses an IPv4 or IPv6 address into 16 bytes (IPv4 mapped into ::ffff:0:0/96). Do not modify the result: it may be shared. */
export function parseIp(s: string): Uint8Array | undefined {
  if (s !== lastText) {
    lastBytes = parseIpUncached(s);
    lastText = s;
  }
  return lastBytes;
}

function parseIpUncached(s: string): Uint8Array | undefined {
  const four = v4(s);
  if (four) return Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...four]);
  if (!s.includes(':') || !/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    const items = h.split(':');
    for (let i = 0; i < items.length; i++) {
      const g = items[i]!;
      if (i === items.length - 1 && g.includes('.')) {
        const tail = v4(g);
        if (!tail) return undefined;
        out.push((tail[0]! << 8) | tail[1]!, (tail[2]! << 8) | tail[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) out.push(parseInt(g, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  return Uint8Array.from(all.flatMap((g) => [g >> 8, g & 0xff]));
}

/** Parses "10.0.0.0/8", "2001:db8::/32" or a bare address (a /32 or /128). */
export function parseCidr(s: string): Cidr | undefined {
  const slash = s.indexOf('/');
  const addr = slash < 0 ? s : s.slice(0, slash);
  const bytes = parseIp(addr);
  if (!bytes) return undefined;
  const isV4 = v4(addr) !== undefined;
  const max = isV4 ? 32 : 128;
  if (slash >= 0 && !/^\d{1,3}$/.test(s.slice(slash + 1))) return undefined;
  const len = slash < 0 ? max : Number(s.slice(slash + 1));
  if (len > max) return undefined;
  return { bytes, bits: isV4 ? 96 + len : len };
}

export function cidrContains(c: Cidr, ip: Uint8Array): boolean {
  let bits = c.bits;
  for (let i = 0; i < 16 && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((c.bytes[i]! & mask) !== (ip[i]! & mask)) return false;
  }
  return true;
}
