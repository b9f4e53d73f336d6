// The key policies KMS gives a key when nobody chose one: the default key policy of a key created
// through the API, and the policies of AWS managed keys. Texts are as GetKeyPolicy returns them:
// AWS prints its own documents with Jackson's default pretty printer (`"Key" : value`, two-space
// indent, `[ a, b ]` lists on one line), which is what `awsPolicyText` reproduces.

/**
 * The default key policy for a key created with the KMS API and no Policy: one statement that
 * lets the account (and through it, IAM policies) do everything with the key.
 * Source: "Default key policy", https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
 * (statement), and the PutKeyPolicy CloudTrail example, which logs this exact text with its Id and
 * Sid: https://docs.aws.amazon.com/kms/latest/developerguide/ct-put-key-policy.html
 */
export function defaultKeyPolicy(accountId: string): string {
  return awsPolicyText({
    Version: '2012-10-17',
    Id: 'key-default-1',
    Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${accountId}:root` }, Action: 'kms:*', Resource: '*' }],
  });
}

interface ManagedPolicyShape {
  /** The policy's Id. */
  id: string;
  /** How the Sid names the service ("Allow access through EBS for all principals …"). */
  title: string;
  /** The kms:ViaService endpoint prefix (EBS volumes are EC2's: ec2.REGION.amazonaws.com). */
  endpoint: string;
  /** Whether the service may create grants (services that attach resources to instances or functions do). */
  createGrant: boolean;
  /** What the account may do with the key directly; one action is printed as a string, as AWS does. */
  metadata: string | string[];
  /** Where the text comes from. */
  source: 'aws' | 'analogous';
}

/**
 * aws/ebs: the first statement is the one the KMS Developer Guide prints as "in the key policy for
 * the AWS managed key for Amazon EBS" (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-caller-account);
 * the Id and the metadata statement are those GetKeyPolicy returns for alias/aws/ebs in accounts
 * whose output is published (Ansible's kms_key_info sample, CloudFormation/Terraform imports).
 * aws/s3 and aws/lambda: their GetKeyPolicy output as published from real accounts (a Terraform
 * import of alias/aws/s3; a GetKeyPolicy fixture of alias/aws/lambda). The other services' texts
 * are not published; they are written the same way (Id "auto-SERVICE", use through the service,
 * metadata for the account) and marked analogous.
 */
const SHAPES: Record<string, ManagedPolicyShape> = {
  ebs: { id: 'auto-ebs-2', title: 'EBS', endpoint: 'ec2', createGrant: true, metadata: ['kms:Describe*', 'kms:Get*', 'kms:List*', 'kms:RevokeGrant'], source: 'aws' },
  s3: { id: 'auto-s3-2', title: 'S3', endpoint: 's3', createGrant: false, metadata: ['kms:Describe*', 'kms:Get*', 'kms:List*'], source: 'aws' },
  lambda: { id: 'auto-awslambda', title: 'AWS Lambda', endpoint: 'lambda', createGrant: true, metadata: 'kms:Describe*', source: 'aws' },
};

/** Display names for the analogous policies (the aliases of aws-managed-aliases.ts). */
const TITLES: Record<string, string> = {
  acm: 'AWS Certificate Manager', backup: 'AWS Backup', cloud9: 'AWS Cloud9', connect: 'Amazon Connect', dynamodb: 'Amazon DynamoDB',
  elasticfilesystem: 'Amazon Elastic File System', es: 'Amazon OpenSearch Service', glue: 'AWS Glue', kendra: 'Amazon Kendra',
  kinesis: 'Amazon Kinesis', kinesisvideo: 'Amazon Kinesis Video Streams', lex: 'Amazon Lex', rds: 'Amazon RDS', redshift: 'Amazon Redshift',
  secretsmanager: 'AWS Secrets Manager', sns: 'Amazon SNS', sqs: 'Amazon SQS', ssm: 'AWS Systems Manager', xray: 'AWS X-Ray',
};

function shapeOf(service: string): ManagedPolicyShape {
  return (
    SHAPES[service] ?? {
      id: `auto-${service}`,
      title: TITLES[service] ?? service,
      endpoint: service,
      createGrant: true,
      metadata: ['kms:Describe*', 'kms:Get*', 'kms:List*'],
      source: 'analogous',
    }
  );
}

/** Whether the managed key policy of `aws/SERVICE` is AWS's own text (else ebsim's analogous one). */
export function isAwsManagedPolicyText(service: string): boolean {
  return shapeOf(service).source === 'aws';
}

/**
 * The key policy of the AWS managed key behind `alias/aws/SERVICE` in an account and Region: any
 * principal of the account may use it through the service (kms:CallerAccount and kms:ViaService),
 * and the account may read its metadata directly. Nobody may administer it (no kms:PutKeyPolicy).
 */
export function awsManagedKeyPolicy(service: string, accountId: string, region: string): string {
  const s = shapeOf(service);
  const use = ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', ...(s.createGrant ? ['kms:CreateGrant'] : []), 'kms:DescribeKey'];
  return awsPolicyText({
    Version: '2012-10-17',
    Id: s.id,
    Statement: [
      {
        Sid: `Allow access through ${s.title} for all principals in the account that are authorized to use ${s.title}`,
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: use,
        Resource: '*',
        Condition: { StringEquals: { 'kms:CallerAccount': accountId, 'kms:ViaService': `${s.endpoint}.${region}.amazonaws.com` } },
      },
      { Sid: 'Allow direct access to key metadata to the account', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${accountId}:root` }, Action: s.metadata, Resource: '*' },
    ],
  });
}

/** The policy a key has when none was stored: by its AWS alias for an AWS managed key, else the default. */
export function policyWhenNoneStored(key: { accountId: string; region: string; keyManager: 'CUSTOMER' | 'AWS' }, aliasNames: readonly string[]): string {
  if (key.keyManager === 'AWS') {
    const alias = aliasNames.find((a) => a.startsWith('alias/aws/'));
    if (alias) return awsManagedKeyPolicy(alias.slice('alias/aws/'.length), key.accountId, key.region);
  }
  return defaultKeyPolicy(key.accountId);
}

/** JSON as AWS prints its own policy documents (Jackson's DefaultPrettyPrinter). */
export function awsPolicyText(value: unknown): string {
  return pretty(value, 0);
}

function pretty(v: unknown, nesting: number): string {
  if (Array.isArray(v)) return v.length ? `[ ${v.map((x) => pretty(x, nesting)).join(', ')} ]` : '[ ]';
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v);
    if (!entries.length) return '{ }';
    const pad = '  '.repeat(nesting + 1);
    return `{\n${entries.map(([k, x]) => `${pad}${JSON.stringify(k)} : ${pretty(x, nesting + 1)}`).join(',\n')}\n${'  '.repeat(nesting)}}`;
  }
  return JSON.stringify(v);
}
