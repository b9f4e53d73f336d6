// RunInstances, DescribeInstances, TerminateInstances.
import { declareOperation } from '../../api/index.js';
import { ebs, ids, runInstancesParameters, str, itemSet, type BlockDeviceMapping, type Ec2Actions, type RunInstancesRequest } from './requests.js';

const op = declareOperation<Ec2Actions, undefined>;

export const INSTANCE_OPERATIONS = [
  op({
    name: 'RunInstances',
    description: 'Launch an instance; an "Ebs": {"Encrypted": true} mapping creates and attaches an encrypted volume, as in the seed',
    readOnly: false,
    input: {
      ImageId: { kind: 'string', required: true },
      InstanceType: { kind: 'string', required: true },
      BlockDeviceMappings: { kind: 'list', member: { kind: 'structure', members: { DeviceName: { kind: 'string', required: true }, Ebs: { kind: 'structure', members: ebs } } }, doc: 'JSON list, or file://PATH: [{"DeviceName":"/dev/sdb","Ebs":{"VolumeSize":8,"Encrypted":true}}]' },
      ClientToken: { kind: 'string' },
      Placement: { kind: 'structure', members: { AvailabilityZone: { kind: 'string' } }, doc: 'AvailabilityZone=ZONE: the zone of the instance and of the volumes it launches with (default: the Region\'s first zone, REGIONa)' },
    },
    ext: undefined,
    requestParameters: (p) => runInstancesParameters(p, Array.isArray(p.BlockDeviceMappings) ? (p.BlockDeviceMappings as BlockDeviceMapping[]).filter((m) => m && typeof m === 'object') : [], str(p.ClientToken)),
    run: (ctx, input, { env }) => env.runInstances(ctx, input as unknown as RunInstancesRequest),
  }),
  op({
    name: 'DescribeInstances',
    description: 'Describe instances',
    readOnly: true,
    input: { InstanceIds: ids('instance IDs') },
    ext: undefined,
    requestParameters: (p) => ({ instancesSet: itemSet(p.InstanceIds, 'instanceId') }),
    run: (ctx, input, { env }) => env.describeInstances(ctx, (input.InstanceIds as string[] | undefined) ?? []),
  }),
  op({
    name: 'TerminateInstances',
    description: 'Terminate instances (their volumes\' grants are retired)',
    readOnly: false,
    input: { InstanceIds: { ...ids('instance IDs'), required: true } },
    ext: undefined,
    requestParameters: (p) => ({ instancesSet: itemSet(p.InstanceIds, 'instanceId') }),
    run: (ctx, input, { env }) => env.terminateInstances(ctx, input.InstanceIds as string[]),
  }),
] as const;
