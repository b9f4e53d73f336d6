// Issue 13's "Done when" for STS: AssumeRole is decided by the role's trust policy (a resource
// policy) with the caller's identity policies, as the IAM User Guide's evaluation logic says.
// Each case runs in-process, through the CLI (`ebsim sts assume-role`, `main` in-process) and
// over HTTP with the AWS SDK's STSClient; each denial leaves exactly one AccessDenied record.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { makeHome, type TestHome } from '../helpers/home.js';
import { inProcess, sleep } from '../server/helpers.js';
import type { CallContext } from '../../src/core/call-context.js';
import type { RunningServer } from '../../src/server/index.js';
import type { SigningCredentials } from '../../src/server/sigv4.js';
import { recordsOf } from './trail.js';
import { ebsimIn } from '../helpers/cli.js';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const roleArn = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
const userArn = (name: string) => `arn:aws:iam::${ACCOUNT}:user/${name}`;

let h: TestHome;
let server: RunningServer;
let alice: CallContext;
const clients: STSClient[] = [];

beforeAll(async () => {
  h = makeHome('ebsim-trust-');
  alice = h.app.as('Alice');
  server = await inProcess(h.dir);
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await server?.close();
  h.cleanup();
});

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string; json(): Record<string, any> }> {
  return ebsimIn(h.dir, args);
}

/** Changes made through `h.app` or the CLI reach the server's own connection within 2 ms. */
const settle = () => sleep(5);

interface User {
  name: string;
  ctx: CallContext;
  sts: STSClient;
}

/** A user with an access key and no policy at all. */
function newUser(name: string): User {
  h.app.iam.createUser(alice, name);
  const k = h.app.iam.createAccessKey(alice, name).AccessKey;
  const creds: SigningCredentials = { accessKeyId: k.AccessKeyId, secretAccessKey: k.SecretAccessKey };
  const sts = new STSClient({ endpoint: server.url, region: REGION, credentials: creds, maxAttempts: 1 });
  clients.push(sts);
  return { name, ctx: h.app.as(name), sts };
}

const trust = (...statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });

/** AccessDenied records of AssumeRole so far. */
const deniedCount = () => recordsOf(h, 'AssumeRole').filter((r) => r.errorCode === 'AccessDenied').length;

/**
 * Asserts `who` may (message undefined) or may not assume `role` through all three entry points,
 * and that each denial is recorded exactly once.
 */
async function expectAssume(who: User, role: string, message: string | undefined): Promise<void> {
  await settle();
  const before = deniedCount();
  const session = (via: string) => `${who.name}-${via}`;
  // in-process
  let inProcessError: { code?: string; message: string } | undefined;
  try {
    h.app.iam.callSts(who.ctx, 'AssumeRole', { RoleArn: roleArn(role), RoleSessionName: session('app') });
  } catch (err) {
    inProcessError = err as { code?: string; message: string };
  }
  // CLI
  const r = await cli('sts', 'assume-role', '--role-arn', roleArn(role), '--role-session-name', session('cli'), '--as', who.name);
  // SDK
  await settle();
  let sdkError: Error | undefined;
  let sdkArn: string | undefined;
  try {
    sdkArn = (await who.sts.send(new AssumeRoleCommand({ RoleArn: roleArn(role), RoleSessionName: session('sdk') }))).AssumedRoleUser!.Arn;
  } catch (err) {
    sdkError = err as Error;
  }
  if (message === undefined) {
    expect(inProcessError).toBeUndefined();
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().AssumedRoleUser.Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/${role}/${session('cli')}`);
    expect(sdkArn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/${role}/${session('sdk')}`);
    expect(deniedCount()).toBe(before);
  } else {
    expect(inProcessError).toMatchObject({ code: 'AccessDenied', message });
    expect(r.code).toBe(254);
    expect(r.stderr).toContain(`An error occurred (AccessDenied) when calling the AssumeRole operation: ${message}`);
    expect({ name: sdkError?.name, message: sdkError?.message }).toEqual({ name: 'AccessDenied', message });
    // three denied calls, three records: one each
    expect(deniedCount()).toBe(before + 3);
    const last = recordsOf(h, 'AssumeRole').at(-1)!;
    expect(last).toMatchObject({ errorCode: 'AccessDenied', errorMessage: message, userIdentity: { arn: userArn(who.name) } });
  }
}

const refused = (who: string, role: string, why: string) => `User: ${userArn(who)} is not authorized to perform: sts:AssumeRole on resource: ${roleArn(role)} ${why}`;

describe('a role that trusts one IAM user by ARN', () => {
  // An IAM user principal in a trust policy, as the IAM User Guide writes it ("IAM user principals",
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-users).
  let bob: User;
  beforeAll(() => {
    bob = newUser('Bob');
    h.app.iam.call(alice, 'CreateRole', {
      RoleName: 'OnlyBob',
      AssumeRolePolicyDocument: trust({ Effect: 'Allow', Principal: { AWS: userArn('Bob') }, Action: 'sts:AssumeRole' }),
    });
  });

  it('Bob, with no identity policy, may assume it: a same-account resource policy naming the principal is enough', async () => {
    await expectAssume(bob, 'OnlyBob', undefined);
  });

  it('Alice, AdministratorAccess notwithstanding, may not: the trust policy names neither her nor her account', async () => {
    const alice2: User = { name: 'Alice', ctx: alice, sts: new STSClient({ endpoint: server.url, region: REGION, credentials: aliceKeys(), maxAttempts: 1 }) };
    clients.push(alice2.sts);
    await expectAssume(alice2, 'OnlyBob', refused('Alice', 'OnlyBob', 'because no resource-based policy allows the sts:AssumeRole action'));
  });
});

function aliceKeys(): SigningCredentials {
  const k = h.app.db.prepare("SELECT access_key_id, secret_access_key FROM access_keys WHERE principal_arn = ? AND session_name IS NULL").get(userArn('Alice')) as { access_key_id: string; secret_access_key: string };
  return { accessKeyId: k.access_key_id, secretAccessKey: k.secret_access_key };
}

describe('a role that trusts the account', () => {
  // "AWS account principals" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-accounts):
  // trusting the account delegates the decision to its identity policies. The identity policy is
  // the IAM User Guide's, "Granting a user permissions to switch roles"
  // (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_permissions-to-switch.html).
  let carol: User;
  beforeAll(() => {
    carol = newUser('Carol');
    h.app.iam.call(alice, 'CreateRole', {
      RoleName: 'TestAccountRole',
      AssumeRolePolicyDocument: trust({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'sts:AssumeRole' }),
    });
  });

  it('Carol without an identity policy may not: no identity-based policy allows sts:AssumeRole', async () => {
    await expectAssume(carol, 'TestAccountRole', refused('Carol', 'TestAccountRole', 'because no identity-based policy allows the sts:AssumeRole action'));
  });

  it('with an inline policy allowing sts:AssumeRole on the role (ebsim iam put-user-policy), she may', async () => {
    const allow = JSON.stringify({ Version: '2012-10-17', Statement: { Effect: 'Allow', Action: 'sts:AssumeRole', Resource: `arn:aws:iam::${ACCOUNT}:role/Test*` } });
    const put = await cli('iam', 'put-user-policy', '--user-name', 'Carol', '--policy-name', 'switch', '--policy-document', allow);
    expect(put.code, put.stderr).toBe(0);
    await expectAssume(carol, 'TestAccountRole', undefined);
    // Alice may too: AdministratorAccess allows sts:* on *, and the trust policy trusts her account.
    expect(() => h.app.iam.callSts(alice, 'AssumeRole', { RoleArn: roleArn('TestAccountRole'), RoleSessionName: 'admin' })).not.toThrow();
  });
});

describe('a trust policy with a Condition, changed by UpdateAssumeRolePolicy', () => {
  // aws:SourceIp and aws:username, IAM User Guide, "AWS global condition context keys":
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-sourceip
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-username
  // Changing who may assume a role: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_update-role-trust-policy.html
  let dave: User;
  let erin: User;
  const both = { AWS: [userArn('Dave'), userArn('Erin')] };
  beforeAll(() => {
    dave = newUser('Dave');
    erin = newUser('Erin');
    h.app.iam.call(alice, 'CreateRole', {
      RoleName: 'FromHere',
      AssumeRolePolicyDocument: trust({ Effect: 'Allow', Principal: both, Action: 'sts:AssumeRole', Condition: { IpAddress: { 'aws:SourceIp': '127.0.0.0/8' } } }),
    });
  });

  it('aws:SourceIp 127.0.0.0/8: Dave calling from this machine may assume it (in-process, CLI, and over HTTP from 127.0.0.1)', async () => {
    await expectAssume(dave, 'FromHere', undefined);
  });

  it('ebsim iam update-assume-role-policy to 203.0.113.0/24: the same calls are now refused', async () => {
    const doc = trust({ Effect: 'Allow', Principal: both, Action: 'sts:AssumeRole', Condition: { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } } });
    const r = await cli('iam', 'update-assume-role-policy', '--role-name', 'FromHere', '--policy-document', doc);
    expect(r.code, r.stderr).toBe(0);
    await expectAssume(dave, 'FromHere', refused('Dave', 'FromHere', 'because no resource-based policy allows the sts:AssumeRole action'));
  });

  it('StringEquals aws:username Erin: Erin may, Dave (also named as Principal) may not', async () => {
    h.app.iam.call(alice, 'UpdateAssumeRolePolicy', {
      RoleName: 'FromHere',
      PolicyDocument: trust({ Effect: 'Allow', Principal: both, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'aws:username': 'Erin' } } }),
    });
    await expectAssume(erin, 'FromHere', undefined);
    await expectAssume(dave, 'FromHere', refused('Dave', 'FromHere', 'because no resource-based policy allows the sts:AssumeRole action'));
  });

  it('the denial comes from the document: a trust policy allowing * makes the same call succeed', async () => {
    h.app.iam.call(alice, 'UpdateAssumeRolePolicy', { RoleName: 'FromHere', PolicyDocument: trust({ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' }) });
    await expectAssume(dave, 'FromHere', undefined);
  });
});

describe('an explicit Deny in a trust policy', () => {
  it('beats an Allow naming the same user, and beats identity policies', async () => {
    const frank = newUser('Frank');
    h.app.iam.attachUserPolicy(alice, 'Frank', 'arn:aws:iam::aws:policy/AdministratorAccess');
    h.app.iam.call(alice, 'CreateRole', {
      RoleName: 'NotFrank',
      AssumeRolePolicyDocument: trust(
        { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'sts:AssumeRole' },
        { Effect: 'Deny', Principal: { AWS: userArn('Frank') }, Action: 'sts:AssumeRole' },
      ),
    });
    await expectAssume(frank, 'NotFrank', refused('Frank', 'NotFrank', 'with an explicit deny in a resource-based policy'));
  });
});

describe('role chaining: a trust policy naming another role', () => {
  // A role as principal ("IAM role principals", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-roles):
  // its sessions may assume the role. A session policy limits that too, since the trust policy
  // names the role, not the session (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session).
  beforeAll(() => {
    h.app.iam.createRole(alice, 'First');
    h.app.iam.call(alice, 'CreateRole', {
      RoleName: 'Second',
      AssumeRolePolicyDocument: trust({ Effect: 'Allow', Principal: { AWS: roleArn('First') }, Action: 'sts:AssumeRole' }),
    });
  });

  async function chain(policy?: string): Promise<{ inProcess?: Error; sdk?: Error; sessionArn: string }> {
    const first = h.app.iam.assumeRole(alice, 'First', policy ? 'limited' : 'open', policy ? { policy } : {});
    const c = first.Credentials;
    const ctx = { ...h.app.as('Alice'), principal: h.app.iam.lookupAccessKey(c.AccessKeyId)!.principal };
    let inProcess: Error | undefined;
    try {
      h.app.iam.callSts(ctx, 'AssumeRole', { RoleArn: roleArn('Second'), RoleSessionName: 'chained' });
    } catch (err) {
      inProcess = err as Error;
    }
    await settle();
    const sts = new STSClient({ endpoint: server.url, region: REGION, credentials: { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken }, maxAttempts: 1 });
    clients.push(sts);
    let sdk: Error | undefined;
    try {
      await sts.send(new AssumeRoleCommand({ RoleArn: roleArn('Second'), RoleSessionName: 'chained-sdk' }));
    } catch (err) {
      sdk = err as Error;
    }
    return { inProcess, sdk, sessionArn: first.AssumedRoleUser.Arn };
  }

  it("a session of First, with no identity policy, may assume Second (in-process, SDK, and ebsim sts assume-role --as role/First/…)", async () => {
    const r = await chain();
    expect(r.inProcess).toBeUndefined();
    expect(r.sdk).toBeUndefined();
    const c = await cli('sts', 'assume-role', '--role-arn', roleArn('Second'), '--role-session-name', 'chained-cli', '--as', 'role/First/cli');
    expect(c.code, c.stderr).toBe(0);
    expect(c.json().AssumedRoleUser.Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/Second/chained-cli`);
  });

  it('a session of First whose session policy does not allow sts:AssumeRole may not: no session policy allows it', async () => {
    const before = deniedCount();
    const r = await chain(JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] }));
    const message = `User: ${r.sessionArn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn('Second')} because no session policy allows the sts:AssumeRole action`;
    expect(r.inProcess).toMatchObject({ code: 'AccessDenied', message });
    expect({ name: r.sdk?.name, message: r.sdk?.message }).toEqual({ name: 'AccessDenied', message });
    expect(deniedCount()).toBe(before + 2);
  });
});
