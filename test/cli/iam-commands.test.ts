// `ebsim iam` policy commands print what the AWS CLI prints: documents decoded from IAM's
// URL-encoding into JSON objects (botocore's json_decode_policies), nothing for an empty response.
// Cross-checked against botocore's own handler and the AWS CLI's JSON formatter when python3 has them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEbsim } from '../../src/app/ebsim.js';
import { ebsimIn } from '../helpers/cli.js';

let home: string;
async function ebsim(...args: string[]) {
  return ebsimIn(home, args);
}

/** What the AWS CLI prints for `operation`'s raw API response, or undefined without python3's botocore and awscli. */
function awsCliPrints(operation: string, response: unknown): string | undefined {
  const script = `
import sys, json, botocore.session
import { ebsimIn } from '../helpers/cli.js';
from botocore.handlers import json_decode_policies
from awscli.formatter import JSONFormatter
parsed = json.load(sys.stdin)
model = botocore.session.get_session().get_service_model('iam').operation_model(sys.argv[1])
json_decode_policies(parsed, model)
if parsed != {}:
    print(json.dumps(parsed, indent=4, ensure_ascii=False))
`;
  try {
    return execFileSync('python3', ['-c', script, operation], { input: JSON.stringify(response), encoding: 'utf8', stdio: ['pipe', 'pipe', 'ignore'] }).replace(/\n$/, '');
  } catch {
    return undefined;
  }
}

const policy = '{\n  "Version": "2012-10-17",\n  "Statement": [{"Effect": "Allow", "Action": ["kms:Decrypt", "kms:Encrypt"], "Resource": "*", "Condition": {"StringEquals": {"__proto__": "é"}}}]\n}\n';

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'ebsim-cli-iam-'));
  expect((await ebsim('init')).code).toBe(0);
  await ebsim('iam', 'create-user', '--user-name', 'Bob');
  writeFileSync(join(home, 'policy.json'), policy);
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('ebsim iam put-user-policy / get-user-policy', () => {
  it('put-user-policy --policy-document file://… prints nothing, as the AWS CLI', async () => {
    const r = await ebsim('iam', 'put-user-policy', '--user-name', 'Bob', '--policy-name', 'kms', '--policy-document', `file://${join(home, 'policy.json')}`);
    expect(r).toMatchObject({ code: 0, stdout: '', stderr: '' });
  });

  it('get-user-policy prints the document as a JSON object, key order and __proto__ kept', async () => {
    const r = await ebsim('iam', 'get-user-policy', '--user-name', 'Bob', '--policy-name', 'kms');
    expect(r.code).toBe(0);
    const expected = JSON.stringify({ UserName: 'Bob', PolicyName: 'kms', PolicyDocument: JSON.parse(policy) }, null, 4);
    expect(r.stdout).toBe(expected);
    expect(r.stdout).toContain('"__proto__": "é"');
  });

  it("is byte for byte what the AWS CLI prints for IAM's response (botocore's decoding, the AWS CLI's formatter)", async () => {
    const app = openEbsim(home);
    try {
      const raw = app.iam.call(app.as('Alice'), 'GetUserPolicy', { UserName: 'Bob', PolicyName: 'kms' });
      const aws = awsCliPrints('GetUserPolicy', raw);
      if (aws === undefined) return; // no botocore/awscli here: the test above still pins the shape
      expect((await ebsim('iam', 'get-user-policy', '--user-name', 'Bob', '--policy-name', 'kms')).stdout).toBe(aws);
      const role = app.iam.call(app.as('Alice'), 'GetPolicyVersion', { PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess', VersionId: 'v1' });
      expect((await ebsim('iam', 'get-policy-version', '--policy-arn', 'arn:aws:iam::aws:policy/ReadOnlyAccess', '--version-id', 'v1')).stdout).toBe(awsCliPrints('GetPolicyVersion', role));
    } finally {
      app.close();
    }
  });

  it('a missing file is bad usage in the AWS CLI words; a malformed document is the service error', async () => {
    const missing = await ebsim('iam', 'put-user-policy', '--user-name', 'Bob', '--policy-name', 'x', '--policy-document', 'file:///nonexistent/p.json');
    expect(missing.code).toBe(252);
    expect(missing.stderr).toContain("Error parsing parameter '--policy-document': Unable to load paramfile file:///nonexistent/p.json");
    const bad = await ebsim('iam', 'put-user-policy', '--user-name', 'Bob', '--policy-name', 'x', '--policy-document', '{"Version":"2012-10-17"}');
    expect(bad.code).toBe(254);
    expect(bad.stderr.trim()).toBe('An error occurred (MalformedPolicyDocument) when calling the PutUserPolicy operation: Missing required field Statement');
  });

  it('create-role needs --assume-role-policy-document, as the AWS CLI; get-role prints it decoded', async () => {
    expect((await ebsim('iam', 'create-role', '--role-name', 'App')).code).toBe(252);
    const trust = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}';
    expect((await ebsim('iam', 'create-role', '--role-name', 'App', '--assume-role-policy-document', trust)).code).toBe(0);
    const role = JSON.parse((await ebsim('iam', 'get-role', '--role-name', 'App')).stdout);
    expect(role.Role.AssumeRolePolicyDocument).toEqual(JSON.parse(trust));
    const attached = await ebsim('iam', 'attach-role-policy', '--role-name', 'App', '--policy-arn', 'arn:aws:iam::aws:policy/ReadOnlyAccess');
    expect(attached).toMatchObject({ code: 0, stdout: '' });
    expect(JSON.parse((await ebsim('iam', 'list-attached-role-policies', '--role-name', 'App')).stdout)).toEqual({
      AttachedPolicies: [{ PolicyName: 'ReadOnlyAccess', PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }],
    });
  });
});
