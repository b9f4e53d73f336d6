// What the EC2 operations take, what the control plane does for each (`Ec2Actions`), and the
// pieces of EC2's CloudTrail shapes the declarations share.
import type { Members, Outcome } from '../../api/index.js';
import type { CallContext } from '../../core/call-context.js';

export interface BlockDeviceMapping {
  DeviceName: string;
  Ebs?: { VolumeSize?: number; Encrypted?: boolean; DeleteOnTermination?: boolean; VolumeType?: string; KmsKeyId?: string; SnapshotId?: string };
}

export interface RunInstancesRequest {
  ImageId: string;
  InstanceType: string;
  BlockDeviceMappings?: BlockDeviceMapping[];
  ClientToken?: string;
  /** The instance's Availability Zone (default: the Region's first, `<region>a`). */
  Placement?: { AvailabilityZone?: string };
}

export interface StopInstancesRequest {
  InstanceIds: string[];
  /** AWS: stop without letting the OS flush. ebsim: the ebsim CLI unmounts the instance's mounted volumes first (src/host). */
  Force?: boolean;
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

export interface DetachVolumeRequest {
  VolumeId: string;
  /** AWS: detach without waiting for the OS. ebsim: the ebsim CLI unmounts the volume first (src/host). */
  Force?: boolean;
}

export interface ModifyVolumeRequest {
  VolumeId: string;
  /** GiB; only growing is modelled. */
  Size?: number;
}

export interface CopySnapshotRequest {
  SourceSnapshotId: string;
  /** The Region holding the source (default: the Region called). */
  SourceRegion?: string;
  /** Must name the Region called, where the copy is made (AWS uses it only to presign). */
  DestinationRegion?: string;
  KmsKeyId?: string;
  Encrypted?: boolean;
  Description?: string;
}

/** One entry of a snapshot's createVolumePermission: an account, or the group "all". */
export interface CreateVolumePermission {
  UserId?: string;
  Group?: string;
}

export interface ModifySnapshotAttributeRequest {
  SnapshotId: string;
  /** Only createVolumePermission can be modified. */
  Attribute?: string;
  CreateVolumePermission?: { Add?: CreateVolumePermission[]; Remove?: CreateVolumePermission[] };
  /** The older form: account IDs and groups with OperationType add or remove. */
  UserIds?: string[];
  GroupNames?: string[];
  OperationType?: string;
}

/** What the control plane does for each operation. */
export interface Ec2Actions {
  runInstances(ctx: CallContext, req: RunInstancesRequest): Outcome;
  describeInstances(ctx: CallContext, ids: string[]): Outcome;
  terminateInstances(ctx: CallContext, ids: string[]): Outcome;
  stopInstances(ctx: CallContext, req: StopInstancesRequest): Outcome;
  startInstances(ctx: CallContext, ids: string[]): Outcome;
  rebootInstances(ctx: CallContext, ids: string[]): Outcome;
  createVolume(ctx: CallContext, req: CreateVolumeRequest): Outcome;
  describeVolumes(ctx: CallContext, ids: string[]): Outcome;
  attachVolume(ctx: CallContext, req: AttachVolumeRequest): Outcome;
  detachVolume(ctx: CallContext, req: DetachVolumeRequest): Outcome;
  modifyVolume(ctx: CallContext, req: ModifyVolumeRequest): Outcome;
  deleteVolume(ctx: CallContext, req: { VolumeId: string }): Outcome;
  createSnapshot(ctx: CallContext, req: { VolumeId: string; Description?: string }): Outcome;
  describeSnapshots(ctx: CallContext, ids: string[]): Outcome;
  copySnapshot(ctx: CallContext, req: CopySnapshotRequest): Outcome;
  deleteSnapshot(ctx: CallContext, req: { SnapshotId: string }): Outcome;
  modifySnapshotAttribute(ctx: CallContext, req: ModifySnapshotAttributeRequest): Outcome;
  describeSnapshotAttribute(ctx: CallContext, req: { SnapshotId: string; Attribute: string }): Outcome;
  resetSnapshotAttribute(ctx: CallContext, req: { SnapshotId: string; Attribute: string }): Outcome;
  enableEbsEncryptionByDefault(ctx: CallContext): Outcome;
  disableEbsEncryptionByDefault(ctx: CallContext): Outcome;
  getEbsEncryptionByDefault(ctx: CallContext): Outcome;
  getEbsDefaultKmsKeyId(ctx: CallContext): Outcome;
  modifyEbsDefaultKmsKeyId(ctx: CallContext, keyId: string): Outcome;
  resetEbsDefaultKmsKeyId(ctx: CallContext): Outcome;
}

export const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
export const idList = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
/** EC2's "…Set": {items: [{key: id}, …]}. */
export const itemSet = (ids: unknown, key: string) => ({ items: idList(ids).map((id) => ({ [key]: id })) });
export const defined = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

export const ids = (doc: string): Members[string] => ({ kind: 'list', member: { kind: 'string' }, doc });
export const volumeId = { kind: 'string', required: true } as const;

export const ebs: Members = {
  VolumeSize: { kind: 'integer', doc: 'GiB' },
  Encrypted: { kind: 'boolean' },
  DeleteOnTermination: { kind: 'boolean' },
  VolumeType: { kind: 'string' },
  KmsKeyId: { kind: 'string' },
  SnapshotId: { kind: 'string' },
};

/** The zone a RunInstances request's Placement names, if it names one. */
function zoneAsked(placement: unknown): string | undefined {
  return placement && typeof placement === 'object' ? str((placement as Record<string, unknown>).AvailabilityZone) : undefined;
}

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
    placement: zoneAsked(p.Placement) === undefined ? undefined : { availabilityZone: zoneAsked(p.Placement) },
  });
}
