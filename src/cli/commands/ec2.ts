// `ebsim ec2 …`: the declared EC2/EBS operations with the AWS CLI's names, flags and output shapes.
import type { Argv } from 'yargs';
import { EC2_OPERATIONS, type DetachVolumeRequest, type StopInstancesRequest } from '../../ec2/operations/index.js';
import type { Ec2Service } from '../../ec2/service.js';
import { declaredCommands } from '../declared-commands.js';
import { EC2_PAGINATORS } from '../pagination.js';
import { terminalProgress } from '../progress.js';
import type { Runtime } from '../runtime.js';

/** The operations that make an image after answering (copies that can take a while). */
const IMAGE_MAKERS = new Set(['CreateSnapshot', 'CopySnapshot', 'CreateVolume']);

export function ec2Command(y: Argv, rt: () => Runtime) {
  return y.command('ec2', 'The EC2/EBS control plane (instances, encrypted volumes, snapshots)', (c) =>
    declaredCommands(c, EC2_OPERATIONS, rt, (r, operation, params) => {
      const caller = r.caller();
      // EC2 of the caller's account in the Region called (--region; default: the account's own).
      const ec2 = r.open().ec2(caller.principal.accountId, caller.region);
      // A forced stop unmounts the instance's mounted volumes: the host's part (src/host).
      if (operation === 'StopInstances' && params.Force === true) return r.open().host().stopInstances(caller, params as unknown as StopInstancesRequest);
      // A forced detach unmounts the volume first, likewise.
      if (operation === 'DetachVolume' && params.Force === true) return r.open().host().detachVolume(caller, params as unknown as DetachVolumeRequest);
      if (!IMAGE_MAKERS.has(operation)) return ec2.call(caller, operation, params);
      // ebsim makes the image before answering: a bar on a terminal while it does (after a
      // moment, so quick copies draw nothing), and a note if it ended in `error`, which AWS
      // would report later (DescribeSnapshots' StateMessage, an EventBridge event for a volume).
      const bar = terminalProgress({ after: 300 });
      const ctx = bar.update ? { ...caller, progress: (p: { resourceId: string; done: number; total: number }) => bar.update!(p.done, p.total, p.resourceId) } : caller;
      let response: Record<string, unknown>;
      try {
        response = ec2.call(ctx, operation, params);
      } finally {
        bar.end();
      }
      const failed = failureOf(ec2, operation, response);
      if (failed) r.io.err(`ebsim: note: ${failed}`);
      return response;
    }, { service: 'ec2', paginators: EC2_PAGINATORS }).demandCommand(1, 'Name an ec2 command (see --help)'),
  );
}

/** Why the snapshot or volume the call made ended in `error`, if it did (read without a Describe record). */
function failureOf(ec2: Ec2Service, operation: string, response: Record<string, unknown>): string | undefined {
  if (operation === 'CreateVolume') {
    const v = ec2.volume(response.VolumeId as string);
    return v.state === 'error' ? `${v.volumeId} is in state error: ${v.stateMessage ?? 'no reason recorded'}` : undefined;
  }
  const s = ec2.snapshot(response.SnapshotId as string);
  return s.state === 'error' ? `${s.snapshotId} is in state error: ${s.stateMessage ?? 'no reason recorded'}` : undefined;
}
