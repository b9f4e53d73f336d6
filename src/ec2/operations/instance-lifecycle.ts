// StopInstances, StartInstances, RebootInstances: the lifecycle of an instance that exists.
import { declareOperation } from '../../api/index.js';
import { ids, itemSet, type Ec2Actions } from './requests.js';

const op = declareOperation<Ec2Actions, undefined>;
const instanceIds = { ...ids('instance IDs'), required: true };

export const INSTANCE_LIFECYCLE_OPERATIONS = [
  op({
    name: 'StopInstances',
    description: 'Stop instances: their grants are retired and the host lets go of their data keys; refused while a volume is mounted, unless --force (the CLI unmounts it first)',
    readOnly: false,
    input: { InstanceIds: instanceIds, Force: { kind: 'boolean', doc: 'unmount the instance\'s mounted volumes first (the ebsim CLI does; AWS: stop without flushing)' } },
    ext: undefined,
    // The CloudTrail user guide's StopInstances record logs force, false when not given.
    requestParameters: (p) => ({ instancesSet: itemSet(p.InstanceIds, 'instanceId'), force: p.Force === true }),
    run: (ctx, input, { env }) => env.stopInstances(ctx, { InstanceIds: input.InstanceIds as string[], Force: input.Force as boolean | undefined }),
  }),
  op({
    name: 'StartInstances',
    description: 'Start stopped instances: a grant and a Decrypt as the instance\'s role for each encrypted volume, with the caller\'s permissions; without them the instance goes back to stopped (StateReason)',
    readOnly: false,
    input: { InstanceIds: instanceIds },
    ext: undefined,
    requestParameters: (p) => ({ instancesSet: itemSet(p.InstanceIds, 'instanceId') }),
    run: (ctx, input, { env }) => env.startInstances(ctx, input.InstanceIds as string[]),
  }),
  op({
    name: 'RebootInstances',
    description: 'Reboot running instances: the host keeps their data keys, so no KMS call',
    readOnly: false,
    input: { InstanceIds: instanceIds },
    ext: undefined,
    requestParameters: (p) => ({ instancesSet: itemSet(p.InstanceIds, 'instanceId') }),
    run: (ctx, input, { env }) => env.rebootInstances(ctx, input.InstanceIds as string[]),
  }),
] as const;
