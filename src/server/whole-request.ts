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
  /** A plain request so far, not all of it here yet. */
  | { kind: 'partial' }
  /** Not a request this reader serves: node:http's to serve or refuse. */
  | { kind: 'other' };

const OTHER: ReadResult = { kind: 'other' };
const PARTIAL: ReadResult = { kind: 'partial' };

/** tchar of RFC 9110, by character code. */
const TOKEN = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TOKEN[c.charCodeAt(0)] = 1;

/** The request at the start of `buf`, if it is whole and plain (see the file's comment). */
export function readWholeRequest(buf: Buffer, bodyLimit: number): ReadResult {
  const end = buf.indexOf(HEAD_END);
  if (end < 0) return buf.length >= MAX_HEAD_BYTES ? OTHER : buf.length < REQUEST_LINE_START.length || buf.toString('latin1', 0, REQUEST_LINE_START.length) === REQUEST_LINE_START ? PARTIAL : OTHER;
  if (end + 4 > MAX_HEAD_BYTES) return OTHER;
  const head = buf.toString('latin1', 0, end);
  const lines = head.split(CRLF);
  const requestLine = lines[0]!;
  if (lines.length - 1 > MAX_HEADERS || !requestLine.startsWith(REQUEST_LINE_START) || !requestLine.endsWith(REQUEST_LINE_END)) return OTHER;
  const url = requestLine.slice(REQUEST_LINE_START.length, requestLine.length - REQUEST_LINE_END.length);
  if (url.length === 0 || !visibleAscii(url)) return OTHER;

  const headers: Headers = Object.create(null) as Headers;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) return OTHER;
    for (let j = 0; j < colon; j++) {
      const c = line.charCodeAt(j);
      if (c >= 128 || TOKEN[c] === 0) return OTHER; // also a folded line, a blank before the colon, a bare CR or LF
    }
    const name = line.slice(0, colon).toLowerCase();
    if (name in headers) return OTHER; // node joins some duplicates and keeps the first of others: its rules, not ours
    const value = trimBlanks(line, colon + 1);
    if (value === undefined) return OTHER;
    headers[name] = value;
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
  if (buf.length < length) return PARTIAL;
  const connection = headers.connection;
  const keepAlive = connection === undefined || !/(?:^|,)\s*close\s*(?:,|$)/i.test(connection);
  return { kind: 'request', request: { method: 'POST', url, headers, body: buf.subarray(end + 4, length), keepAlive }, length };
}

/** Printable ASCII, no space: a request target as llhttp takes it. */
function visibleAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

/** The field value from `from` with its outer spaces and tabs cut; undefined if it holds a control character. */
function trimBlanks(line: string, from: number): string | undefined {
  let start = from;
  let end = line.length;
  while (start < end && isBlank(line.charCodeAt(start))) start++;
  while (end > start && isBlank(line.charCodeAt(end - 1))) end--;
  for (let i = start; i < end; i++) {
    const c = line.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return undefined;
  }
  return line.slice(start, end);
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09;
}
