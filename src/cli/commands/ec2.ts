// `ebsim ec2 …`: the EC2/EBS control plane with the AWS CLI's names and output shapes.
import type { Argv } from 'yargs';
import { readFileSync } from 'node:fs';
import { UserError } from '../../errors/index.js';
import type { BlockDeviceMapping } from '../../ec2/service.js';
import type { Runtime } from '../runtime.js';

function parseMappings(text: string | undefined): BlockDeviceMapping[] | undefined {
  if (text === undefined) return undefined;
  const raw = text.startsWith('file://') ? readFileSync(text.slice(7), 'utf8') : text;
  try {
    const v = JSON.parse(raw) as BlockDeviceMapping[];
    if (!Array.isArray(v)) throw new Error('not a list');
    return v;
  } catch (err) {
    throw new UserError(`--block-device-mappings: expected a JSON list like [{"DeviceName":"/dev/sdb","Ebs":{"VolumeSize":8,"Encrypted":true}}] (${(err as Error).message})`);
  }
}

const ids = (v: unknown) => ((v as string[] | undefined) ?? []).flatMap((x) => String(x).split(',')).filter(Boolean);

export function ec2Command(y: Argv, rt: () => Runtime) {
  return y.command('ec2', 'The EC2/EBS control plane (instances, encrypted volumes, snapshots)', (c) =>
    c
      .command(
        'run-instances',
        'Launch an instance; an "Ebs": {"Encrypted": true} mapping creates and attaches an encrypted volume, as in the seed',
        (o) =>
          o
            .option('image-id', { type: 'string', demandOption: true })
            .option('instance-type', { type: 'string', demandOption: true })
            .option('block-device-mappings', { type: 'string', describe: 'JSON list, or file://PATH' })
            .option('client-token', { type: 'string' }),
        (a) => {
          const r = rt();
          r.print(r.open().ec2().runInstances(r.caller(), { ImageId: a['image-id'], InstanceType: a['instance-type'], BlockDeviceMappings: parseMappings(a['block-device-mappings']), ClientToken: a['client-token'] }));
        },
      )
      .command('describe-instances', 'Describe instances', (o) => o.option('instance-ids', { type: 'array', string: true }), (a) => {
        const r = rt();
        r.print(r.open().ec2().describeInstances(r.caller(), ids(a['instance-ids'])));
      })
      .command('terminate-instances', 'Terminate instances (their volumes\' grants are retired)', (o) => o.option('instance-ids', { type: 'array', string: true, demandOption: true }), (a) => {
        const r = rt();
        r.print(r.open().ec2().terminateInstances(r.caller(), ids(a['instance-ids'])));
      })
      .command(
        'create-volume',
        'Create a volume (encrypted: a 64-byte data key from GenerateDataKeyWithoutPlaintext)',
        (o) =>
          o
            .option('size', { type: 'number', describe: 'GiB' })
            .option('encrypted', { type: 'boolean' })
            .option('kms-key-id', { type: 'string', describe: 'default alias/aws/ebs' })
            .option('snapshot-id', { type: 'string' })
            .option('availability-zone', { type: 'string' })
            .option('volume-type', { type: 'string' }),
        (a) => {
          const r = rt();
          r.print(r.open().ec2().createVolume(r.caller(), { Size: a.size, Encrypted: a.encrypted, KmsKeyId: a['kms-key-id'], SnapshotId: a['snapshot-id'], AvailabilityZone: a['availability-zone'], VolumeType: a['volume-type'] }));
        },
      )
      .command('describe-volumes', 'Describe volumes', (o) => o.option('volume-ids', { type: 'array', string: true }), (a) => {
        const r = rt();
        r.print(r.open().ec2().describeVolumes(r.caller(), ids(a['volume-ids'])));
      })
      .command(
        'attach-volume',
        'Attach a volume (encrypted: CreateGrant to the instance\'s role, then the host\'s Decrypt)',
        (o) => o.option('volume-id', { type: 'string', demandOption: true }).option('instance-id', { type: 'string', demandOption: true }).option('device', { type: 'string', demandOption: true }),
        (a) => {
          const r = rt();
          r.print(r.open().ec2().attachVolume(r.caller(), { VolumeId: a['volume-id'], InstanceId: a['instance-id'], Device: a.device }));
        },
      )
      .command('detach-volume', 'Detach a volume (the grant stays)', (o) => o.option('volume-id', { type: 'string', demandOption: true }), (a) => {
        const r = rt();
        r.print(r.open().ec2().detachVolume(r.caller(), { VolumeId: a['volume-id'] }));
      })
      .command('delete-volume', 'Delete a volume and its backing image (the grant is retired)', (o) => o.option('volume-id', { type: 'string', demandOption: true }), (a) => {
        const r = rt();
        r.print(r.open().ec2().deleteVolume(r.caller(), { VolumeId: a['volume-id'] }));
      })
      .command('create-snapshot', 'Snapshot a volume', (o) => o.option('volume-id', { type: 'string', demandOption: true }).option('description', { type: 'string' }), (a) => {
        const r = rt();
        r.print(r.open().ec2().createSnapshot(r.caller(), { VolumeId: a['volume-id'], Description: a.description }));
      })
      .command('describe-snapshots', 'Describe snapshots', (o) => o.option('snapshot-ids', { type: 'array', string: true }), (a) => {
        const r = rt();
        r.print(r.open().ec2().describeSnapshots(r.caller(), ids(a['snapshot-ids'])));
      })
      .command(
        'copy-snapshot',
        'Copy a snapshot; --kms-key-id re-encrypts its data key under another CMK (ReEncrypt)',
        (o) => o.option('source-snapshot-id', { type: 'string', demandOption: true }).option('source-region', { type: 'string' }).option('kms-key-id', { type: 'string' }).option('encrypted', { type: 'boolean' }).option('description', { type: 'string' }),
        (a) => {
          const r = rt();
          r.print(r.open().ec2().copySnapshot(r.caller(), { SourceSnapshotId: a['source-snapshot-id'], KmsKeyId: a['kms-key-id'], Description: a.description }));
        },
      )
      .demandCommand(1, 'Name an ec2 command (see --help)'),
  );
}
