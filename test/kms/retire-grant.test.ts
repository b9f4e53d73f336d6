// Who may retire a grant, as the KMS guide's "Retiring and revoking grants" says: the grant decides.
// Its retiring principal and (when the grant allows RetireGrant) its grantee need no permission of
// their own; the account the grant was created in, and an account named as retiring principal,
// delegate through kms:RetireGrant in their principals' IAM policies; a Deny on kms:RetireGrant in
// the caller's IAM policies wins; the key policy has no say. In process and over HTTP with the SDK.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KMSClient, RetireGrantCommand } from '@aws-sdk/client-kms';
import { initHome } from '../../src/app/ebsim.js';
import type { CallContext } from '../../src/core/call-context.js';
import type { RunningServer } from '../../src/server/index.js';
import { errorCode, makeHome, type TestHome } from '../helpers/home.js';
import { aliceCredentials, inProcess } from '../server/helpers.js';

const A = '123456789012'; // owns the key
const B = '111122223333'; // named as retiring account
const doc = (...statements: Record<string, unknown>[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
const ALLOW_RETIRE = doc({ Effect: 'Allow', Action: 'kms:RetireGrant', Resource: '*' });
const DENY_RETIRE = doc({ Effect: 'Deny', Action: 'kms:RetireGrant', Resource: '*' });

let h: TestHome;
let alice: CallContext;
let aliceB: CallContext;
let key: { KeyId: string; Arn: string };

const call = (ctx: CallContext, op: string, params: Record<string, unknown>) => h.app.kms(ctx.principal.accountId).call(ctx, op, params);
const grant = (params: Record<string, unknown>) =>
  call(alice, 'CreateGrant', { KeyId: key.KeyId, GranteePrincipal: `arn:aws:iam::${A}:role/Worker`, Operations: ['Decrypt'], ...params }) as { GrantId: string; GrantToken: string };
const retire = (ctx: CallContext, g: { GrantId: string }) => call(ctx, 'RetireGrant', { KeyId: key.Arn, GrantId: g.GrantId });
/** The message a refused call throws. */
const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return `${(err as { code?: string }).code}: ${(err as Error).message}`;
  }
  throw new Error('expected a refusal, the call succeeded');
};
const role = (name: string, policy?: string, account = A): CallContext => {
  const admin = account === A ? alice : aliceB;
  h.app.iam.createRole(admin, name);
  if (policy) h.app.iam.call(admin, 'PutRolePolicy', { RoleName: name, PolicyName: 'p', PolicyDocument: policy });
  return h.app.as(`role/${name}/s`, undefined, account);
};
const user = (name: string, policy: string | undefined, account: string): CallContext => {
  const admin = account === A ? alice : aliceB;
  h.app.iam.call(admin, 'CreateUser', { UserName: name });
  if (policy) h.app.iam.call(admin, 'PutUserPolicy', { UserName: name, PolicyName: 'p', PolicyDocument: policy });
  return h.app.as(name, undefined, account);
};

beforeAll(() => {
  h = makeHome('ebsim-h3-retire-');
  initHome(h.dir, B);
  alice = h.app.as('Alice');
  aliceB = h.app.as('Alice', undefined, B);
  key = call(alice, 'CreateKey', {}).KeyMetadata as typeof key;
  // A grant names principals that exist (CreateGrant refuses others).
  h.app.iam.createRole(alice, 'Worker');
});
afterAll(() => h.cleanup());

describe('RetireGrant: the grant decides who may retire it', () => {
  it('the retiring principal retires without any permission of its own; others are refused in AWS words', () => {
    const retirer = role('Retirer');
    const bystander = role('Bystander');
    const g = grant({ RetiringPrincipal: `arn:aws:iam::${A}:role/Retirer` });
    expect(refusal(() => retire(bystander, g))).toBe(
      `AccessDeniedException: User: arn:aws:sts::${A}:assumed-role/Bystander/s is not authorized to perform: kms:RetireGrant on resource: ${key.Arn} because no identity-based policy allows the kms:RetireGrant action`,
    );
    retire(retirer, g);
    expect(errorCode(() => retire(retirer, g))).toBe('NotFoundException');
  });

  it('the grantee retires only when RetireGrant is among the grant\'s operations', () => {
    const worker = h.app.as('role/Worker/s'); // the role made in beforeAll
    const without = grant({});
    const withRetire = grant({ Operations: ['Decrypt', 'RetireGrant'] });
    expect(errorCode(() => retire(worker, without))).toBe('AccessDeniedException');
    retire(worker, withRetire);
    // The grant names the role; the session of that role is its grantee (by session issuer).
    expect(errorCode(() => retire(worker, withRetire))).toBe('NotFoundException');
  });

  it('the key\'s account delegates through IAM: a principal allowed kms:RetireGrant retires any grant of the key; an IAM user without it no longer may', () => {
    const janitor = role('Janitor', ALLOW_RETIRE);
    const dave = user('Dave', doc({ Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' }), A);
    const g = grant({ RetiringPrincipal: `arn:aws:iam::${B}:root` });
    // An IAM user of the key's account is not the account: without kms:RetireGrant in IAM, refused.
    expect(refusal(() => retire(dave, g))).toContain(`User: arn:aws:iam::${A}:user/Dave is not authorized to perform: kms:RetireGrant on resource: ${key.Arn} because no identity-based policy allows the kms:RetireGrant action`);
    retire(janitor, g);
    expect(errorCode(() => retire(janitor, g))).toBe('NotFoundException');
    // Alice (AdministratorAccess) is such a principal too.
    retire(alice, grant({}));
  });

  it('an account named as retiring principal delegates to its own principals by IAM, across accounts; a principal of another account is refused', () => {
    const g = grant({ RetiringPrincipal: `arn:aws:iam::${B}:root` });
    role('Retirer2');
    const elsewhere = grant({ RetiringPrincipal: `arn:aws:iam::${A}:role/Retirer2` });
    const bobB = user('Bob', ALLOW_RETIRE, B);
    const carolB = user('Carol', undefined, B);
    expect(refusal(() => retire(carolB, g))).toBe(
      `AccessDeniedException: User: arn:aws:iam::${B}:user/Carol is not authorized to perform: kms:RetireGrant on resource: ${key.Arn} because no identity-based policy allows the kms:RetireGrant action`,
    );
    // Bob's IAM allows kms:RetireGrant, but the grant names neither B nor Bob.
    expect(refusal(() => retire(bobB, elsewhere))).toBe(
      `AccessDeniedException: User: arn:aws:iam::${B}:user/Bob is not authorized to perform: kms:RetireGrant on resource: ${key.Arn} because no resource-based policy allows the kms:RetireGrant action`,
    );
    retire(bobB, g);
    expect(errorCode(() => retire(bobB, g))).toBe('NotFoundException');
  });

  it('a Deny on kms:RetireGrant in the caller\'s IAM policies wins over the retiring principal, the grantee and the account', () => {
    const denied = role('Denied', doc({ Effect: 'Allow', Action: 'kms:*', Resource: '*' }, { Effect: 'Deny', Action: 'kms:RetireGrant', Resource: key.Arn }));
    const asRetirer = grant({ RetiringPrincipal: `arn:aws:iam::${A}:role/Denied` });
    const asGrantee = grant({ GranteePrincipal: `arn:aws:iam::${A}:role/Denied`, Operations: ['Decrypt', 'RetireGrant'] });
    const explicit = `AccessDeniedException: User: arn:aws:sts::${A}:assumed-role/Denied/s is not authorized to perform: kms:RetireGrant on resource: ${key.Arn} with an explicit deny in an identity-based policy`;
    expect(refusal(() => retire(denied, asRetirer))).toBe(explicit);
    expect(refusal(() => retire(denied, asGrantee))).toBe(explicit);
    expect(refusal(() => call(denied, 'RetireGrant', { GrantToken: asGrantee.GrantToken }))).toBe(explicit);
    // Without the Deny the same principal retires both, as named in them.
    h.app.iam.call(alice, 'PutRolePolicy', { RoleName: 'Denied', PolicyName: 'p', PolicyDocument: doc({ Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' }) });
    retire(denied, asRetirer);
    retire(denied, asGrantee);
  });

  it('a grant is retired only through its own key: another key\'s ID with its grant ID or token is NotFoundException, and the grant stays live', () => {
    const other = call(alice, 'CreateKey', {}).KeyMetadata as { KeyId: string; Arn: string };
    const g = grant({ RetiringPrincipal: `arn:aws:iam::${A}:user/Alice` });
    expect(refusal(() => call(alice, 'RetireGrant', { KeyId: other.Arn, GrantId: g.GrantId }))).toBe(`NotFoundException: Grant ID ${g.GrantId} not found`);
    expect(errorCode(() => call(alice, 'RetireGrant', { KeyId: other.Arn, GrantToken: g.GrantToken }))).toBe('NotFoundException');
    const live = () => (call(alice, 'ListGrants', { KeyId: key.Arn, GrantId: g.GrantId }) as { Grants: unknown[] }).Grants.length;
    expect(live()).toBe(1);
    retire(alice, g);
    expect(live()).toBe(0);
  });

  it('kms:RetireGrant in the key policy gives nothing: the key policy has no say over retiring', () => {
    const k = call(alice, 'CreateKey', {
      Policy: doc(
        { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: 'kms:*', Resource: '*' },
        { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:role/KeyPolicyOnly` }, Action: 'kms:RetireGrant', Resource: '*' },
      ),
    }).KeyMetadata as { KeyId: string; Arn: string };
    const keyPolicyOnly = role('KeyPolicyOnly');
    const g = call(alice, 'CreateGrant', { KeyId: k.KeyId, GranteePrincipal: `arn:aws:iam::${A}:role/Worker`, Operations: ['Decrypt'] }) as { GrantId: string };
    expect(errorCode(() => call(keyPolicyOnly, 'RetireGrant', { KeyId: k.Arn, GrantId: g.GrantId }))).toBe('AccessDeniedException');
    call(alice, 'RetireGrant', { KeyId: k.Arn, GrantId: g.GrantId });
  });
});

describe('ListRetirableGrants: a principal of the caller\'s own account, authorized on that principal', () => {
  const list = (ctx: CallContext, principal: string) => (call(ctx, 'ListRetirableGrants', { RetiringPrincipal: principal }) as { Grants: { GrantId: string }[] }).Grants.map((g) => g.GrantId);

  it("another account's principal is refused, even to an administrator: the grants it may retire (their grantees, constraints) are not the caller's to read", () => {
    const g = grant({ RetiringPrincipal: `arn:aws:iam::${A}:user/Alice`, Constraints: { EncryptionContextSubset: { project: 'secret' } } });
    expect(list(alice, `arn:aws:iam::${A}:user/Alice`)).toContain(g.GrantId);
    for (const named of [`arn:aws:iam::${A}:user/Alice`, `arn:aws:iam::${A}:root`, A, `arn:aws:sts::${A}:assumed-role/Worker/s`]) {
      expect(refusal(() => list(aliceB, named))).toBe(
        `AccessDeniedException: User: arn:aws:iam::${B}:user/Alice is not authorized to perform: kms:ListRetirableGrants on resource: ${named} because no resource-based policy allows the kms:ListRetirableGrants action`,
      );
    }
  });

  it("the caller's own principal lists its grants on any account's keys (AWS: no permission needed in the key's account)", () => {
    const g = grant({ RetiringPrincipal: `arn:aws:iam::${B}:user/Alice` });
    expect(list(aliceB, `arn:aws:iam::${B}:user/Alice`)).toEqual([g.GrantId]);
  });

  it('the IAM policy is evaluated on the retiring principal: a policy naming one principal lists that one only', () => {
    const lister = user('Lister', doc({ Effect: 'Allow', Action: 'kms:ListRetirableGrants', Resource: `arn:aws:iam::${A}:role/Retirer` }), A);
    expect(() => list(lister, `arn:aws:iam::${A}:role/Retirer`)).not.toThrow();
    expect(refusal(() => list(lister, `arn:aws:iam::${A}:user/Alice`))).toBe(
      `AccessDeniedException: User: arn:aws:iam::${A}:user/Lister is not authorized to perform: kms:ListRetirableGrants on resource: arn:aws:iam::${A}:user/Alice because no identity-based policy allows the kms:ListRetirableGrants action`,
    );
  });
});

describe('RetireGrant over HTTP with @aws-sdk/client-kms', () => {
  let server: RunningServer;
  let client: KMSClient;
  beforeAll(async () => {
    server = await inProcess(h.dir);
    client = new KMSClient({ endpoint: server.url, region: 'us-east-1', credentials: aliceCredentials(h.dir), maxAttempts: 1 });
  });
  afterAll(async () => {
    client.destroy();
    await server.close();
  });

  it('Alice, the retiring principal, is refused while her IAM policies deny kms:RetireGrant, and retires once the Deny is gone', async () => {
    const g = grant({ RetiringPrincipal: `arn:aws:iam::${A}:user/Alice` });
    h.app.iam.call(alice, 'PutUserPolicy', { UserName: 'Alice', PolicyName: 'no-retire', PolicyDocument: DENY_RETIRE });
    const err = await client.send(new RetireGrantCommand({ KeyId: key.Arn, GrantId: g.GrantId })).then(() => undefined, (e: Error) => e);
    expect(err?.name).toBe('AccessDeniedException');
    expect(err?.message).toBe(`User: arn:aws:iam::${A}:user/Alice is not authorized to perform: kms:RetireGrant on resource: ${key.Arn} with an explicit deny in an identity-based policy`);
    h.app.iam.call(alice, 'DeleteUserPolicy', { UserName: 'Alice', PolicyName: 'no-retire' });
    await client.send(new RetireGrantCommand({ GrantToken: g.GrantToken }));
    const again = await client.send(new RetireGrantCommand({ GrantToken: g.GrantToken })).then(() => undefined, (e: Error) => e);
    expect(again?.name).toBe('NotFoundException');
  });
});
