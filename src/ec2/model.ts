// EC2 resources as stored, and their AWS API shapes.
export interface Instance {
  instanceId: string;
  reservationId: string;
  imageId: string;
  instanceType: string;
  state: 'pending' | 'running' | 'shutting-down' | 'terminated';
  availabilityZone: string;
  launchTime: Date;
  clientToken: string | null;
  rootDeviceName: string;
}

export interface Volume {
  volumeId: string;
  sizeGiB: number;
  volumeType: string;
  availabilityZone: string;
  state: 'creating' | 'available' | 'in-use' | 'deleting' | 'deleted';
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
}

export interface Snapshot {
  snapshotId: string;
  volumeId: string;
  volumeSize: number;
  state: 'pending' | 'completed';
  encrypted: boolean;
  kmsKeyArn: string | null;
  encryptedDataKey: Buffer | null;
  description: string;
  startTime: Date;
}

export const INSTANCE_STATE_CODES = { pending: 0, running: 16, 'shutting-down': 32, terminated: 48 } as const;

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
    OwnerId: ownerId,
    Progress: '100%',
    SnapshotId: s.snapshotId,
    StartTime: s.startTime,
    State: s.state,
    VolumeId: s.volumeId,
    VolumeSize: s.volumeSize,
  };
}
