// CreateSnapshot, DescribeSnapshots, CopySnapshot.
import { declareOperation } from '../../api/index.js';
import { defined, ids, itemSet, str, volumeId, type CopySnapshotRequest, type Ec2Actions } from './requests.js';

const op = declareOperation<Ec2Actions, undefined>;

export const SNAPSHOT_OPERATIONS = [
  op({
    name: 'CreateSnapshot',
    description: 'Snapshot a volume: an encrypted volume\'s snapshot shares its data key (no KMS call); pending with Progress while its image is copied',
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
    description: 'Copy a snapshot; under another key (--encrypted --kms-key-id), or from an unencrypted one (--encrypted), with a new data key and every written sector re-encrypted',
    readOnly: false,
    input: {
      SourceSnapshotId: { kind: 'string', required: true },
      SourceRegion: { kind: 'string' },
      KmsKeyId: { kind: 'string', doc: 'the copy\'s KMS key (needs --encrypted); default: the source\'s key, or the default KMS key for an unencrypted source' },
      Encrypted: { kind: 'boolean', doc: 'encrypt the copy of an unencrypted snapshot (copies of encrypted snapshots always are)' },
      Description: { kind: 'string' },
    },
    ext: undefined,
    requestParameters: (p) => defined({ sourceRegion: str(p.SourceRegion), sourceSnapshotId: str(p.SourceSnapshotId), description: str(p.Description), encrypted: typeof p.Encrypted === 'boolean' ? p.Encrypted : undefined, kmsKeyId: str(p.KmsKeyId) }),
    run: (ctx, input, { env }) => env.copySnapshot(ctx, input as unknown as CopySnapshotRequest),
  }),
  op({
    name: 'DeleteSnapshot',
    description: 'Delete a snapshot and its image (no KMS call: a snapshot holds no grant)',
    readOnly: false,
    input: { SnapshotId: { kind: 'string', required: true } },
    ext: undefined,
    requestParameters: (p) => defined({ snapshotId: str(p.SnapshotId) }),
    run: (ctx, input, { env }) => env.deleteSnapshot(ctx, { SnapshotId: input.SnapshotId as string }),
  }),
] as const;
