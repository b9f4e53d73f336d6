// AWS managed policies: AWS's, in every account, at arn:aws:iam::aws:policy/NAME. Built in, never
// stored; attaching one stores only the attachment. Documents, default versions and dates are
// AWS's as the "AWS Managed Policy Reference Guide" shows them
// (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/NAME.html; it gives times to
// the minute, so seconds here are :00 where not known), except
// ReadOnlyAccess: AWS's covers hundreds of services; this one is a faithful subset for the
// services ebsim has (docs/known-differences.md).

export interface AwsManagedPolicy {
  name: string;
  arn: string;
  /** The policy ID AWS shows (ANPA…). */
  policyId: string;
  description: string;
  defaultVersionId: string;
  createDate: string;
  updateDate: string;
  /** The default version's document, as text (IAM returns it URL-encoded). */
  document: string;
}

export const AWS_MANAGED_POLICY_PREFIX = 'arn:aws:iam::aws:policy/';

/** The policy `ebsim init` attaches to Alice. */
export const ADMINISTRATOR_ACCESS = `${AWS_MANAGED_POLICY_PREFIX}AdministratorAccess`;

const doc = (statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });

const POLICIES: AwsManagedPolicy[] = [
  {
    name: 'AdministratorAccess',
    arn: `${AWS_MANAGED_POLICY_PREFIX}AdministratorAccess`,
    policyId: 'ANPAIWMBCKSKIEE64ZLYK',
    description: 'Provides full access to AWS services and resources.',
    defaultVersionId: 'v1',
    createDate: '2015-02-06T18:39:46Z',
    updateDate: '2015-02-06T18:39:46Z',
    document: doc([{ Effect: 'Allow', Action: '*', Resource: '*' }]),
  },
  {
    name: 'PowerUserAccess',
    arn: `${AWS_MANAGED_POLICY_PREFIX}PowerUserAccess`,
    policyId: 'ANPAJYRXTHIB4FOVS3ZXS',
    description: 'Provides full access to AWS services and resources, but does not allow management of Users and groups.',
    defaultVersionId: 'v12',
    createDate: '2015-02-06T18:39:00Z',
    updateDate: '2026-02-12T17:59:00Z',
    document: doc([
      { Effect: 'Allow', NotAction: ['iam:*', 'organizations:*', 'account:*'], Resource: '*' },
      {
        Effect: 'Allow',
        Action: [
          'account:GetAccountInformation',
          'account:GetGovCloudAccountInformation',
          'account:GetPrimaryEmail',
          'account:ListRegions',
          'iam:CreateServiceLinkedRole',
          'iam:DeleteServiceLinkedRole',
          'iam:ListRoles',
          'organizations:DescribeEffectivePolicy',
          'organizations:DescribeOrganization',
        ],
        Resource: '*',
      },
    ]),
  },
  {
    name: 'ReadOnlyAccess',
    arn: `${AWS_MANAGED_POLICY_PREFIX}ReadOnlyAccess`,
    policyId: 'ANPAILL3HVNFSB6DCOWYQ',
    description: 'Provides read-only access to AWS services and resources.',
    // AWS's is at a much higher version; ebsim's subset is its own first version.
    defaultVersionId: 'v1',
    createDate: '2015-02-06T18:39:00Z',
    updateDate: '2015-02-06T18:39:00Z',
    document: doc([
      {
        Effect: 'Allow',
        Action: [
          'cloudtrail:Describe*',
          'cloudtrail:Get*',
          'cloudtrail:List*',
          'cloudtrail:LookupEvents',
          'ec2:Describe*',
          'ec2:Get*',
          'iam:Generate*',
          'iam:Get*',
          'iam:List*',
          'iam:Simulate*',
          'kms:Describe*',
          'kms:Get*',
          'kms:List*',
        ],
        Resource: '*',
      },
    ]),
  },
  {
    name: 'AWSKeyManagementServicePowerUser',
    arn: `${AWS_MANAGED_POLICY_PREFIX}AWSKeyManagementServicePowerUser`,
    policyId: 'ANPAJNPP7PPPPMJRV2SA4',
    description: 'Provides access to AWS Key Management Service (KMS).',
    defaultVersionId: 'v2',
    createDate: '2015-02-06T18:40:00Z',
    updateDate: '2017-03-07T00:55:00Z',
    document: doc([
      {
        Effect: 'Allow',
        Action: [
          'kms:CreateAlias',
          'kms:CreateKey',
          'kms:DeleteAlias',
          'kms:Describe*',
          'kms:GenerateRandom',
          'kms:Get*',
          'kms:List*',
          'kms:TagResource',
          'kms:UntagResource',
          'iam:ListGroups',
          'iam:ListRoles',
          'iam:ListUsers',
        ],
        Resource: '*',
      },
    ]),
  },
];

const BY_ARN = new Map(POLICIES.map((p) => [p.arn, p]));

/** Every AWS managed policy ebsim has, by name. */
export function awsManagedPolicies(): readonly AwsManagedPolicy[] {
  return POLICIES;
}

/** The AWS managed policy at `arn`, if ebsim has it. */
export function awsManagedPolicy(arn: string): AwsManagedPolicy | undefined {
  return BY_ARN.get(arn);
}
