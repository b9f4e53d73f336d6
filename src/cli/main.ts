// `ebsim`: the command line. Each domain has its own command module; this file wires them,
// and is the one place that turns errors into messages and exit codes:
//   0 success · 254 an AWS error from the service (as the AWS CLI) · 252 bad usage · 1 anything else.
import yargs from 'yargs';
import { AwsError, UsageError } from '../errors/index.js';
import { homeFailure } from '../store/failure.js';
import { Runtime, type GlobalArgs, type Io } from './runtime.js';
import { registerCommands } from './commands/index.js';
import { ownExample } from './examples.js';

export const EXIT = { ok: 0, awsError: 254, usage: 252, failure: 1 } as const;

const stdio: Io = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : t + '\n'),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : t + '\n'),
  get columns() {
    return process.stdout.isTTY ? process.stdout.columns : undefined;
  },
};

export async function main(argv: string[], io: Io = stdio): Promise<number> {
  // `ebsim --version` is `ebsim version`: it names the XTS engine in use, not only the version.
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) argv = ['version'];
  let runtime: Runtime | undefined;
  const rt = () => runtime!;
  let operation = '';
  const parser = yargs(argv)
    .scriptName('ebsim')
    .usage('$0 <command> [options]\n\nAn envelope-encryption simulator: AWS KMS, IAM/STS, CloudTrail and EC2/EBS, with a real encrypted block device.')
    .option('home', { type: 'string', global: true, describe: 'ebsim home (default $EBSIM_HOME or ~/.ebsim)' })
    .option('as', { type: 'string', global: true, describe: 'act as an IAM user NAME or role/ROLE[/SESSION] (default Alice)' })
    .option('account', { type: 'string', global: true, describe: "act in this account of the home (12 digits; default the home's first account): --as names a principal of it" })
    .option('region', { type: 'string', global: true, describe: "call this AWS Region (a commercial Region: us-east-1, eu-west-1…; default the account's own): each Region has its own keys, aliases and grants" })
    .option('output', { type: 'string', global: true, choices: ['json', 'text', 'table'], describe: 'json (the default), text or table, as the AWS CLI prints them; `explain` draws a diagram unless given' })
    .option('query', { type: 'string', global: true, describe: 'print only this part of the response: a JMESPath expression, as the AWS CLI takes (KeyMetadata.Arn, Keys[].KeyId, Volumes[?State==`in-use`].VolumeId)' })
    .option('explain', { type: 'boolean', global: true, describe: 'show on stderr why each call was allowed or denied: every policy statement and grant, matched or not, and why (ebsim\'s extra; not in the trail)' })
    .middleware((a) => {
      operation = String(a._.slice(1, 2)[0] ?? a._[0] ?? '');
      runtime = new Runtime(a as GlobalArgs, io, operation ? pascal(operation) : '');
    })
    .strict()
    .demandCommand(1, 'Name a command (see --help)')
    .recommendCommands()
    .help()
    .version(false)
    .wrap(Math.min(120, process.stdout.columns || 100))
    .fail((msg, err) => {
      // yargs reports its own validation failures with a message; handler errors come as `err`.
      throw err ?? new UsageError(msg);
    });
  registerCommands(parser, rt);

  let code: number = EXIT.ok;
  try {
    let helpText = '';
    await parser.parseAsync(argv, {}, (err, _parsed, output) => {
      if (output) helpText = output;
      if (err) throw err;
    });
    if (helpText) {
      // ebsim's own commands end their help with an example too, as the declared ones do.
      const words = argv.filter((t) => !t.startsWith('-'));
      const example = ownExample(words.slice(0, 2)) ?? ownExample(words.slice(0, 1));
      const own = example && !helpText.includes('Example:') ? `\n\nExample: ${example.description}\n  ${example.command}` : '';
      io.out(helpText + own);
    }
  } catch (err) {
    code = report(err, operation, io, runtime?.home);
  }
  try {
    runtime?.close();
  } catch (err) {
    // Closing flushes the trail: on a full disk that fails too. Say so once, never as a trace.
    if (code === EXIT.ok) code = report(err, operation, io, runtime?.home);
  }
  return code;
}

function pascal(kebabName: string): string {
  return kebabName.split('-').map((w) => w[0]?.toUpperCase() + w.slice(1)).join('');
}

function report(thrown: unknown, operation: string, io: Io, home: string | undefined): number {
  // SQLite's and the file system's complaints about the home become one typed error.
  const err = (home !== undefined && homeFailure(thrown, home)) || thrown;
  if (err instanceof AwsError) {
    io.err(`\nAn error occurred (${err.code}) when calling the ${err.operation ?? pascal(operation)} operation: ${err.message}`);
    return EXIT.awsError;
  }
  const e = err as Error & { userError?: boolean; name?: string };
  if (e instanceof UsageError || e?.name === 'YError') {
    io.err(`ebsim: ${e.message}\nTry 'ebsim --help'.`);
    return EXIT.usage;
  }
  if (e?.userError) {
    io.err(`ebsim: ${e.message}`);
    return EXIT.failure;
  }
  const fsError = describeFsError(err);
  if (fsError) {
    io.err(`ebsim: ${fsError}`);
    return EXIT.failure;
  }
  io.err(`ebsim: internal error: ${e?.stack ?? String(err)}`);
  return EXIT.failure;
}

const FS_REASONS: Record<string, string> = Object.assign(Object.create(null) as Record<string, string>, {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a component of the path is not a directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EEXIST: 'it already exists',
  EIO: 'input/output error',
  EPIPE: 'the reader went away (broken pipe)',
  ENXIO: 'no such device or address',
  ELOOP: 'too many symbolic links',
  EFBIG: 'the file would be too large for its file system',
  EINVAL: 'invalid argument',
  ENAMETOOLONG: 'file name too long',
});

/** A file the user named could not be opened, read or written: say which, and why. */
function describeFsError(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException | null;
  if (typeof e?.code !== 'string' || typeof e.path !== 'string') return undefined;
  // A code without words here still names the file and the call, not a stack trace.
  return `cannot ${e.syscall ?? 'open'} ${e.path}: ${FS_REASONS[e.code] ?? e.code}`;
}
