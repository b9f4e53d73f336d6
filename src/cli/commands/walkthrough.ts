import type { Argv } from 'yargs';
import { runWalkthrough } from '../../walkthrough/walkthrough.js';
import { UserError } from '../../errors/index.js';
import type { Runtime } from '../runtime.js';
import { LESSONS } from '../../walkthrough/lessons/index.js';

export function walkthroughCommand(y: Argv, rt: () => Runtime) {
  return y.command(
    'walkthrough',
    'Replay the KMS guide\'s "Amazon EC2 example two" step by step: why each step works as it does, its CloudTrail records, and checks on the real encrypted image',
    (o) =>
      o
        .option('step', { type: 'boolean', default: false, describe: 'wait for Enter after each step\'s explanation (on a TTY)' })
        .option('full', { type: 'boolean', default: false, describe: 'print every CloudTrail record as JSON, beside the seed\'s record of the same call' })
        .option('lesson', {
          type: 'string', array: true, choices: [...LESSONS.map((l) => l.name), 'all'],
          describe: `run these lessons on the EBS lifecycle instead of the seed (${LESSONS.map((l) => `${l.name}: ${l.summary}`).join('; ')})`,
        })
        .example('$0 walkthrough', 'the compact run (about 160 lines), in a temporary home')
        .example('$0 walkthrough --lesson stop-start', 'one lesson: a start without kms:CreateGrant fails as on AWS')
        .example('$0 walkthrough --full --home /tmp/w', 'every record as JSON, keeping the home to look around in'),
    async (a) => {
      const r = rt();
      const result = await runWalkthrough({ home: r.args.home, step: a.step, full: a.full, lessons: a.lesson, out: (t) => r.io.out(t) });
      if (result.failures.length) throw new UserError(`walkthrough: ${result.failures.length} step(s) did not behave as taught`);
    },
  );
}
