// CreateVolume, DescribeVolumes, AttachVolume, DetachVolume, DeleteVolume.
import { declareOperation } from '../../api/index.js';
import { defined, ids, itemSet, str, volumeId, type AttachVolumeRequest, type CreateVolumeRequest, type DetachVolumeRequest, type Ec2Actions } from './requests.js';

const op = declareOperation<Ec2Actions, undefined>;

export const VOLUME_OPERATIONS = [
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
    description: 'Detach a volume (EC2 retires its grant); refused while it is mounted, unless --force (the CLI unmounts it first)',
    readOnly: false,
    input: { VolumeId: volumeId, Force: { kind: 'boolean', doc: 'unmount the volume first if it is mounted (the ebsim CLI does; AWS: detach without waiting for the OS)' } },
    ext: undefined,
    requestParameters: (p) => defined({ volumeId: str(p.VolumeId), force: p.Force === true }),
    run: (ctx, input, { env }) => env.detachVolume(ctx, input as unknown as DetachVolumeRequest),
  }),
  op({
    name: 'ModifyVolume',
    description: 'Grow a volume (--size GiB): its image grows sparse, the data key stays; grow the file system yourself (resize2fs)',
    readOnly: false,
    input: { VolumeId: volumeId, Size: { kind: 'integer', doc: 'the new size in GiB, larger than the current one' } },
    ext: undefined,
    requestParameters: (p) => ({ ModifyVolumeRequest: defined({ VolumeId: str(p.VolumeId), Size: typeof p.Size === 'number' ? p.Size : undefined }) }),
    run: (ctx, input, { env }) => env.modifyVolume(ctx, { VolumeId: input.VolumeId as string, Size: input.Size as number | undefined }),
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
] as const;
