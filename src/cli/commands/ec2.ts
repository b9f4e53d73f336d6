// `ebsim ec2 …`: the declared EC2/EBS operations with the AWS CLI's names, flags and output shapes.
import type { Argv } from 'yargs';
import { EC2_OPERATIONS, type StopInstancesRequest } from '../../ec2/operations/index.js';
import { UserError } from '../../errors/index.js';
import { declaredCommands } from '../declared-commands.js';
import type { Runtime } from '../runtime.js';

export function ec2Command(y: Argv, rt: () => Runtime) {
  return y.command('ec2', 'The EC2/EBS control plane (instances, encrypted volumes, snapshots)', (c) =>
    declaredCommands(c, EC2_OPERATIONS, rt, (r, operation, params) => {
      const ctx = r.caller();
      const ec2 = r.open().ec2(ctx.principal.accountId);
      // KMS has every Region; EC2/EBS is modelled in the account's own Region only.
      if (ctx.region !== ec2.region) throw new UserError(`--region ${ctx.region}: ebsim models EC2 and EBS in the account's own Region (${ec2.region}) only`);
      // A forced stop unmounts the instance's mounted volumes: the host's part (src/host).
      if (operation === 'StopInstances' && params.Force === true) return r.open().host().stopInstances(ctx, params as unknown as StopInstancesRequest);
      return ec2.call(ctx, operation, params);
    }).demandCommand(1, 'Name an ec2 command (see --help)'),
  );
}
