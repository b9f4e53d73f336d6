// IAM, EC2 and CloudTrail calls are decided by the caller's identity policies on the one invoke
// path: a user with no policy may do nothing but ask who it is; what a policy allows, it may; each
// refusal is the service's own error and one trail record.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, type TestHome } from '../helpers/home.js';
import { allRecords } from '../../src/trail/index.js';
import type { CallContext } from '../../src/core/call-context.js';

let h: TestHome;
let alice: CallContext;
let bob: CallContext;
const BOB = 'arn:aws:iam::123456789012:user/Bob';

function failure(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    return { code: (err as { code: string }).code, message: (err as Error).message };
  }
  throw new Error('expected a refusal');
}
const lastRecord = () => {
  h.app.trail.flush();
  return allRecords(h.app.db).at(-1)!;
};

beforeAll(() => {
  h = makeHome('ebsim-authz-');
  alice = h.app.as('Alice');
  h.app.iam.createUser(alice, 'Bob');
  bob = h.app.as('Bob');
});
afterAll(() => h.cleanup());

describe('identity policies decide IAM, EC2 and CloudTrail calls', () => {
  it('a user without policies: refused everything but GetCallerIdentity, in each service\'s words, one record each', () => {
    expect(h.app.iam.getCallerIdentity(bob).Arn).toBe(BOB);
    expect(failure(() => h.app.iam.call(bob, 'CreateUser', { UserName: 'Mallory' }))).toEqual({
      code: 'AccessDenied',
      message: `User: ${BOB} is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::123456789012:user/Mallory because no identity-based policy allows the iam:CreateUser action`,
    });
    expect(lastRecord()).toMatchObject({ eventName: 'CreateUser', errorCode: 'AccessDenied', userIdentity: { userName: 'Bob' } });
    // Not even on himself: a user cannot grant himself power.
    const selfGrant = failure(() => h.app.iam.call(bob, 'PutUserPolicy', { UserName: 'Bob', PolicyName: 'all', PolicyDocument: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}' }));
    expect(selfGrant.code).toBe('AccessDenied');
    expect(h.app.iam.call(alice, 'ListUserPolicies', { UserName: 'Bob' }).PolicyNames).toEqual([]);
    const ec2 = failure(() => h.app.ec2().createVolume(bob, { Size: 1, Encrypted: true }));
    expect(ec2.code).toBe('UnauthorizedOperation');
    expect(ec2.message).toBe(`You are not authorized to perform this operation. User: ${BOB} is not authorized to perform: ec2:CreateVolume on resource: * because no identity-based policy allows the ec2:CreateVolume action`);
    expect(lastRecord()).toMatchObject({ eventName: 'CreateVolume', errorCode: 'Client.UnauthorizedOperation' });
    expect(failure(() => h.app.cloudtrail().call(bob, 'LookupEvents', {})).code).toBe('AccessDeniedException');
    expect(lastRecord()).toMatchObject({ eventName: 'LookupEvents', errorCode: 'AccessDeniedException' });
  });

  it('what a policy allows, on the resources it names (a policy variable: his own user only)', () => {
    h.app.iam.call(alice, 'PutUserPolicy', {
      UserName: 'Bob', PolicyName: 'self-service',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: ['iam:GetUser*', 'iam:ListUserPolicies', 'iam:GetUserPolicy'], Resource: 'arn:aws:iam::123456789012:user/${aws:username}' }],
      }),
    });
    expect(h.app.iam.call(bob, 'ListUserPolicies', { UserName: 'Bob' }).PolicyNames).toEqual(['self-service']);
    expect(failure(() => h.app.iam.call(bob, 'ListUserPolicies', { UserName: 'Alice' })).message).toContain('iam:ListUserPolicies on resource: arn:aws:iam::123456789012:user/Alice because no identity-based policy allows');
  });

  it('AWS managed ReadOnlyAccess lets him read (volumes, the trail) and not write; an explicit deny wins over AdministratorAccess', () => {
    h.app.iam.call(alice, 'AttachUserPolicy', { UserName: 'Bob', PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' });
    expect(h.app.ec2().describeVolumes(bob).Volumes).toBeInstanceOf(Array);
    expect(h.app.cloudtrail().call(bob, 'LookupEvents', { MaxResults: 1 }).Events).toHaveLength(1);
    expect(failure(() => h.app.ec2().createVolume(bob, { Size: 1 })).code).toBe('UnauthorizedOperation');

    h.app.iam.call(alice, 'AttachUserPolicy', { UserName: 'Bob', PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' });
    expect(h.app.ec2().createVolume(bob, { Size: 1 }).VolumeId).toMatch(/^vol-/);
    h.app.iam.call(alice, 'PutUserPolicy', {
      UserName: 'Bob', PolicyName: 'no-volumes',
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'ec2:CreateVolume', Resource: '*' }] }),
    });
    expect(failure(() => h.app.ec2().createVolume(bob, { Size: 1 })).message).toContain('ec2:CreateVolume on resource: * with an explicit deny in an identity-based policy');
  });
});
