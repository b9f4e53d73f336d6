// A KMS key of one account used by another account of the same home, as AWS documents it
// ("Allowing users in other accounts to use a KMS key"): the key policy must name the other
// account (or its principal) AND that account's identity policy must allow the call; a bare key
// ID or alias name means the caller's own account, so another account's key is named by key ARN
// or alias ARN; a grant may give another account's principal the use of a key. Through the domain,
// the CLI (`--account`) and the HTTP endpoint with @aws-sdk/client-kms and account B's credentials.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateKeyCommand, DecryptCommand, DescribeKeyCommand, EncryptCommand, KMSClient, ListKeysCommand, ListRetirableGrantsCommand } from '@aws-sdk/client-kms';
import { initHome } from '../../src/app/ebsim.js';
import type { CallContext } from '../../src/core/call-context.js';
import type { RunningServer } from '../../src/server/index.js';
import { errorCode, makeHome, type TestHome } from '../helpers/home.js';
import { inProcess } from '../server/helpers.js';
import { lastRecord } from '../iam/trail.js';
import { ebsimIn } from '../helpers/cli.js';

const A = '123456789012'; // owns the keys
const B = '111122223333'; // the other account
const USE_ACTIONS = ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'];

let h: TestHome;
let aliceA: CallContext;
let aliceB: CallContext;
/** B's user with the developer guide's identity policy for the shared key. */
let bobB: CallContext;
/** B's user without any policy. */
let carolB: CallContext;
let shared: { KeyId: string; Arn: string };
let privateKey: { KeyId: string; Arn: string };

const doc = (...statements: Record<string, unknown>[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
const kmsOf = (ctx: CallContext) => h.app.kms(ctx.principal.accountId);
const call = (ctx: CallContext, operation: string, params: Record<string, unknown>) => kmsOf(ctx).call(ctx, operation, params);
const text = (b: unknown) => Buffer.from(b as Uint8Array).toString();

/** The developer guide's key policy: the default statement for A, and "Allow an external account to use this KMS key" for B. */
const sharedKeyPolicy = doc(
  { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: 'kms:*', Resource: '*' },
  { Sid: 'Allow an external account to use this KMS key', Effect: 'Allow', Principal: { AWS: [`arn:aws:iam::${B}:root`] }, Action: USE_ACTIONS, Resource: '*' },
);

beforeAll(() => {
  h = makeHome();
  initHome(h.dir, B);
  aliceA = h.app.as('Alice');
  aliceB = h.app.as('Alice', undefined, B);
  shared = call(aliceA, 'CreateKey', { Description: 'shared with B', Policy: sharedKeyPolicy }).KeyMetadata as typeof shared;
  privateKey = call(aliceA, 'CreateKey', { Description: 'default policy' }).KeyMetadata as typeof privateKey;
  call(aliceA, 'CreateAlias', { AliasName: 'alias/shared', TargetKeyId: shared.KeyId });
  h.app.iam.call(aliceB, 'CreateUser', { UserName: 'Bob' });
  h.app.iam.call(aliceB, 'CreateUser', { UserName: 'Carol' });
  h.app.iam.call(aliceB, 'PutUserPolicy', {
    UserName: 'Bob',
    PolicyName: `AllowUseOfKeyInAccount${A}`,
    PolicyDocument: doc({ Sid: `AllowUseOfKeyInAccount${A}`, Effect: 'Allow', Action: USE_ACTIONS, Resource: shared.Arn }),
  });
  bobB = h.app.as('Bob', undefined, B);
  carolB = h.app.as('Carol', undefined, B);
});
afterAll(() => h.cleanup());

describe('both sides must allow', () => {
  it("B's user allowed by the key policy (B's root) and its own identity policy encrypts, decrypts, generates data keys and describes the key by its ARN", () => {
    const blob = call(bobB, 'Encrypt', { KeyId: shared.Arn, Plaintext: Buffer.from('across') }).CiphertextBlob;
    // Decrypt needs no KeyId: the blob names the key, whatever its account.
    expect(call(bobB, 'Decrypt', { CiphertextBlob: blob })).toMatchObject({ KeyId: shared.Arn });
    expect(text(call(bobB, 'Decrypt', { CiphertextBlob: blob, KeyId: shared.Arn }).Plaintext)).toBe('across');
    expect(call(bobB, 'GenerateDataKey', { KeyId: shared.Arn, KeySpec: 'AES_256' }).KeyId).toBe(shared.Arn);
    expect(call(bobB, 'DescribeKey', { KeyId: shared.Arn }).KeyMetadata).toMatchObject({ AWSAccountId: A, Arn: shared.Arn });
    // A's own blob, re-encrypted by B under the same key.
    const own = call(aliceA, 'Encrypt', { KeyId: shared.KeyId, Plaintext: Buffer.from('mine') }).CiphertextBlob;
    expect(call(bobB, 'ReEncrypt', { CiphertextBlob: own, DestinationKeyId: shared.Arn }).SourceKeyId).toBe(shared.Arn);
  });

  it('a key policy that does not name B refuses even B\'s administrator: no resource-based policy allows', () => {
    expect(() => call(aliceB, 'Encrypt', { KeyId: privateKey.Arn, Plaintext: Buffer.from('x') })).toThrow(
      `User: arn:aws:iam::${B}:user/Alice is not authorized to perform: kms:Encrypt on resource: ${privateKey.Arn} because no resource-based policy allows the kms:Encrypt action`,
    );
  });

  it("a key policy naming B's root is not enough for B's user without an identity policy: no identity-based policy allows", () => {
    expect(() => call(carolB, 'Encrypt', { KeyId: shared.Arn, Plaintext: Buffer.from('x') })).toThrow(
      `User: arn:aws:iam::${B}:user/Carol is not authorized to perform: kms:Encrypt on resource: ${shared.Arn} because no identity-based policy allows the kms:Encrypt action`,
    );
  });

  it('B\'s identity policy allows only the key it names, and only what the key policy shares (no kms:DisableKey)', () => {
    h.app.iam.call(aliceB, 'PutUserPolicy', { UserName: 'Carol', PolicyName: 'all', PolicyDocument: doc({ Effect: 'Allow', Action: 'kms:*', Resource: '*' }) });
    expect(() => call(carolB, 'GenerateDataKey', { KeyId: privateKey.Arn, KeySpec: 'AES_256' })).toThrow(/no resource-based policy allows/);
    expect(call(carolB, 'GenerateDataKey', { KeyId: shared.Arn, KeySpec: 'AES_256' }).KeyId).toBe(shared.Arn);
    h.app.iam.call(aliceB, 'DeleteUserPolicy', { UserName: 'Carol', PolicyName: 'all' });
  });
});

describe('naming another account\'s key', () => {
  it("a bare key ID or alias name from B means B's own account: NotFoundException", () => {
    expect(() => call(bobB, 'Encrypt', { KeyId: shared.KeyId, Plaintext: Buffer.from('x') })).toThrow(`Key 'arn:aws:kms:us-east-1:${B}:key/${shared.KeyId}' does not exist`);
    expect(() => call(bobB, 'Encrypt', { KeyId: 'alias/shared', Plaintext: Buffer.from('x') })).toThrow(`Alias arn:aws:kms:us-east-1:${B}:alias/shared is not found.`);
  });

  it('an alias ARN of the other account finds its key', () => {
    const r = call(bobB, 'Encrypt', { KeyId: `arn:aws:kms:us-east-1:${A}:alias/shared`, Plaintext: Buffer.from('x') });
    expect(r.KeyId).toBe(shared.Arn);
  });

  it('operations AWS does not allow across accounts do not find the key (NotFoundException), whatever the key policy says', () => {
    for (const [op, params] of [
      ['DisableKey', {}], ['GetKeyPolicy', { PolicyName: 'default' }], ['ScheduleKeyDeletion', {}], ['EnableKeyRotation', {}],
    ] as const) {
      expect(errorCode(() => call(aliceB, op, { KeyId: shared.Arn, ...params })), op).toBe('NotFoundException');
    }
  });

  it("ListKeys lists the caller's account's keys only; a key B creates is B's", () => {
    const b = call(aliceB, 'CreateKey', { Description: 'B' }).KeyMetadata as { Arn: string; AWSAccountId: string };
    expect(b.AWSAccountId).toBe(B);
    const arns = (ctx: CallContext) => (call(ctx, 'ListKeys', {}).Keys as { KeyArn: string }[]).map((k) => k.KeyArn);
    expect(arns(aliceB)).toEqual([b.Arn]);
    expect(arns(aliceA)).not.toContain(b.Arn);
  });

  it('the trail: the record names the caller in userIdentity and the key owner as recipientAccountId', () => {
    call(bobB, 'DescribeKey', { KeyId: shared.Arn });
    expect(lastRecord(h, 'DescribeKey')).toMatchObject({
      userIdentity: { accountId: B, arn: `arn:aws:iam::${B}:user/Bob` },
      resources: [{ ARN: shared.Arn, accountId: A }],
      recipientAccountId: A,
    });
    call(aliceA, 'DescribeKey', { KeyId: shared.KeyId });
    expect(lastRecord(h, 'DescribeKey')!.recipientAccountId).toBe(A);
    call(aliceB, 'ListKeys', {});
    expect(lastRecord(h, 'ListKeys')!.recipientAccountId).toBe(B);
  });
});

describe('grants to another account\'s principals', () => {
  it("A grants B's user (no identity policy) Decrypt and Encrypt on a key whose policy does not name B; the user uses it by ARN", () => {
    const dave = (h.app.iam.call(aliceB, 'CreateUser', { UserName: 'Dave' }).User as { Arn: string }).Arn;
    const daveB = h.app.as('Dave', undefined, B);
    const blob = call(aliceA, 'Encrypt', { KeyId: privateKey.KeyId, Plaintext: Buffer.from('granted') }).CiphertextBlob;
    expect(errorCode(() => call(daveB, 'Decrypt', { CiphertextBlob: blob }))).toBe('AccessDeniedException');
    const g = call(aliceA, 'CreateGrant', { KeyId: privateKey.KeyId, GranteePrincipal: dave, Operations: ['Decrypt', 'Encrypt', 'RetireGrant'] });
    expect(text(call(daveB, 'Decrypt', { CiphertextBlob: blob }).Plaintext)).toBe('granted');
    expect(text(call(daveB, 'Decrypt', { CiphertextBlob: blob, KeyId: privateKey.Arn }).Plaintext)).toBe('granted');
    expect(call(daveB, 'Encrypt', { KeyId: privateKey.Arn, Plaintext: Buffer.from('y') }).KeyId).toBe(privateKey.Arn);
    // Only what the grant allows, and still only by ARN.
    expect(errorCode(() => call(daveB, 'GenerateDataKey', { KeyId: privateKey.Arn, KeySpec: 'AES_256' }))).toBe('AccessDeniedException');
    expect(errorCode(() => call(daveB, 'Encrypt', { KeyId: privateKey.KeyId, Plaintext: Buffer.from('y') }))).toBe('NotFoundException');
    // The grantee retires it by key ARN and grant ID; then it is denied again.
    call(daveB, 'RetireGrant', { KeyId: privateKey.Arn, GrantId: g.GrantId });
    expect(errorCode(() => call(daveB, 'Decrypt', { CiphertextBlob: blob }))).toBe('AccessDeniedException');
  });

  it("B's user allowed CreateGrant by both sides creates a grant on A's key by its ARN", () => {
    const policy = doc(
      { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: 'kms:*', Resource: '*' },
      { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${B}:root` }, Action: ['kms:CreateGrant', 'kms:DescribeKey'], Resource: '*' },
    );
    const key = call(aliceA, 'CreateKey', { Policy: policy }).KeyMetadata as { KeyId: string; Arn: string };
    const g = call(aliceB, 'CreateGrant', { KeyId: key.Arn, GranteePrincipal: `arn:aws:iam::${B}:user/Carol`, Operations: ['Encrypt'] });
    expect(call(carolB, 'Encrypt', { KeyId: key.Arn, Plaintext: Buffer.from('z') }).KeyId).toBe(key.Arn);
    expect((call(aliceA, 'ListGrants', { KeyId: key.KeyId }).Grants as { GrantId: string; IssuingAccount: string }[]).map((x) => x.GrantId)).toEqual([g.GrantId]);
  });

  it("a grant B creates on A's key is issued under B (IssuingAccount): B's administrator may retire it as its issuing account, A's may revoke it but not retire it", () => {
    const policy = doc(
      { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: 'kms:*', Resource: '*' },
      { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${B}:root` }, Action: ['kms:CreateGrant', 'kms:DescribeKey'], Resource: '*' },
    );
    const key = call(aliceA, 'CreateKey', { Policy: policy }).KeyMetadata as { KeyId: string; Arn: string };
    const make = () => call(aliceB, 'CreateGrant', { KeyId: key.Arn, GranteePrincipal: `arn:aws:iam::${B}:user/Carol`, Operations: ['Encrypt'] }) as { GrantId: string };
    const first = make();
    const listed = (call(aliceA, 'ListGrants', { KeyId: key.KeyId }).Grants as { GrantId: string; IssuingAccount: string }[]).find((x) => x.GrantId === first.GrantId);
    expect(listed?.IssuingAccount).toBe(`arn:aws:iam::${B}:root`);
    expect(errorCode(() => call(aliceA, 'RetireGrant', { KeyId: key.Arn, GrantId: first.GrantId }))).toBe('AccessDeniedException');
    call(aliceB, 'RetireGrant', { KeyId: key.Arn, GrantId: first.GrantId });
    const second = make();
    call(aliceA, 'RevokeGrant', { KeyId: key.KeyId, GrantId: second.GrantId });
    expect(errorCode(() => call(carolB, 'Encrypt', { KeyId: key.Arn, Plaintext: Buffer.from('z') }))).toBe('AccessDeniedException');
  });

  it('a named CreateGrant repeated by another account makes that account\'s own grant (idempotency is per issuer)', () => {
    const policy = doc(
      { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: 'kms:*', Resource: '*' },
      { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${B}:root` }, Action: ['kms:CreateGrant', 'kms:DescribeKey'], Resource: '*' },
    );
    const key = call(aliceA, 'CreateKey', { Policy: policy }).KeyMetadata as { KeyId: string; Arn: string };
    const params = { KeyId: key.Arn, GranteePrincipal: `arn:aws:iam::${B}:user/Carol`, Operations: ['Encrypt'], Name: 'same-name' };
    const byA = call(aliceA, 'CreateGrant', params) as { GrantId: string };
    expect((call(aliceA, 'CreateGrant', params) as { GrantId: string }).GrantId).toBe(byA.GrantId); // the same issuer: the same grant
    const byB = call(aliceB, 'CreateGrant', params) as { GrantId: string };
    expect(byB.GrantId).not.toBe(byA.GrantId);
    const issuers = new Map((call(aliceA, 'ListGrants', { KeyId: key.KeyId }).Grants as { GrantId: string; IssuingAccount: string }[]).map((x) => [x.GrantId, x.IssuingAccount]));
    expect([issuers.get(byA.GrantId), issuers.get(byB.GrantId)]).toEqual([`arn:aws:iam::${A}:root`, `arn:aws:iam::${B}:root`]);
    call(aliceB, 'RetireGrant', { KeyId: key.Arn, GrantId: byB.GrantId }); // B retires its own as issuer
  });
});

describe("an operator's view (the console's inventory) is per account", () => {
  it("A's inventory holds A's keys and grants only; B's holds B's", () => {
    const a = h.app.kms(A).inventory();
    const b = h.app.kms(B).inventory();
    expect(a.keys.every((k) => k.Arn.includes(`:${A}:key/`))).toBe(true);
    expect(b.keys.length).toBeGreaterThan(0);
    expect(b.keys.every((k) => k.Arn.includes(`:${B}:key/`))).toBe(true);
    expect(a.grants.length).toBeGreaterThan(0);
    expect(a.grants.every((g) => g.KeyArn.includes(`:${A}:key/`))).toBe(true);
    expect(b.grants).toEqual([]);
  });
});

describe('through the CLI: --account', () => {
  async function ebsim(...args: string[]) {
    return ebsimIn(h.dir, args);
  }

  it('`ebsim kms encrypt --account B --as Bob --key-id ARN` works; the bare key ID does not; without the identity policy it is denied', async () => {
    const ok = await ebsim('kms', 'encrypt', '--account', B, '--as', 'Bob', '--key-id', shared.Arn, '--plaintext', Buffer.from('cli').toString('base64'));
    expect(ok.code).toBe(0);
    const blob = JSON.parse(ok.stdout).CiphertextBlob as string;
    const dec = await ebsim('kms', 'decrypt', '--account', B, '--as', 'Bob', '--ciphertext-blob', blob);
    expect(Buffer.from(JSON.parse(dec.stdout).Plaintext, 'base64').toString()).toBe('cli');
    const bare = await ebsim('kms', 'encrypt', '--account', B, '--as', 'Bob', '--key-id', shared.KeyId, '--plaintext', 'eA==');
    expect(bare.code).toBe(254);
    expect(bare.stderr).toMatch(/NotFoundException/);
    const carol = await ebsim('kms', 'encrypt', '--account', B, '--as', 'Carol', '--key-id', shared.Arn, '--plaintext', 'eA==');
    expect(carol.stderr).toMatch(/no identity-based policy allows the kms:Encrypt action/);
  });
});

describe('through the HTTP endpoint: @aws-sdk/client-kms with account B\'s credentials', () => {
  let server: RunningServer;
  let clientB: KMSClient;

  /** The credentials of profile ebsim-B, as `ebsim init --account-id B` wrote them. */
  function profileB() {
    const file = readFileSync(join(h.dir, 'credentials'), 'utf8');
    const section = file.slice(file.indexOf(`[ebsim-${B}]`));
    return { accessKeyId: /aws_access_key_id = (\S+)/.exec(section)![1]!, secretAccessKey: /aws_secret_access_key = (\S+)/.exec(section)![1]! };
  }

  beforeAll(async () => {
    server = await inProcess(h.dir);
    clientB = new KMSClient({ endpoint: server.url, region: 'us-east-1', credentials: profileB(), maxAttempts: 1 });
  });
  afterAll(async () => {
    clientB?.destroy();
    await server?.close();
  });

  async function errorName(p: Promise<unknown>): Promise<string> {
    try {
      await p;
    } catch (err) {
      return (err as Error).name;
    }
    throw new Error('expected an error');
  }

  it("B's Alice acts in B: CreateKey makes a key of B, ListKeys lists B's", async () => {
    const meta = (await clientB.send(new CreateKeyCommand({ Description: 'over http' }))).KeyMetadata!;
    expect(meta.AWSAccountId).toBe(B);
    const keys = (await clientB.send(new ListKeysCommand({}))).Keys!.map((k) => k.KeyArn);
    expect(keys).toContain(meta.Arn);
    expect(keys).not.toContain(shared.Arn);
  });

  it("A's shared key: DescribeKey and Encrypt/Decrypt by ARN; the bare key ID is NotFound; the private key is denied", async () => {
    // The shared key's policy names B's root; B's Alice has AdministratorAccess: both sides allow.
    expect((await clientB.send(new DescribeKeyCommand({ KeyId: shared.Arn }))).KeyMetadata!.AWSAccountId).toBe(A);
    const blob = (await clientB.send(new EncryptCommand({ KeyId: shared.Arn, Plaintext: Buffer.from('sdk') }))).CiphertextBlob!;
    const dec = await clientB.send(new DecryptCommand({ CiphertextBlob: blob }));
    expect(Buffer.from(dec.Plaintext!).toString()).toBe('sdk');
    expect(dec.KeyId).toBe(shared.Arn);
    expect(await errorName(clientB.send(new EncryptCommand({ KeyId: shared.KeyId, Plaintext: Buffer.from('x') })))).toBe('NotFoundException');
    expect(await errorName(clientB.send(new EncryptCommand({ KeyId: privateKey.Arn, Plaintext: Buffer.from('x') })))).toBe('AccessDeniedException');
  });

  it("ListRetirableGrants for A's principal is AccessDeniedException to B's administrator; for B's own, it lists the grants on A's keys", async () => {
    const ofA = call(aliceA, 'CreateGrant', { KeyId: privateKey.KeyId, GranteePrincipal: `arn:aws:iam::${A}:user/Alice`, RetiringPrincipal: `arn:aws:iam::${A}:user/Alice`, Operations: ['Decrypt'] }) as { GrantId: string };
    const ofB = call(aliceA, 'CreateGrant', { KeyId: privateKey.KeyId, GranteePrincipal: `arn:aws:iam::${B}:user/Carol`, RetiringPrincipal: `arn:aws:iam::${B}:user/Carol`, Operations: ['Decrypt'] }) as { GrantId: string };
    expect(await errorName(clientB.send(new ListRetirableGrantsCommand({ RetiringPrincipal: `arn:aws:iam::${A}:user/Alice` })))).toBe('AccessDeniedException');
    const mine = (await clientB.send(new ListRetirableGrantsCommand({ RetiringPrincipal: `arn:aws:iam::${B}:user/Carol` }))).Grants!.map((g) => g.GrantId);
    expect(mine).toEqual([ofB.GrantId]);
    expect(mine).not.toContain(ofA.GrantId);
  });
});
