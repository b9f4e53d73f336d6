// The EC2/EBS operations ebsim has, declared once: members (the CLI's flags), read-only, and
// CloudTrail's requestParameters in EC2's own shape (item sets, not the input's members). The
// control plane (service.ts) carries them out as `Ec2Actions`.
import { declareOperation, type Members, type Outcome, type ServiceDeclaration } from '../api/index.js';
import type { CallContext } from '../core/call-context.js';
import { InternalError, InvalidAction, type AwsError } from '../errors/index.js';

export interface BlockDeviceMapping {
  DeviceName: string;
  Ebs?: { VolumeSize?: number; Encrypted?: boolean; DeleteOnTermination?: boolean; VolumeType?: string; KmsKeyId?: string; SnapshotId?: string };
}

export interface RunInstancesRequest {
  ImageId: string;
  InstanceType: string;
  BlockDeviceMappings?: BlockDeviceMapping[];
  ClientToken?: string;
}

export interface CreateVolumeRequest {
  Size?: number;
  Encrypted?: boolean;
  KmsKeyId?: string;
  SnapshotId?: string;
  AvailabilityZone?: string;
  VolumeType?: string;
}

export interface AttachVolumeRequest {
  VolumeId: string;
  InstanceId: string;
  Device: string;
}

export interface CopySnapshotRequest {
  SourceSnapshotId: string;
  KmsKeyId?: string;
  Description?: string;
}

/** What the control plane does for each operation. */
export interface Ec2Actions {
  runInstances(ctx: CallContext, req: RunInstancesRequest): Outcome;
  describeInstances(ctx: CallContext, ids: string[]): Outcome;
  terminateInstances(ctx: CallContext, ids: string[]): Outcome;
  createVolume(ctx: CallContext, req: CreateVolumeRequest): Outcome;
  describeVolumes(ctx: CallContext, ids: string[]): Outcome;
  attachVolume(ctx: CallContext, req: AttachVolumeRequest): Outcome;
  detachVolume(ctx: CallContext, req: { VolumeId: string }): Outcome;
  deleteVolume(ctx: CallContext, req: { VolumeId: string }): Outcome;
  createSnapshot(ctx: CallContext, req: { VolumeId: string; Description?: string }): Outcome;
  describeSnapshots(ctx: CallContext, ids: string[]): Outcome;
  copySnapshot(ctx: CallContext, req: CopySnapshotRequest): Outcome;
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
const idList = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
/** EC2's "…Set": {items: [{key: id}, …]}. */
const itemSet = (ids: unknown, key: string) => ({ items: idList(ids).map((id) => ({ [key]: id })) });
const defined = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

const ids = (doc: string): Members[string] => ({ kind: 'list', member: { kind: 'string' }, doc });
const volumeId = { kind: 'string', required: true } as const;

const ebs: Members = {
  VolumeSize: { kind: 'integer', doc: 'GiB' },
  Encrypted: { kind: 'boolean' },
  DeleteOnTermination: { kind: 'boolean' },
  VolumeType: { kind: 'string' },
  KmsKeyId: { kind: 'string' },
  SnapshotId: { kind: 'string' },
};

/** RunInstances' requestParameters, as EC2 records them (the seed's shape), from the mappings as launched. */
export function runInstancesParameters(p: Record<string, unknown>, mappings: BlockDeviceMapping[], clientToken: string | undefined): Record<string, unknown> {
  return defined({
    instancesSet: { items: [{ imageId: str(p.ImageId), minCount: 1, maxCount: 1 }] },
    instanceType: str(p.InstanceType),
    blockDeviceMapping: {
      items: mappings.map((m) => ({
        deviceName: m.DeviceName,
        ebs: { volumeSize: m.Ebs?.VolumeSize ?? 8, deleteOnTermination: m.Ebs?.DeleteOnTermination ?? m.DeviceName === '/dev/xvda', volumeType: m.Ebs?.VolumeType ?? 'gp2', ...(m.Ebs?.Encrypted ? { encrypted: true } : {}) },
      })),
    },
    monitoring: { enabled: false },
    disableApiTermination: false,
    instanceInitiatedShutdownBehavior: 'stop',
    clientToken,
    ebsOptimized: false,
  });
}

const op = declareOperation<Ec2Actions, undefined>;

export const EC2_OPERATIONS = [
  op({
    name: 'RunInstances',
    description: 'Launch an instance; an "Ebs": {"Encrypted": true} mapping creates and attaches an encrypted volume, as in the seed',
    readOnly: false,
    input: {
      ImageId: { kind: 'string', required: true },
      InstanceType: { kind: 'string', required: true },
      BlockDeviceMappings: { kind: 'list', member: { kind: 'structure', members: { DeviceName: { kind: 'string', required: true }, Ebs: { kind: 'structure', members: ebs } } }, doc: 'JSON list, or file://PATH: [{"DeviceName":"/dev/sdb","Ebs":{"VolumeSize":8,"Encrypted":true}}]' },
      ClientToken: { kind: 'string' },
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
  op({
    name: 'CreateVolume',
    description: 'Create a volume (encrypted: a 64-byte data key from GenerateDataKeyWithoutPlaintext)',
    readOnly: false,
    input: {
      Size: { kind: 'integer', doc: 'GiB' },
      Encrypted: { kind: 'boolean' },
      KmsKeyId: { kind: 'string', doc: 'default alias/aws/ebs' },
      SnapshotId: { kind: 'string' },
      AvailabilityZone: { kind: 'string' },
      VolumeType: { kind: 'string' },
    },
    ext: undefined,
    requestParameters: (p) => defined({ size: p.Size, zone: str(p.AvailabilityZone), volumeType: str(p.VolumeType), encrypted: p.Encrypted, kmsKeyId: str(p.KmsKeyId), snapshotId: str(p.SnapshotId) }),
    run: (ctx, input, { env }) => env.createVolume(ctx, input as CreateVolumeRequest),
  }),
  op({
    name: 'DescribeVolumes',
    description: 'Describe volumes',
    readOnly: true,
    input: { VolumeIds: ids('volume IDs') },
    ext: undefined,
    requestParameters: (p) => ({ volumeSet: itemSet(p.VolumeIds, 'volumeId') }),
    run: (ctx, input, { env }) => env.describeVolumes(ctx, (input.VolumeIds as string[] | undefined) ?? []),
  }),
  op({
    name: 'AttachVolume',
    description: 'Attach a volume (encrypted: CreateGrant to the instance\'s role, then the host\'s Decrypt)',
    readOnly: false,
    input: { VolumeId: volumeId, InstanceId: { kind: 'string', required: true }, Device: { kind: 'string', required: true, doc: '/dev/sdf … /dev/sdz, /dev/xvda …' } },
    ext: undefined,
    requestParameters: (p) => defined({ volumeId: str(p.VolumeId), instanceId: str(p.InstanceId), device: str(p.Device) }),
    run: (ctx, input, { env }) => env.attachVolume(ctx, input as unknown as AttachVolumeRequest),
  }),
  op({
    name: 'DetachVolume',
    description: 'Detach a volume (the grant stays)',
    readOnly: false,
    input: { VolumeId: volumeId },
    ext: undefined,
    requestParameters: (p) => defined({ volumeId: str(p.VolumeId) }),
    run: (ctx, input, { env }) => env.detachVolume(ctx, { VolumeId: input.VolumeId as string }),
  }),
  op({
    name: 'DeleteVolume',
    description: 'Delete a volume and its backing image (the grant is retired)',
    readOnly: false,
    input: { VolumeId: volumeId },
    ext: undefined,
    requestParameters: (p) => defined({ volumeId: str(p.VolumeId) }),
    run: (ctx, input, { env }) => env.deleteVolume(ctx, { VolumeId: input.VolumeId as string }),
  }),
  op({
    name: 'CreateSnapshot',
    description: 'Snapshot a volume',
    readOnly: false,
    input: { VolumeId: volumeId, Description: { kind: 'string' } },
    ext: undefined,
    requestParameters: (p) => defined({ volumeId: str(p.VolumeId), description: str(p.Description) }),
    run: (ctx, input, { env }) => env.createSnapshot(ctx, { VolumeId: input.VolumeId as string, Description: input.Description as string | undefined }),
  }),
  op({
    name: 'DescribeSnapshots',
    description: 'Describe snapshots',
    readOnly: true,
    input: { SnapshotIds: ids('snapshot IDs') },
    ext: undefined,
    requestParameters: (p) => ({ snapshotSet: itemSet(p.SnapshotIds, 'snapshotId') }),
    run: (ctx, input, { env }) => env.describeSnapshots(ctx, (input.SnapshotIds as string[] | undefined) ?? []),
  }),
  op({
    name: 'CopySnapshot',
    description: 'Copy a snapshot; --kms-key-id re-encrypts its data key under another CMK (ReEncrypt)',
    readOnly: false,
    input: {
      SourceSnapshotId: { kind: 'string', required: true },
      SourceRegion: { kind: 'string' },
      KmsKeyId: { kind: 'string' },
      Encrypted: { kind: 'boolean' },
      Description: { kind: 'string' },
    },
    ext: undefined,
    requestParameters: (p) => defined({ sourceSnapshotId: str(p.SourceSnapshotId), kmsKeyId: str(p.KmsKeyId) }),
    run: (ctx, input, { env }) => env.copySnapshot(ctx, input as unknown as CopySnapshotRequest),
  }),
] as const;

export const EC2_SERVICE: ServiceDeclaration<Ec2Actions, undefined> = {
  name: 'ec2',
  eventSource: 'ec2.amazonaws.com',
  operations: EC2_OPERATIONS,
  unknownOperation: (name) => new InvalidAction(`The action ${name.slice(0, 100)} is not valid for this web service.`),
  internalError: (message) => new InternalError(message),
  // EC2 records the caller's errors as "Client.CODE" and its own as "Server.CODE".
  trailErrorCode: (e: AwsError) => `${e.status >= 500 ? 'Server' : 'Client'}.${e.code}`,
  omitFromRecords: ['readOnly', 'resources'],
};
