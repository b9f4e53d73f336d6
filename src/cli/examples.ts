// One example per declared command for its --help, as the AWS CLI's help ends with examples: written
// out for the calls a learner makes first, made from the required members for the others.
import type { Member } from '../api/index.js';
import { kebab } from './input.js';

interface ExampleSource {
  name: string;
  description: string;
  input: Record<string, Member>;
}

export interface Example {
  command: string;
  description: string;
}

const KEY = '1234abcd-12ab-34cd-56ef-1234567890ab';
const VOLUME = 'vol-0123456789abcdef0';
const INSTANCE = 'i-0123456789abcdef0';
const SNAPSHOT = 'snap-0123456789abcdef0';

/** Written out: the calls of the envelope story, with the flags a learner needs first. */
const WRITTEN: Record<string, Example> = Object.assign(Object.create(null) as Record<string, Example>, {
  'ec2 RunInstances': {
    command: `ebsim ec2 run-instances --block-device-mappings '[{"DeviceName":"/dev/sdb","Ebs":{"VolumeSize":8,"Encrypted":true}}]' --image-id ami-0123456789abcdef0 --instance-type t3.micro`,
    description: 'an instance with an encrypted 8 GiB volume (the account\'s default key, aws/ebs, unless Ebs names KmsKeyId)',
  },
  'ec2 CreateVolume': { command: `ebsim ec2 create-volume --size 8 --encrypted --kms-key-id alias/my-key --availability-zone us-east-1a`, description: 'an encrypted volume under your own key' },
  'ec2 AttachVolume': { command: `ebsim ec2 attach-volume --volume-id ${VOLUME} --instance-id ${INSTANCE} --device /dev/sdf`, description: 'attach it: EC2 creates a grant for the instance\'s role' },
  'ec2 DescribeVolumes': { command: `ebsim ec2 describe-volumes --query 'Volumes[].{Id:VolumeId,State:State,Key:KmsKeyId}' --output table`, description: 'each volume with its state and its key' },
  'kms CreateKey': { command: `ebsim kms create-key --description 'volumes of team blue'`, description: 'a symmetric KMS key (a CMK): its material never leaves KMS' },
  'kms CreateAlias': { command: `ebsim kms create-alias --alias-name alias/my-key --target-key-id ${KEY}`, description: 'a friendly name for the key (prints nothing, as the AWS CLI)' },
  'kms Encrypt': { command: `ebsim kms encrypt --key-id alias/my-key --plaintext fileb://secret.txt --encryption-context team=blue --query CiphertextBlob --output text`, description: 'encrypt up to 4 KiB under the key, bound to a context' },
  'kms Decrypt': { command: `ebsim kms decrypt --ciphertext-blob fileb://secret.enc --encryption-context team=blue --query Plaintext --output text`, description: 'decrypt it (the same context, or InvalidCiphertextException)' },
  'kms GenerateDataKey': { command: `ebsim kms generate-data-key --key-id alias/my-key --key-spec AES_256 --encryption-context team=blue`, description: 'envelope encryption: a data key in plaintext and encrypted under the CMK' },
  'kms CreateGrant': { command: `ebsim kms create-grant --key-id alias/my-key --grantee-principal arn:aws:iam::123456789012:role/ec2-reader --operations Decrypt --constraints '{"EncryptionContextSubset":{"aws:ebs:id":"${VOLUME}"}}'`, description: 'let a role decrypt, for one volume\'s context only' },
  'kms ListGrants': { command: `ebsim kms list-grants --key-id alias/aws/ebs --query 'Grants[].[GranteePrincipal,Operations[0]]' --output text`, description: 'who may use the key, and for what' },
  'iam CreateRole': { command: `ebsim iam create-role --role-name ec2-reader --assume-role-policy-document file://trust.json`, description: 'a role others may assume (trust.json names who)' },
  'sts AssumeRole': { command: `ebsim sts assume-role --role-arn arn:aws:iam::123456789012:role/ec2-reader --role-session-name demo`, description: 'temporary credentials as the role' },
});

/** A plausible value for a required member, by its name and kind. */
function valueFor(name: string, m: Member): string {
  if (m.kind === 'string' && m.enum?.length) return m.enum[0]!;
  if (/^(TargetKeyId)$/.test(name)) return KEY;
  if (/KeyId$/.test(name)) return 'alias/my-key';
  if (name === 'AliasName') return 'alias/my-key';
  if (name === 'VolumeId') return VOLUME;
  if (name === 'InstanceId') return INSTANCE;
  if (/SnapshotId$/.test(name)) return SNAPSHOT;
  if (name === 'InstanceIds') return INSTANCE;
  if (name === 'Device') return '/dev/sdf';
  if (/Policy(Document)?$/.test(name) || name === 'AssumeRolePolicyDocument') return 'file://policy.json';
  if (name === 'PolicyInputList') return 'file://policy.json';
  if (name === 'PolicyArn') return 'arn:aws:iam::123456789012:policy/read-keys';
  if (/Arn$/.test(name) || /Principal$/.test(name)) return 'arn:aws:iam::123456789012:role/ec2-reader';
  if (name === 'UserName') return 'Bob';
  if (name === 'RoleName') return 'ec2-reader';
  if (name === 'PolicyName') return 'read-keys';
  if (name === 'VersionId') return 'v2';
  if (name === 'GrantId') return '0c237476b39f8bc44e45212e08498fbe3151305030726c0590dd8d3e9f3d6a60';
  if (name === 'ActionNames') return 'kms:Decrypt';
  if (name === 'Operations') return 'Decrypt';
  if (name === 'TagKeys') return 'team';
  if (/Region$/.test(name)) return 'eu-west-1';
  if (name === 'RoleSessionName') return 'demo';
  if (name === 'CustomKeyStoreName') return 'my-store';
  if (name === 'CustomKeyStoreId') return 'cks-1234567890abcdef0';
  if (name === 'Description') return "'volumes of team blue'";
  if (m.kind === 'blob') return `fileb://${kebab(name).replace(/-blob$/, '')}.bin`;
  if (m.kind === 'integer') return '8';
  if (m.kind === 'list' && m.member.kind === 'structure') return Object.keys(m.member.members).map((k) => `${k}=${k === 'TagKey' ? 'team' : k === 'TagValue' ? 'blue' : 'VALUE'}`).join(',');
  return name.toUpperCase();
}

export function exampleOf(service: string, op: ExampleSource): Example {
  const written = WRITTEN[`${service} ${op.name}`];
  if (written) return written;
  const flags = Object.entries(op.input)
    .filter(([, m]) => m.required)
    .map(([name, m]) => (m.kind === 'boolean' ? `--${kebab(name)}` : `--${kebab(name)} ${valueFor(name, m)}`));
  return { command: ['ebsim', service, kebab(op.name), ...flags].filter(Boolean).join(' '), description: op.description.split(/(?<=[.:;])\s/)[0]!.replace(/[.:;]$/, '') };
}

/** Examples for the commands that are ebsim's own (not an AWS operation), by command path. */
export const OWN: Record<string, Example> = Object.assign(Object.create(null) as Record<string, Example>, {
  'volume mount': { command: `ebsim volume mount ${VOLUME} /mnt/data --instance ${INSTANCE}`, description: 'attach, decrypt the data key as the instance\'s role, and mount ext4 (root, FUSE)' },
  'volume unmount': { command: `ebsim volume unmount ${VOLUME}`, description: 'unmount; the device daemon flushes and exits, and its copy of the data key with it' },
  'volume status': { command: 'ebsim volume status --output table', description: 'what is mounted where, and whether every piece is healthy' },
  'volume inspect': { command: `ebsim volume inspect ${VOLUME} --query '[BackingImage,Cipher]' --output text`, description: 'the image and the cipher, for an independent check' },
  'volume read': { command: `ebsim volume read ${VOLUME} --offset 0 --length 4096 --out first-sector.bin`, description: 'read decrypted bytes without FUSE or root' },
  'volume write': { command: `ebsim volume write ${VOLUME} --offset 1048576 --file notes.txt`, description: 'write bytes through the in-process device' },
  'volume export': { command: `ebsim volume export ${VOLUME} plain.img`, description: 'decrypt to a sparse plain image, reading only the written sectors' },
  'volume verify': { command: `ebsim volume verify ${VOLUME} --file /mnt/data/notes.txt`, description: 'check a file\'s sectors on disk decrypt (with OpenSSL) to the file' },
  'volume prefill': { command: `ebsim volume prefill ${VOLUME}`, description: 'fill the never-written sectors with encrypted zeros' },
  'volume cleanup': { command: 'ebsim volume cleanup', description: 'undo what a crash left behind' },
  'trail records': { command: "ebsim trail records | jq '.Records[] | [.eventName, .userIdentity.arn]'", description: 'every record, as in a CloudTrail log file' },
  'trail export': { command: 'ebsim trail export ./trail-logs', description: 'gzip\'d log files in CloudTrail\'s layout' },
  'trail diagram': { command: 'ebsim trail diagram --format html --out trail.html', description: 'the trail as a sequence diagram; click an arrow to read its record' },
  'trail retention': { command: 'ebsim trail retention --days 30', description: 'keep 30 days of records (older ones are delivered as log files first)' },
  explain: { command: `ebsim explain ${VOLUME}`, description: 'the volume\'s envelope, link by link, and what a broken link breaks' },
  walkthrough: { command: 'ebsim walkthrough --step', description: 'the why-first tour, pausing after each explanation' },
  doctor: { command: "ebsim doctor --query 'Checks[?!Ok]'", description: 'what this machine lacks, check by check' },
  init: { command: 'ebsim init --aws-config', description: 'a home (account, IAM user Alice, credentials) and the AWS profile "ebsim", also added to ~/.aws/config' },
  serve: { command: 'ebsim serve --port 4599 --workers 2 --cors http://localhost:3000', description: 'the KMS/STS/CloudTrail endpoint on two processes, open to one browser origin' },
  env: { command: 'ebsim env', description: 'export lines for a shell, so AWS tools reach ebsim: eval "$(ebsim env)"' },
  version: { command: 'ebsim --version', description: 'the version and the XTS engine in use' },
});

/** The example to end `ebsim PATH --help` with, for ebsim's own commands (declared ones carry theirs). */
export function ownExample(path: string[]): Example | undefined {
  return OWN[path.join(' ')];
}
