// Roles and their trust policies: CreateRole requires one (AWS does), GetRole and ListRoles return
// it URL-encoded, UpdateAssumeRolePolicy replaces it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallContext } from '../../../src/core/call-context.js';
import { accountRootTrustPolicy } from '../../../src/iam/documents.js';
import { errorCode, makeHome, type TestHome } from '../../helpers/home.js';
import { lastRecord } from '../trail.js';

let h: TestHome;
let alice: CallContext;
const call = (op: string, params: Record<string, unknown> = {}) => h.app.iam.call(alice, op, params) as Record<string, any>;
const trust = (principal: object) => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: principal, Action: 'sts:AssumeRole' }] });
const ec2Trust = trust({ Service: 'ec2.amazonaws.com' });

beforeAll(() => {
  h = makeHome();
  alice = h.app.as('Alice');
});
afterAll(() => h.cleanup());

describe('CreateRole', () => {
  it('requires AssumeRolePolicyDocument, as AWS does (ValidationError)', () => {
    expect(() => call('CreateRole', { RoleName: 'NoTrust' })).toThrow("1 validation error detected: Value null at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must not be null");
    expect(errorCode(() => call('CreateRole', { RoleName: 'NoTrust' }))).toBe('ValidationError');
  });

  it('stores the trust policy and returns it URL-encoded; the trail logs it', () => {
    const { Role } = call('CreateRole', { RoleName: 'Web', AssumeRolePolicyDocument: ec2Trust, Description: 'web servers', MaxSessionDuration: 7200 });
    expect(Role).toMatchObject({ RoleName: 'Web', Path: '/', Arn: 'arn:aws:iam::123456789012:role/Web', Description: 'web servers' });
    expect(decodeURIComponent(Role.AssumeRolePolicyDocument)).toBe(ec2Trust);
    expect(lastRecord(h, 'CreateRole')).toMatchObject({ requestParameters: { roleName: 'Web', assumeRolePolicyDocument: ec2Trust, maxSessionDuration: 7200 } });
  });

  it('MalformedPolicyDocument for a trust policy without a principal, or not JSON; EntityAlreadyExists for a second role of the name', () => {
    expect(() => call('CreateRole', { RoleName: 'Bad', AssumeRolePolicyDocument: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}' })).toThrow('Missing required field Principal');
    expect(errorCode(() => call('CreateRole', { RoleName: 'Bad', AssumeRolePolicyDocument: 'not json' }))).toBe('MalformedPolicyDocument');
    expect(errorCode(() => call('CreateRole', { RoleName: 'Web', AssumeRolePolicyDocument: ec2Trust }))).toBe('EntityAlreadyExists');
    // IAM names are not distinguished by case ("IAM identifiers"): no second role, or user, that differs only by case.
    expect(() => call('CreateRole', { RoleName: 'WEB', AssumeRolePolicyDocument: ec2Trust })).toThrow('Role with name WEB already exists.');
    expect(() => call('CreateUser', { UserName: 'alice' })).toThrow('User with name alice already exists.');
    expect(errorCode(() => call('GetRole', { RoleName: 'Bad' }))).toBe('NoSuchEntity');
  });

  it("the typed createRole without a document trusts the role's own account", () => {
    h.app.iam.createRole(alice, 'Typed');
    expect(decodeURIComponent(call('GetRole', { RoleName: 'Typed' }).Role.AssumeRolePolicyDocument)).toBe(accountRootTrustPolicy('123456789012'));
    expect(JSON.parse(accountRootTrustPolicy('123456789012'))).toEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'sts:AssumeRole' }],
    });
  });
});

describe('GetRole, ListRoles, UpdateAssumeRolePolicy', () => {
  it('GetRole shows the role with MaxSessionDuration (3600 by default)', () => {
    expect(call('GetRole', { RoleName: 'Typed' }).Role).toMatchObject({ RoleName: 'Typed', MaxSessionDuration: 3600, RoleLastUsed: {} });
    expect(call('GetRole', { RoleName: 'Web' }).Role.MaxSessionDuration).toBe(7200);
    expect(() => call('GetRole', { RoleName: 'Nope' })).toThrow('The role with name Nope cannot be found.');
  });

  it('ListRoles lists them with their trust policies', () => {
    const roles = call('ListRoles').Roles as { RoleName: string; AssumeRolePolicyDocument: string }[];
    expect(roles.map((r) => r.RoleName)).toEqual(['Typed', 'Web']);
    expect(decodeURIComponent(roles[1]!.AssumeRolePolicyDocument)).toBe(ec2Trust);
  });

  it('UpdateAssumeRolePolicy replaces the trust policy; a malformed one changes nothing', () => {
    const bob = trust({ AWS: 'arn:aws:iam::123456789012:user/Bob' });
    expect(call('UpdateAssumeRolePolicy', { RoleName: 'Web', PolicyDocument: bob })).toEqual({});
    expect(errorCode(() => call('UpdateAssumeRolePolicy', { RoleName: 'Web', PolicyDocument: '{}' }))).toBe('MalformedPolicyDocument');
    expect(decodeURIComponent(call('GetRole', { RoleName: 'Web' }).Role.AssumeRolePolicyDocument)).toBe(bob);
    expect(h.app.iam.trustPolicyOf('arn:aws:iam::123456789012:role/Web')).toBe(bob);
    expect(errorCode(() => call('UpdateAssumeRolePolicy', { RoleName: 'Nope', PolicyDocument: bob }))).toBe('NoSuchEntity');
  });

  it('a trust policy over 2048 characters is LimitExceeded', () => {
    const big = trust({ AWS: Array.from({ length: 60 }, (_, i) => `arn:aws:iam::123456789012:user/User${i}`) });
    expect(() => call('UpdateAssumeRolePolicy', { RoleName: 'Web', PolicyDocument: big })).toThrow('Cannot exceed quota for ACLSizePerRole: 2048');
  });
});

describe('a trust policy stored by an older ebsim', () => {
  // ebsim once accepted NotPrincipal in trust policies; AWS forbids it there now, and so does
  // ebsim's parser. A role that still holds one trusts no one: AccessDenied, not a 500.
  it('with NotPrincipal: AssumeRole is AccessDenied', () => {
    call('CreateRole', { RoleName: 'OldTrust', AssumeRolePolicyDocument: trust({ AWS: h.app.iam.requireAccount().accountId }) });
    const roleArn = `arn:aws:iam::${h.app.iam.requireAccount().accountId}:role/OldTrust`;
    const old = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', NotPrincipal: { AWS: 'arn:aws:iam::999999999999:root' }, Action: 'sts:AssumeRole' }] });
    h.app.db.prepare('UPDATE iam_roles SET assume_role_policy = ? WHERE role_arn = ?').run(old, roleArn);
    let err: unknown;
    try { h.app.iam.callSts(alice, 'AssumeRole', { RoleArn: roleArn, RoleSessionName: 'old-trust' }); } catch (e) { err = e; }
    expect(err).toMatchObject({ code: 'AccessDenied' });
  });
});
