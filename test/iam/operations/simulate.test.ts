// The IAM policy simulator: SimulatePrincipalPolicy and SimulateCustomPolicy decide with the policy
// engine and answer in IAM's EvaluationResults shape (decision, matched statements by policy,
// missing context keys), read-only and recorded once.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initHome } from '../../../src/app/ebsim.js';
import { structureFromShorthand } from '../../../src/cli/shorthand.js';
import type { Members } from '../../../src/api/index.js';
import type { CallContext } from '../../../src/core/call-context.js';
import { awsManagedKeyPolicy } from '../../../src/kms/default-policies.js';
import { statementPositions } from '../../../src/iam/statement-positions.js';
import { errorCode, makeHome, type TestHome } from '../../helpers/home.js';
import { recordsOf } from '../trail.js';
import { ebsimIn } from '../../helpers/cli.js';

const ACCOUNT = '123456789012';
const VOLUME_KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const doc = (...Statement: object[]) => JSON.stringify({ Version: '2012-10-17', Statement });
const ebsOnly = doc({
  Sid: 'DecryptForOneVolume',
  Effect: 'Allow',
  Action: 'kms:Decrypt',
  Resource: '*',
  Condition: { StringEquals: { 'kms:EncryptionContext:aws:ebs:id': 'vol-0123456789abcdef0' } },
});
const entry = (name: string, ...values: string[]) => ({ ContextKeyName: name, ContextKeyValues: values, ContextKeyType: 'string' });

let h: TestHome;
let alice: CallContext;
type Result = Record<string, any>;
const principal = (params: Record<string, unknown>) => h.app.iam.call(alice, 'SimulatePrincipalPolicy', params).EvaluationResults as Result[];
const custom = (params: Record<string, unknown>) => h.app.iam.call(alice, 'SimulateCustomPolicy', params).EvaluationResults as Result[];
const user = (name: string) => `arn:aws:iam::${ACCOUNT}:user/${name}`;

beforeAll(() => {
  h = makeHome('ebsim-simulate-');
  alice = h.app.as('Alice');
  h.app.iam.createUser(alice, 'Carol');
  h.app.iam.createUser(alice, 'Dave');
  h.app.iam.call(alice, 'PutUserPolicy', { UserName: 'Dave', PolicyName: 'ebs-only', PolicyDocument: ebsOnly });
  h.app.iam.createRole(alice, 'Worker');
  h.app.iam.call(alice, 'PutRolePolicy', { RoleName: 'Worker', PolicyName: 'encrypt', PolicyDocument: doc({ Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*' }) });
});
afterAll(() => h.cleanup());

describe('SimulatePrincipalPolicy', () => {
  it('Alice (AdministratorAccess) is allowed, by the AWS managed policy; the response is whole (IsTruncated false)', () => {
    const r = h.app.iam.call(alice, 'SimulatePrincipalPolicy', { PolicySourceArn: user('Alice'), ActionNames: ['kms:Decrypt', 'kms:CreateKey'], MaxItems: 1 });
    expect(r.IsTruncated).toBe(false);
    const results = r.EvaluationResults as Result[];
    expect(results.map((x) => [x.EvalActionName, x.EvalResourceName, x.EvalDecision])).toEqual([
      ['kms:Decrypt', '*', 'allowed'],
      ['kms:CreateKey', '*', 'allowed'],
    ]);
    expect(results[0]!.MatchedStatements).toEqual([expect.objectContaining({ SourcePolicyId: 'AdministratorAccess', SourcePolicyType: 'aws-managed' })]);
    expect(results[0]!.MissingContextValues).toEqual([]);
    // Same account, every resource: no EvalDecisionDetails (IAM API Reference, EvaluationResult).
    expect(results[0]).not.toHaveProperty('EvalDecisionDetails');
  });

  it('a new user, with no policy, is implicitly denied and no statement matches', () => {
    expect(principal({ PolicySourceArn: user('Carol'), ActionNames: ['kms:Decrypt'] })).toEqual([
      { EvalActionName: 'kms:Decrypt', EvalResourceName: '*', EvalDecision: 'implicitDeny', MatchedStatements: [], MissingContextValues: [] },
    ]);
  });

  it('a condition on kms:EncryptionContext:aws:ebs:id: allowed with the right value, denied with another, reported missing without one', () => {
    const run = (entries?: object[]) => principal({ PolicySourceArn: user('Dave'), ActionNames: ['kms:Decrypt'], ResourceArns: [VOLUME_KEY], ...(entries ? { ContextEntries: entries } : {}) })[0]!;
    const right = run([entry('kms:EncryptionContext:aws:ebs:id', 'vol-0123456789abcdef0')]);
    expect(right.EvalDecision).toBe('allowed');
    expect(right.EvalResourceName).toBe(VOLUME_KEY);
    expect(right.MatchedStatements).toEqual([{ SourcePolicyId: 'ebs-only', SourcePolicyType: 'user', StartPosition: { Line: 1, Column: 38 }, EndPosition: { Line: 1, Column: ebsOnly.length - 2 } }]);
    expect(right.MissingContextValues).toEqual([]);
    // Named resources: the same findings per resource, and an empty EvalDecisionDetails in one account.
    expect(right.ResourceSpecificResults).toEqual([{ EvalResourceName: VOLUME_KEY, EvalResourceDecision: 'allowed', MatchedStatements: right.MatchedStatements, MissingContextValues: [], EvalDecisionDetails: {} }]);
    expect(right.EvalDecisionDetails).toEqual({});
    // Context key names are not case-sensitive.
    expect(run([entry('KMS:EncryptionContext:AWS:EBS:ID', 'vol-0123456789abcdef0')]).EvalDecision).toBe('allowed');
    const other = run([entry('kms:EncryptionContext:aws:ebs:id', 'vol-fffffffffffffffff')]);
    expect(other).toMatchObject({ EvalDecision: 'implicitDeny', MatchedStatements: [], MissingContextValues: [] });
    expect(run()).toMatchObject({ EvalDecision: 'implicitDeny', MissingContextValues: ['kms:EncryptionContext:aws:ebs:id'] });
    // A key only read by statements that do not apply to the action is not missing.
    expect(principal({ PolicySourceArn: user('Dave'), ActionNames: ['kms:Encrypt'] })[0]!.MissingContextValues).toEqual([]);
  });

  it('an explicit deny in PolicyInputList wins over AdministratorAccess, and is the only statement reported', () => {
    const deny = doc({ Effect: 'Deny', Action: 'kms:Decrypt', Resource: '*' });
    const [decrypt, encrypt] = principal({ PolicySourceArn: user('Alice'), PolicyInputList: [deny], ActionNames: ['kms:Decrypt', 'kms:Encrypt'] });
    expect(decrypt).toMatchObject({ EvalDecision: 'explicitDeny', MatchedStatements: [{ SourcePolicyId: 'PolicyInputList.1', SourcePolicyType: 'none' }] });
    expect(encrypt).toMatchObject({ EvalDecision: 'allowed', MatchedStatements: [{ SourcePolicyId: 'AdministratorAccess' }] });
  });

  it("a role's policies: its inline policy, typed role", () => {
    expect(principal({ PolicySourceArn: `arn:aws:iam::${ACCOUNT}:role/Worker`, ActionNames: ['kms:Encrypt', 'kms:Decrypt'] }).map((r) => [r.EvalDecision, r.MatchedStatements])).toEqual([
      ['allowed', [expect.objectContaining({ SourcePolicyId: 'encrypt', SourcePolicyType: 'role' })]],
      ['implicitDeny', []],
    ]);
  });

  it('a ResourcePolicy (the aws/ebs key policy) is evaluated for the caller: allowed through EC2, not otherwise', () => {
    const keyPolicy = awsManagedKeyPolicy('ebs', ACCOUNT, 'us-east-1');
    const run = (entries: object[]) => principal({ PolicySourceArn: user('Carol'), ActionNames: ['kms:Decrypt'], ResourceArns: [VOLUME_KEY], ResourcePolicy: keyPolicy, ContextEntries: entries })[0]!;
    const viaEc2 = run([entry('kms:ViaService', 'ec2.us-east-1.amazonaws.com'), entry('kms:CallerAccount', ACCOUNT)]);
    expect(viaEc2).toMatchObject({ EvalDecision: 'allowed', MatchedStatements: [{ SourcePolicyId: 'ResourcePolicy', SourcePolicyType: 'resource' }], MissingContextValues: [] });
    expect(run([entry('kms:ViaService', 's3.us-east-1.amazonaws.com'), entry('kms:CallerAccount', ACCOUNT)]).EvalDecision).toBe('implicitDeny');
    expect(run([]).MissingContextValues).toEqual(['kms:CallerAccount', 'kms:ViaService']);
    // The metadata statement names the account only: that needs an IAM policy too.
    const describe = principal({ PolicySourceArn: user('Carol'), ActionNames: ['kms:DescribeKey'], ResourceArns: [VOLUME_KEY], ResourcePolicy: keyPolicy })[0]!;
    expect(describe.EvalDecision).toBe('implicitDeny');
  });

  it('across accounts both sides must allow: EvalDecisionDetails says which did', () => {
    const foreign = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const alone = principal({ PolicySourceArn: user('Alice'), ActionNames: ['kms:Decrypt'], ResourceArns: [foreign] })[0]!;
    expect(alone).toMatchObject({ EvalDecision: 'implicitDeny', EvalDecisionDetails: { 'IAM Policy': 'allowed', 'Resource Policy': 'implicitDeny' } });
    const trusting = doc({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:Decrypt', Resource: '*' });
    const both = principal({ PolicySourceArn: user('Alice'), ActionNames: ['kms:Decrypt'], ResourceArns: [foreign], ResourcePolicy: trusting })[0]!;
    expect(both).toMatchObject({ EvalDecision: 'allowed', EvalDecisionDetails: { 'IAM Policy': 'allowed', 'Resource Policy': 'allowed' } });
    // ResourceOwner names the account of a resource whose ARN names none.
    const owned = principal({ PolicySourceArn: user('Alice'), ActionNames: ['kms:CreateKey'], ResourceOwner: 'arn:aws:iam::111122223333:root', ResourceArns: ['*'] })[0]!;
    expect(owned.EvalDecision).toBe('implicitDeny');
  });

  it('is read-only and recorded once, like every call', () => {
    const before = recordsOf(h, 'SimulatePrincipalPolicy').length;
    principal({ PolicySourceArn: user('Carol'), ActionNames: ['kms:Decrypt'] });
    const records = recordsOf(h, 'SimulatePrincipalPolicy');
    expect(records).toHaveLength(before + 1);
    expect(records.at(-1)).toMatchObject({ eventSource: 'iam.amazonaws.com', readOnly: true, requestParameters: { policySourceArn: user('Carol'), actionNames: ['kms:Decrypt'] } });
  });

  it("errors: NoSuchEntity for a user or role that does not exist (or a group: ebsim has none), InvalidInput for an ARN that names none, MalformedPolicyDocument for a bad policy", () => {
    expect(errorCode(() => principal({ PolicySourceArn: user('Nobody'), ActionNames: ['kms:Decrypt'] }))).toBe('NoSuchEntity');
    expect(errorCode(() => principal({ PolicySourceArn: `arn:aws:iam::${ACCOUNT}:role/Nobody`, ActionNames: ['kms:Decrypt'] }))).toBe('NoSuchEntity');
    expect(errorCode(() => principal({ PolicySourceArn: `arn:aws:iam::${ACCOUNT}:group/Admins`, ActionNames: ['kms:Decrypt'] }))).toBe('NoSuchEntity');
    expect(errorCode(() => principal({ PolicySourceArn: 'arn:aws:s3:::some-bucket-name', ActionNames: ['kms:Decrypt'] }))).toBe('InvalidInput');
    expect(errorCode(() => principal({ PolicySourceArn: 'Alice', ActionNames: ['kms:Decrypt'] }))).toBe('ValidationError');
    expect(errorCode(() => principal({ PolicySourceArn: user('Alice'), PolicyInputList: ['{"Statement":'], ActionNames: ['kms:Decrypt'] }))).toBe('MalformedPolicyDocument');
    expect(errorCode(() => principal({ PolicySourceArn: user('Alice'), CallerArn: `arn:aws:iam::${ACCOUNT}:role/Worker`, ActionNames: ['kms:Decrypt'] }))).toBe('InvalidInput');
    // A role's simulation with a resource policy needs a CallerArn for the policy's Principal.
    const role = `arn:aws:iam::${ACCOUNT}:role/Worker`;
    expect(errorCode(() => principal({ PolicySourceArn: role, ActionNames: ['kms:Decrypt'], ResourcePolicy: awsManagedKeyPolicy('ebs', ACCOUNT, 'us-east-1') }))).toBe('InvalidInput');
    expect(principal({ PolicySourceArn: role, CallerArn: user('Carol'), ActionNames: ['kms:Encrypt'], ResourcePolicy: awsManagedKeyPolicy('ebs', ACCOUNT, 'us-east-1') })[0]!.EvalDecision).toBe('allowed');
    expect(errorCode(() => principal({ PolicySourceArn: user('Alice'), ActionNames: ['kms:Decrypt'], ResourceOwner: 'someone' }))).toBe('InvalidInput');
  });
});

describe('SimulateCustomPolicy', () => {
  const encrypt = doc({ Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*' });
  const decrypt = doc({ Effect: 'Allow', Action: ['kms:Decrypt', 'kms:Encrypt'], Resource: '*' });

  it('two policies: each action is allowed by the policies that allow it, named by their place in the list', () => {
    const [e, d, c] = custom({ PolicyInputList: [encrypt, decrypt], ActionNames: ['kms:Encrypt', 'kms:Decrypt', 'kms:CreateKey'] });
    expect(e).toMatchObject({ EvalDecision: 'allowed', MatchedStatements: [{ SourcePolicyId: 'PolicyInputList.1', SourcePolicyType: 'none' }, { SourcePolicyId: 'PolicyInputList.2', SourcePolicyType: 'none' }] });
    expect(d).toMatchObject({ EvalDecision: 'allowed', MatchedStatements: [{ SourcePolicyId: 'PolicyInputList.2' }] });
    expect(c).toMatchObject({ EvalDecision: 'implicitDeny', MatchedStatements: [] });
  });

  it('a permissions boundary limits what the policies allow', () => {
    const [e, d] = custom({ PolicyInputList: [decrypt], PermissionsBoundaryPolicyInputList: [encrypt], ActionNames: ['kms:Encrypt', 'kms:Decrypt'] });
    expect(e).toMatchObject({ EvalDecision: 'allowed', PermissionsBoundaryDecisionDetail: { AllowedByPermissionsBoundary: true } });
    expect(d).toMatchObject({ EvalDecision: 'implicitDeny', PermissionsBoundaryDecisionDetail: { AllowedByPermissionsBoundary: false } });
  });

  it('PolicyInputList is required; a policy with a Principal is no identity policy', () => {
    expect(errorCode(() => custom({ ActionNames: ['kms:Decrypt'] }))).toBe('ValidationError');
    expect(errorCode(() => custom({ PolicyInputList: [doc({ Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*' })], ActionNames: ['kms:Decrypt'] }))).toBe('MalformedPolicyDocument');
  });
});

describe('statement positions', () => {
  it('finds each statement of a pretty-printed document, strings with braces and escapes skipped', () => {
    const text = '{\n  "Version": "2012-10-17",\n  "Id": "a}\\"[",\n  "Statement": [\n    {"Effect": "Allow", "Action": "x:Y", "Resource": "*"},\n    { "Effect": "Deny",\n      "Action": "x:Z", "Resource": "*" }\n  ]\n}';
    expect(statementPositions(text)).toEqual([
      { start: { Line: 5, Column: 5 }, end: { Line: 5, Column: 57 } },
      { start: { Line: 6, Column: 5 }, end: { Line: 7, Column: 40 } },
    ]);
    expect(statementPositions('{"Statement": {"Effect": "Allow"}}')).toEqual([{ start: { Line: 1, Column: 15 }, end: { Line: 1, Column: 33 } }]);
    expect(statementPositions('not json')).toEqual([]);
  });
});

describe('ebsim iam simulate-principal-policy', () => {
  let home: string;
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'ebsim-simulate-cli-'));
    initHome(home);
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  async function ebsim(...args: string[]) {
    return ebsimIn(home, args);
  }

  it('takes --context-entries in the AWS CLI shorthand, a list value inside included', async () => {
    const policy = awsManagedKeyPolicy('ebs', ACCOUNT, 'us-east-1');
    const r = await ebsim(
      'iam', 'simulate-principal-policy', '--policy-source-arn', user('Alice'), '--action-names', 'kms:Decrypt', 'kms:Encrypt', '--resource-arns', VOLUME_KEY,
      '--caller-arn', `arn:aws:iam::${ACCOUNT}:user/Nobody`, '--resource-policy', policy,
      '--context-entries', 'ContextKeyName=kms:ViaService,ContextKeyValues=ec2.us-east-1.amazonaws.com,ContextKeyType=string', `ContextKeyName=kms:CallerAccount,ContextKeyValues=${ACCOUNT},ContextKeyType=string`,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.EvaluationResults.map((x: Result) => x.EvalDecision)).toEqual(['allowed', 'allowed']);
    expect(out.EvaluationResults[0].MissingContextValues).toEqual([]);
  });

  it('simulate-custom-policy --policy-input-list takes documents as given or from file://, whole', async () => {
    const path = join(home, 'encrypt.json');
    writeFileSync(path, doc({ Effect: 'Allow', Action: ['kms:Encrypt', 'kms:GenerateDataKey'], Resource: '*' }));
    const inline = doc({ Effect: 'Deny', Action: 'kms:GenerateDataKey', Resource: '*' });
    const r = await ebsim('iam', 'simulate-custom-policy', '--policy-input-list', `file://${path}`, inline, '--action-names', 'kms:Encrypt', 'kms:GenerateDataKey');
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout).EvaluationResults.map((x: Result) => [x.EvalDecision, x.MatchedStatements[0].SourcePolicyId])).toEqual([
      ['allowed', 'PolicyInputList.1'],
      ['explicitDeny', 'PolicyInputList.2'],
    ]);
  });

  it('the shorthand: a piece without = continues the list; [a,b] is a list; a lone value of a list member is a list of one', () => {
    const members: Members = { ContextKeyName: { kind: 'string' }, ContextKeyValues: { kind: 'list', member: { kind: 'string' } }, ContextKeyType: { kind: 'string' } };
    const parse = (text: string) => structureFromShorthand('x', text, members, 'ContextEntries[0]');
    expect(parse('ContextKeyName=aws:SourceIp,ContextKeyValues=10.0.0.1,10.0.0.2,ContextKeyType=ipList')).toEqual({
      ContextKeyName: 'aws:SourceIp', ContextKeyValues: ['10.0.0.1', '10.0.0.2'], ContextKeyType: 'ipList',
    });
    expect(parse('ContextKeyValues=[a,b],ContextKeyName=k:k')).toEqual({ ContextKeyValues: ['a', 'b'], ContextKeyName: 'k:k' });
    expect(parse('ContextKeyValues=a')).toEqual({ ContextKeyValues: ['a'] });
    expect(() => parse('nokey')).toThrow("Error parsing parameter '--x': Expected: '=', received: 'EOF' for input:\nnokey\n     ^");
  });
});
