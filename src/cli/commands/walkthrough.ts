import type { Argv } from 'yargs';
import { runWalkthrough } from '../../walkthrough/walkthrough.js';
import { UserError } from '../../errors/index.js';
import type { Runtime } from '../runtime.js';

export function walkthroughCommand(y: Argv, rt: () => Runtime) {
  return y.command(
    'walkthrough',
    'Replay the KMS guide\'s "Amazon EC2 example two" step by step, with each CloudTrail record beside the seed\'s',
    (o) => o.option('step', { type: 'boolean', default: false, describe: 'wait for Enter between steps (on a TTY)' }),
    async (a) => {
      const r = rt();
      const result = await runWalkthrough({ home: r.args.home, step: a.step, out: (t) => r.io.out(t) });
      if (result.failures.length) throw new UserError(`walkthrough: ${result.failures.length} step(s) did not behave as taught`);
    },
  );
}
