// The CLI in-process (main(argv) with captured output) and as a real process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { main } from '../../src/cli/main.js';
import { runEbsim, ebsimIn } from '../helpers/cli.js';
import { currentXtsPath, xtsPaths } from '../../src/xts/index.js';

let home: string;
async function ebsim(...args: string[]) {
  return ebsimIn(home, args);
}
const ACCOUNT_TRUST = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}';
const json = (s: string) => JSON.parse(s) as Record<string, any>;

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'ebsim-cli-'));
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('ebsim CLI', () => {
  it('init creates Alice and an AWS credentials file under profile ebsim', async () => {
    const r = await ebsim('init');
    expect(r.code).toBe(0);
    expect(json(r.stdout)).toMatchObject({ accountId: '123456789012', userArn: 'arn:aws:iam::123456789012:user/Alice' });
    const creds = readFileSync(join(home, 'credentials'), 'utf8');
    expect(creds).toMatch(/\[ebsim\]\naws_access_key_id = AKIA[A-Z2-7]{16}\naws_secret_access_key = \S{40}\n/);
    expect((await ebsim('init')).code).toBe(0);
  });

  it('kms round trip with AWS CLI flag names, base64 and fileb:// blobs, k=v contexts', async () => {
    const key = json((await ebsim('kms', 'create-key', '--description', 'cli')).stdout).KeyMetadata;
    await ebsim('kms', 'create-alias', '--alias-name', 'alias/cli', '--target-key-id', key.KeyId);
    const file = join(home, 'plain.bin');
    writeFileSync(file, Buffer.from([0, 1, 2, 255]));
    const enc = json((await ebsim('kms', 'encrypt', '--key-id', 'alias/cli', '--plaintext', `fileb://${file}`, '--encryption-context', 'purpose=test,team=blue')).stdout);
    expect(enc.KeyId).toBe(key.Arn);
    const dec = json((await ebsim('kms', 'decrypt', '--ciphertext-blob', enc.CiphertextBlob, '--encryption-context', '{"team":"blue","purpose":"test"}')).stdout);
    expect(Buffer.from(dec.Plaintext, 'base64')).toEqual(Buffer.from([0, 1, 2, 255]));
    const text = await ebsim('kms', 'decrypt', '--ciphertext-blob', enc.CiphertextBlob, '--encryption-context', 'purpose=test,team=blue', '--output', 'text');
    expect(text.stdout.split('\t')).toContain('AAEC/w==');
  });

  it('errors print the AWS CLI sentence on stderr with exit code 254, no stack trace', async () => {
    const r = await ebsim('kms', 'describe-key', '--key-id', 'alias/missing');
    expect(r.code).toBe(254);
    expect(r.stderr.trim()).toBe('An error occurred (NotFoundException) when calling the DescribeKey operation: Alias arn:aws:kms:us-east-1:123456789012:alias/missing is not found.');
    const v = await ebsim('kms', 'generate-data-key-without-plaintext', '--key-id', 'alias/cli', '--number-of-bytes', '2000');
    expect(v.stderr).toContain("Value '2000' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024");
    expect(v.stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it('bad usage exits 252 with a hint; --help works everywhere', async () => {
    const r = await ebsim('kms', 'no-such-op');
    expect(r.code).toBe(252);
    const help = await ebsim('kms', 'create-grant', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--grantee-principal');
  });

  it('--as role/ROLE/SESSION acts as an assumed-role session, and a grant with a constraint decides', async () => {
    // CreateRole requires a trust policy, as AWS's: this account may assume the role.
    await ebsim('iam', 'create-role', '--role-name', 'Auditor', '--assume-role-policy-document', ACCOUNT_TRUST);
    const key = json((await ebsim('kms', 'describe-key', '--key-id', 'alias/cli')).stdout).KeyMetadata;
    const blob = json((await ebsim('kms', 'encrypt', '--key-id', key.KeyId, '--plaintext', 'aGk=', '--encryption-context', 'team=blue')).stdout).CiphertextBlob;
    const denied = await ebsim('kms', 'decrypt', '--ciphertext-blob', blob, '--encryption-context', 'team=blue', '--as', 'role/Auditor/s1');
    expect(denied.code).toBe(254);
    expect(denied.stderr).toContain('AccessDeniedException');
    const g = await ebsim('kms', 'create-grant', '--key-id', key.KeyId, '--grantee-principal', 'arn:aws:iam::123456789012:role/Auditor', '--operations', 'Decrypt', '--constraints', 'EncryptionContextSubset={team=blue}');
    expect(g.code).toBe(0);
    const ok = await ebsim('kms', 'decrypt', '--ciphertext-blob', blob, '--encryption-context', 'team=blue', '--as', 'role/Auditor/s1');
    expect(json(ok.stdout).Plaintext).toBe('aGk=');
    const ev = json((await ebsim('trail', 'lookup-events', '--lookup-attributes', 'AttributeKey=Username,AttributeValue=s1')).stdout);
    expect(ev.Events.map((e: { EventName: string }) => e.EventName)).toEqual(['Decrypt', 'Decrypt']);
  });

  it('iam and sts commands', async () => {
    expect(json((await ebsim('iam', 'create-user', '--user-name', 'Bob')).stdout).User.Arn).toBe('arn:aws:iam::123456789012:user/Bob');
    expect((await ebsim('iam', 'create-user', '--user-name', 'Bob')).stderr).toContain('(EntityAlreadyExists)');
    expect(json((await ebsim('iam', 'create-access-key', '--user-name', 'Bob')).stdout).AccessKey.AccessKeyId).toMatch(/^AKIA/);
    expect(json((await ebsim('iam', 'list-users')).stdout).Users.map((u: { UserName: string }) => u.UserName)).toEqual(['Alice', 'Bob']);
    const s = json((await ebsim('sts', 'assume-role', '--role-arn', 'arn:aws:iam::123456789012:role/Auditor', '--role-session-name', 'audit')).stdout);
    expect(s.AssumedRoleUser.Arn).toBe('arn:aws:sts::123456789012:assumed-role/Auditor/audit');
    expect(s.Credentials.AccessKeyId).toMatch(/^ASIA/);
    expect(json((await ebsim('sts', 'get-caller-identity', '--as', 'Bob')).stdout).Arn).toBe('arn:aws:iam::123456789012:user/Bob');
  });

  it('trail records prints {"Records": [...]} oldest first', async () => {
    const r = json((await ebsim('trail', 'records')).stdout);
    expect(r.Records[0].eventName).toBe('CreateKey');
    expect(r.Records.length).toBeGreaterThan(5);
  });

  it('the launcher works as a real process (npx ebsim)', async () => {
    const r = await runEbsim(['kms', 'list-aliases', '--home', home]);
    expect(r.code).toBe(0);
    expect(json(r.stdout).Aliases.map((a: { AliasName: string }) => a.AliasName)).toContain('alias/cli');
  });
});

describe('ebsim doctor and --version', () => {
  it('names the XTS engine in use and why', async () => {
    const out: string[] = [];
    expect(await main(['--version'], { out: (t) => out.push(t), err: () => {} })).toBe(0);
    expect(out.join('')).toMatch(/^ebsim \d+\.\d+\.\d+ \(node v\d+.*xts engine: (native|node|noble): /);
    const d: string[] = [];
    expect(await main(['doctor'], { out: (t) => d.push(t), err: () => {} })).toBe(0);
    const report = JSON.parse(d.join(''));
    expect(report.XtsEngines.map((e: { name: string }) => e.name)).toEqual(['native', 'node', 'noble']);
    expect(typeof report.RealMounts.Available).toBe('boolean');
    // The native engine's code path in use, among the ones this CPU has.
    const paths = xtsPaths();
    expect(report.XtsNativePath).toBe(paths.length ? `${currentXtsPath()} (this CPU has: ${paths.join(', ')}; EBSIM_XTS_PATH forces one)` : 'none (native engine unavailable)');
    // Each check says what it looked at and what it found: FUSE, loop devices, the AWS CLI, the XTS engine, gocryptfs, chromium.
    const checks = new Map((report.Checks as { Check: string; Ok: boolean; Found: string; Why: string }[]).map((c) => [c.Check, c]));
    for (const name of ['XTS engine chosen', 'FUSE device', 'loop devices', 'AWS CLI v2', 'gocryptfs', 'chromium', 'real mounts (all of the above)']) {
      expect(checks.get(name)?.Found, name).toBeTruthy();
      expect(checks.get(name)?.Why, name).toBeTruthy();
    }
    expect(checks.get('XTS engine chosen')!.Found).toMatch(/^(native|node|noble): /);
    expect(checks.get('FUSE device')!.Ok).toBe(existsSync('/dev/fuse'));
    expect(checks.get('AWS CLI v2')!.Ok).toBe(existsSync('/usr/bin/aws'));
    if (checks.get('AWS CLI v2')!.Ok) expect(checks.get('AWS CLI v2')!.Found).toMatch(/aws-cli\/2\./);
  }, 60_000);
});
