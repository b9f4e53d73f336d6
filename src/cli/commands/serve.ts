// `ebsim serve`: the KMS, CloudTrail (LookupEvents) and STS (GetCallerIdentity) endpoint for
// the AWS CLI and SDKs, until SIGTERM or SIGINT.
import type { Argv } from 'yargs';
import { availableParallelism } from 'node:os';
import { startServer, DEFAULT_HOST, DEFAULT_PORT, type ServerOptions } from '../../server/index.js';
import { isClusterWorker, maxWorkers, runClusterWorker, startCluster } from '../../server/cluster.js';
import { integerFlag, optionalIntegerFlag } from '../integer-flag.js';
import { UsageError } from '../../errors/index.js';
import type { Runtime } from '../runtime.js';

export function serveCommand(y: Argv, rt: () => Runtime) {
  return y.command(
    'serve',
    'Serve KMS, CloudTrail LookupEvents and STS GetCallerIdentity over AWS\'s own HTTP protocols (SigV4), for the AWS CLI and SDKs',
    (o) =>
      o
        .option('host', { type: 'string', default: DEFAULT_HOST, describe: 'address to bind (loopback unless told otherwise); the console answers this name besides loopback ones' })
        .option('port', { type: 'string', default: String(DEFAULT_PORT), describe: 'TCP port (0: any free port)' })
        .option('accept-any-credentials', { type: 'boolean', default: false, describe: 'UNSAFE: unknown access keys (e.g. test/test) act as --as-user, signature unchecked' })
        .option('as-user', { type: 'string', describe: 'the IAM user unknown access keys act as (default Alice)' })
        .option('cors', { type: 'string', describe: 'allow browser SDKs on this one origin (e.g. http://localhost:3000): answer CORS preflights, add Access-Control-Allow-* headers; off by default' })
        .option('quiet', { type: 'boolean', default: false, describe: 'no per-request log lines' })
        .option('workers', { type: 'string', describe: 'processes serving the port (default: one per core); each response names its process in x-ebsim-worker' }),
    async (a) => {
      // Before anything listens or forks: Node's own refusal of a bad port is a RangeError with a
      // stack, and a typo such as --workers 10000 must not fork until memory runs out.
      const port = integerFlag('port', a.port, { min: 0, max: 65535 });
      const wanted = optionalIntegerFlag('workers', a.workers, { min: 1, max: maxWorkers(), unit: 'processes', why: '4 per core, at least 16' });
      // An empty --host would bind every interface: never by accident.
      if (a.host.trim() === '') throw new UsageError('--host must name an address (127.0.0.1 by default; 0.0.0.0 for every interface)');
      const r = rt();
      const options: ServerOptions = {
        home: r.home,
        host: a.host,
        port,
        acceptAnyCredentials: a['accept-any-credentials'],
        asUser: a['as-user'],
        cors: a.cors,
        log: a.quiet ? false : (line) => void process.stderr.write(line),
      };
      // A process of `--workers N` (the same command line, forked by the primary below).
      if (isClusterWorker()) return runClusterWorker(options);
      const workers = wanted ?? availableParallelism();
      const server = workers === 1 ? await startServer(options) : await startCluster(workers, (line) => process.stderr.write(line));
      if (a['accept-any-credentials']) {
        const user = a['as-user'] ?? 'Alice';
        r.io.err(
          `\n*** WARNING: --accept-any-credentials is on. ***\n` +
            `*** Requests signed with an access key ebsim does not know (such as test/test) are served as IAM user ${user}, ***\n` +
            `*** and their signatures are NOT checked. Anyone who can reach ${server.url} acts as ${user}. ***\n`,
        );
      }
      if (server.host !== '127.0.0.1' && server.host !== '::1') {
        r.io.err(`ebsim: note: listening on ${server.host}, reachable from other machines`);
      }
      // Handlers first, then the line clients wait for: a SIGTERM sent as soon as it appears must
      // find them in place (it once killed the process outright about one time in three).
      const stopped = new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          process.off('SIGTERM', onTerm);
          process.off('SIGINT', onInt);
          r.io.err(`ebsim: ${signal}: shutting down (finishing requests, committing the trail)`);
          server.close().then(resolve, resolve);
        };
        const onTerm = () => stop('SIGTERM');
        const onInt = () => stop('SIGINT');
        process.on('SIGTERM', onTerm);
        process.on('SIGINT', onInt);
      });
      if ('pids' in server) r.io.err(`ebsim: ${workers} worker processes (pids ${server.pids().join(', ')})`);
      r.io.out(`ebsim KMS endpoint listening on ${server.url}`);
      await stopped;
    },
  );
}
