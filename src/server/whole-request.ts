// Reads one HTTP/1.1 request from the bytes a connection has sent, when they hold the whole of a
// plain one: `POST`, HTTP/1.1, a Host, a Content-Length body, every header once and well formed.
// That is every request the AWS CLI and SDKs send to KMS, and the lean connections (lean-http.ts)
// serve them without node:http's request and response objects. Anything else — another method,
// a chunked or `Expect` request, a duplicate, folded or malformed header, a body over the limit,
// a request not yet whole — is not judged here: node:http serves it, with its own errors.
// https://www.rfc-editor.org/rfc/rfc9112
import { maxHeaderSize } from 'node:http';

/** node:http's `maxHeaderSize` (16 KiB unless `--max-http-header-size` says otherwise): a longer head is node's to refuse (431). */
export const MAX_HEAD_BYTES = maxHeaderSize;
/** node:http keeps at most this many headers; a request with more is node's. */
const MAX_HEADERS = 2000;

const CRLF = '\r\n';
const HEAD_END = Buffer.from('\r\n\r\n');
const REQUEST_LINE_START = 'POST ';
const REQUEST_LINE_END = ' HTTP/1.1';

/** Header names lower case, values as node:http gives them (latin1, outer blanks trimmed). */
export type Headers = Record<string, string>;

export interface WholeRequest {
  method: 'POST';
  /** The request target as sent. */
  url: string;
  /** A prototype-free map: a client's header names never reach Object.prototype. */
  headers: Headers;
  body: Buffer;
  /** False when the client asked to close after this answer (`Connection: close`). */
  keepAlive: boolean;
}

export type ReadResult =
  /** A whole request, and how many bytes of the buffer it took. */
  | { kind: 'request'; request: WholeRequest; length: number }
  /** Not a whole plain request (another kind, or one not all here yet): node:http's to serve or refuse. */
  | { kind: 'other' };

const OTHER: ReadResult = { kind: 'other' };

/** tchar of RFC 9110, by byte. */
const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TOKEN[c.charCodeAt(0)] = 1;

const CRLF_BYTES = Buffer.from(CRLF);
const POST = Buffer.from(REQUEST_LINE_START);
const HTTP_1_1 = Buffer.from(REQUEST_LINE_END);
const COLON = 0x3a;
const CR = 0x0d;
const LF = 0x0a;

/** The request at the start of `buf`, if it is whole and plain (see the file's comment). Read byte by byte: no string is made but the target, names and values. */
export function readWholeRequest(buf: Buffer, bodyLimit: number): ReadResult {
  const end = buf.indexOf(HEAD_END);
  if (end < 0) return OTHER;
  if (end + 4 > MAX_HEAD_BYTES) return OTHER;
  // The request line: POST, the target (printable ASCII, no space), HTTP/1.1.
  const lineEnd = buf.indexOf(CRLF_BYTES);
  const urlEnd = lineEnd - HTTP_1_1.length;
  if (urlEnd <= POST.length || !startsAt(buf, 0, POST) || !startsAt(buf, urlEnd, HTTP_1_1)) return OTHER;
  for (let i = POST.length; i < urlEnd; i++) {
    const c = buf[i]!;
    if (c <= 0x20 || c >= 0x7f) return OTHER;
  }
  const url = buf.toString('latin1', POST.length, urlEnd);

  const headers: Headers = Object.create(null) as Headers;
  let count = 0;
  for (let at = lineEnd + 2; at < end; ) {
    if (++count > MAX_HEADERS) return OTHER;
    // The name: token bytes up to the colon (so also no folded line, no blank before the colon, no bare CR or LF).
    let colon = at;
    while (colon < end && buf[colon] !== COLON) {
      if (TOKEN[buf[colon]!] === 0) return OTHER;
      colon++;
    }
    if (colon === at || colon === end) return OTHER;
    // The value: outer blanks cut; tabs and obs-text allowed, other control bytes not; the line ends in CRLF.
    let from = colon + 1;
    while (from < end && isBlank(buf[from]!)) from++;
    let lineStop = from;
    for (; lineStop < end; lineStop++) {
      const c = buf[lineStop]!;
      if (c === CR) break;
      if ((c < 0x20 && c !== 0x09) || c === 0x7f) return OTHER;
    }
    if (lineStop < end && buf[lineStop + 1] !== LF) return OTHER;
    let to = lineStop;
    while (to > from && isBlank(buf[to - 1]!)) to--;
    const name = buf.toString('latin1', at, colon).toLowerCase();
    if (name in headers) return OTHER; // node joins some duplicates and keeps the first of others: its rules, not ours
    headers[name] = buf.toString('latin1', from, to);
    at = lineStop + 2;
  }
  if (headers.host === undefined || headers['transfer-encoding'] !== undefined || headers.expect !== undefined || headers.upgrade !== undefined) return OTHER;

  const declared = headers['content-length'];
  let bodyLength = 0;
  if (declared !== undefined) {
    if (!/^[0-9]{1,15}$/.test(declared)) return OTHER;
    bodyLength = Number(declared);
    if (bodyLength > bodyLimit) return OTHER;
  }
  const length = end + 4 + bodyLength;
  if (buf.length < length) return OTHER;
  const connection = headers.connection;
  const keepAlive = connection === undefined || !/(?:^|,)\s*close\s*(?:,|$)/i.test(connection);
  return { kind: 'request', request: { method: 'POST', url, headers, body: buf.subarray(end + 4, length), keepAlive }, length };
}

/** True when `buf` holds `bytes` at `at`. */
function startsAt(buf: Buffer, at: number, bytes: Buffer): boolean {
  if (at + bytes.length > buf.length) return false;
  for (let i = 0; i < bytes.length; i++) if (buf[at + i] !== bytes[i]) return false;
  return true;
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09;
}
