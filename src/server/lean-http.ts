// Lean connections: the endpoint's fast path in front of node:http. A connection's plain, whole
// requests (whole-request.ts: what the AWS CLI and SDKs send) are read from its bytes and answered
// with one write of head and body, without node:http's request and response objects, which cost
// more CPU than the rest of a small KMS call's serving. At the first thing it does not serve — a
// GET, an OPTIONS preflight, a chunked body, a malformed or oversized request, or a request that
// has not arrived whole in one read — the connection is handed to node:http, bytes read and all,
// and stays there: node:http's rules, errors and timeouts apply from then on (docs/server.md).
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { readWholeRequest, type WholeRequest } from './whole-request.js';

export interface LeanHooks {
  bodyLimit: number;
  /** An idle connection is closed after this long without a request, as node:http's keepAliveTimeout. */
  keepAliveTimeoutMs: number;
  /** A whole request: answer it later, once, through `connection.answer`. */
  onRequest(request: WholeRequest, connection: LeanConnection): void;
  /** Give the socket to node:http; the bytes read but not served are pushed back first. */
  handOff(socket: Socket): void;
}

export class LeanConnection {
  /** Bytes read and not yet taken: the rest of a read that held more than one request, or what came while one was in flight. */
  private pending: Buffer | undefined;
  private inFlight = false;
  /** An answer is written and the client has not read enough of it for the next to be taken. */
  private waitingForDrain = false;
  /** The server is shutting down. */
  private closing = false;
  /** The client closed its side (FIN): what it sent before is still answered. */
  private ended = false;
  /** The last answer is written: nothing more is read. */
  private finished = false;
  private handedOff = false;
  /** The request in flight asked to close after its answer. */
  private lastRequest = false;
  private readonly keepAliveHeader: string;

  private readonly onData = (chunk: Buffer) => {
    // node:http copies a chunk it keeps; the socket gives each read its own buffer, kept here as is.
    this.pending = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    // One request at a time per connection, as node:http: a client that sends the next before its
    // answer (pipelining) is not read further until then, so what it sends waits in the kernel.
    if (this.inFlight || this.waitingForDrain) this.socket.pause();
    else this.readNext();
  };

  private readonly onTimeout = () => {
    if (!this.inFlight) this.socket.destroy();
  };

  // The server allows half-open sockets, as node:http: the requests read before the client's FIN
  // are still answered, then the connection ends.
  private readonly onEnd = () => {
    this.ended = true;
    if (!this.inFlight && !this.waitingForDrain && !this.pending) this.finish();
  };

  private readonly onError = () => this.socket.destroy(); // a reset or broken pipe: nothing more to answer

  constructor(
    readonly socket: Socket,
    private readonly hooks: LeanHooks,
    private readonly connections: Set<LeanConnection>,
  ) {
    // As node:http: no Keep-Alive header (and no idle limit) when the timeout is 0.
    this.keepAliveHeader = hooks.keepAliveTimeoutMs > 0 ? `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(hooks.keepAliveTimeoutMs / 1000)}\r\n` : 'Connection: keep-alive\r\n';
    connections.add(this);
    socket.setNoDelay(true);
    socket.setTimeout(hooks.keepAliveTimeoutMs);
    socket.on('timeout', this.onTimeout);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', () => connections.delete(this));
  }

  /** True while the connection may still carry an answer. */
  get open(): boolean {
    return !this.socket.destroyed && !this.handedOff && !this.finished;
  }

  /**
   * The answer to the request in flight, in one write. `headerLines` are `Name: value\r\n` lines;
   * Date and the connection's own headers are added here, as node:http adds them.
   */
  answer(status: number, headerLines: string, body: string): void {
    this.inFlight = false;
    if (!this.open) return;
    // After the client's FIN only whole lean requests can still be served (bytes cannot go back to
    // an ended stream for node:http, which would not answer after a FIN either): the last of them closes.
    const last = this.closing || this.lastRequest || (this.ended && (!this.pending || readWholeRequest(this.pending, this.hooks.bodyLimit).kind !== 'request'));
    this.socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n${headerLines}Content-Length: ${Buffer.byteLength(body)}\r\nDate: ${httpDate()}\r\n${last ? 'Connection: close\r\n' : this.keepAliveHeader}\r\n${body}`,
    );
    if (last) {
      this.finish();
      return;
    }
    // The next request once this answer is on its way: a client that does not read its answers
    // stops being read, as with node:http, instead of having them pile up here.
    if (this.socket.writableNeedDrain) {
      this.waitingForDrain = true;
      this.socket.once('drain', () => {
        this.waitingForDrain = false;
        this.readOn();
      });
    } else {
      this.readOn();
    }
  }

  /** Shutting down: an idle connection closes now, a busy one after its answer. */
  close(): void {
    this.closing = true;
    if (!this.inFlight) this.socket.destroy();
  }

  private readOn(): void {
    if (!this.open || this.inFlight) return;
    if (this.pending) this.readNext();
    else if (this.ended) this.finish();
    // Nothing taken (no whole request waited): read again. A request taken keeps the socket as it was.
    if (!this.inFlight && this.open) this.socket.resume();
  }

  private readNext(): void {
    const pending = this.pending;
    if (!pending) return;
    const read = readWholeRequest(pending, this.hooks.bodyLimit);
    if (read.kind !== 'request') {
      // After the client's FIN the bytes cannot go back to a stream that has ended, and node:http
      // does not answer what it reads after a FIN either (its server is not half-open).
      if (this.ended) this.finish();
      else this.giveToNodeHttp();
      return;
    }
    this.pending = read.length === pending.length ? undefined : pending.subarray(read.length);
    if (this.closing) {
      this.socket.destroy();
      return;
    }
    this.inFlight = true;
    this.lastRequest = !read.request.keepAlive;
    this.hooks.onRequest(read.request, this);
  }

  /** No more reading; the socket ends once what is written has gone out, as node:http's destroySoon. */
  private finish(): void {
    if (this.finished) return;
    const { socket } = this;
    this.finished = true;
    this.pending = undefined;
    socket.removeListener('data', this.onData);
    socket.pause();
    socket.end();
    if (socket.writableFinished) socket.destroy();
    else socket.once('finish', () => socket.destroy());
  }

  private giveToNodeHttp(): void {
    const { socket } = this;
    this.handedOff = true;
    this.connections.delete(this);
    socket.pause();
    socket.removeListener('data', this.onData);
    socket.removeListener('timeout', this.onTimeout);
    socket.removeListener('end', this.onEnd);
    socket.removeListener('error', this.onError);
    socket.setTimeout(0);
    this.hooks.handOff(socket);
    if (this.pending) socket.unshift(this.pending);
    this.pending = undefined;
    socket.resume();
  }
}

// node:http's Date header, made once a second as node:http makes it.
let dateSecond = -1;
let dateText = '';
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}
