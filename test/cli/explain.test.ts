// `--explain`: every authorization decision of the call, on stderr, statement by statement and
// grant by grant. stdout stays the AWS CLI's output, and the trail keeps AWS's record only.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initHome, openEbsim } from '../../src/app/ebsim.js';
import { ebsimIn } from '../helpers/cli.js';

let home: string;
let keyId: string;
async function ebsim(...args: string[]) {
  return ebsimIn(home, args);
}
const trailText = () => {
  const app = openEbsim(home);
  try {
    app.trail.flush();
    return (app.db.prepare('SELECT record FROM trail_events').all() as { record: string }[]).map((r) => r.record).join('\n');
  } finally {
    app.close();
  }
};

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'ebsim-explain-'));
  initHome(home);
  expect((await ebsim('iam', 'create-user', '--user-name', 'Bob')).code).toBe(0);
  keyId = JSON.parse((await ebsim('kms', 'create-key')).stdout).KeyMetadata.KeyId;
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('--explain', () => {
  it('a user without identity policies: the key policy delegates to IAM, and no IAM policy allows', async () => {
    const r = await ebsim('kms', 'encrypt', '--key-id', keyId, '--plaintext', 'aGk=', '--as', 'Bob', '--explain');
    expect(r.code).toBe(254);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`[explain] kms:Encrypt on arn:aws:kms:us-east-1:123456789012:key/${keyId}: DENIED`);
    expect(r.stderr).toContain('Decision: ImplicitDeny (no identity-based policy allows the request)');
    expect(r.stderr).toMatch(/✓ Statement 0 "Enable IAM User Permissions": Allow, applies \(names the account\)/);
    expect(r.stderr).toContain('Grants: the key has no live grants.');
    expect(r.stderr).toContain('because no identity-based policy allows the kms:Encrypt action');
    // The explanation is ebsim's extra: the trail holds AWS's record and nothing of it.
    const trail = trailText();
    expect(trail).toContain('"errorCode":"AccessDeniedException"');
    expect(trail).not.toContain('Enable IAM User Permissions');
    expect(trail).not.toContain('[explain]');
  });

  it("Alice on alias/aws/ebs: DescribeKey allowed by the metadata statement, GenerateDataKey denied by kms:ViaService", async () => {
    const d = await ebsim('kms', 'describe-key', '--key-id', 'alias/aws/ebs', '--explain', '--query', 'KeyMetadata.KeyManager', '--output', 'text');
    expect(d.code).toBe(0);
    expect(d.stdout).toBe('AWS');
    expect(d.stderr).toMatch(/kms:DescribeKey on \S+: ALLOWED/);
    expect(d.stderr).toContain('"Allow direct access to key metadata to the account": Allow, applies');
    const g = await ebsim('kms', 'generate-data-key', '--key-id', 'alias/aws/ebs', '--key-spec', 'AES_256', '--explain');
    expect(g.code).toBe(254);
    expect(g.stderr).toMatch(/kms:GenerateDataKey on \S+: DENIED/);
    expect(g.stderr).toContain('Condition StringEquals kms:ViaService: request has (absent); policy wants ec2.us-east-1.amazonaws.com (not met)');
    expect(g.stderr).toContain('because no resource-based policy allows the kms:GenerateDataKey action');
  });

  it('a grant that allows what the policies do not, and the same call without --explain prints nothing extra', async () => {
    const grant = await ebsim('kms', 'create-grant', '--key-id', keyId, '--grantee-principal', 'arn:aws:iam::123456789012:user/Bob', '--operations', 'Encrypt');
    expect(grant.code).toBe(0);
    const r = await ebsim('kms', 'encrypt', '--key-id', keyId, '--plaintext', 'aGk=', '--as', 'Bob', '--explain');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).KeyId).toContain(keyId);
    expect(r.stderr).toMatch(/kms:Encrypt on \S+: ALLOWED/);
    expect(r.stderr).toMatch(/✓ grant \S+…: allows it/);
    const quiet = await ebsim('kms', 'encrypt', '--key-id', keyId, '--plaintext', 'aGk=', '--as', 'Bob');
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
  });

  it('an EC2 call explains the KMS calls EC2 makes on the caller\'s behalf', async () => {
    const r = await ebsim('ec2', 'create-volume', '--size', '1', '--encrypted', '--explain');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/kms:GenerateDataKeyWithoutPlaintext on \S+: ALLOWED/);
    expect(r.stderr).toContain('Condition StringEquals kms:ViaService: request has ec2.us-east-1.amazonaws.com; policy wants ec2.us-east-1.amazonaws.com (met)');
  });
});
