// `ebsim explain VOLUME-ID`: the envelope of a volume, link by link (src/envelope). A diagram by
// default; with --output json (or text/table) the same facts as data. A pure read: no trail record.
import type { Argv } from 'yargs';
import { explainVolume, renderEnvelope } from '../../envelope/index.js';
import { AwsError } from '../../errors/index.js';
import type { Runtime } from '../runtime.js';

export function explainCommand(y: Argv, rt: () => Runtime) {
  return y.command(
    'explain <volume-id>',
    'Show the envelope of a volume: CMK → encrypted data key → grant → host → image, each broken link with its consequence and the trail record that broke it',
    (o) =>
      o
        .positional('volume-id', { type: 'string', demandOption: true })
        .example('$0 explain vol-0123456789abcdef0', 'the chain as a diagram')
        .example('$0 explain vol-0123456789abcdef0 --output json --query Broken', 'only the broken links, as JSON'),
    async (a) => {
      const r = rt();
      const envelope = await explainVolume(r.open(), a['volume-id'], { accountId: r.args.account }).catch((err: unknown) => {
        // explain is no AWS operation: a volume that does not exist is DescribeVolumes' answer.
        if (err instanceof AwsError && !err.operation) err.operation = 'DescribeVolumes';
        throw err;
      });
      if (r.args.output === undefined && r.args.query === undefined) r.io.out(renderEnvelope(envelope));
      else r.print(envelope);
    },
  );
}
