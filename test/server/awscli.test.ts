// The real AWS CLI v2 (Debian's awscli, /usr/bin/aws) against `ebsim serve` run as a process:
// the whole KMS surface, CloudTrail lookup-events, STS get-caller-identity, and error codes
// compared with what `ebsim kms` prints for the same mistake.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { main } from '../../src/cli/main.js';
import { aliceCredentials, aws, errorCodeOf, errorLine, eventually, newHome, removeHome, spawnServe, trailCount, trailRecords } from './helpers.js';
import { ebsimIn } from '../helpers/cli.js';

const HAVE_AWS = existsSync('/usr/bin/aws');
let home: string;
let server: Awaited<ReturnType<typeof spawnServe>>;
/** CreateRole requires a trust policy, as AWS's: this account may assume the role. */
const ACCOUNT_TRUST = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}';
const json = (s: string) => JSON.parse(s) as Record<string, any>;
const cli = (...args: string[]) => aws(server.url, home, args);

async function ebsim(...args: string[]) {
  return ebsimIn(home, args);
}

async function ok(...args: string[]) {
  const r = await cli(...args);
  if (r.code !== 0) throw new Error(`aws ${args.join(' ')} → ${r.code}: ${r.stderr}`);
  return r.stdout.trim() ? json(r.stdout) : {};
}

/** Same mistake through `aws` and `ebsim kms`: the same error line (code, operation, message). */
async function sameError(awsArgs: string[], ebsimArgs: string[], code: string, creds?: Parameters<typeof aws>[3]) {
  const a = await aws(server.url, home, awsArgs, creds);
  const e = await ebsim(...ebsimArgs);
  expect(a.code).toBe(254);
  expect(e.code).toBe(254);
  expect(errorCodeOf(a.stderr)).toBe(code);
  expect(errorCodeOf(e.stderr)).toBe(code);
  return { aws: errorLine(a.stderr), ebsim: errorLine(e.stderr) };
}

// Each test runs many real `aws` processes (about a second each to start): generous timeouts, since a busy machine slows them.
describe.skipIf(!HAVE_AWS)('AWS CLI v2 against ebsim serve', { timeout: 180_000 }, () => {
  beforeAll(async () => {
    home = newHome();
    server = await spawnServe(home);
  });
  afterAll(async () => {
    if (server) expect(await server.stop()).toBe(0);
    if (home) removeHome(home);
  });

  let keyArn = '';
  let keyId = '';

  it('sts get-caller-identity names Alice', async () => {
    expect(await ok('sts', 'get-caller-identity')).toMatchObject({ Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/Alice' });
  });

  it('create-key, describe-key, list-keys, aliases', async () => {
    const meta = (await ok('kms', 'create-key', '--description', 'from aws cli')).KeyMetadata;
    expect(meta).toMatchObject({ Description: 'from aws cli', KeyState: 'Enabled', KeySpec: 'SYMMETRIC_DEFAULT', KeyManager: 'CUSTOMER' });
    expect(meta.CreationDate).toMatch(/^\d{4}-\d\d-\d\dT/); // epoch seconds on the wire, parsed by the CLI
    keyArn = meta.Arn;
    keyId = meta.KeyId;
    expect((await ok('kms', 'describe-key', '--key-id', keyId)).KeyMetadata.Arn).toBe(keyArn);
    expect((await ok('kms', 'list-keys')).Keys.map((k: any) => k.KeyArn)).toContain(keyArn);
    await ok('kms', 'create-alias', '--alias-name', 'alias/awscli', '--target-key-id', keyId);
    expect((await ok('kms', 'describe-key', '--key-id', 'alias/awscli')).KeyMetadata.KeyId).toBe(keyId);
    const aliases = (await ok('kms', 'list-aliases', '--key-id', keyId)).Aliases;
    expect(aliases.map((a: any) => a.AliasName)).toEqual(['alias/awscli']);
    const k2 = (await ok('kms', 'create-key')).KeyMetadata.KeyId;
    await ok('kms', 'update-alias', '--alias-name', 'alias/awscli', '--target-key-id', k2);
    expect((await ok('kms', 'describe-key', '--key-id', 'alias/awscli')).KeyMetadata.KeyId).toBe(k2);
    await ok('kms', 'delete-alias', '--alias-name', 'alias/awscli');
    await ok('kms', 'create-alias', '--alias-name', 'alias/awscli', '--target-key-id', keyId);
  });

  it('encrypt / decrypt with fileb://, re-encrypt, data keys, random', async () => {
    const plain = randomBytes(100);
    const pfile = join(home, 'plain.bin');
    writeFileSync(pfile, plain);
    const enc = await ok('kms', 'encrypt', '--key-id', 'alias/awscli', '--plaintext', `fileb://${pfile}`, '--encryption-context', 'purpose=test');
    expect(enc.KeyId).toBe(keyArn);
    const cfile = join(home, 'ct.bin');
    writeFileSync(cfile, Buffer.from(enc.CiphertextBlob, 'base64'));
    const dec = await ok('kms', 'decrypt', '--ciphertext-blob', `fileb://${cfile}`, '--encryption-context', 'purpose=test');
    expect(Buffer.from(dec.Plaintext, 'base64')).toEqual(plain);
    expect(dec.KeyId).toBe(keyArn);
    // The --output text form decodes to the same bytes (what scripts do with base64 -d).
    const text = await cli('kms', 'decrypt', '--ciphertext-blob', `fileb://${cfile}`, '--encryption-context', 'purpose=test', '--output', 'text', '--query', 'Plaintext');
    expect(Buffer.from(text.stdout.trim(), 'base64')).toEqual(plain);

    const k2 = (await ok('kms', 'create-key')).KeyMetadata.Arn;
    const re = await ok('kms', 're-encrypt', '--ciphertext-blob', `fileb://${cfile}`, '--source-encryption-context', 'purpose=test', '--destination-key-id', k2);
    expect(re).toMatchObject({ SourceKeyId: keyArn, KeyId: k2 });
    writeFileSync(cfile, Buffer.from(re.CiphertextBlob, 'base64'));
    expect(Buffer.from((await ok('kms', 'decrypt', '--ciphertext-blob', `fileb://${cfile}`)).Plaintext, 'base64')).toEqual(plain);

    const dk = await ok('kms', 'generate-data-key', '--key-id', keyId, '--key-spec', 'AES_256');
    expect(Buffer.from(dk.Plaintext, 'base64')).toHaveLength(32);
    writeFileSync(cfile, Buffer.from(dk.CiphertextBlob, 'base64'));
    expect((await ok('kms', 'decrypt', '--ciphertext-blob', `fileb://${cfile}`)).Plaintext).toBe(dk.Plaintext);
    const dkw = await ok('kms', 'generate-data-key-without-plaintext', '--key-id', keyId, '--number-of-bytes', '64', '--encryption-context', 'aws:ebs:id=vol-1');
    expect(dkw.Plaintext).toBeUndefined();
    writeFileSync(cfile, Buffer.from(dkw.CiphertextBlob, 'base64'));
    expect(Buffer.from((await ok('kms', 'decrypt', '--ciphertext-blob', `fileb://${cfile}`, '--encryption-context', 'aws:ebs:id=vol-1')).Plaintext, 'base64')).toHaveLength(64);
    expect(Buffer.from((await ok('kms', 'generate-random', '--number-of-bytes', '48')).Plaintext, 'base64')).toHaveLength(48);
  });

  it('enable/disable, rotation, schedule/cancel deletion', async () => {
    await ok('kms', 'disable-key', '--key-id', keyId);
    expect((await ok('kms', 'describe-key', '--key-id', keyId)).KeyMetadata.KeyState).toBe('Disabled');
    await ok('kms', 'enable-key', '--key-id', keyId);
    await ok('kms', 'enable-key-rotation', '--key-id', keyId);
    expect((await ok('kms', 'get-key-rotation-status', '--key-id', keyId)).KeyRotationEnabled).toBe(true);
    await ok('kms', 'disable-key-rotation', '--key-id', keyId);
    expect((await ok('kms', 'get-key-rotation-status', '--key-id', keyId)).KeyRotationEnabled).toBe(false);
    const doomed = (await ok('kms', 'create-key')).KeyMetadata.KeyId;
    const sched = await ok('kms', 'schedule-key-deletion', '--key-id', doomed, '--pending-window-in-days', '7');
    expect(sched.KeyState).toBe('PendingDeletion');
    expect(typeof sched.DeletionDate).toBe('string');
    expect((await ok('kms', 'cancel-key-deletion', '--key-id', doomed)).KeyId).toContain(doomed);
    expect((await ok('kms', 'describe-key', '--key-id', doomed)).KeyMetadata.KeyState).toBe('Disabled');
  });

  it('grants: create, list, retire, revoke', async () => {
    await main(['iam', 'create-role', '--role-name', 'Grantee', '--assume-role-policy-document', ACCOUNT_TRUST, '--home', home], { out: () => {}, err: () => {} });
    const grantee = 'arn:aws:iam::123456789012:role/Grantee';
    const g1 = await ok('kms', 'create-grant', '--key-id', keyId, '--grantee-principal', grantee, '--operations', 'Decrypt', 'Encrypt',
      '--retiring-principal', 'arn:aws:iam::123456789012:user/Alice', '--constraints', 'EncryptionContextSubset={purpose=test}');
    expect(g1.GrantId).toMatch(/^[0-9a-f]{64}$/);
    const g2 = await ok('kms', 'create-grant', '--key-id', keyId, '--grantee-principal', grantee, '--operations', 'Decrypt');
    const listed = (await ok('kms', 'list-grants', '--key-id', keyId)).Grants;
    expect(listed.map((g: any) => g.GrantId).sort()).toEqual([g1.GrantId, g2.GrantId].sort());
    expect(listed.find((g: any) => g.GrantId === g1.GrantId).Constraints).toEqual({ EncryptionContextSubset: { purpose: 'test' } });
    await ok('kms', 'retire-grant', '--grant-token', g1.GrantToken);
    await ok('kms', 'revoke-grant', '--key-id', keyId, '--grant-id', g2.GrantId);
    expect((await ok('kms', 'list-grants', '--key-id', keyId)).Grants).toEqual([]);
  });

  it('errors: the same code and message as `ebsim kms` (NotFound, Validation, Disabled, InvalidCiphertext)', async () => {
    const nf = await sameError(['kms', 'describe-key', '--key-id', 'alias/missing'], ['kms', 'describe-key', '--key-id', 'alias/missing'], 'NotFoundException');
    expect(nf.aws).toBe(nf.ebsim);
    const val = await sameError(['kms', 'generate-random', '--number-of-bytes', '2000'], ['kms', 'generate-random', '--number-of-bytes', '2000'], 'ValidationException');
    expect(val.aws).toBe(val.ebsim);
    const off = (await ok('kms', 'create-key')).KeyMetadata.KeyId;
    await ok('kms', 'disable-key', '--key-id', off);
    const dis = await sameError(['kms', 'encrypt', '--key-id', off, '--plaintext', 'aGk='], ['kms', 'encrypt', '--key-id', off, '--plaintext', 'aGk='], 'DisabledException');
    expect(dis.aws).toBe(dis.ebsim);
    const junk = join(home, 'junk.bin');
    writeFileSync(junk, randomBytes(200));
    const ic = await sameError(['kms', 'decrypt', '--ciphertext-blob', `fileb://${junk}`], ['kms', 'decrypt', '--ciphertext-blob', `fileb://${junk}`], 'InvalidCiphertextException');
    expect(ic.aws).toBe(ic.ebsim);
  });

  it('AccessDeniedException for an assumed-role session signing with ASIA keys and its session token', async () => {
    const out: string[] = [];
    await main(['iam', 'create-role', '--role-name', 'Auditor', '--assume-role-policy-document', ACCOUNT_TRUST, '--home', home], { out: () => {}, err: () => {} });
    await main(['sts', 'assume-role', '--role-arn', 'Auditor', '--role-session-name', 'audit', '--home', home], { out: (t) => out.push(t), err: () => {} });
    const c = json(out.join('\n')).Credentials;
    expect(c.AccessKeyId).toMatch(/^ASIA/);
    const creds = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
    const who = await aws(server.url, home, ['sts', 'get-caller-identity'], creds);
    expect(json(who.stdout).Arn).toBe('arn:aws:sts::123456789012:assumed-role/Auditor/audit');
    const ad = await sameError(['kms', 'describe-key', '--key-id', keyId], ['kms', 'describe-key', '--key-id', keyId, '--as', 'role/Auditor/audit'], 'AccessDeniedException', creds);
    expect(ad.aws).toBe(ad.ebsim);
    // Without the session token the keys are not valid.
    const noToken = await aws(server.url, home, ['kms', 'list-keys'], { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey });
    expect(errorCodeOf(noToken.stderr)).toBe('UnrecognizedClientException');
    const isDenied = (r: Record<string, any>) => r.errorCode === 'AccessDeniedException' && r.userAgent?.startsWith('aws-cli/');
    const denied = (await eventually(() => trailRecords(home, 'DescribeKey'), (rs) => rs.some(isDenied))).find(isDenied);
    expect(denied?.userIdentity).toMatchObject({ type: 'AssumedRole', arn: 'arn:aws:sts::123456789012:assumed-role/Auditor/audit', accessKeyId: c.AccessKeyId });
  });

  it('every call is in the trail under the signer, with 127.0.0.1 and the CLI user agent; lookup-events shows it', async () => {
    const alice = aliceCredentials(home);
    const kmsViaAws = () => trailRecords(home).filter((r) => r.eventSource === 'kms.amazonaws.com' && r.userAgent?.startsWith('aws-cli/2.'));
    const expected = ['CreateKey', 'DescribeKey', 'ListKeys', 'CreateAlias', 'UpdateAlias', 'DeleteAlias', 'ListAliases', 'Encrypt', 'Decrypt', 'ReEncrypt',
      'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'GenerateRandom', 'EnableKey', 'DisableKey', 'EnableKeyRotation', 'DisableKeyRotation',
      'GetKeyRotationStatus', 'ScheduleKeyDeletion', 'CancelKeyDeletion', 'CreateGrant', 'ListGrants', 'RetireGrant', 'RevokeGrant'];
    // The read-only calls' records are group-committed a few ms after their answers.
    const viaAws = await eventually(kmsViaAws, (rs) => expected.every((op) => rs.some((r) => r.eventName === op)));
    expect(viaAws.length).toBeGreaterThan(40);
    for (const r of viaAws) {
      expect(r.sourceIPAddress).toBe('127.0.0.1');
      if (r.userIdentity.type === 'IAMUser') expect(r.userIdentity).toMatchObject({ arn: 'arn:aws:iam::123456789012:user/Alice', accessKeyId: alice.accessKeyId, userName: 'Alice' });
    }
    const names = new Set(viaAws.map((r) => r.eventName));
    for (const op of expected) expect(names, op).toContain(op);
    expect(viaAws.find((r) => r.eventName === 'Decrypt')!.userAgent).toContain('command/kms.decrypt');

    const look = await ok('cloudtrail', 'lookup-events', '--lookup-attributes', 'AttributeKey=EventName,AttributeValue=CreateGrant', '--max-results', '5');
    expect(look.Events.length).toBe(2);
    expect(look.Events[0]).toMatchObject({ EventName: 'CreateGrant', EventSource: 'kms.amazonaws.com', Username: 'Alice', AccessKeyId: alice.accessKeyId });
    expect(look.Events[0].EventTime).toMatch(/^\d{4}-/);
    expect(JSON.parse(look.Events[0].CloudTrailEvent).userAgent).toContain('aws-cli/2.');
    // The same lookup through `ebsim trail lookup-events` gives the same events.
    const mine = json((await ebsim('trail', 'lookup-events', '--lookup-attributes', 'AttributeKey=EventName,AttributeValue=CreateGrant', '--max-results', '5')).stdout);
    expect(mine.Events.map((e: any) => e.EventId)).toEqual(look.Events.map((e: any) => e.EventId));
    // Paging with the CLI's own paginator (it follows NextToken).
    const all = await ok('cloudtrail', 'lookup-events', '--lookup-attributes', 'AttributeKey=Username,AttributeValue=Alice', '--page-size', '7');
    expect(all.Events.length).toBeGreaterThan(40);
  });

  it('shuts down on SIGTERM with every acknowledged call committed to the trail', async () => {
    const before = trailCount(home);
    for (let i = 0; i < 3; i++) await ok('kms', 'generate-random', '--number-of-bytes', '8');
    expect(await server.stop()).toBe(0);
    expect(trailCount(home)).toBe(before + 3);
    expect(server.stderr()).toMatch(/kms\.GenerateRandom 200/);
    server = await spawnServe(home); // for afterAll
  });

  it('the AWS CLI block of docs/server.md runs as written (port aside) and each command succeeds', async () => {
    const doc = readFileSync(join(__dirname, '../../docs/server.md'), 'utf8');
    const block = /\*\*AWS CLI v2\*\*\s*```sh\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(block).toBeTruthy();
    const script = `set -euo pipefail\n${block!.replaceAll('http://127.0.0.1:4599', server.url)}`;
    const env: Record<string, string> = { ...(process.env as Record<string, string>), EBSIM_HOME: home, AWS_CONFIG_FILE: '/dev/null', AWS_EC2_METADATA_DISABLED: 'true', AWS_PAGER: '' };
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) delete env[k];
    const r = spawnSync('bash', ['-c', script], { env, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('"CiphertextBlob"');
    expect(r.stdout).toContain('"Events"');
    expect(r.stdout).toContain('arn:aws:iam::123456789012:user/Alice');
  });

  it('the credentials file ebsim init wrote is what the CLI used', () => {
    expect(readFileSync(join(home, 'credentials'), 'utf8')).toContain('[ebsim]');
  });
});
