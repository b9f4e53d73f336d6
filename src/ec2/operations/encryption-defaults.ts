// EBS encryption by default and the default KMS key, per account and Region. EC2's newer actions
// are logged with their request and response wrapped in the action's name
// ("GetEbsEncryptionByDefaultRequest"); the control plane writes the responses' records.
import { declareOperation } from '../../api/index.js';
import { str, type Ec2Actions } from './requests.js';

const op = declareOperation<Ec2Actions, undefined>;
const wrapped = (name: string) => () => ({ [`${name}Request`]: '' });

export const ENCRYPTION_DEFAULT_OPERATIONS = [
  op({
    name: 'EnableEbsEncryptionByDefault',
    description: 'Encrypt every new volume in this account and Region (under the default KMS key unless a volume names one)',
    readOnly: false,
    input: {},
    ext: undefined,
    requestParameters: wrapped('EnableEbsEncryptionByDefault'),
    run: (ctx, _input, { env }) => env.enableEbsEncryptionByDefault(ctx),
  }),
  op({
    name: 'DisableEbsEncryptionByDefault',
    description: 'Stop encrypting new volumes by default (existing volumes keep their encryption)',
    readOnly: false,
    input: {},
    ext: undefined,
    requestParameters: wrapped('DisableEbsEncryptionByDefault'),
    run: (ctx, _input, { env }) => env.disableEbsEncryptionByDefault(ctx),
  }),
  op({
    name: 'GetEbsEncryptionByDefault',
    description: 'Whether new volumes are encrypted by default in this account and Region',
    readOnly: true,
    input: {},
    ext: undefined,
    requestParameters: wrapped('GetEbsEncryptionByDefault'),
    run: (ctx, _input, { env }) => env.getEbsEncryptionByDefault(ctx),
  }),
  op({
    name: 'GetEbsDefaultKmsKeyId',
    description: 'The default KMS key for EBS encryption (alias/aws/ebs\'s ARN until one is chosen)',
    readOnly: true,
    input: {},
    ext: undefined,
    requestParameters: wrapped('GetEbsDefaultKmsKeyId'),
    run: (ctx, _input, { env }) => env.getEbsDefaultKmsKeyId(ctx),
  }),
  op({
    name: 'ModifyEbsDefaultKmsKeyId',
    description: 'Choose the default KMS key for EBS encryption (key ID, key ARN, alias name or alias ARN; checked when a volume uses it)',
    readOnly: false,
    input: { KmsKeyId: { kind: 'string', required: true } },
    ext: undefined,
    requestParameters: (p) => ({ ModifyEbsDefaultKmsKeyIdRequest: { KmsKeyId: str(p.KmsKeyId) } }),
    run: (ctx, input, { env }) => env.modifyEbsDefaultKmsKeyId(ctx, input.KmsKeyId as string),
  }),
  op({
    name: 'ResetEbsDefaultKmsKeyId',
    description: 'Make the AWS managed key (alias/aws/ebs) the default KMS key for EBS encryption again',
    readOnly: false,
    input: {},
    ext: undefined,
    requestParameters: wrapped('ResetEbsDefaultKmsKeyId'),
    run: (ctx, _input, { env }) => env.resetEbsDefaultKmsKeyId(ctx),
  }),
] as const;
