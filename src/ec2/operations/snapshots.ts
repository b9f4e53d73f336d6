// CreateSnapshot, DescribeSnapshots, CopySnapshot, DeleteSnapshot, and the snapshot's attributes (sharing).
import { declareOperation } from '../../api/index.js';
import type { Member } from '../../api/index.js';
import { defined, ids, itemSet, str, volumeId, type CopySnapshotRequest, type Ec2Actions, type ModifySnapshotAttributeRequest } from './requests.js';

/** A list of createVolumePermission entries: {UserId} or {Group: "all"}. */
const PERMISSIONS: Member = { kind: 'list', member: { kind: 'structure', members: { UserId: { kind: 'string' }, Group: { kind: 'string', enum: ['all'] } } } };
const ATTRIBUTE = { kind: 'string', required: true, enum: ['productCodes', 'createVolumePermission'] } as const;

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
    description: 'Copy a snapshot, from this Region or another (--source-region, called in the destination); under another key (--encrypted --kms-key-id), from another Region, or from an unencrypted one (--encrypted), with a new data key and every written sector re-encrypted',
    readOnly: false,
    input: {
      SourceSnapshotId: { kind: 'string', required: true },
      SourceRegion: { kind: 'string', doc: 'the Region that holds the source snapshot (default: the Region called, --region, which is the destination)' },
      DestinationRegion: { kind: 'string', doc: 'the Region the copy is made in: must be the Region called (--region), as the AWS CLI sends it' },
      KmsKeyId: { kind: 'string', doc: 'the copy\'s KMS key, in the destination Region (needs --encrypted); default: the source\'s key, or for an unencrypted source or one of another Region the default KMS key' },
      Encrypted: { kind: 'boolean', doc: 'encrypt the copy of an unencrypted snapshot (copies of encrypted snapshots always are)' },
      Description: { kind: 'string' },
    },
    ext: undefined,
    requestParameters: (p) => defined({ sourceRegion: str(p.SourceRegion), destinationRegion: str(p.DestinationRegion), sourceSnapshotId: str(p.SourceSnapshotId), description: str(p.Description), encrypted: typeof p.Encrypted === 'boolean' ? p.Encrypted : undefined, kmsKeyId: str(p.KmsKeyId) }),
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
  op({
    name: 'ModifySnapshotAttribute',
    description: 'Share a snapshot with accounts (createVolumePermission add/remove); an encrypted one needs a customer managed key whose policy lets them use it',
    readOnly: false,
    input: {
      SnapshotId: { kind: 'string', required: true },
      Attribute: { kind: 'string', enum: ['productCodes', 'createVolumePermission'] },
      CreateVolumePermission: { kind: 'structure', members: { Add: PERMISSIONS, Remove: PERMISSIONS }, doc: 'JSON: {"Add":[{"UserId":"ACCOUNT"}]}, {"Add":[{"Group":"all"}]} or {"Remove":[…]}' },
      UserIds: ids('account IDs (with --operation-type)'),
      GroupNames: ids('groups: all (with --operation-type)'),
      OperationType: { kind: 'string', enum: ['add', 'remove'] },
    },
    ext: undefined,
    requestParameters: modifySnapshotAttributeParameters,
    run: (ctx, input, { env }) => env.modifySnapshotAttribute(ctx, input as unknown as ModifySnapshotAttributeRequest),
  }),
  op({
    name: 'DescribeSnapshotAttribute',
    description: 'The accounts (or group all) that may create volumes from a snapshot or copy it',
    readOnly: true,
    input: { SnapshotId: { kind: 'string', required: true }, Attribute: ATTRIBUTE },
    ext: undefined,
    requestParameters: (p) => defined({ snapshotId: str(p.SnapshotId), attribute: str(p.Attribute) }),
    run: (ctx, input, { env }) => env.describeSnapshotAttribute(ctx, { SnapshotId: input.SnapshotId as string, Attribute: input.Attribute as string }),
  }),
  op({
    name: 'ResetSnapshotAttribute',
    description: 'Share a snapshot with no account again (clears createVolumePermission)',
    readOnly: false,
    input: { SnapshotId: { kind: 'string', required: true }, Attribute: ATTRIBUTE },
    ext: undefined,
    requestParameters: (p) => defined({ snapshotId: str(p.SnapshotId), attribute: str(p.Attribute) }),
    run: (ctx, input, { env }) => env.resetSnapshotAttribute(ctx, { SnapshotId: input.SnapshotId as string, Attribute: input.Attribute as string }),
  }),
] as const;

/** CloudTrail's requestParameters for ModifySnapshotAttribute, in EC2's item-set shape, from the request as sent. */
function modifySnapshotAttributeParameters(p: Record<string, unknown>): Record<string, unknown> {
  const items = (list: unknown) => ({
    items: (Array.isArray(list) ? list : []).map((x: Record<string, unknown>) => (x && typeof x === 'object' ? (x.Group !== undefined ? { group: x.Group } : { userId: x.UserId }) : x)),
  });
  const cvp = (p.CreateVolumePermission ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = { snapshotId: p.SnapshotId };
  const perm: Record<string, unknown> = {};
  if (cvp.Add !== undefined) perm.add = items(cvp.Add);
  if (cvp.Remove !== undefined) perm.remove = items(cvp.Remove);
  const legacy = [...(Array.isArray(p.UserIds) ? p.UserIds.map((u) => ({ UserId: u })) : []), ...(Array.isArray(p.GroupNames) ? p.GroupNames.map((g) => ({ Group: g })) : [])];
  if (legacy.length) perm[p.OperationType === 'remove' ? 'remove' : 'add'] = items(legacy);
  if (Object.keys(perm).length) out.createVolumePermission = perm;
  out.attributeType = 'CREATE_VOLUME_PERMISSION';
  return out;
}
