// Several accounts in one home: `ebsim init --account-id` adds one (its own Alice and credentials
// profile), `--account` or the signing key selects it, IAM and STS act in the caller's account,
// and a role of another account is assumable as AWS documents it ("Providing access to an IAM user
// in another AWS account that you own"): the role's trust policy must allow the caller and the
// caller's own identity policy must allow sts:AssumeRole on the role.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initHome } from '../../src/app/ebsim.js';
import type { CallContext } from '../../src/core/call-context.js';
import { errorCode, makeHome, type TestHome } from '../helpers/home.js';
import { lastRecord } from './trail.js';
import { ebsimIn } from '../helpers/cli.js';

const A = '123456789012';
const B = '111122223333';
let h: TestHome;
let aliceA: CallContext;
let aliceB: CallContext;

const doc = (statement: Record<string, unknown>) => JSON.stringify({ Version: '2012-10-17', Statement: [statement] });

async function ebsim(...args: string[]) {
  return ebsimIn(h.dir, args);
}

/** The section `[profile]` of the home's credentials file, as key = value pairs. */
function profileOf(profile: string): Record<string, string> | undefined {
  const text = readFileSync(join(h.dir, 'credentials'), 'utf8');
  const section = new RegExp(`^\\[${profile}\\]\\n((?:[^\\[\\n].*\\n?)*)`, 'm').exec(text);
  return section ? Object.fromEntries(section[1]!.trim().split('\n').map((l) => l.split(' = ') as [string, string])) : undefined;
}

beforeAll(() => {
  h = makeHome();
  const added = initHome(h.dir, B);
  expect(added).toMatchObject({ accountId: B, region: 'us-east-1', userArn: `arn:aws:iam::${B}:user/Alice`, profile: `ebsim-${B}`, created: true });
  aliceA = h.app.as('Alice');
  aliceB = h.app.as('Alice', undefined, B);
});
afterAll(() => h.cleanup());

describe('ebsim init --account-id on an existing home', () => {
  it('adds the account with its own Alice (AdministratorAccess, an access key) in credentials profile ebsim-ID; profile ebsim stays the first account\'s', () => {
    expect(h.app.iam.accounts().map((a) => a.accountId)).toEqual([A, B]);
    const a = profileOf('ebsim')!;
    const b = profileOf(`ebsim-${B}`)!;
    expect(h.app.iam.lookupAccessKey(a.aws_access_key_id!)!.principal.arn).toBe(`arn:aws:iam::${A}:user/Alice`);
    expect(h.app.iam.lookupAccessKey(b.aws_access_key_id!)!.principal.arn).toBe(`arn:aws:iam::${B}:user/Alice`);
    expect(b.region).toBe('us-east-1');
    expect(h.app.iam.inAccount(B).policies.listAttached(h.app.iam.inAccount(B).holder('user', 'Alice')).map((p) => p.PolicyName)).toEqual(['AdministratorAccess']);
  });

  it('is idempotent: again for either account, nothing changes; without --account-id it means the first account', () => {
    const before = readFileSync(join(h.dir, 'credentials'), 'utf8');
    expect(initHome(h.dir, B)).toMatchObject({ accountId: B, created: false, profile: `ebsim-${B}` });
    expect(initHome(h.dir)).toMatchObject({ accountId: A, created: false, profile: 'ebsim' });
    expect(initHome(h.dir, A)).toMatchObject({ accountId: A, created: false });
    expect(readFileSync(join(h.dir, 'credentials'), 'utf8')).toBe(before);
    expect(h.app.iam.accounts()).toHaveLength(2);
  });

  it('refuses an account ID that is not 12 digits', () => {
    expect(errorCode(() => initHome(h.dir, '1234'))).toBe('ValidationError');
  });
});

describe('users and roles are per account', () => {
  it('users of the same name in two accounts are different principals, each listed only in its account', () => {
    h.app.iam.call(aliceA, 'CreateUser', { UserName: 'Bob' });
    h.app.iam.call(aliceB, 'CreateUser', { UserName: 'Bob' });
    const bobA = h.app.as('Bob');
    const bobB = h.app.as('Bob', undefined, B);
    expect(bobA.principal.arn).toBe(`arn:aws:iam::${A}:user/Bob`);
    expect(bobB.principal.arn).toBe(`arn:aws:iam::${B}:user/Bob`);
    expect(bobA.principal.principalId).not.toBe(bobB.principal.principalId);
    // A policy put in A's Bob is not B's Bob's.
    h.app.iam.call(aliceA, 'PutUserPolicy', { UserName: 'Bob', PolicyName: 'p', PolicyDocument: doc({ Effect: 'Allow', Action: 'kms:*', Resource: '*' }) });
    expect(h.app.iam.policiesOf(bobA.principal).identityPolicies).toHaveLength(1);
    expect(h.app.iam.policiesOf(bobB.principal).identityPolicies).toHaveLength(0);
    const names = (ctx: CallContext) => (h.app.iam.call(ctx, 'ListUsers').Users as { Arn: string }[]).map((u) => u.Arn);
    expect(names(aliceA)).toEqual([`arn:aws:iam::${A}:user/Alice`, `arn:aws:iam::${A}:user/Bob`]);
    expect(names(aliceB)).toEqual([`arn:aws:iam::${B}:user/Alice`, `arn:aws:iam::${B}:user/Bob`]);
  });

  it('CreateRole and CreatePolicy act in the caller\'s account', () => {
    const role = h.app.iam.call(aliceB, 'CreateRole', { RoleName: 'Only-in-B', AssumeRolePolicyDocument: doc({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${B}:root` }, Action: 'sts:AssumeRole' }) }).Role as { Arn: string };
    expect(role.Arn).toBe(`arn:aws:iam::${B}:role/Only-in-B`);
    expect(errorCode(() => h.app.iam.call(aliceA, 'GetRole', { RoleName: 'Only-in-B' }))).toBe('NoSuchEntity');
    const policy = h.app.iam.call(aliceB, 'CreatePolicy', { PolicyName: 'B-policy', PolicyDocument: doc({ Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' }) }).Policy as { Arn: string };
    expect(policy.Arn).toBe(`arn:aws:iam::${B}:policy/B-policy`);
    // A's users cannot attach B's customer managed policy: it does not exist in A.
    expect(errorCode(() => h.app.iam.call(aliceA, 'AttachUserPolicy', { UserName: 'Bob', PolicyArn: policy.Arn }))).toBe('NoSuchEntity');
  });

  it('--as names a principal of --account; the signing key\'s principal is its own account\'s', () => {
    expect(h.app.as('role/Only-in-B/s', undefined, B).principal.arn).toBe(`arn:aws:sts::${B}:assumed-role/Only-in-B/s`);
    expect(errorCode(() => h.app.as('role/Only-in-B/s'))).toBe('NoSuchEntity');
    expect(h.app.iam.getCallerIdentity(aliceB)).toMatchObject({ Account: B, Arn: `arn:aws:iam::${B}:user/Alice` });
  });
});

describe('AssumeRole across accounts (role in A, caller in B)', () => {
  const roleArn = `arn:aws:iam::${A}:role/Shared`;
  const trustB = doc({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${B}:root` }, Action: 'sts:AssumeRole' });
  const assume = (ctx: CallContext, role = roleArn) => h.app.iam.callSts(ctx, 'AssumeRole', { RoleArn: role, RoleSessionName: 'from-b' }) as { AssumedRoleUser: { Arn: string }; Credentials: { AccessKeyId: string } };

  beforeAll(() => {
    h.app.iam.call(aliceA, 'CreateRole', { RoleName: 'Shared', AssumeRolePolicyDocument: trustB });
    h.app.iam.call(aliceB, 'CreateUser', { UserName: 'Carol' });
  });

  it("B's user needs sts:AssumeRole in its own identity policy, even though the trust policy names B's root", () => {
    const carol = h.app.as('Carol', undefined, B);
    expect(() => assume(carol)).toThrow(/because no identity-based policy allows the sts:AssumeRole action/);
    h.app.iam.call(aliceB, 'PutUserPolicy', { UserName: 'Carol', PolicyName: 'assume', PolicyDocument: doc({ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: roleArn }) });
    const r = assume(carol);
    expect(r.AssumedRoleUser.Arn).toBe(`arn:aws:sts::${A}:assumed-role/Shared/from-b`);
    // The session's credentials act in A: the role's account.
    const session = h.app.iam.lookupAccessKey(r.Credentials.AccessKeyId)!.principal;
    expect(session).toMatchObject({ accountId: A, sessionIssuer: { arn: roleArn, accountId: A } });
    expect(lastRecord(h, 'AssumeRole')).toMatchObject({ userIdentity: { accountId: B }, responseElements: { assumedRoleUser: { arn: `arn:aws:sts::${A}:assumed-role/Shared/from-b` } } });
  });

  it('a trust policy that does not name B refuses B\'s administrator (no resource-based policy allows)', () => {
    h.app.iam.call(aliceA, 'CreateRole', { RoleName: 'Private', AssumeRolePolicyDocument: doc({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: 'sts:AssumeRole' }) });
    expect(() => assume(aliceB, `arn:aws:iam::${A}:role/Private`)).toThrow(/is not authorized to perform: sts:AssumeRole/);
  });

  it('a bare role name means a role of the caller\'s account', () => {
    expect(errorCode(() => assume(aliceB, 'Shared'))).toBe('AccessDenied');
    h.app.iam.call(aliceB, 'CreateRole', { RoleName: 'Shared', AssumeRolePolicyDocument: trustB });
    expect(assume(aliceB, 'Shared').AssumedRoleUser.Arn).toBe(`arn:aws:sts::${B}:assumed-role/Shared/from-b`);
  });
});

describe('the CLI: --account', () => {
  it('`iam list-users --account ID` lists that account\'s users; `sts get-caller-identity` names it', async () => {
    const users = await ebsim('iam', 'list-users', '--account', B);
    expect(users.code).toBe(0);
    const listed = JSON.parse(users.stdout).Users.map((u: { Arn: string }) => u.Arn);
    expect(listed).toContain(`arn:aws:iam::${B}:user/Alice`);
    expect(listed.every((arn: string) => arn.startsWith(`arn:aws:iam::${B}:`))).toBe(true);
    const who = JSON.parse((await ebsim('sts', 'get-caller-identity', '--account', B, '--as', 'Bob')).stdout);
    expect(who).toMatchObject({ Account: B, Arn: `arn:aws:iam::${B}:user/Bob` });
    expect(JSON.parse((await ebsim('sts', 'get-caller-identity')).stdout).Account).toBe(A);
  });

  it('an account the home does not hold is a user error naming `ebsim init --account-id`', async () => {
    const r = await ebsim('sts', 'get-caller-identity', '--account', '999999999999');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no account 999999999999: add it with `ebsim init --account-id 999999999999`/);
  });

  it('`ebsim init --account-id` adds an account; the output names its profile', async () => {
    const r = await ebsim('init', '--account-id', '444455556666');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ accountId: '444455556666', profile: 'ebsim-444455556666', created: true });
    expect(profileOf('ebsim-444455556666')).toBeDefined();
    expect(profileOf('ebsim')!.aws_access_key_id).toBeDefined();
  });
});
