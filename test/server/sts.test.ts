// STS over the wire with the AWS SDK for JavaScript v3: a user assumes a role, and the session's
// temporary credentials (ASIA key + session token) are then used for KMS through a grant, as
// EC2's own host does. Each STS call is recorded like the same call from the CLI.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STSClient, AssumeRoleCommand, GetCallerIdentityCommand, GetSessionTokenCommand } from '@aws-sdk/client-sts';
import { KMSClient, CreateKeyCommand, CreateGrantCommand, EncryptCommand, DecryptCommand, DescribeKeyCommand } from '@aws-sdk/client-kms';
import type { RunningServer } from '../../src/server/index.js';
import { openEbsim } from '../../src/app/ebsim.js';
import { aliceCredentials, inProcess, newHome, removeHome, sleep, trailRecords, hasBoto3, runBoto3 } from './helpers.js';

let home: string;
let server: RunningServer;
let sts: STSClient;
let kms: KMSClient;
const clients: { destroy(): void }[] = [];

async function failure(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { name: string; message: string };
  }
  throw new Error('expected an error');
}

beforeAll(async () => {
  home = newHome('ebsim-sts-');
  const app = openEbsim(home);
  try {
    app.iam.createRole(app.as(), 'Worker');
  } finally {
    app.close();
  }
  server = await inProcess(home);
  const credentials = aliceCredentials(home);
  sts = new STSClient({ endpoint: server.url, region: 'us-east-1', credentials, maxAttempts: 1 });
  kms = new KMSClient({ endpoint: server.url, region: 'us-east-1', credentials, maxAttempts: 1 });
  clients.push(sts, kms);
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await server?.close();
  if (home) removeHome(home);
});

describe('STS AssumeRole over the wire', () => {
  it('gives temporary credentials that identify the session and use KMS through a grant to the role', async () => {
    const assumed = await sts.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::123456789012:role/Worker', RoleSessionName: 'batch-7' }));
    const c = assumed.Credentials!;
    expect(c.AccessKeyId).toMatch(/^ASIA[A-Z0-9]{16}$/);
    expect(c.SessionToken!.length).toBeGreaterThan(100);
    expect(c.Expiration).toBeInstanceOf(Date);
    expect(c.Expiration!.getTime()).toBeGreaterThan(Date.now() + 3000_000);
    expect(assumed.AssumedRoleUser!.Arn).toBe('arn:aws:sts::123456789012:assumed-role/Worker/batch-7');

    const session = { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
    const asSession = new STSClient({ endpoint: server.url, region: 'us-east-1', credentials: session, maxAttempts: 1 });
    const kmsAsSession = new KMSClient({ endpoint: server.url, region: 'us-east-1', credentials: session, maxAttempts: 1 });
    clients.push(asSession, kmsAsSession);
    expect((await asSession.send(new GetCallerIdentityCommand({}))).Arn).toBe(assumed.AssumedRoleUser!.Arn);

    // The role has no permission of its own on the key: refused until Alice grants it.
    const key = (await kms.send(new CreateKeyCommand({ Description: 'for the worker' }))).KeyMetadata!;
    expect((await failure(kmsAsSession.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') })))).name).toBe('AccessDeniedException');
    await kms.send(new CreateGrantCommand({
      KeyId: key.Arn, GranteePrincipal: 'arn:aws:iam::123456789012:role/Worker', Operations: ['Encrypt', 'Decrypt'],
      Constraints: { EncryptionContextEquals: { job: '7' } },
    }));
    const enc = await kmsAsSession.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('payload'), EncryptionContext: { job: '7' } }));
    const dec = await kmsAsSession.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { job: '7' } }));
    expect(Buffer.from(dec.Plaintext!).toString()).toBe('payload');
    // The grant's constraint holds for the session: another context is refused.
    expect((await failure(kmsAsSession.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x'), EncryptionContext: { job: '8' } })))).name).toBe('AccessDeniedException');
    // A session token that is not the session's own is refused.
    const forged = new KMSClient({ endpoint: server.url, region: 'us-east-1', credentials: { ...session, sessionToken: (session.sessionToken[0] === 'x' ? 'y' : 'x') + session.sessionToken.slice(1) }, maxAttempts: 1 });
    clients.push(forged);
    expect((await failure(forged.send(new DescribeKeyCommand({ KeyId: key.KeyId })))).name).toBe('UnrecognizedClientException');

    const recs = trailRecords(home).filter((r) => r.eventSource === 'sts.amazonaws.com' && r.eventName === 'AssumeRole');
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({
      requestParameters: { roleArn: 'arn:aws:iam::123456789012:role/Worker', roleSessionName: 'batch-7' },
      responseElements: { assumedRoleUser: { arn: assumed.AssumedRoleUser!.Arn } },
      userIdentity: { type: 'IAMUser', userName: 'Alice' },
    });
    expect(JSON.stringify(recs[0])).not.toContain(c.SecretAccessKey!);
    expect(JSON.stringify(recs[0])).not.toContain(c.SessionToken!);
  });

  it("AWS's own service role is not assumable; a malformed session name is STS's ValidationError", async () => {
    const denied = await failure(sts.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::123456789012:role/aws:ec2-infrastructure', RoleSessionName: 'me' })));
    expect(denied.name).toBe('AccessDenied');
    expect(denied.message).toContain('is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/aws:ec2-infrastructure');
    const bad = await failure(sts.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::123456789012:role/Worker', RoleSessionName: 'has space' })));
    expect(['ValidationError', 'ValidationException']).toContain(bad.name);
  });

  it('an operation STS does not have: InvalidAction', async () => {
    const res = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'Action=GetFederationTokenX&Version=2011-06-15' });
    const text = await res.text();
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(text).toMatch(/<Code>(InvalidAction|MissingAuthenticationToken)<\/Code>/);
  });
});

/** Clients signing with temporary credentials, destroyed after the file. */
function clientsFor(c: { AccessKeyId?: string; SecretAccessKey?: string; SessionToken?: string }) {
  const credentials = { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
  const s = new STSClient({ endpoint: server.url, region: 'us-east-1', credentials, maxAttempts: 1 });
  const k = new KMSClient({ endpoint: server.url, region: 'us-east-1', credentials, maxAttempts: 1 });
  clients.push(s, k);
  return { sts: s, kms: k };
}

/** Moves temporary credentials' expiry into the past, as if their lifetime had run out. */
function expire(accessKeyId: string): void {
  const app = openEbsim(home);
  try {
    app.db.prepare('UPDATE access_keys SET expires_at = ? WHERE access_key_id = ?').run(new Date(Date.now() - 1000).toISOString().slice(0, 19) + 'Z', accessKeyId);
  } finally {
    app.close();
  }
}

describe('STS GetSessionToken over the wire', () => {
  it('gives temporary credentials that act as Alice herself: her identity, her KMS calls, recorded with the temporary key', async () => {
    const r = await sts.send(new GetSessionTokenCommand({}));
    const c = r.Credentials!;
    expect(c.AccessKeyId).toMatch(/^ASIA[A-Z0-9]{16}$/);
    expect(c.SessionToken!.length).toBeGreaterThan(100);
    // 12 hours by default.
    expect(Math.abs(c.Expiration!.getTime() - (Date.now() + 43200_000))).toBeLessThan(60_000);
    const as = clientsFor(c);
    const me = await as.sts.send(new GetCallerIdentityCommand({}));
    expect(me.Arn).toBe('arn:aws:iam::123456789012:user/Alice');
    const key = (await kms.send(new CreateKeyCommand({ Description: 'for a session token' }))).KeyMetadata!;
    expect((await as.kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!.Arn).toBe(key.Arn);

    // Read-only records are group-committed: wait for DescribeKey's.
    let describe: Record<string, any> | undefined;
    for (let i = 0; i < 50 && !describe; i++, await sleep(20)) describe = trailRecords(home, 'DescribeKey').find((rec) => rec.userIdentity.accessKeyId === c.AccessKeyId);
    expect(describe?.userIdentity).toMatchObject({ type: 'IAMUser', arn: 'arn:aws:iam::123456789012:user/Alice', userName: 'Alice', accessKeyId: c.AccessKeyId });
    const issued = trailRecords(home, 'GetSessionToken')[0]!;
    expect(issued).toMatchObject({ eventSource: 'sts.amazonaws.com', userIdentity: { type: 'IAMUser', userName: 'Alice' }, responseElements: { credentials: { accessKeyId: c.AccessKeyId } } });
    expect(JSON.stringify(issued)).not.toContain(c.SecretAccessKey!);
    expect(JSON.stringify(issued)).not.toContain(c.SessionToken!);
  });

  it('session credentials may not ask for one (a role session, nor a session token itself)', async () => {
    const assumed = await sts.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::123456789012:role/Worker', RoleSessionName: 'no-tokens' }));
    const fromRole = await failure(clientsFor(assumed.Credentials!).sts.send(new GetSessionTokenCommand({})));
    expect(fromRole).toMatchObject({ name: 'AccessDenied', message: 'Cannot call GetSessionToken with session credentials' });
    const token = await sts.send(new GetSessionTokenCommand({ DurationSeconds: 900 }));
    expect((await failure(clientsFor(token.Credentials!).sts.send(new GetSessionTokenCommand({})))).name).toBe('AccessDenied');
  });

  it("DurationSeconds is bounded (900 to 129600); MFA is refused, as for a user without that device", async () => {
    expect(['ValidationError', 'ValidationException']).toContain((await failure(sts.send(new GetSessionTokenCommand({ DurationSeconds: 899 })))).name);
    expect(['ValidationError', 'ValidationException']).toContain((await failure(sts.send(new GetSessionTokenCommand({ DurationSeconds: 129601 })))).name);
    const mfa = await failure(sts.send(new GetSessionTokenCommand({ SerialNumber: 'arn:aws:iam::123456789012:mfa/Alice', TokenCode: '123456' })));
    expect(mfa.name).toBe('AccessDenied');
    expect(mfa.message).toMatch(/^MultiFactorAuthentication failed/);
  });
});

describe('expired temporary credentials', () => {
  it("a session past its expiry: ExpiredTokenException from KMS, ExpiredToken from STS (not an unknown key)", async () => {
    const assumed = await sts.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::123456789012:role/Worker', RoleSessionName: 'short', DurationSeconds: 900 }));
    expire(assumed.Credentials!.AccessKeyId!);
    const as = clientsFor(assumed.Credentials!);
    const fromKms = await failure(as.kms.send(new DescribeKeyCommand({ KeyId: 'alias/aws/ebs' })));
    expect(fromKms).toMatchObject({ name: 'ExpiredTokenException', message: 'The security token included in the request is expired' });
    const fromSts = await failure(as.sts.send(new GetCallerIdentityCommand({})));
    expect(fromSts).toMatchObject({ name: 'ExpiredToken', message: 'The security token included in the request is expired' });
    // A wrong token for the same key is still an unknown token, expired or not.
    // (Its first character changed for certain: a token may itself begin with 'x'.)
    const token = assumed.Credentials!.SessionToken!;
    const forged = clientsFor({ ...assumed.Credentials!, SessionToken: (token[0] === 'x' ? 'y' : 'x') + token.slice(1) });
    expect((await failure(forged.kms.send(new DescribeKeyCommand({ KeyId: 'alias/aws/ebs' })))).name).toBe('UnrecognizedClientException');
  });

  it('credentials from GetSessionToken expire the same way', async () => {
    const token = await sts.send(new GetSessionTokenCommand({ DurationSeconds: 900 }));
    const app = openEbsim(home);
    try {
      expect(app.iam.lookupAccessKey(token.Credentials!.AccessKeyId!)?.expiresAt).toBe(token.Credentials!.Expiration!.toISOString().slice(0, 19) + 'Z');
    } finally {
      app.close();
    }
    expire(token.Credentials!.AccessKeyId!);
    const as = clientsFor(token.Credentials!);
    expect((await failure(as.kms.send(new DescribeKeyCommand({ KeyId: 'alias/aws/ebs' })))).name).toBe('ExpiredTokenException');
    expect((await failure(as.sts.send(new GetCallerIdentityCommand({})))).name).toBe('ExpiredToken');
  });
});

// boto3 may not be installed where the tests run; skipped with that reason when it is not (.ci/run installs python3-boto3).
describe.skipIf(!hasBoto3())('boto3 (python3 -c "import boto3" works): AssumeRole, then KMS through a grant with the session', () => {
  it('assumes a role whose trust policy names the account, and decrypts only within the grant', async () => {
    const app = openEbsim(home);
    let keyArn: string;
    try {
      app.iam.createRole(app.as(), 'BotoWorker');
      const alice = app.as();
      keyArn = (app.kms().call(alice, 'CreateKey', { Description: 'boto3 grant' }).KeyMetadata as { Arn: string }).Arn;
      app.kms().call(alice, 'CreateGrant', { KeyId: keyArn, GranteePrincipal: 'arn:aws:iam::123456789012:role/BotoWorker', Operations: ['Encrypt', 'Decrypt'] });
    } finally {
      app.close();
    }
    const script = join(home, 'boto-sts.py');
    writeFileSync(script, `
import boto3, json, sys
from botocore.exceptions import ClientError
s = boto3.session.Session(profile_name='ebsim')
sts = s.client('sts', endpoint_url=sys.argv[1])
r = sts.assume_role(RoleArn='arn:aws:iam::123456789012:role/BotoWorker', RoleSessionName='boto')
c = r['Credentials']
session = boto3.session.Session(aws_access_key_id=c['AccessKeyId'], aws_secret_access_key=c['SecretAccessKey'], aws_session_token=c['SessionToken'], region_name='us-east-1')
kms = session.client('kms', endpoint_url=sys.argv[1])
out = {'who': session.client('sts', endpoint_url=sys.argv[1]).get_caller_identity()['Arn']}
blob = kms.encrypt(KeyId=sys.argv[2], Plaintext=b'boto via grant')['CiphertextBlob']
out['plain'] = kms.decrypt(CiphertextBlob=blob)['Plaintext'].decode()
try:
    kms.generate_data_key(KeyId=sys.argv[2], KeySpec='AES_256')
    out['gdk'] = None
except ClientError as e:
    out['gdk'] = e.response['Error']['Code']
print(json.dumps(out))
`);
    const stdout = await runBoto3(home, script, [server.url, keyArn!]);
    // The grant allows Encrypt and Decrypt, not GenerateDataKey: refused, as the role has no policy of its own.
    expect(JSON.parse(stdout)).toEqual({ who: 'arn:aws:sts::123456789012:assumed-role/BotoWorker/boto', plain: 'boto via grant', gdk: 'AccessDeniedException' });
  });
});
