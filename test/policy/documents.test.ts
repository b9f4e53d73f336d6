// Real documents from AWS's documentation, each with the requests it allows and denies, the
// policy type AWS's AccessDenied message names, and the message itself.
import { describe, expect, it } from 'vitest';
import { accessDeniedMessage, evaluate, type Evaluation, type NamedPolicy, type RequestContext } from '../../src/policy/index.js';
import { ACCT, KEY_ARN, OTHER, REGION, named, request, session, user } from './helpers.js';

function decide(req: RequestContext, resourcePolicy: NamedPolicy | undefined, identityPolicies: NamedPolicy[] = [], sessionPolicies?: NamedPolicy[], resourcePolicyRequired = true): Evaluation {
  const sources = { resourcePolicy, identityPolicies, sessionPolicies, resourcePolicyRequired };
  const full = evaluate(req, sources);
  // The fast path decides the same, without a trace.
  const fast = evaluate(req, sources, { explain: false });
  expect({ decision: fast.decision, deniedBy: fast.deniedBy }).toEqual({ decision: full.decision, deniedBy: full.deniedBy });
  expect(fast.trace).toEqual([]);
  return full;
}

const message = (req: RequestContext, e: Evaluation) => accessDeniedMessage(req.principal.arn, req.action, req.resource, e);

// https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
// ("Default key policy when you create a KMS key programmatically")
const DEFAULT_KEY_POLICY = named('key policy of ' + KEY_ARN, 'key', {
  Version: '2012-10-17',
  Id: 'key-default-1',
  Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCT}:root` }, Action: 'kms:*', Resource: '*' }],
});

// https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AdministratorAccess.html
const ADMINISTRATOR_ACCESS = named('AdministratorAccess', 'identity', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] });

// The key policy of the AWS managed key aws/ebs, as quoted under kms:CallerAccount in
// https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-caller-account
const AWS_EBS_KEY_POLICY = named('key policy of aws/ebs', 'key', {
  Version: '2012-10-17',
  Id: 'auto-ebs-2',
  Statement: [
    {
      Sid: 'Allow access through EBS for all principals in the account that are authorized to use EBS',
      Effect: 'Allow',
      Principal: { AWS: '*' },
      Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:CreateGrant', 'kms:DescribeKey'],
      Resource: '*',
      Condition: { StringEquals: { 'kms:CallerAccount': ACCT, 'kms:ViaService': `ec2.${REGION}.amazonaws.com` } },
    },
    {
      Sid: 'Allow direct access to key metadata to the account',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${ACCT}:root` },
      Action: ['kms:Describe*', 'kms:Get*', 'kms:List*', 'kms:RevokeGrant'],
      Resource: '*',
    },
  ],
});

describe('the default key policy (the account, then IAM policies)', () => {
  const alice = user('Alice');

  it('allows a user of the account whose identity policy allows the action', () => {
    const e = decide(request('kms:Decrypt', alice), DEFAULT_KEY_POLICY, [ADMINISTRATOR_ACCESS]);
    expect(e.decision).toBe('Allow');
    expect(e.trace[0]).toMatchObject({ matched: true, principalMatch: 'account', sid: 'Enable IAM User Permissions' });
  });

  it('denies a user of the account without an identity policy: "no identity-based policy allows"', () => {
    const req = request('kms:Decrypt', alice);
    const e = decide(req, DEFAULT_KEY_POLICY, []);
    expect(e).toMatchObject({ decision: 'ImplicitDeny', deniedBy: { kind: 'implicit', policyType: 'identity-based' } });
    expect(message(req, e)).toBe(`User: arn:aws:iam::${ACCT}:user/Alice is not authorized to perform: kms:Decrypt on resource: ${KEY_ARN} because no identity-based policy allows the kms:Decrypt action`);
  });

  it('denies another account even with AdministratorAccess there: "no resource-based policy allows"', () => {
    const req = request('kms:Decrypt', user('Mallory', OTHER));
    const e = decide(req, DEFAULT_KEY_POLICY, [ADMINISTRATOR_ACCESS]);
    expect(e).toMatchObject({ decision: 'ImplicitDeny', deniedBy: { kind: 'implicit', policyType: 'resource-based' } });
    expect(message(req, e)).toContain('because no resource-based policy allows the kms:Decrypt action');
  });

  it('an identity policy limited to other keys does not allow this one', () => {
    const other = named('only another key', 'identity', {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: `arn:aws:kms:${REGION}:${ACCT}:key/0000*` }],
    });
    expect(decide(request('kms:Decrypt', alice), DEFAULT_KEY_POLICY, [other]).deniedBy?.policyType).toBe('identity-based');
  });
});

describe('the aws/ebs AWS managed key policy (Principal "*" with kms:CallerAccount and kms:ViaService)', () => {
  const via = { 'kms:ViaService': `ec2.${REGION}.amazonaws.com` };

  it('allows any principal of the account through EC2 in the key\'s Region, with no identity policy', () => {
    const e = decide(request('kms:GenerateDataKeyWithoutPlaintext', user('Alice'), via), AWS_EBS_KEY_POLICY, []);
    expect(e.decision).toBe('Allow');
    expect(e.trace[0]).toMatchObject({ matched: true, principalMatch: 'principal' });
  });

  it('denies a direct Decrypt: the ViaService condition is not met, and the trace says so', () => {
    const req = request('kms:Decrypt', user('Alice'));
    const e = decide(req, AWS_EBS_KEY_POLICY, [ADMINISTRATOR_ACCESS]);
    expect(e).toMatchObject({ decision: 'ImplicitDeny', deniedBy: { policyType: 'resource-based' } });
    expect(e.trace[0]!.reasons).toContain(`Condition StringEquals kms:ViaService: request has (absent); policy wants ec2.${REGION}.amazonaws.com (not met)`);
    expect(message(req, e)).toContain('because no resource-based policy allows the kms:Decrypt action');
  });

  it('denies through EC2 in another Region', () => {
    expect(decide(request('kms:Decrypt', user('Alice'), { 'kms:ViaService': 'ec2.eu-west-1.amazonaws.com' }), AWS_EBS_KEY_POLICY, []).decision).toBe('ImplicitDeny');
  });

  it('denies another account calling through EC2 (kms:CallerAccount)', () => {
    const e = decide(request('kms:Decrypt', user('Mallory', OTHER), via), AWS_EBS_KEY_POLICY, [ADMINISTRATOR_ACCESS]);
    expect(e.deniedBy?.policyType).toBe('resource-based');
  });

  it('allows direct DescribeKey to a user whose identity policy allows it, and not to one without', () => {
    expect(decide(request('kms:DescribeKey', user('Alice')), AWS_EBS_KEY_POLICY, [ADMINISTRATOR_ACCESS]).decision).toBe('Allow');
    expect(decide(request('kms:DescribeKey', user('Bob')), AWS_EBS_KEY_POLICY, []).deniedBy?.policyType).toBe('identity-based');
  });
});

describe('a key policy allowing a role only with a given encryption context', () => {
  // https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-encryption-context
  const policy = named('key policy', 'key', {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCT}:root` }, Action: 'kms:*', Resource: '*' },
      {
        Sid: 'Allow the volume role to decrypt its volume only',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${ACCT}:role/VolumeReader` },
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: { StringEquals: { 'kms:EncryptionContext:aws:ebs:id': 'vol-0123456789abcdef0' } },
      },
    ],
  });
  const reader = session('VolumeReader', 'i-0123456789abcdef0');

  it('allows the role\'s session with that context (the role names it: no identity policy needed)', () => {
    const e = decide(request('kms:Decrypt', reader, { 'kms:EncryptionContext:aws:ebs:id': 'vol-0123456789abcdef0' }), policy);
    expect(e.decision).toBe('Allow');
    expect(e.trace[1]!.reasons[0]).toBe(`Principal: AWS arn:aws:iam::${ACCT}:role/VolumeReader (the caller's role) matches`);
  });

  it('condition keys are case-insensitive', () => {
    expect(decide(request('kms:decrypt', reader, { 'KMS:ENCRYPTIONCONTEXT:AWS:EBS:ID': 'vol-0123456789abcdef0' }), policy).decision).toBe('Allow');
  });

  it('denies another volume and no context, naming the session in the message', () => {
    const req = request('kms:Decrypt', reader, { 'kms:EncryptionContext:aws:ebs:id': 'vol-0fffffffffffffff0' });
    const e = decide(req, policy);
    expect(e.deniedBy).toEqual({ kind: 'implicit', policyType: 'identity-based' });
    expect(message(req, e)).toBe(
      `User: arn:aws:sts::${ACCT}:assumed-role/VolumeReader/i-0123456789abcdef0 is not authorized to perform: kms:Decrypt on resource: ${KEY_ARN} because no identity-based policy allows the kms:Decrypt action`,
    );
    expect(decide(request('kms:Decrypt', reader), policy).decision).toBe('ImplicitDeny');
  });

  it('does not let the role encrypt', () => {
    expect(decide(request('kms:Encrypt', reader, { 'kms:EncryptionContext:aws:ebs:id': 'vol-0123456789abcdef0' }), policy).decision).toBe('ImplicitDeny');
  });
});

describe('deny CreateGrant unless kms:GrantIsForAWSResource', () => {
  // "Allow attachment of persistent resources" from the console's default key policy
  // (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-service-integration),
  // with a Deny for grants that are not for an AWS resource
  // (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-is-for-aws-resource).
  const policy = named('key policy', 'key', {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCT}:root` }, Action: 'kms:*', Resource: '*' },
      {
        Sid: 'Deny grants not for AWS resources',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: ['kms:CreateGrant', 'kms:ListGrants', 'kms:RevokeGrant'],
        Resource: '*',
        Condition: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false' } },
      },
    ],
  });

  it('allows a grant EC2 creates for a volume', () => {
    expect(decide(request('kms:CreateGrant', user('Alice'), { 'kms:GrantIsForAWSResource': 'true' }), policy, [ADMINISTRATOR_ACCESS]).decision).toBe('Allow');
  });

  it('denies a direct grant explicitly, even to an administrator', () => {
    const req = request('kms:CreateGrant', user('Alice'));
    const e = decide(req, policy, [ADMINISTRATOR_ACCESS]);
    expect(e).toMatchObject({ decision: 'ExplicitDeny', deniedBy: { kind: 'explicit', policyType: 'resource-based' } });
    expect(message(req, e)).toBe(`User: arn:aws:iam::${ACCT}:user/Alice is not authorized to perform: kms:CreateGrant on resource: ${KEY_ARN} with an explicit deny in a resource-based policy`);
  });
});

describe('kms:ViaService limited to EC2, in an identity policy', () => {
  // https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service
  const viaEc2 = named('EBS only (attached to user Alice)', 'identity', {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey*', 'kms:CreateGrant'], Resource: KEY_ARN, Condition: { StringEquals: { 'kms:ViaService': [`ec2.${REGION}.amazonaws.com`, `ec2.us-east-1.amazonaws.com`] } } },
    ],
  });
  const denyDirect = named('no direct decrypt', 'identity', {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Deny', Action: 'kms:Decrypt', Resource: '*', Condition: { StringNotLike: { 'kms:ViaService': 'ec2.*.amazonaws.com' } } }],
  });

  it('allows through EC2 in either listed Region', () => {
    expect(decide(request('kms:Decrypt', user('Alice'), { 'kms:ViaService': 'ec2.us-east-1.amazonaws.com' }), DEFAULT_KEY_POLICY, [viaEc2]).decision).toBe('Allow');
  });

  it('denies a direct call implicitly, and explicitly with a negated Deny (a negated operator is met by an absent key)', () => {
    expect(decide(request('kms:Decrypt', user('Alice')), DEFAULT_KEY_POLICY, [viaEc2]).deniedBy?.policyType).toBe('identity-based');
    const req = request('kms:Decrypt', user('Alice'));
    const e = decide(req, DEFAULT_KEY_POLICY, [ADMINISTRATOR_ACCESS, denyDirect]);
    expect(e.deniedBy).toEqual({ kind: 'explicit', policyType: 'identity-based' });
    expect(message(req, e)).toContain('with an explicit deny in an identity-based policy');
    expect(decide(request('kms:Decrypt', user('Alice'), { 'kms:ViaService': 'ec2.us-east-1.amazonaws.com' }), DEFAULT_KEY_POLICY, [ADMINISTRATOR_ACCESS, denyDirect]).decision).toBe('Allow');
  });
});

describe('cross-account use of a key', () => {
  // https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html
  const keyPolicy = named('key policy', 'key', {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCT}:root` }, Action: 'kms:*', Resource: '*' },
      {
        Sid: 'Allow an external account to use this KMS key',
        Effect: 'Allow',
        Principal: { AWS: [`arn:aws:iam::${OTHER}:root`] },
        Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
        Resource: '*',
      },
    ],
  });
  // The external account's IAM policy, as on the same page.
  const externalIdentity = named('use the shared key (attached to user Bob)', 'identity', {
    Version: '2012-10-17',
    Statement: [{ Sid: 'AllowUseOfKeyInAccount111122223333', Effect: 'Allow', Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'], Resource: KEY_ARN }],
  });
  const bob = user('Bob', OTHER);

  it('allows when the key policy names the account and the account\'s identity policy allows too', () => {
    expect(decide(request('kms:Decrypt', bob), keyPolicy, [externalIdentity]).decision).toBe('Allow');
  });

  it('denies without the identity policy ("no identity-based policy") and for an action the key policy does not give ("no resource-based policy")', () => {
    expect(decide(request('kms:Decrypt', bob), keyPolicy, []).deniedBy?.policyType).toBe('identity-based');
    expect(decide(request('kms:ScheduleKeyDeletion', bob), keyPolicy, [ADMINISTRATOR_ACCESS]).deniedBy?.policyType).toBe('resource-based');
  });

  it('even a key policy naming the external user itself needs that user\'s identity policy', () => {
    const direct = named('key policy', 'key', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: bob.arn }, Action: 'kms:Decrypt', Resource: '*' }] });
    expect(decide(request('kms:Decrypt', bob), direct, []).decision).toBe('ImplicitDeny');
    expect(decide(request('kms:Decrypt', bob), direct, [externalIdentity]).decision).toBe('Allow');
  });
});

describe('AdministratorAccess where no resource policy is required (kms:CreateKey on "*")', () => {
  it('allows with the identity policy, denies without, and a session policy narrows it', () => {
    const req = request('kms:CreateKey', session('Admin', 'alice'), {}, '*');
    expect(decide(req, undefined, [ADMINISTRATOR_ACCESS], undefined, false).decision).toBe('Allow');
    const none = decide(req, undefined, [], undefined, false);
    expect(none.deniedBy?.policyType).toBe('identity-based');
    expect(message(req, none)).toBe(`User: arn:aws:sts::${ACCT}:assumed-role/Admin/alice is not authorized to perform: kms:CreateKey on resource: * because no identity-based policy allows the kms:CreateKey action`);
    const readOnly = named('session policy', 'session', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['kms:Describe*', 'kms:List*'], Resource: '*' }] });
    const narrowed = decide(req, undefined, [ADMINISTRATOR_ACCESS], [readOnly], false);
    expect(narrowed.deniedBy).toEqual({ kind: 'implicit', policyType: 'session' });
    expect(message(req, narrowed)).toContain('because no session policy allows the kms:CreateKey action');
    expect(decide(request('kms:ListKeys', session('Admin', 'alice'), {}, '*'), undefined, [ADMINISTRATOR_ACCESS], [readOnly], false).decision).toBe('Allow');
    const denySession = named('session policy', 'session', { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'kms:*', Resource: '*' }] });
    const denied = decide(req, undefined, [ADMINISTRATOR_ACCESS], [denySession], false);
    expect(message(req, denied)).toContain('with an explicit deny in a session policy');
  });
});

describe('a role trust policy (sts:AssumeRole)', () => {
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-user.html and
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
  const ROLE = `arn:aws:iam::${ACCT}:role/Deployer`;
  const trust = named('trust policy of role Deployer', 'trust', {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCT}:root` }, Action: 'sts:AssumeRole' },
      { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
      { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${OTHER}:user/Carol` }, Action: 'sts:AssumeRole', Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } } },
    ],
  });
  const assume = (p: ReturnType<typeof user>, keys = {}) => request('sts:AssumeRole', p, keys, ROLE, ACCT);
  const canAssume = named('assume Deployer', 'identity', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: ROLE }] });

  it('a user of the account needs an identity policy too (the trust policy names only the account)', () => {
    expect(decide(assume(user('Alice')), trust, [canAssume]).decision).toBe('Allow');
    expect(decide(assume(user('Alice')), trust, []).deniedBy?.policyType).toBe('identity-based');
  });

  it('the EC2 service principal may assume it', () => {
    expect(decide(assume({ arn: 'ec2.amazonaws.com', accountId: 'ec2.amazonaws.com', service: 'ec2.amazonaws.com' }), trust, []).decision).toBe('Allow');
  });

  it('a user of another account: trust policy (with MFA) and its own identity policy', () => {
    const carol = user('Carol', OTHER);
    expect(decide(assume(carol, { 'aws:MultiFactorAuthPresent': 'true' }), trust, [canAssume]).decision).toBe('Allow');
    const req = assume(carol);
    const e = decide(req, trust, [canAssume]);
    expect(e.deniedBy?.policyType).toBe('resource-based');
    expect(message(req, e)).toBe(`User: arn:aws:iam::${OTHER}:user/Carol is not authorized to perform: sts:AssumeRole on resource: ${ROLE} because no resource-based policy allows the sts:AssumeRole action`);
  });
});
