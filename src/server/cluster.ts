// `ebsim serve --workers N`: N processes behind one port, so the endpoint uses every core. Node's
// cluster module (Node 20 has no SO_REUSEPORT): the primary holds the listening socket and hands
// each new connection to the next worker in turn; a keep-alive connection stays with its worker.
// The primary opens no store; each worker is a whole server (startServer) with its own SQLite
// connections to the home, which is already safe for many processes at once: WAL, a 30 s busy
// timeout, write transactions that take the lock up front (store/database.ts), the read caches
// revalidated on every call (store/read-cache.ts), and trail writers that index each other's rows
// (trail/postings.ts). A request is served, and recorded, by the one worker that read it.
// Worker 1 alone applies the trail's retention.
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { UserError } from '../errors/index.js';
import { startServer, type RunningServer, type ServerOptions } from './server.js';

/** What the primary tells a worker, and what a worker answers. */
type ToWorker = { type: 'stop' };
type FromWorker = { type: 'listening'; url: string; host: string; port: number } | { type: 'failed'; message: string; userError: boolean };

const INDEX_ENV = 'EBSIM_SERVE_WORKER';

/** At most this many processes: each is a whole server (a Node process with its own SQLite connections). */
export function maxWorkers(): number {
  return Math.max(16, 4 * availableParallelism());
}

export interface RunningCluster extends Pick<RunningServer, 'url' | 'host' | 'port' | 'close'> {
  /** The workers' process IDs now (a worker that died is replaced). */
  pids(): number[];
}

/**
 * In the primary: forks `workers` processes that run the same `ebsim serve` command line (they
 * see `cluster.isWorker` and call runClusterWorker), and resolves once all of them listen.
 * `workers` is checked once, by its only caller: `ebsim serve`'s --workers (1 to maxWorkers()),
 * whose command line the workers run; no library caller can start one (not in ./index.ts).
 */
export function startCluster(workers: number, log: (line: string) => void): Promise<RunningCluster> {
  const running = new Map<number, Worker>(); // by index, 1..workers
  let closing = false;
  let address: Extract<FromWorker, { type: 'listening' }> | undefined;

  /** Workers that said they listen: only they have their "stop" listener in place. */
  const listeningNow = new WeakSet<Worker>();
  const stop = (w: Worker) => {
    if (w.isConnected()) w.send({ type: 'stop' } satisfies ToWorker);
    else w.process.kill('SIGTERM');
  };

  return new Promise<RunningCluster>((resolve, reject) => {
    let started = 0;
    let failed = false;
    /** All workers listened once: the cluster is up, and a failure from now on is one worker's. */
    let up = false;
    const fail = (err: Error) => {
      if (up) {
        // A replacement that cannot start: the others keep serving (killing them would leave the
        // primary with nothing to serve and no word of why); it is not forked again.
        log(`${new Date().toISOString()} error ${err.message}\n`);
        return;
      }
      if (failed) return;
      failed = true;
      closing = true;
      for (const w of running.values()) w.process.kill('SIGTERM');
      reject(err);
    };
    const fork = (index: number) => {
      const worker = cluster.fork({ [INDEX_ENV]: String(index) });
      running.set(index, worker);
      let listening = false;
      let reported = false;
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'failed') {
          reported = true;
          const text = up ? `worker ${index} (pid ${worker.process.pid}) could not start: ${m.message}` : m.message;
          fail(m.userError ? new UserError(text) : new Error(text));
        }
        else if (m.type === 'listening' && !listening) {
          listening = true;
          listeningNow.add(worker);
          // Told to stop while it was starting (its "stop" would have found no listener yet).
          if (closing) return stop(worker);
          address ??= m;
          if (++started === workers && !failed) {
            up = true;
            resolve(handle);
          }
        }
      });
      worker.on('exit', (code, signal) => {
        if (running.get(index) === worker) running.delete(index);
        if (closing) return;
        if (!listening) {
          if (!reported) fail(new Error(`ebsim serve: worker ${index} exited before listening (${signal ?? `code ${code}`})`));
          if (up && running.size === 0) {
            // Nothing left to serve the port: the command ends, failed, rather than hang or exit quietly.
            log(`${new Date().toISOString()} error no worker left; stopping\n`);
            process.exitCode = 1;
          }
          return;
        }
        // A worker that dies while serving (a crash, the OOM killer) is replaced; its acknowledged
        // calls are in the trail already (durable records before the answer, read-only ones in its queue are lost with it).
        log(`${new Date().toISOString()} error worker ${index} (pid ${worker.process.pid}) exited (${signal ?? `code ${code}`}); starting another\n`);
        fork(index);
      });
    };
    const handle: RunningCluster = {
      get url() {
        return address!.url;
      },
      get host() {
        return address!.host;
      },
      get port() {
        return address!.port;
      },
      pids: () => [...running.values()].map((w) => w.process.pid!),
      close() {
        closing = true;
        const exits = [...running.values()].map(
          (w) =>
            new Promise<void>((done) => {
              if (w.isDead()) return done();
              w.once('exit', () => done());
              // One still starting is told when it says it listens.
              if (listeningNow.has(w)) stop(w);
            }),
        );
        return Promise.all(exits).then(() => undefined);
      },
    };
    for (let i = 1; i <= workers; i++) fork(i);
  });
}

/**
 * In a worker: serves until the primary says stop (or a SIGTERM/SIGINT reaches this process: a
 * Ctrl-C goes to the whole process group), then finishes its requests, commits its trail and exits.
 */
export async function runClusterWorker(opts: ServerOptions): Promise<void> {
  const index = Number(process.env[INDEX_ENV] ?? '1');
  // Listening for "stop" from the start: a worker that is still starting when told (a replacement,
  // a Ctrl-C at start-up) stops as soon as it has started.
  let stopAsked!: () => void;
  const stopped = new Promise<void>((resolve) => (stopAsked = resolve));
  const onMessage = (m: ToWorker) => m?.type === 'stop' && stopAsked();
  process.on('message', onMessage);
  process.on('SIGTERM', stopAsked);
  process.on('SIGINT', stopAsked);
  try {
    let server: RunningServer;
    try {
      server = await startServer({ ...opts, retention: index === 1, workerHeader: true });
    } catch (err) {
      const message = (err as Error).message ?? String(err);
      process.send!({ type: 'failed', message, userError: err instanceof UserError } satisfies FromWorker);
      process.exitCode = 1;
      return;
    }
    process.send!({ type: 'listening', url: server.url, host: server.host, port: server.port } satisfies FromWorker);
    await stopped;
    await server.close();
  } finally {
    process.off('message', onMessage);
    // The IPC channel would keep this process alive.
    cluster.worker?.disconnect();
  }
}

export function isClusterWorker(): boolean {
  return cluster.isWorker;
}
