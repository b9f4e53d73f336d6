// `ebsim`: the command line. Each domain has its own command module; this file wires them,
// and is the one place that turns errors into messages and exit codes:
//   0 success · 254 an AWS error from the service (as the AWS CLI) · 252 bad usage · 1 anything else.
import yargs from 'yargs';
import { AwsError } from '../errors/index.js';
import { Runtime, type GlobalArgs, type Io } from './runtime.js';
import { initCommand } from './commands/init.js';
import { iamCommand, stsCommand } from './commands/iam.js';
import { kmsCommand } from './commands/kms.js';
import { trailCommand } from './commands/trail.js';
import { extraCommands } from './commands/extra.js';

class UsageError extends Error {
  override name = 'UsageError';
}

export const EXIT = { ok: 0, awsError: 254, usage: 252, failure: 1 } as const;

const stdio: Io = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : t + '\n'),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : t + '\n'),
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
    .option('output', { type: 'string', global: true, choices: ['json', 'text', 'table'], default: 'json' })
    .middleware((a) => {
      runtime = new Runtime(a as GlobalArgs, io);
      operation = String(a._.slice(1, 2)[0] ?? a._[0] ?? '');
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
  initCommand(parser, rt);
  iamCommand(parser, rt);
  stsCommand(parser, rt);
  kmsCommand(parser, rt);
  trailCommand(parser, rt);
  extraCommands(parser, rt);

  try {
    let helpText = '';
    await parser.parseAsync(argv, {}, (err, _parsed, output) => {
      if (output) helpText = output;
      if (err) throw err;
    });
    if (helpText) io.out(helpText);
    return EXIT.ok;
  } catch (err) {
    return report(err, operation, io);
  } finally {
    runtime?.close();
  }
}

function pascal(kebabName: string): string {
  return kebabName.split('-').map((w) => w[0]?.toUpperCase() + w.slice(1)).join('');
}

function report(err: unknown, operation: string, io: Io): number {
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
  io.err(`ebsim: internal error: ${e?.stack ?? String(err)}`);
  return EXIT.failure;
}
