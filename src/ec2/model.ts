// EC2 resources as stored, and their AWS API shapes.
export interface Instance {
  instanceId: string;
  reservationId: string;
  imageId: string;
  instanceType: string;
  state: InstanceStateName;
  availabilityZone: string;
  launchTime: Date;
  clientToken: string | null;
  rootDeviceName: string;
  /** Why the instance last changed state, when AWS says (a user's stop, a start that failed for its volumes' key). */
  stateReason: StateReason | null;
  /** AWS's StateTransitionReason: "User initiated (… GMT)" after a user's stop, else "". */
  stateTransitionReason: string;
}

export type InstanceStateName = 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';

/** AWS's StateReason: the code, and the message that repeats it ("Client.InternalError: Client error on launch"). */
export interface StateReason {
  code: string;
  message: string;
}

export interface Volume {
  volumeId: string;
  sizeGiB: number;
  volumeType: string;
  availabilityZone: string;
  state: VolumeStateName;
  encrypted: boolean;
  kmsKeyArn: string | null;
  encryptedDataKey: Buffer | null;
  snapshotId: string | null;
  sectorSize: number;
  createdAt: Date;
  instanceId: string | null;
  device: string | null;
  attachTime: Date | null;
  deleteOnTermination: boolean;
  grantId: string | null;
  /** Why a volume is in state `error` (ebsim's; AWS reports it as an event, not in DescribeVolumes). */
  stateMessage: string | null;
}

/** `creating` until its data key and image are made; `error` if that failed. */
export type VolumeStateName = 'creating' | 'available' | 'in-use' | 'deleting' | 'deleted' | 'error';

/** The placeholder volume ID of snapshots made by CopySnapshot ("an arbitrary volume ID that should not be used for any purpose"). */
export const COPIED_SNAPSHOT_VOLUME_ID = 'vol-ffffffff';

export interface Snapshot {
  snapshotId: string;
  volumeId: string;
  volumeSize: number;
  state: 'pending' | 'completed' | 'error';
  encrypted: boolean;
  kmsKeyArn: string | null;
  encryptedDataKey: Buffer | null;
  description: string;
  startTime: Date;
  /** Percent of the image copied (AWS's Progress). */
  progress: number;
  /** Why the snapshot is in state `error` (AWS's StateMessage). */
  stateMessage: string | null;
  /**
   * The `aws:ebs:id` its data key is bound to: the volume's ID for CreateSnapshot (the snapshot
   * shares the volume's data key), its own for CopySnapshot.
   */
  contextId: string;
  /** The volume (CreateSnapshot) or snapshot (CopySnapshot) it was made from. */
  sourceId: string | null;
  /** The account that owns it (as read from the store; absent on a snapshot being made: the caller's). */
  ownerId?: string;
}

/** The low byte of AWS's InstanceState.Code for each state name. */
export const INSTANCE_STATE_CODES: Readonly<Record<InstanceStateName, number>> = { pending: 0, running: 16, 'shutting-down': 32, terminated: 48, stopping: 64, stopped: 80 };

export function volumeShape(v: Volume): Record<string, unknown> {
  return {
    Attachments: v.instanceId
      ? [{ AttachTime: v.attachTime, Device: v.device, InstanceId: v.instanceId, State: 'attached', VolumeId: v.volumeId, DeleteOnTermination: v.deleteOnTermination }]
      : [],
    AvailabilityZone: v.availabilityZone,
    CreateTime: v.createdAt,
    Encrypted: v.encrypted,
    ...(v.kmsKeyArn ? { KmsKeyId: v.kmsKeyArn } : {}),
    Size: v.sizeGiB,
    SnapshotId: v.snapshotId ?? '',
    State: v.state,
    VolumeId: v.volumeId,
    VolumeType: v.volumeType,
  };
}

export function snapshotShape(s: Snapshot, ownerId: string): Record<string, unknown> {
  return {
    Description: s.description,
    Encrypted: s.encrypted,
    ...(s.kmsKeyArn ? { KmsKeyId: s.kmsKeyArn } : {}),
    OwnerId: s.ownerId ?? ownerId,
    Progress: `${s.progress}%`,
    SnapshotId: s.snapshotId,
    StartTime: s.startTime,
    State: s.state,
    ...(s.state === 'error' && s.stateMessage ? { StateMessage: s.stateMessage } : {}),
    VolumeId: s.volumeId,
    VolumeSize: s.volumeSize,
  };
}
