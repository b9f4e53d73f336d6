// The accessors authorization will read on every call: a principal's identity policies, its
// session policy, a role's trust policy — as text with names, current after every change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallContext } from '../../src/core/call-context.js';
import { accountRootTrustPolicy, awsManagedPolicy, EC2_INFRASTRUCTURE_ROLE } from '../../src/iam/index.js';
import { makeHome, type TestHome } from '../helpers/home.js';

let h: TestHome;
let alice: CallContext;
const doc = (action: string) => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: action, Resource: '*' }] });
const call = (op: string, params: Record<string, unknown>) => h.app.iam.call(alice, op, params);
const ADMIN = 'arn:aws:iam::aws:policy/AdministratorAccess';

beforeAll(() => {
  h = makeHome();
  alice = h.app.as('Alice');
  h.app.iam.createUser(alice, 'Bob');
  h.app.iam.createRole(alice, 'App');
});
afterAll(() => h.cleanup());

describe('identityPoliciesOf', () => {
  it("Alice after init: AWS's AdministratorAccess document", () => {
    expect(h.app.iam.identityPoliciesOf(alice.principal)).toEqual([{ name: 'AdministratorAccess (attached to user Alice)', text: awsManagedPolicy(ADMIN)!.document }]);
  });

  it("a user: inline policies, then attached ones (the default version's document); current after each change", () => {
    const bob = h.app.as('Bob').principal;
    expect(h.app.iam.identityPoliciesOf(bob)).toEqual([]);
    call('PutUserPolicy', { UserName: 'Bob', PolicyName: 'enc', PolicyDocument: doc('kms:Encrypt') });
    call('CreatePolicy', { PolicyName: 'Dec', PolicyDocument: doc('kms:Decrypt') });
    call('AttachUserPolicy', { UserName: 'Bob', PolicyArn: 'arn:aws:iam::123456789012:policy/Dec' });
    expect(h.app.iam.identityPoliciesOf(bob)).toEqual([
      { name: 'inline policy enc of user Bob', text: doc('kms:Encrypt') },
      { name: 'Dec (attached to user Bob)', text: doc('kms:Decrypt') },
    ]);
    call('CreatePolicyVersion', { PolicyArn: 'arn:aws:iam::123456789012:policy/Dec', PolicyDocument: doc('kms:ReEncrypt*'), SetAsDefault: true });
    expect(h.app.iam.identityPoliciesOf(bob)[1]!.text).toBe(doc('kms:ReEncrypt*'));
  });

  it("a session (assumed or --as role/…): its role's policies", () => {
    call('PutRolePolicy', { RoleName: 'App', PolicyName: 'gen', PolicyDocument: doc('kms:GenerateDataKey') });
    const expected = [{ name: 'inline policy gen of role App', text: doc('kms:GenerateDataKey') }];
    expect(h.app.iam.identityPoliciesOf(h.app.as('role/App/s1').principal)).toEqual(expected);
    const r = h.app.iam.assumeRole(alice, 'App', 's2');
    expect(h.app.iam.identityPoliciesOf(h.app.iam.lookupAccessKey(r.Credentials.AccessKeyId)!.principal)).toEqual(expected);
  });

  it("AWS's aws:ec2-infrastructure role has none (it acts through grants only)", () => {
    expect(h.app.iam.identityPoliciesOf(h.app.iam.sessionPrincipal(EC2_INFRASTRUCTURE_ROLE, 'i-0123456789abcdef0', ''))).toEqual([]);
  });
});

describe('trustPolicyOf', () => {
  it("a role's trust policy by ARN; none for AWS's ec2 role, another account's, or a role that does not exist", () => {
    expect(h.app.iam.trustPolicyOf('arn:aws:iam::123456789012:role/App')).toBe(accountRootTrustPolicy('123456789012'));
    expect(h.app.iam.trustPolicyOf(`arn:aws:iam::123456789012:role/${EC2_INFRASTRUCTURE_ROLE}`)).toBeUndefined();
    expect(h.app.iam.trustPolicyOf('arn:aws:iam::999999999999:role/App')).toBeUndefined();
    expect(h.app.iam.trustPolicyOf('arn:aws:iam::123456789012:role/Nope')).toBeUndefined();
    expect(h.app.iam.trustPolicyOf('App')).toBeUndefined();
  });

  it('a role made before trust policies were stored (no iam_roles row) trusts its own account', () => {
    h.app.iam.createRole(alice, 'Old');
    h.app.db.prepare("DELETE FROM iam_roles WHERE role_arn = 'arn:aws:iam::123456789012:role/Old'").run();
    expect(h.app.iam.trustPolicyOf('arn:aws:iam::123456789012:role/Old')).toBe(accountRootTrustPolicy('123456789012'));
    expect(h.app.iam.assumeRole(alice, 'Old', 'ss').AssumedRoleUser.Arn).toBe('arn:aws:sts::123456789012:assumed-role/Old/ss');
  });

  it('AWS managed roles stay unassumable', () => {
    expect(() => h.app.iam.assumeRole(alice, `arn:aws:iam::123456789012:role/${EC2_INFRASTRUCTURE_ROLE}`, 'ss')).toThrow(/not authorized to perform: sts:AssumeRole/);
  });
});
