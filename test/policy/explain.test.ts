// formatExplanation (--explain), accessDeniedMessage's six forms, globalConditionKeys.
import { describe, expect, it } from 'vitest';
import { directCall, onBehalfOf, type Principal } from '../../src/core/call-context.js';
import { accessDeniedMessage, evaluate, formatExplanation, globalConditionKeys, type Evaluation } from '../../src/policy/index.js';
import { ACCT, KEY_ARN, named, request, user } from './helpers.js';

describe('accessDeniedMessage', () => {
  const m = (deniedBy: Evaluation['deniedBy']) => accessDeniedMessage(`arn:aws:iam::${ACCT}:user/Alice`, 'kms:Decrypt', KEY_ARN, { decision: deniedBy?.kind === 'explicit' ? 'ExplicitDeny' : 'ImplicitDeny', deniedBy, trace: [] });
  const head = `User: arn:aws:iam::${ACCT}:user/Alice is not authorized to perform: kms:Decrypt on resource: ${KEY_ARN}`;
  it.each([
    ['implicit', 'identity-based', `${head} because no identity-based policy allows the kms:Decrypt action`],
    ['implicit', 'resource-based', `${head} because no resource-based policy allows the kms:Decrypt action`],
    ['implicit', 'session', `${head} because no session policy allows the kms:Decrypt action`],
    ['explicit', 'resource-based', `${head} with an explicit deny in a resource-based policy`],
    ['explicit', 'identity-based', `${head} with an explicit deny in an identity-based policy`],
    ['explicit', 'session', `${head} with an explicit deny in a session policy`],
  ] as const)('%s deny in %s policy', (kind, policyType, expected) => {
    expect(m({ kind, policyType })).toBe(expected);
  });
});

describe('formatExplanation', () => {
  const keyPolicy = named(`key policy of ${KEY_ARN}`, 'key', {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCT}:root` }, Action: 'kms:*', Resource: '*' },
      { Sid: 'Through EC2', Effect: 'Allow', Principal: { AWS: '*' }, Action: ['kms:Decrypt', 'kms:Encrypt'], Resource: '*', Condition: { StringEquals: { 'kms:ViaService': 'ec2.us-east-1.amazonaws.com' } } },
    ],
  });
  const identity = named('ReadOnly (attached to user Alice)', 'identity', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', NotAction: 'kms:Decrypt', Resource: '*' }] });

  it('renders the decision, each policy, each statement with ✓/✗ and its reasons', () => {
    const e = evaluate(request('kms:Decrypt', user('Alice')), { resourcePolicy: keyPolicy, identityPolicies: [identity], resourcePolicyRequired: true });
    expect(formatExplanation(e)).toBe(
      [
        'Decision: ImplicitDeny (no identity-based policy allows the request)',
        `key policy of ${KEY_ARN} (resource-based)`,
        '  ✓ Statement 0 "Enable IAM User Permissions": Allow, applies (names the account)',
        `      Principal: AWS account ${ACCT} (the caller's account: its identity policies must allow the request too) matches`,
        '      Action: kms:Decrypt matches kms:*',
        '      Resource: ' + KEY_ARN + ' matches *',
        '  ✗ Statement 1 "Through EC2": Allow, does not apply',
        '      Principal: "*" (anyone) matches',
        '      Action: kms:Decrypt matches kms:Decrypt',
        '      Resource: ' + KEY_ARN + ' matches *',
        '      Condition StringEquals kms:ViaService: request has (absent); policy wants ec2.us-east-1.amazonaws.com (not met)',
        'ReadOnly (attached to user Alice) (identity-based)',
        '  ✗ Statement 0: Allow, does not apply',
        '      NotAction: kms:Decrypt is excluded by kms:Decrypt',
        '      Resource: ' + KEY_ARN + ' matches *',
      ].join('\n'),
    );
  });

  it('says when there is no trace', () => {
    const e = evaluate(request('kms:Decrypt', user('Alice')), { resourcePolicy: keyPolicy, identityPolicies: [], resourcePolicyRequired: true }, { explain: false });
    expect(formatExplanation(e)).toMatch(/^Decision: ImplicitDeny .*\n\(no statements were traced/);
  });

  it('shows a variable with its value, and a principal that does not match', () => {
    const p = named('key policy', 'key', {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCT}:user/Bob` }, Action: 'kms:*', Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:owner': '${aws:username}' } } }],
    });
    const e = evaluate(request('kms:Decrypt', user('Alice'), { 'aws:username': 'Alice', 'kms:EncryptionContext:owner': 'Alice' }), { resourcePolicy: p, identityPolicies: [], resourcePolicyRequired: true });
    expect(e.trace[0]!.reasons).toEqual([
      `Principal: caller arn:aws:iam::${ACCT}:user/Alice is not among AWS arn:aws:iam::${ACCT}:user/Bob, so the statement does not apply to it`,
      'Action: kms:Decrypt matches kms:*',
      `Resource: ${KEY_ARN} matches *`,
      'Condition StringEquals kms:EncryptionContext:owner: request has Alice; policy wants ${aws:username} (= Alice) (met)',
    ]);
  });
});

describe('globalConditionKeys', () => {
  const alice: Principal = { type: 'IAMUser', arn: `arn:aws:iam::${ACCT}:user/Alice`, principalId: 'AIDAEXAMPLEEXAMPLE01', accountId: ACCT, accessKeyId: 'AKIA', name: 'Alice', sessionCreationDate: '2026-11-29T04:00:00Z' };
  const sessionP: Principal = {
    type: 'AssumedRole',
    arn: `arn:aws:sts::${ACCT}:assumed-role/App/worker`,
    principalId: 'AROAEXAMPLEEXAMPLE01:worker',
    accountId: ACCT,
    accessKeyId: 'ASIA',
    name: 'worker',
    sessionCreationDate: '2026-11-29T04:00:00Z',
    sessionIssuer: { type: 'Role', principalId: 'AROAEXAMPLEEXAMPLE01', arn: `arn:aws:iam::${ACCT}:role/App`, accountId: ACCT, userName: 'App' },
  };
  const now = new Date('2026-11-29T04:35:48.123Z');

  it('a user calling directly', () => {
    const k = globalConditionKeys(directCall(alice, 'us-east-1'), now);
    expect(Object.fromEntries(k)).toEqual({
      'aws:PrincipalArn': alice.arn,
      'aws:PrincipalAccount': ACCT,
      'aws:PrincipalType': 'User',
      'aws:userid': 'AIDAEXAMPLEEXAMPLE01',
      'aws:username': 'Alice',
      'aws:SourceIp': '127.0.0.1',
      'aws:CurrentTime': '2026-11-29T04:35:48Z',
      'aws:EpochTime': '1795926948',
      'aws:SecureTransport': 'true',
      'aws:RequestedRegion': 'us-east-1',
      'aws:ViaAWSService': 'false',
    });
  });

  it('a session through EC2: the role\'s ARN, ROLEID:SESSION, no username, no source IP, CalledVia', () => {
    const k = globalConditionKeys(onBehalfOf(directCall(sessionP, 'us-east-1'), 'ec2'), now);
    expect(k.get('aws:PrincipalArn')).toBe(`arn:aws:iam::${ACCT}:role/App`);
    expect(k.get('aws:PrincipalType')).toBe('AssumedRole');
    expect(k.get('aws:userid')).toBe('AROAEXAMPLEEXAMPLE01:worker');
    expect(k.has('aws:username')).toBe(false);
    expect(k.has('aws:SourceIp')).toBe(false);
    expect(k.get('aws:ViaAWSService')).toBe('true');
    expect(k.get('aws:CalledVia')).toEqual(['ec2.amazonaws.com']);
    expect(k.get('aws:CalledViaFirst')).toBe('ec2.amazonaws.com');
    expect(k.get('aws:CalledViaLast')).toBe('ec2.amazonaws.com');
    expect(k.get('aws:TokenIssueTime')).toBe('2026-11-29T04:00:00Z');
  });

  it('aws:SecureTransport follows the call context when the server sets it', () => {
    expect(globalConditionKeys({ ...directCall(alice, 'us-east-1'), secureTransport: false }, now).get('aws:SecureTransport')).toBe('false');
  });

  it('feeds evaluate: a policy on aws:username and aws:SourceIp', () => {
    const p = named('self only', 'identity', {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'iam:GetUser', Resource: 'arn:aws:iam::*:user/${aws:username}', Condition: { IpAddress: { 'aws:SourceIp': '127.0.0.0/8' } } }],
    });
    const keys = globalConditionKeys(directCall(alice, 'us-east-1'), now);
    const ask = (resource: string) => evaluate({ action: 'iam:GetUser', resource, resourceAccount: ACCT, principal: { arn: alice.arn, accountId: ACCT }, keys }, { identityPolicies: [p], resourcePolicyRequired: false }).decision;
    expect(ask(`arn:aws:iam::${ACCT}:user/Alice`)).toBe('Allow');
    expect(ask(`arn:aws:iam::${ACCT}:user/Bob`)).toBe('ImplicitDeny');
  });
});
