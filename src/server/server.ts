// The HTTP endpoint: keep-alive HTTP/1.1, one request at a time per connection, routed by
// protocol — JSON 1.1 by X-Amz-Target (KMS, CloudTrail), the query protocol by a form body (STS).
// A connection's plain, whole requests are read and answered on a lean path (lean-http.ts); the
// rest of HTTP is Node's http server's. It adds only the wire protocol; every decision is the domain's.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { consoleHostCheck, handleConsoleRequest } from '../console/index.js';
import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { openEbsim, type Ebsim } from '../app/ebsim.js';
import { keepSpareRsaKeys } from '../kms/index.js';
import type { CallContext, Principal } from '../core/call-context.js';
import { DEFAULT_USER } from '../iam/service.js';
import { UserError } from '../errors/index.js';
import { Authenticator } from './auth.js';
import { serialization, unknownOperation } from './errors.js';
import { encodeError, encodeResult, JSON_CONTENT_TYPE } from './json-protocol.js';
import { handleKms, KMS_TARGET_PREFIX } from './kms-handler.js';
import { CLOUDTRAIL_SHORT_PREFIX, CLOUDTRAIL_TARGET_PREFIX, handleCloudTrail } from './cloudtrail-handler.js';
import { handleSts, isQueryRequest, STS_CONTENT_TYPE, stsError } from './sts-handler.js';
import type { RequestParts } from './sigv4.js';
import { RequestLog } from './request-log.js';

import { addCorsHeaders, answerPreflight, corsHeaders, parseCorsOrigin } from './cors.js';
import { LeanConnection } from './lean-http.js';
import type { WholeRequest } from './whole-request.js';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 4599;
/** AWS's own limit for a KMS request is far lower; 1 MiB bounds memory per connection. */
export const BODY_LIMIT = 1024 * 1024;

export interface ServerOptions {
  home: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Unknown access keys act as `asUser` without their signature being checked. */
  acceptAnyCredentials?: boolean;
  asUser?: string;
  bodyLimit?: number;
  /** Slow clients: time to send the headers, and the whole request. */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open. */
  keepAliveTimeoutMs?: number;
  /** `--cors ORIGIN`: the one browser origin allowed to call (preflights answered); off if unset. */
  cors?: string;
  /** One line per request; false to keep quiet. Default: stderr. */
  log?: ((line: string) => void) | false;
  /** Apply the trail's retention on a worker thread (default true; one process of a cluster does). */
  retention?: boolean;
  /** Name this process in an `x-ebsim-worker` response header (its pid; `ebsim serve --workers`). */
  workerHeader?: boolean;
  /** Serve plain whole requests on the lean path (default true); false gives every connection to node:http. */
  leanConnections?: boolean;
}

export interface RunningServer {
  url: string;
  host: string;
  port: number;
  app: Ebsim;
  /** Requests served on the lean path, and connections handed to node:http, since the start. */
  readonly wire: { leanRequests: number; handedToNodeHttp: number };
  /** Stops accepting, lets in-flight requests finish, commits the trail, closes the store. */
  close(): Promise<void>;
}

interface Answer {
  status: number;
  contentType: string;
  body: string;
  /** For the log: the operation and the error code, if any. */
  label: string;
  code?: string;
  principal?: Principal;
}

/**
 * A request read whole, waiting for its batch: read by node:http (answered through its response)
 * or on a lean connection. The caller's address is taken when the request ends: a client that
 * disconnects before its batch runs is still recorded from where it called.
 */
interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  replyTo: ServerResponse | LeanConnection;
  body: Uint8Array;
  requestId: string;
  started: bigint;
  sourceIPAddress: string;
}

/** A request whose signer is known, ready for its call. */
interface Ready {
  service: 'kms' | 'cloudtrail' | 'sts';
  operation: string;
  ctx: CallContext;
  body: Uint8Array;
  label: string;
  principal: Principal;
  requestId: string;
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const app = openEbsim(opts.home);
  let server: ReturnType<typeof createServer> | undefined;
  let releaseSpares: (() => void) | undefined;
  let requestLog: RequestLog | undefined;
  try {
    // The endpoint serves every commercial Region: each request acts in the account of the
    // principal that signed it (its KMS, IAM and STS), never in "the" home's, and in the Region its
    // credential scope names, as if it had been sent to that Region's endpoint.
    app.iam.requireAccount();
    app.kms();
    // A server answers thousands of calls a second: trail inserts move to a worker thread.
    app.trail.useBackgroundWriter({ retention: opts.retention });
    // RSA keys are generated ahead, off the event loop, once a size has been asked for.
    releaseSpares = keepSpareRsaKeys();
    let acceptAnyAs: Principal | undefined;
    if (opts.acceptAnyCredentials) {
      const name = opts.asUser ?? DEFAULT_USER;
      if (name.startsWith('role/')) throw new UserError(`--as-user ${name}: name an IAM user of the account`);
      acceptAnyAs = app.iam.resolveAs(name);
    } else if (opts.asUser !== undefined) {
      throw new UserError('--as-user only applies with --accept-any-credentials');
    }
    const auth = new Authenticator(app.iam, { acceptAnyAs });
    const limit = opts.bodyLimit ?? BODY_LIMIT;
    const log = (requestLog = new RequestLog(opts.log === false ? undefined : (opts.log ?? ((l) => process.stderr.write(l)))));
    let closing = false;
    const consoleHost = consoleHostCheck(opts.host ?? DEFAULT_HOST);

    // A request is served in steps, each taken for a whole batch of requests before the next (see
    // serveBatch): who signed it and what it asks for, then the call, then the answer.
    const prepare = (r: Received): Answer | Ready => {
      const { body, requestId } = r;
      const target = header(r.headers, 'x-amz-target');
      const parts: RequestParts = { method: r.method, url: r.url, headers: r.headers, body };
      const context = (signer: { principal: Principal; region: string }): CallContext => ({
        principal: signer.principal,
        region: signer.region,
        sourceIPAddress: r.sourceIPAddress,
        userAgent: header(r.headers, 'user-agent'),
        requestId,
      });
      if (target === undefined && isQueryRequest(header(r.headers, 'content-type'))) {
        const action = new URLSearchParams(Buffer.from(body).toString('utf8')).get('Action') ?? '?';
        const label = `sts.${action}`;
        try {
          const signer = auth.authenticate(parts, 'sts');
          return { service: 'sts', operation: action, ctx: context(signer), body, label, principal: signer.principal, requestId };
        } catch (err) {
          return stsFailed(err, label, requestId);
        }
      }
      let label = target ?? '-';
      let principal: Principal | undefined;
      try {
        if (target === undefined) throw unknownOperation('Missing X-Amz-Target header: name the operation as TrentService.<Operation>.');
        const [service, operation]: [Ready['service'] | undefined, string] = target.startsWith(KMS_TARGET_PREFIX)
          ? ['kms', target.slice(KMS_TARGET_PREFIX.length)]
          : target.startsWith(CLOUDTRAIL_TARGET_PREFIX)
            ? ['cloudtrail', target.slice(CLOUDTRAIL_TARGET_PREFIX.length)]
            : target.startsWith(CLOUDTRAIL_SHORT_PREFIX)
              ? ['cloudtrail', target.slice(CLOUDTRAIL_SHORT_PREFIX.length)]
              : [undefined, target];
        if (!service) throw unknownOperation(`Operation ${target.slice(0, 200)} is not supported by ebsim.`);
        label = `${service}.${operation.slice(0, 100)}`;
        const signer = auth.authenticate(parts, service);
        principal = signer.principal;
        return { service, operation, ctx: context(signer), body, label, principal, requestId };
      } catch (err) {
        return failed(err, label, principal, requestId);
      }
    };

    const perform = (r: Ready): Answer => {
      const { ctx, label, principal } = r;
      if (r.service === 'sts') {
        try {
          return { status: 200, contentType: STS_CONTENT_TYPE, body: handleSts(app, ctx, r.body, r.requestId), label, principal };
        } catch (err) {
          return stsFailed(err, label, r.requestId);
        }
      }
      try {
        const result = r.service === 'kms' ? handleKms(app.kms(principal.accountId, ctx.region), ctx, r.operation, r.body) : handleCloudTrail(app, ctx, r.operation, r.body);
        return { status: 200, contentType: JSON_CONTENT_TYPE, body: encodeResult(result), label, principal };
      } catch (err) {
        return failed(err, label, principal, r.requestId);
      }
    };

    /** An internal failure in the protocol of the call's answer (or of the call, never run), whose record was not committed (logged by the caller). */
    const unrecorded = (a: Answer | Ready, requestId: string): Answer => {
      const internal = new Error('trail commit failed');
      if ('service' in a ? a.service === 'sts' : a.contentType === STS_CONTENT_TYPE) {
        const e = stsError(internal, requestId);
        return { status: e.status, contentType: STS_CONTENT_TYPE, body: e.body, label: a.label, code: e.code, principal: a.principal };
      }
      const e = encodeError(internal);
      return { status: e.status, contentType: JSON_CONTENT_TYPE, body: e.body, label: a.label, code: e.code, principal: a.principal };
    };

    const stsFailed = (err: unknown, label: string, requestId: string): Answer => {
      const e = stsError(err, requestId);
      return { status: e.status, contentType: STS_CONTENT_TYPE, body: e.body, label, code: e.code };
    };

    const failed = (err: unknown, label: string, principal: Principal | undefined, requestId: string): Answer => {
      const e = encodeError(err);
      if (e.status >= 500) log.error(`${requestId} ${label}: ${(err as Error)?.stack ?? String(err)}`);
      return { status: e.status, contentType: JSON_CONTENT_TYPE, body: e.body, label, code: e.code, principal };
    };

    const workerLine = opts.workerHeader ? `x-ebsim-worker: ${process.pid}\r\n` : '';
    const cors = opts.cors === undefined ? undefined : parseCorsOrigin(opts.cors);
    // A lean answer's CORS header lines, for a call from the allowed origin and from any other
    // (node:http's responses have theirs set on arrival, by addCorsHeaders).
    const corsLines = (origin: string | undefined) => (cors === undefined ? '' : corsHeaders(cors, origin).map(([n, v]) => `${n}: ${v}\r\n`).join(''));
    const leanCors = { allowed: corsLines(cors), other: corsLines(undefined) };
    const send = (r: Pick<Received, 'replyTo' | 'headers' | 'requestId' | 'started' | 'sourceIPAddress'>, answer: Answer, close = false) => {
      const { replyTo: res, requestId } = r;
      if (res instanceof LeanConnection) {
        // Served and recorded: logged, whether or not its client is still there to read it.
        const corsLine = cors !== undefined && r.headers.origin === cors ? leanCors.allowed : leanCors.other;
        res.answer(answer.status, `Content-Type: ${answer.contentType}\r\nx-amzn-RequestId: ${requestId}\r\n${workerLine}${corsLine}`, answer.body);
        log.request(r.sourceIPAddress, answer, requestId, r.started);
        return;
      }
      if (res.headersSent || res.destroyed) return;
      const headers: Record<string, string | number> = {
        'Content-Type': answer.contentType,
        'Content-Length': Buffer.byteLength(answer.body),
        'x-amzn-RequestId': requestId,
      };
      if (opts.workerHeader) headers['x-ebsim-worker'] = process.pid;
      // While shutting down, each connection is closed after its answer.
      if (close || closing) headers.Connection = 'close';
      res.writeHead(answer.status, headers);
      res.end(answer.body);
      log.request(r.sourceIPAddress, answer, requestId, r.started);
    };

    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      if (cors !== undefined) {
        if (req.method === 'OPTIONS') return answerPreflight(cors, req, res);
        addCorsHeaders(cors, req, res);
      }
      // GET is never an AWS API call here: it is the console page (or nothing).
      if (req.method === 'GET') {
        void handleConsoleRequest(app, req, res, consoleHost)
          .then((handled) => {
            if (!handled) {
              res.writeHead(404, { 'Content-Type': 'text/plain' });
              res.end('Not found. The console is at /; AWS API calls are POST requests.\n');
            }
          })
          .catch((err: Error) => {
            log.error(`console: ${err.stack ?? err.message}`);
            if (!res.headersSent) res.writeHead(500);
            res.end();
          });
        return;
      }
      const started = process.hrtime.bigint();
      const requestId = randomUUID();
      req.on('error', () => undefined); // a client that disconnects mid-body: nothing to answer
      const tooLarge = () => {
        const e = encodeError(serialization(`Request body of more than ${limit} bytes`, 413));
        const answer: Answer = { status: 413, contentType: JSON_CONTENT_TYPE, body: e.body, label: header(req.headers, 'x-amz-target') ?? '-', code: e.code };
        send({ replyTo: res, headers: req.headers, requestId, started, sourceIPAddress: sourceIp(req.socket) }, answer, true);
        // Drop the rest of the body, then the connection, whatever the client keeps sending.
        req.removeAllListeners('data');
        req.resume();
        res.on('finish', () => setTimeout(() => req.socket.destroy(), 200).unref());
      };
      const declared = Number(header(req.headers, 'content-length') ?? 0);
      if (declared > limit) return tooLarge();
      const chunks: Buffer[] = [];
      let size = 0;
      let over = false;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > limit) {
          over = true;
          tooLarge();
        } else {
          chunks.push(c);
        }
      });
      req.on('end', () => {
        if (over) return;
        const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        enqueue({ method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers, replyTo: res, body, requestId, started, sourceIPAddress: sourceIp(req.socket) });
      });
    };

    const wire = { leanRequests: 0, handedToNodeHttp: 0 };
    const onWholeRequest = (request: WholeRequest, connection: LeanConnection) => {
      wire.leanRequests++;
      enqueue({
        method: request.method,
        url: request.url,
        headers: request.headers,
        replyTo: connection,
        body: request.body,
        requestId: randomUUID(),
        started: process.hrtime.bigint(),
        sourceIPAddress: sourceIp(connection.socket),
      });
    };

    // Requests read in one turn of the event loop are served together, after it, one step at a
    // time for all of them: every signature, then every call, then every answer. At 64
    // connections a turn reads a few requests (about six on average, up to 64), and the server's CPU per request fell by about a
    // third against serving each request through all the steps on its own (docs/server.md,
    // "Batches"; we take it that each step's code and data stay in the core's caches, but this VM
    // has no counters to show it). An answer waits for the calls of its batch: tens of
    // microseconds each, or the length of a slow one (an RSA key generated in the call, which
    // holds every other connection of the process as long).
    let received: Received[] = [];
    /** Queues a request read whole; the first of a turn schedules the batch. */
    const enqueue = (r: Received) => {
      received.push(r);
      if (received.length === 1) setImmediate(serveBatch);
    };
    const serveBatch = () => {
      const batch = received;
      received = [];
      const steps = batch.map(prepare);
      const answers: Answer[] = [];
      const heldRecord: boolean[] = [];
      try {
        // The batch's durable records (every call but a successful read-only one) are committed
        // together, once, before any of its answers is sent: an answer still means its record is
        // on disk, at one commit a batch instead of one a call.
        app.trail.groupCommit(() => {
          for (const step of steps) {
            const held = app.trail.durableHeld;
            answers.push('service' in step ? perform(step) : step);
            heldRecord.push(app.trail.durableHeld > held);
          }
        });
      } catch (err) {
        // The commit failed (logged once): a call whose record it held fails as a call whose
        // record cannot be written does, and a call the group never reached (nothing should
        // throw before the commit) fails the same way rather than go unanswered.
        log.error(`trail commit of a batch of ${batch.length}: ${(err as Error)?.stack ?? String(err)}`);
        for (let i = 0; i < batch.length; i++) {
          const step = steps[i]!;
          if (answers[i] === undefined && !('service' in step)) answers[i] = step; // refused before any call: no record held
          else if (answers[i] === undefined || heldRecord[i]) answers[i] = unrecorded(answers[i] ?? step, batch[i]!.requestId);
        }
      }
      for (let i = 0; i < batch.length; i++) send(batch[i]!, answers[i]!);
    };

    const keepAliveTimeoutMs = opts.keepAliveTimeoutMs ?? 5_000;
    server = createServer(
      {
        keepAlive: true,
        headersTimeout: opts.headersTimeoutMs ?? 10_000,
        requestTimeout: opts.requestTimeoutMs ?? 30_000,
        // How often those two timeouts are checked.
        connectionsCheckingInterval: Math.min(1000, opts.headersTimeoutMs ?? 1000),
        keepAliveTimeout: keepAliveTimeoutMs,
      },
      onRequest,
    );
    // Each new connection starts lean; node:http's own connection listener takes the ones handed
    // to it. Its server still listens, so its timeouts and connection tracking run as ever.
    const lean = new Set<LeanConnection>();
    if (opts.leanConnections !== false) {
      const nodeListeners = server.listeners('connection');
      if (nodeListeners.length !== 1) throw new Error(`node:http's server has ${nodeListeners.length} connection listeners, expected its one`);
      const nodeConnection = nodeListeners[0] as (socket: Socket) => void;
      const http = server;
      http.removeListener('connection', nodeConnection);
      const hooks = { bodyLimit: limit, keepAliveTimeoutMs, onRequest: onWholeRequest, handOff: (socket: Socket) => {
          wire.handedToNodeHttp++;
          nodeConnection.call(http, socket);
        },
      };
      http.on('connection', (socket: Socket) => new LeanConnection(socket, hooks, lean));
    }
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      // Malformed HTTP, oversized headers, timed-out requests: answer if the socket still listens.
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      log.error(`client ${sourceIp(socket)}: ${err.code ?? err.message} → ${status}`);
      if (socket.writable && err.code !== 'ECONNRESET') {
        socket.end(`HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      }
      socket.destroy();
    });

    const listening = server;
    await new Promise<void>((resolve, reject) => {
      listening.once('error', (err: NodeJS.ErrnoException) => reject(listenError(err, opts.host ?? DEFAULT_HOST, opts.port ?? DEFAULT_PORT)));
      listening.listen(opts.port ?? DEFAULT_PORT, opts.host ?? DEFAULT_HOST, () => resolve());
    });
    const address = listening.address();
    if (!address || typeof address === 'string') throw new Error('server has no TCP address');
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

    let closed: Promise<void> | undefined;
    return {
      url: `http://${host}:${address.port}`,
      host: address.address,
      port: address.port,
      app,
      wire,
      close() {
        closed ??= (async () => {
          closing = true;
          await new Promise<void>((resolve) => {
            listening.close(() => resolve());
            listening.closeIdleConnections();
            for (const connection of lean) connection.close();
            // Keep-alive clients that never send again are cut after a grace period.
            setTimeout(() => {
              listening.closeAllConnections();
              for (const connection of lean) connection.socket.destroy();
            }, 2000).unref();
          });
          try {
            // A request read before its connection went away may still wait for its batch: a
            // request that was read is served (and recorded) before the store closes.
            if (received.length) serveBatch();
            log.close();
            app.trail.flush();
          } finally {
            releaseSpares?.();
            app.close();
          }
        })();
        return closed;
      },
    };
  } catch (err) {
    server?.close();
    requestLog?.close();
    releaseSpares?.();
    app.close();
    throw err;
  }
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** CloudTrail records IPv4 callers as dotted quads, not as IPv4-mapped IPv6. */
export function sourceIp(socket: Socket): string {
  const a = socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/** A listen failure that is the caller's choice of --host or --port, in words; anything else as it came. */
function listenError(err: NodeJS.ErrnoException, host: string, port: number): Error {
  switch (err.code) {
    case 'EADDRINUSE': return new UserError(`${host}:${port} is already in use (try --port)`);
    case 'EADDRNOTAVAIL': return new UserError(`${host} is not an address of this machine (try --host 127.0.0.1)`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN': return new UserError(`--host ${host}: no such host or address`);
    case 'EACCES': return new UserError(`${host}:${port}: permission denied (ports below 1024 need root)`);
    default: return err;
  }
}
