// Managed policies: customer ones with versions, AWS's built in, attachments; AWS's errors and quotas.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallContext } from '../../../src/core/call-context.js';
import { errorCode, makeHome, type TestHome } from '../../helpers/home.js';
import { lastRecord, recordsOf } from '../trail.js';

let h: TestHome;
let alice: CallContext;
const doc = (action = 'kms:Decrypt') => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: action, Resource: '*' }] });
const call = (op: string, params: Record<string, unknown> = {}) => h.app.iam.call(alice, op, params) as Record<string, any>;
const arnOf = (name: string) => `arn:aws:iam::123456789012:policy/${name}`;
const ADMIN = 'arn:aws:iam::aws:policy/AdministratorAccess';

beforeAll(() => {
  h = makeHome();
  alice = h.app.as('Alice');
  h.app.iam.createUser(alice, 'Bob');
  h.app.iam.createRole(alice, 'App');
});
afterAll(() => h.cleanup());

describe('CreatePolicy, GetPolicy, ListPolicies', () => {
  it("creates v1 as the default version, with IAM's Policy shape", () => {
    const { Policy } = call('CreatePolicy', { PolicyName: 'Decrypt', PolicyDocument: doc(), Description: 'decrypt anything' });
    expect(Policy).toMatchObject({ PolicyName: 'Decrypt', Arn: arnOf('Decrypt'), Path: '/', DefaultVersionId: 'v1', AttachmentCount: 0, IsAttachable: true });
    expect(Policy.PolicyId).toMatch(/^ANPA[A-Z2-7]{17}$/);
    expect(Policy.Description).toBeUndefined();
    expect(call('GetPolicy', { PolicyArn: arnOf('Decrypt') }).Policy).toMatchObject({ PolicyName: 'Decrypt', Description: 'decrypt anything' });
    expect(lastRecord(h, 'CreatePolicy')).toMatchObject({ requestParameters: { policyName: 'Decrypt', policyDocument: doc() }, responseElements: { policy: { policyName: 'Decrypt', defaultVersionId: 'v1' } } });
  });

  it('EntityAlreadyExists for a second policy of the same name; MalformedPolicyDocument for a bad document', () => {
    expect(() => call('CreatePolicy', { PolicyName: 'Decrypt', PolicyDocument: doc() })).toThrow('A policy called Decrypt already exists. Duplicate names are not allowed.');
    expect(errorCode(() => call('CreatePolicy', { PolicyName: 'Bad', PolicyDocument: 'not json' }))).toBe('MalformedPolicyDocument');
    expect(errorCode(() => call('CreatePolicy', { PolicyName: 'Bad', PolicyDocument: '{"Version":"2012-10-17"}' }))).toBe('MalformedPolicyDocument');
  });

  it('NoSuchEntity for a policy that does not exist; InvalidInput for an ARN that is no policy ARN', () => {
    expect(() => call('GetPolicy', { PolicyArn: arnOf('Nope') })).toThrow(`Policy ${arnOf('Nope')} was not found.`);
    expect(errorCode(() => call('GetPolicy', { PolicyArn: 'arn:aws:iam::aws:policy/NoSuchAwsPolicy' }))).toBe('NoSuchEntity');
    expect(() => call('GetPolicy', { PolicyArn: 'arn:aws:s3:::bucket-name-here' })).toThrow('ARN arn:aws:s3:::bucket-name-here is not valid.');
  });

  it("AWS managed policies are listed with Scope=AWS, by their real names and ARNs; Local lists this account's", () => {
    const aws = call('ListPolicies', { Scope: 'AWS' }).Policies as { PolicyName: string; Arn: string }[];
    expect(aws.map((p) => p.PolicyName)).toEqual(expect.arrayContaining(['AdministratorAccess', 'PowerUserAccess', 'ReadOnlyAccess', 'AWSKeyManagementServicePowerUser']));
    for (const p of aws) expect(p.Arn).toBe(`arn:aws:iam::aws:policy/${p.PolicyName}`);
    expect((call('ListPolicies', { Scope: 'Local' }).Policies as { PolicyName: string }[]).map((p) => p.PolicyName)).toEqual(['Decrypt']);
    expect((call('ListPolicies').Policies as unknown[]).length).toBe(aws.length + 1);
    expect(errorCode(() => call('ListPolicies', { Scope: 'Mine' }))).toBe('ValidationError');
  });

  it("GetPolicyVersion of an AWS managed policy returns AWS's document", () => {
    const v = call('GetPolicyVersion', { PolicyArn: ADMIN, VersionId: 'v1' }).PolicyVersion;
    expect(JSON.parse(decodeURIComponent(v.Document))).toEqual({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] });
    expect(v).toMatchObject({ VersionId: 'v1', IsDefaultVersion: true });
    const kms = call('GetPolicy', { PolicyArn: 'arn:aws:iam::aws:policy/AWSKeyManagementServicePowerUser' }).Policy;
    expect(JSON.parse(decodeURIComponent(call('GetPolicyVersion', { PolicyArn: kms.Arn, VersionId: kms.DefaultVersionId }).PolicyVersion.Document)).Statement[0].Action).toContain('kms:CreateKey');
  });

  it("AWS's policies cannot be changed or deleted (AccessDenied)", () => {
    expect(errorCode(() => call('DeletePolicy', { PolicyArn: ADMIN }))).toBe('AccessDenied');
    expect(errorCode(() => call('CreatePolicyVersion', { PolicyArn: ADMIN, PolicyDocument: doc() }))).toBe('AccessDenied');
  });
});

describe('policy versions', () => {
  it('CreatePolicyVersion adds v2…v5; the 6th is LimitExceeded; SetAsDefault and SetDefaultPolicyVersion choose the default', () => {
    const arn = arnOf('Decrypt');
    expect(call('CreatePolicyVersion', { PolicyArn: arn, PolicyDocument: doc('kms:Encrypt') }).PolicyVersion).toMatchObject({ VersionId: 'v2', IsDefaultVersion: false });
    expect(call('CreatePolicyVersion', { PolicyArn: arn, PolicyDocument: doc('kms:Encrypt'), SetAsDefault: true }).PolicyVersion).toMatchObject({ VersionId: 'v3', IsDefaultVersion: true });
    call('CreatePolicyVersion', { PolicyArn: arn, PolicyDocument: doc() });
    call('CreatePolicyVersion', { PolicyArn: arn, PolicyDocument: doc() });
    expect(() => call('CreatePolicyVersion', { PolicyArn: arn, PolicyDocument: doc() })).toThrow(
      'A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.',
    );
    expect(errorCode(() => call('CreatePolicyVersion', { PolicyArn: arn, PolicyDocument: doc() }))).toBe('LimitExceeded');
    expect((call('ListPolicyVersions', { PolicyArn: arn }).Versions as { VersionId: string; IsDefaultVersion: boolean }[]).map((v) => `${v.VersionId}${v.IsDefaultVersion ? '*' : ''}`)).toEqual(['v5', 'v4', 'v3*', 'v2', 'v1']);
    expect(call('GetPolicy', { PolicyArn: arn }).Policy.DefaultVersionId).toBe('v3');
    call('SetDefaultPolicyVersion', { PolicyArn: arn, VersionId: 'v1' });
    expect(call('GetPolicyVersion', { PolicyArn: arn, VersionId: 'v1' }).PolicyVersion.IsDefaultVersion).toBe(true);
    expect(errorCode(() => call('SetDefaultPolicyVersion', { PolicyArn: arn, VersionId: 'v9' }))).toBe('NoSuchEntity');
    expect(errorCode(() => call('GetPolicyVersion', { PolicyArn: arn, VersionId: 'x1' }))).toBe('ValidationError');
  });

  it('the default version cannot be deleted (DeleteConflict); others can, and the numbers go on', () => {
    const arn = arnOf('Decrypt');
    expect(() => call('DeletePolicyVersion', { PolicyArn: arn, VersionId: 'v1' })).toThrow('Cannot delete the default version of a policy.');
    expect(errorCode(() => call('DeletePolicyVersion', { PolicyArn: arn, VersionId: 'v1' }))).toBe('DeleteConflict');
    call('DeletePolicyVersion', { PolicyArn: arn, VersionId: 'v5' });
    expect(errorCode(() => call('DeletePolicyVersion', { PolicyArn: arn, VersionId: 'v5' }))).toBe('NoSuchEntity');
    expect(call('CreatePolicyVersion', { PolicyArn: arn, PolicyDocument: doc() }).PolicyVersion.VersionId).toBe('v6');
  });

  it('DeletePolicy is a DeleteConflict while other versions exist, as AWS', () => {
    expect(() => call('DeletePolicy', { PolicyArn: arnOf('Decrypt') })).toThrow(/^This policy has more than one version\./);
  });
});

describe('attachments', () => {
  it('AttachUserPolicy and AttachRolePolicy are listed, counted, and idempotent', () => {
    call('AttachUserPolicy', { UserName: 'Bob', PolicyArn: arnOf('Decrypt') });
    call('AttachUserPolicy', { UserName: 'Bob', PolicyArn: arnOf('Decrypt') });
    call('AttachUserPolicy', { UserName: 'Bob', PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' });
    call('AttachRolePolicy', { RoleName: 'App', PolicyArn: arnOf('Decrypt') });
    expect(call('ListAttachedUserPolicies', { UserName: 'Bob' })).toEqual({
      AttachedPolicies: [
        { PolicyName: 'Decrypt', PolicyArn: arnOf('Decrypt') },
        { PolicyName: 'ReadOnlyAccess', PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' },
      ],
    });
    expect(call('ListAttachedRolePolicies', { RoleName: 'App' }).AttachedPolicies).toEqual([{ PolicyName: 'Decrypt', PolicyArn: arnOf('Decrypt') }]);
    expect(call('GetPolicy', { PolicyArn: arnOf('Decrypt') }).Policy.AttachmentCount).toBe(2);
    expect((call('ListPolicies', { OnlyAttached: true }).Policies as { PolicyName: string }[]).map((p) => p.PolicyName).sort()).toEqual(['AdministratorAccess', 'Decrypt', 'ReadOnlyAccess']);
  });

  it('NoSuchEntity for an unknown principal or policy, in IAM words', () => {
    expect(() => call('AttachUserPolicy', { UserName: 'Bob', PolicyArn: arnOf('Nope') })).toThrow(`Policy ${arnOf('Nope')} does not exist or is not attachable.`);
    expect(() => call('AttachRolePolicy', { RoleName: 'Nope', PolicyArn: ADMIN })).toThrow('The role with name Nope cannot be found.');
    expect(() => call('DetachUserPolicy', { UserName: 'Bob', PolicyArn: ADMIN })).toThrow(`Policy ${ADMIN} was not found.`);
  });

  it('a policy attached to anyone cannot be deleted (DeleteConflict)', () => {
    call('CreatePolicy', { PolicyName: 'Attached', PolicyDocument: doc() });
    call('AttachRolePolicy', { RoleName: 'App', PolicyArn: arnOf('Attached') });
    expect(() => call('DeletePolicy', { PolicyArn: arnOf('Attached') })).toThrow('Cannot delete a policy attached to entities.');
    call('DetachRolePolicy', { RoleName: 'App', PolicyArn: arnOf('Attached') });
    expect(call('DeletePolicy', { PolicyArn: arnOf('Attached') })).toEqual({});
    expect(errorCode(() => call('GetPolicy', { PolicyArn: arnOf('Attached') }))).toBe('NoSuchEntity');
  });

  it('the 11th managed policy on a user is LimitExceeded', () => {
    h.app.iam.createUser(alice, 'Carol');
    for (let i = 1; i <= 10; i++) {
      call('CreatePolicy', { PolicyName: `P${i}`, PolicyDocument: doc() });
      call('AttachUserPolicy', { UserName: 'Carol', PolicyArn: arnOf(`P${i}`) });
    }
    call('AttachUserPolicy', { UserName: 'Carol', PolicyArn: arnOf('P10') }); // already attached: not an 11th
    expect(() => call('AttachUserPolicy', { UserName: 'Carol', PolicyArn: ADMIN })).toThrow('Cannot exceed quota for PoliciesPerUser: 10');
    expect(errorCode(() => call('AttachUserPolicy', { UserName: 'Carol', PolicyArn: ADMIN }))).toBe('LimitExceeded');
    expect((call('ListAttachedUserPolicies', { UserName: 'Carol' }).AttachedPolicies as unknown[]).length).toBe(10);
  });

  it('each call is recorded once, success or failure', () => {
    const before = recordsOf(h, 'AttachUserPolicy').length;
    call('AttachUserPolicy', { UserName: 'Bob', PolicyArn: ADMIN });
    expect(errorCode(() => call('AttachUserPolicy', { UserName: 'Bob', PolicyArn: arnOf('Nope') }))).toBe('NoSuchEntity');
    const recs = recordsOf(h, 'AttachUserPolicy').slice(before);
    expect(recs.map((r) => [r.requestParameters.policyArn, r.errorCode ?? 'ok'])).toEqual([
      [ADMIN, 'ok'],
      [arnOf('Nope'), 'NoSuchEntity'],
    ]);
  });
});

describe('ebsim init', () => {
  it('gives Alice AdministratorAccess; a new user has no policies', () => {
    expect(call('ListAttachedUserPolicies', { UserName: 'Alice' }).AttachedPolicies).toEqual([{ PolicyName: 'AdministratorAccess', PolicyArn: ADMIN }]);
    h.app.iam.createUser(alice, 'Dave');
    expect(call('ListAttachedUserPolicies', { UserName: 'Dave' }).AttachedPolicies).toEqual([]);
    expect(call('ListUserPolicies', { UserName: 'Dave' }).PolicyNames).toEqual([]);
  });
});
