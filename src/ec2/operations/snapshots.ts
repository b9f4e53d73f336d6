// CreateSnapshot, DescribeSnapshots, CopySnapshot.
import { declareOperation } from '../../api/index.js';
import { defined, ids, itemSet, str, volumeId, type CopySnapshotRequest, type Ec2Actions } from './requests.js';

const op = declareOperation<Ec2Actions, undefined>;

export const SNAPSHOT_OPERATIONS = [
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
