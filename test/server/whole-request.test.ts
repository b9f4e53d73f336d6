// The lean path's reader: it takes the plain whole requests AWS clients send, and leaves
// everything else to node:http (never judging, never half-reading a request).
import { describe, expect, it } from 'vitest';
import { MAX_HEAD_BYTES, readWholeRequest } from '../../src/server/whole-request.js';

const LIMIT = 1024;

function request(head: string[], body = '', first = 'POST / HTTP/1.1'): Buffer {
  return Buffer.from(`${first}\r\n${head.join('\r\n')}\r\n\r\n${body}`, 'latin1');
}

const plain = ['Host: 127.0.0.1:4599', 'Content-Type: application/x-amz-json-1.1', 'X-Amz-Target: TrentService.Decrypt', 'Content-Length: 2'];

describe('readWholeRequest', () => {
  it('reads a plain request: lower-case names, trimmed values, the body, what it took', () => {
    const bytes = Buffer.concat([request([...plain.slice(0, 3), 'User-Agent:  aws-cli/2.9 \t', 'Content-Length: 2'], '{}'), Buffer.from('POST / HT')]);
    const read = readWholeRequest(bytes, LIMIT);
    expect(read.kind).toBe('request');
    if (read.kind !== 'request') return;
    expect(read.request.url).toBe('/');
    expect(read.request.headers['x-amz-target']).toBe('TrentService.Decrypt');
    expect(read.request.headers['user-agent']).toBe('aws-cli/2.9');
    expect(read.request.body.toString()).toBe('{}');
    expect(read.request.keepAlive).toBe(true);
    expect(read.length).toBe(bytes.length - 'POST / HT'.length);
    expect(Object.getPrototypeOf(read.request.headers)).toBeNull();
  });

  it('keeps a header named __proto__ as a header, not a prototype', () => {
    const read = readWholeRequest(request([...plain, '__proto__: x'], '{}'), LIMIT);
    expect(read.kind).toBe('request');
    if (read.kind === 'request') expect(read.request.headers.__proto__).toBe('x');
  });

  it('takes Connection: close (in a list, any case) as the last request', () => {
    for (const value of ['close', 'Close', 'keep-alive, close', 'TE,  CLOSE ']) {
      const read = readWholeRequest(request([...plain, `Connection: ${value}`], '{}'), LIMIT);
      expect(read.kind === 'request' && read.request.keepAlive, value).toBe(false);
    }
    const kept = readWholeRequest(request([...plain, 'Connection: keep-alive, closed'], '{}'), LIMIT);
    expect(kept.kind === 'request' && kept.request.keepAlive).toBe(true);
  });

  it('a request without Content-Length has an empty body', () => {
    const read = readWholeRequest(request(plain.slice(0, 3)), LIMIT);
    expect(read.kind === 'request' && read.request.body.length).toBe(0);
  });

  it('leaves a plain request cut short anywhere to node:http, and takes it whole', () => {
    const whole = request(plain, '{}');
    for (let n = 0; n < whole.length; n++) expect(readWholeRequest(whole.subarray(0, n), LIMIT).kind, `${n} bytes`).toBe('other');
    expect(readWholeRequest(whole, LIMIT).kind).toBe('request');
  });

  const others: [string, Buffer][] = [
    ['GET', request(plain.slice(0, 1), '', 'GET / HTTP/1.1')],
    ['OPTIONS', request(plain, '{}', 'OPTIONS / HTTP/1.1')],
    ['lower-case method', request(plain, '{}', 'post / HTTP/1.1')],
    ['HTTP/1.0', request(plain, '{}', 'POST / HTTP/1.0')],
    ['a space in the target', request(plain, '{}', 'POST /a b HTTP/1.1')],
    ['an empty target', request(plain, '{}', 'POST  HTTP/1.1')],
    ['a control character in the target', request(plain, '{}', 'POST /\x01 HTTP/1.1')],
    ['no Host', request(plain.slice(1), '{}')],
    ['chunked', request([...plain.slice(0, 3), 'Transfer-Encoding: chunked'], '2\r\n{}\r\n0\r\n\r\n')],
    ['Expect', request([...plain, 'Expect: 100-continue'], '{}')],
    ['Upgrade', request([...plain, 'Upgrade: websocket'], '{}')],
    ['a duplicate header', request([...plain, 'x-amz-target: TrentService.Encrypt'], '{}')],
    ['a duplicate Content-Length', request([...plain, 'Content-Length: 2'], '{}')],
    ['a folded header', request([...plain, 'X-A: one', ' two'], '{}')],
    ['a blank before the colon', request([...plain, 'X-A : one'], '{}')],
    ['no colon', request([...plain, 'X-A one'], '{}')],
    ['an empty name', request([...plain, ': one'], '{}')],
    ['a non-token name', request([...plain, 'X(A): one'], '{}')],
    ['a bare LF inside the head', request([...plain, 'X-A: one\nX-B: two'], '{}')],
    ['a control character in a value', request([...plain, 'X-A: o\x00ne'], '{}')],
    ['DEL in a value', request([...plain, 'X-A: o\x7fne'], '{}')],
    ['Content-Length not a number', request([...plain.slice(0, 3), 'Content-Length: 2x'], '{}')],
    ['Content-Length signed', request([...plain.slice(0, 3), 'Content-Length: +2'], '{}')],
    ['Content-Length of 16 digits', request([...plain.slice(0, 3), 'Content-Length: 0000000000000002'], '{}')],
    ['Content-Length over the body limit', request([...plain.slice(0, 3), `Content-Length: ${LIMIT + 1}`], '{}')],
    ['a head over node:http\'s limit', request([...plain, `X-Big: ${'a'.repeat(MAX_HEAD_BYTES)}`], '{}')],
    ['no end of head within node:http\'s limit', Buffer.from(`POST / HTTP/1.1\r\nX-Big: ${'a'.repeat(MAX_HEAD_BYTES)}`)],
    ['anything but POST before its head is whole', Buffer.from('GET / HTTP/1.1\r\nHost: x')],
  ];
  it.each(others)('leaves to node:http: %s', (_, bytes) => {
    expect(readWholeRequest(bytes, LIMIT).kind).toBe('other');
  });

  it('takes a head of exactly node:http\'s limit, and leaves one byte more to node:http', () => {
    const fill = (n: number) => request([...plain, `X-Fill: ${'a'.repeat(n)}`], '{}');
    const base = fill(0).indexOf('\r\n\r\n') + 4;
    expect(readWholeRequest(fill(MAX_HEAD_BYTES - base), LIMIT).kind).toBe('request');
    expect(readWholeRequest(fill(MAX_HEAD_BYTES - base + 1), LIMIT).kind).toBe('other');
  });

  it('a value may hold tabs, obs-text and a colon, as node:http allows', () => {
    const read = readWholeRequest(request([...plain, 'X-A: a\tb:c \xe9'], '{}'), LIMIT);
    expect(read.kind === 'request' && read.request.headers['x-a']).toBe('a\tb:c \xe9');
  });
});
