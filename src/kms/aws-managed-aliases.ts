// The aliases behind which KMS creates an AWS managed key on first use. Any other name under the
// reserved `alias/aws/` prefix names nothing: it is NotFoundException like any unknown alias.
//
// Sources: the KMS Developer Guide ("Aliases for these KMS keys always have the form
// aws/<service-name>", kms-alias.html) names no full list; this one is moto's RESERVED_ALIASES
// (moto/kms/models.py) plus the aws/<service> keys named in the SNS, SQS, Kinesis Data Streams,
// AWS Backup and Cloud9/Connect/Kendra/Lex documentation and in ListAliases output AWS prints in
// its own SDK examples.
const SERVICES = [
  'acm', 'backup', 'cloud9', 'connect', 'dynamodb', 'ebs', 'elasticfilesystem', 'es', 'glue', 'kendra', 'kinesis',
  'kinesisvideo', 'lambda', 'lex', 'rds', 'redshift', 's3', 'secretsmanager', 'sns', 'sqs', 'ssm', 'xray',
];

export const AWS_MANAGED_ALIASES: ReadonlySet<string> = new Set(SERVICES.map((s) => `alias/aws/${s}`));

export function isAwsManagedAlias(aliasName: string): boolean {
  return AWS_MANAGED_ALIASES.has(aliasName);
}
