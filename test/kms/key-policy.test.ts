// Key policies as documents: GetKeyPolicy returns exactly what PutKeyPolicy or CreateKey stored,
// a key never given one has AWS's default text, a bad document is MalformedPolicyDocumentException,
// the trail records the calls as the KMS Developer Guide shows them, and `ebsim kms` and the real
// AWS CLI over HTTP handle file:// policies and `--output text --query Policy` alike.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, makeHome, type TestHome } from '../helpers/home.js';
import { onBehalfOf, type CallContext } from '../../src/core/call-context.js';
import { openEbsim } from '../../src/app/ebsim.js';
import type { KmsService } from '../../src/kms/service.js';
import { awsManagedKeyPolicy, defaultKeyPolicy } from '../../src/kms/default-policies.js';
import { KEY_POLICY_MAX_BYTES, POLICY_MESSAGES, checkKeyPolicy } from '../../src/kms/key-policy.js';
import { lockoutCheck } from '../../src/kms/authorize.js';
import type { KmsEnv } from '../../src/kms/operation.js';
import type { RunningServer } from '../../src/server/index.js';
import { GetKeyPolicyCommand, KMSClient, ListKeyPoliciesCommand, PutKeyPolicyCommand } from '@aws-sdk/client-kms';
import { aliceCredentials, aws, inProcess } from '../server/helpers.js';
import { noteLocalWrite } from '../../src/store/read-cache.js';
import { ebsimIn } from '../helpers/cli.js';

const ACCOUNT = '123456789012';
const HAVE_AWS = existsSync('/usr/bin/aws');

let h: TestHome;
let kms: KmsService;
let alice: CallContext;
let nobody: CallContext;

beforeAll(() => {
  h = makeHome('ebsim-key-policy-');
  kms = h.app.kms();
  alice = h.app.as('Alice');
  h.app.iam.createRole(alice, 'Nobody');
  nobody = h.app.as('role/Nobody/s1');
});
afterAll(() => h.cleanup());

const newKey = (params: Record<string, unknown> = {}) => (kms.call(alice, 'CreateKey', params).KeyMetadata as { KeyId: string; Arn: string });
const getPolicy = (keyId: string, params: Record<string, unknown> = {}) => kms.call(alice, 'GetKeyPolicy', { KeyId: keyId, ...params });

/** A policy that lets the account do everything: passes the lockout check for Alice. */
function policy(extra: Record<string, unknown> = {}, statement: Record<string, unknown> = {}): string {
  return JSON.stringify({
    Version: '2012-10-17',
    ...extra,
    Statement: [{ Sid: 'Root', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*', ...statement }],
  });
}

/** The error a call throws: its code and message. */
function failure(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    return { code: (err as { code: string }).code, message: (err as Error).message };
  }
  throw new Error('expected an error');
}

describe('default policies', () => {
  it("the default key policy is AWS's text, byte for byte (the KMS Developer Guide's PutKeyPolicy record logs it)", () => {
    // requestParameters.policy of https://docs.aws.amazon.com/kms/latest/developerguide/ct-put-key-policy.html
    const logged =
      '{\n  "Version" : "2012-10-17",\n  "Id" : "key-default-1",\n  "Statement" : [ {\n    "Sid" : "Enable IAM User Permissions",\n    "Effect" : "Allow",\n    "Principal" : {\n      "AWS" : "arn:aws:iam::111122223333:root"\n    },\n    "Action" : "kms:*",\n    "Resource" : "*"\n  } ]\n}';
    expect(defaultKeyPolicy('111122223333')).toBe(logged);
  });

  it('a key created without a policy has the default key policy of its account, named default', () => {
    const { KeyId } = newKey();
    expect(getPolicy(KeyId)).toEqual({ Policy: defaultKeyPolicy(ACCOUNT), PolicyName: 'default' });
    expect(getPolicy(KeyId, { PolicyName: 'default' }).Policy).toContain(`"AWS" : "arn:aws:iam::${ACCOUNT}:root"`);
  });

  it("alias/aws/ebs's key has the EBS AWS managed key policy: through EC2 in this Region for the account, metadata for the account", () => {
    const { KeyId, Arn } = kms.call(alice, 'DescribeKey', { KeyId: 'alias/aws/ebs' }).KeyMetadata as { KeyId: string; Arn: string };
    const text = getPolicy(KeyId).Policy as string;
    expect(getPolicy(Arn).Policy).toBe(text);
    expect(text).toBe(awsManagedKeyPolicy('ebs', ACCOUNT, 'us-east-1'));
    const doc = JSON.parse(text);
    expect(doc).toEqual({
      Version: '2012-10-17',
      Id: 'auto-ebs-2',
      Statement: [
        {
          Sid: 'Allow access through EBS for all principals in the account that are authorized to use EBS',
          Effect: 'Allow',
          Principal: { AWS: '*' },
          Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:CreateGrant', 'kms:DescribeKey'],
          Resource: '*',
          Condition: { StringEquals: { 'kms:CallerAccount': ACCOUNT, 'kms:ViaService': 'ec2.us-east-1.amazonaws.com' } },
        },
        {
          Sid: 'Allow direct access to key metadata to the account',
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
          Action: ['kms:Describe*', 'kms:Get*', 'kms:List*', 'kms:RevokeGrant'],
          Resource: '*',
        },
      ],
    });
    // AWS's printer: lists of names on one line, one action as a string.
    expect(text).toContain('"Action" : [ "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey" ],');
    expect(awsManagedKeyPolicy('lambda', ACCOUNT, 'us-west-2')).toContain('"Action" : "kms:Describe*",');
  });

  it('every AWS managed alias has a policy that names its own service endpoint in this Region', () => {
    for (const service of ['s3', 'rds', 'sqs', 'secretsmanager']) {
      const doc = JSON.parse(awsManagedKeyPolicy(service, ACCOUNT, 'eu-west-1'));
      expect(doc.Statement[0].Condition.StringEquals).toEqual({ 'kms:CallerAccount': ACCOUNT, 'kms:ViaService': `${service}.eu-west-1.amazonaws.com` });
      expect(JSON.stringify(doc)).not.toContain('PutKeyPolicy');
    }
  });

  it('a home whose keys predate stored policies opens, and its keys have the default policy', () => {
    const old = makeHome('ebsim-old-home-');
    try {
      const KeyId = (old.app.kms().call(old.app.as('Alice'), 'CreateKey', {}).KeyMetadata as { KeyId: string }).KeyId;
      old.app.db.exec('DROP TABLE kms_key_policies');
      old.app.close();
      const again = openEbsim(old.dir);
      try {
        expect(again.kms().call(again.as('Alice'), 'GetKeyPolicy', { KeyId }).Policy).toBe(defaultKeyPolicy(ACCOUNT));
      } finally {
        again.close();
      }
    } finally {
      rmSync(old.dir, { recursive: true, force: true });
    }
  });
});

describe('PutKeyPolicy, GetKeyPolicy, ListKeyPolicies', () => {
  it('GetKeyPolicy returns the text exactly as put: whitespace, key order, escapes and Latin-1 characters kept', () => {
    const { KeyId } = newKey();
    const texts = [
      policy(),
      `  {"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Sid":"caf\u00e9 \u00fcber \u00ff"}],\r\n\t"Version" : "2012-10-17"}\n\n`,
      `{ "Id": "a\\u00e9\\n\\"quoted\\"", "Statement": { "Effect": "Allow", "Principal": { "AWS": ["${ACCOUNT}"] }, "NotAction": "kms:Decrypt", "Resource": "*" } }`,
    ];
    for (const text of texts) {
      expect(kms.call(alice, 'PutKeyPolicy', { KeyId, Policy: text, PolicyName: 'default' })).toEqual({});
      expect(getPolicy(KeyId)).toEqual({ Policy: text, PolicyName: 'default' });
    }
  });

  it('PolicyName may be left out of PutKeyPolicy and GetKeyPolicy (default)', () => {
    const { KeyId } = newKey();
    kms.call(alice, 'PutKeyPolicy', { KeyId, Policy: policy({ Id: 'no-name' }) });
    expect(JSON.parse(getPolicy(KeyId).Policy as string).Id).toBe('no-name');
  });

  it('CreateKey keeps its Policy as given', () => {
    const text = policy({ Id: 'given at creation' });
    const { KeyId } = newKey({ Policy: text, Description: 'with a policy' });
    expect(getPolicy(KeyId).Policy).toBe(text);
  });

  it('ListKeyPolicies names the one policy, default, and pages like the other lists', () => {
    const { KeyId } = newKey();
    expect(kms.call(alice, 'ListKeyPolicies', { KeyId })).toEqual({ PolicyNames: ['default'], Truncated: false });
    expect(kms.call(alice, 'ListKeyPolicies', { KeyId, Limit: 1 })).toEqual({ PolicyNames: ['default'], Truncated: false });
  });

  it('a policy of exactly 32768 bytes is taken; one byte more is MalformedPolicyDocumentException', () => {
    const { KeyId } = newKey();
    const base = policy();
    const exact = base.slice(0, -1) + ' '.repeat(KEY_POLICY_MAX_BYTES - Buffer.byteLength(base)) + '}';
    expect(Buffer.byteLength(exact)).toBe(32768);
    kms.call(alice, 'PutKeyPolicy', { KeyId, Policy: exact });
    expect(getPolicy(KeyId).Policy).toBe(exact);
    // Counted in UTF-8 bytes: 16384 two-byte characters are 32768 characters' worth.
    const over = exact.replace('"Root"', '"Root\u00e9"');
    expect(failure(() => kms.call(alice, 'PutKeyPolicy', { KeyId, Policy: over }))).toEqual({ code: 'MalformedPolicyDocumentException', message: POLICY_MESSAGES.tooLarge });
    expect(getPolicy(KeyId).Policy).toBe(exact);
  });

  it('`__proto__` in a document is data: a condition key keeps it, a top-level element of that name is unknown', () => {
    const { KeyId } = newKey();
    const text = policy({}, { Condition: { StringEquals: { 'kms:EncryptionContext:__proto__': 'x', constructor: 'y' } } });
    // Under that condition Alice could not change the policy again: the lockout check is bypassed, and then holds.
    kms.call(alice, 'PutKeyPolicy', { KeyId, Policy: text, BypassPolicyLockoutSafetyCheck: true });
    expect(errorCode(() => getPolicy(KeyId))).toBe('AccessDeniedException');
    expect(readPolicyText(KeyId)).toBe(text);
    const proto = `{"__proto__": {"Statement": []}, ${policy().slice(1)}`;
    expect(failure(() => kms.call(alice, 'PutKeyPolicy', { KeyId: newKey().KeyId, Policy: proto }))).toEqual({
      code: 'MalformedPolicyDocumentException',
      message: POLICY_MESSAGES.shape('unknown element "__proto__"'),
    });
    expect(({} as Record<string, unknown>).Statement).toBeUndefined();
  });
});

describe('a deleted key', () => {
  it('takes its policy with it when its waiting period ends (the due deletion removes the row)', () => {
    const { KeyId } = newKey({ Policy: policy({ Id: 'to be deleted' }) });
    kms.call(alice, 'ScheduleKeyDeletion', { KeyId, PendingWindowInDays: 7 });
    const rows = () => (h.app.db.prepare('SELECT count(*) AS n FROM kms_key_policies WHERE key_id = ?').get(KeyId) as { n: number }).n;
    expect(rows()).toBe(1);
    h.app.db.prepare('UPDATE kms_keys SET deletion_date = ? WHERE key_id = ?').run(new Date(Date.now() - 1000).toISOString(), KeyId);
    noteLocalWrite(h.app.db);
    expect(errorCode(() => getPolicy(KeyId))).toBe('NotFoundException');
    expect(rows()).toBe(0);
  });
});

/** The stored text, read past authorization (for keys whose policy now locks Alice out). */
const readPolicyText = (keyId: string) => (h.app.db.prepare('SELECT document FROM kms_key_policies WHERE key_id = ?').get(keyId) as { document: string }).document;

describe('errors, as AWS answers them', () => {
  let keyId = '';
  beforeAll(() => {
    keyId = newKey().KeyId;
  });
  const put = (Policy: string, extra: Record<string, unknown> = {}) => failure(() => kms.call(alice, 'PutKeyPolicy', { KeyId: keyId, Policy, ...extra }));
  const malformed = (message: string) => ({ code: 'MalformedPolicyDocumentException', message });

  it('not JSON, not an object, no statement, a bad Effect or element: MalformedPolicyDocumentException', () => {
    expect(put('{"Statement": [')).toEqual(malformed(POLICY_MESSAGES.notJson));
    expect(put('[]')).toEqual(malformed(POLICY_MESSAGES.shape('the document must be a JSON object')));
    expect(put('{"Version":"2012-10-17"}')).toEqual(malformed(POLICY_MESSAGES.shape('Statement is missing')));
    expect(put(policy({}, { Effect: 'Maybe' }))).toEqual(malformed(POLICY_MESSAGES.shape('Effect must be "Allow" or "Deny"')));
    expect(put(policy({ Version: '2020-01-01' }))).toEqual(malformed(POLICY_MESSAGES.shape('Version must be "2012-10-17" or "2008-10-17"')));
    expect(put(policy({}, { Actions: 'kms:*' }))).toEqual(malformed(POLICY_MESSAGES.shape('unknown statement element "Actions"')));
    expect(put(policy({}, { Action: 7 }))).toEqual(malformed(POLICY_MESSAGES.shape('Action must be a string or a list of strings')));
  });

  it('a statement without a principal, or with one that is not a principal: "Policy contains a statement with one or more invalid principals."', () => {
    const noPrincipal = JSON.stringify({ Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] });
    expect(put(noPrincipal)).toEqual(malformed('Policy contains a statement with one or more invalid principals.'));
    expect(put(policy({}, { Principal: { AWS: 'Alice' } }))).toEqual(malformed(POLICY_MESSAGES.principals));
    expect(put(policy({}, { Principal: { Nobody: '*' } }))).toEqual(malformed(POLICY_MESSAGES.principals));
  });

  it("ForAllValues with kms:EncryptionContext:KEY: AWS's OverlyPermissiveCondition words", () => {
    const text = policy({}, { Condition: { 'ForAllValues:StringEquals': { 'kms:EncryptionContext:Department': 'IT' } } });
    expect(put(text)).toEqual(malformed(POLICY_MESSAGES.overlyPermissive));
    expect(POLICY_MESSAGES.overlyPermissive).toMatch(/^OverlyPermissiveCondition:EncryptionContext: Using the ForAllValues set operator/);
  });

  it('a policy that would lock the caller out is refused in AWS\'s words, unless BypassPolicyLockoutSafetyCheck', () => {
    const bobOnly = policy({}, { Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/Bob` } });
    const noPut = policy({}, { Action: ['kms:Encrypt', 'kms:Decrypt'] });
    const lockout = malformed('The new key policy will not allow you to update the key policy in the future.');
    expect(put(bobOnly)).toEqual(lockout);
    expect(put(noPut)).toEqual(lockout);
    expect(put(policy({}, { Effect: 'Deny' }))).toEqual(lockout);
    expect(put(policy({}, { Resource: 'arn:aws:kms:us-east-1:123456789012:key/other' }))).toEqual(lockout);
    // What does let her: herself by ARN, her account by ID, "*", kms:Put*, NotAction without it.
    for (const ok of [
      policy({}, { Principal: { AWS: 'arn:aws:iam::123456789012:user/Alice' } }),
      policy({}, { Principal: { AWS: [ACCOUNT] } }),
      policy({}, { Principal: '*', Action: 'KMS:put*' }),
      policy({}, { Action: undefined, NotAction: 'kms:Decrypt' }),
    ]) {
      expect(kms.call(alice, 'PutKeyPolicy', { KeyId: keyId, Policy: ok })).toEqual({});
    }
    // Bypassed, the check is AWS's warning come true: the key is Bob's alone, Alice cannot even read its policy.
    const locked = newKey().KeyId;
    expect(kms.call(alice, 'PutKeyPolicy', { KeyId: locked, Policy: bobOnly, BypassPolicyLockoutSafetyCheck: true })).toEqual({});
    expect(readPolicyText(locked)).toBe(bobOnly);
    expect(errorCode(() => getPolicy(locked))).toBe('AccessDeniedException');
    expect(errorCode(() => kms.call(alice, 'PutKeyPolicy', { KeyId: locked, Policy: policy() }))).toBe('AccessDeniedException');
    // CreateKey runs the same check, and creates nothing when it fails.
    const keys = () => (kms.call(alice, 'ListKeys', {}).Keys as unknown[]).length;
    const before = keys();
    expect(failure(() => kms.call(alice, 'CreateKey', { Policy: bobOnly }))).toEqual(lockout);
    expect(failure(() => kms.call(alice, 'CreateKey', { Policy: 'nope' }))).toEqual(malformed(POLICY_MESSAGES.notJson));
    expect(keys()).toBe(before);
    const created = newKey({ Policy: bobOnly, BypassPolicyLockoutSafetyCheck: true });
    expect(readPolicyText(created.KeyId)).toBe(bobOnly);
  });

  it('a policy name other than default is NotFoundException; one outside [\\w]+ is ValidationException', () => {
    expect(put(policy(), { PolicyName: 'other' }).code).toBe('NotFoundException');
    expect(errorCode(() => getPolicy(keyId, { PolicyName: 'other' }))).toBe('NotFoundException');
    expect(put(policy(), { PolicyName: 'not-a-name' }).code).toBe('ValidationException');
  });

  it('characters outside tab, CR, LF and U+0020-U+00FF are ValidationException (the model\'s pattern)', () => {
    const r = put(policy({}, { Sid: 'snow \u2603' }));
    expect(r.code).toBe('ValidationException');
    expect(r.message).toContain("at 'policy' failed to satisfy constraint: Member must satisfy regular expression pattern");
  });

  it('an AWS managed key\'s policy cannot be changed (AccessDeniedException); its policy can be read', () => {
    const ebs = kms.call(alice, 'DescribeKey', { KeyId: 'alias/aws/ebs' }).KeyMetadata as { KeyId: string; Arn: string };
    const r = failure(() => kms.call(alice, 'PutKeyPolicy', { KeyId: ebs.KeyId, Policy: policy() }));
    expect(r).toEqual({
      code: 'AccessDeniedException',
      message: `User: arn:aws:iam::${ACCOUNT}:user/Alice is not authorized to perform: kms:PutKeyPolicy on resource: ${ebs.Arn} because no resource-based policy allows the kms:PutKeyPolicy action`,
    });
    expect(kms.call(alice, 'ListKeyPolicies', { KeyId: ebs.Arn }).PolicyNames).toEqual(['default']);
  });

  it('unknown keys, aliases, callers without permission and key states', () => {
    const missing = '0000000a-0000-4000-8000-000000000000';
    expect(failure(() => getPolicy(missing))).toEqual({ code: 'NotFoundException', message: `Key 'arn:aws:kms:us-east-1:${ACCOUNT}:key/${missing}' does not exist` });
    // The key ID or key ARN only, as AWS documents for these operations.
    expect(errorCode(() => getPolicy('alias/aws/ebs'))).toBe('InvalidArnException');
    expect(errorCode(() => kms.call(nobody, 'GetKeyPolicy', { KeyId: keyId }))).toBe('AccessDeniedException');
    expect(errorCode(() => kms.call(nobody, 'PutKeyPolicy', { KeyId: keyId, Policy: policy() }))).toBe('AccessDeniedException');
    // Every key state allows the key policy operations.
    kms.call(alice, 'DisableKey', { KeyId: keyId });
    kms.call(alice, 'PutKeyPolicy', { KeyId: keyId, Policy: policy({ Id: 'disabled' }) });
    kms.call(alice, 'ScheduleKeyDeletion', { KeyId: keyId, PendingWindowInDays: 7 });
    expect(JSON.parse(getPolicy(keyId).Policy as string).Id).toBe('disabled');
    kms.call(alice, 'PutKeyPolicy', { KeyId: keyId, Policy: policy({ Id: 'pending deletion' }) });
    expect(kms.call(alice, 'ListKeyPolicies', { KeyId: keyId }).PolicyNames).toEqual(['default']);
  });
});

describe('the seams: checkKeyPolicy and lockoutCheck on their own', () => {
  const key = { keyId: 'k', arn: `arn:aws:kms:us-east-1:${ACCOUNT}:key/k`, accountId: ACCOUNT, region: 'us-east-1' };
  const session = () => h.app.as('role/Nobody/s1');
  const passes = (ctx: CallContext, statement: Record<string, unknown>) => {
    const text = policy({}, statement);
    checkKeyPolicy(text);
    try {
      lockoutCheck({ principals: h.app.iam } as unknown as KmsEnv, ctx, key, text);
      return true;
    } catch (err) {
      expect((err as Error).message).toBe(POLICY_MESSAGES.lockout);
      return false;
    }
  };

  it('a session is covered by its own ARN or by its role\'s ARN, as a key policy naming a role covers its sessions', () => {
    expect(passes(session(), { Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/Nobody` } })).toBe(true);
    expect(passes(session(), { Principal: { AWS: `arn:aws:sts::${ACCOUNT}:assumed-role/Nobody/s1` } })).toBe(true);
    expect(passes(session(), { Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/Other` } })).toBe(false);
  });

  it('NotPrincipal, NotAction, NotResource and IAM wildcards are read as IAM reads them', () => {
    expect(passes(alice, { Principal: undefined, NotPrincipal: { AWS: `arn:aws:iam::${ACCOUNT}:user/Bob` } })).toBe(true);
    expect(passes(alice, { Principal: undefined, NotPrincipal: { AWS: `arn:aws:iam::${ACCOUNT}:user/Alice` } })).toBe(false);
    expect(passes(alice, { Action: 'kms:*KeyPolicy' })).toBe(true);
    expect(passes(alice, { Action: 'kms:PutKeyPolic?' })).toBe(true);
    expect(passes(alice, { Action: 'kms:Put' })).toBe(false);
    expect(passes(alice, { Action: undefined, NotAction: ['kms:Put*'] })).toBe(false);
    expect(passes(alice, { Resource: undefined, NotResource: 'arn:aws:kms:*:*:key/other' })).toBe(true);
    expect(passes(alice, { Resource: `arn:aws:kms:us-east-1:${ACCOUNT}:key/*` })).toBe(true);
    // Resource is required in a key policy statement (the KMS Developer Guide: "Resource — (Required)").
    expect(() => passes(alice, { Resource: undefined })).toThrow('Policy statement must contain resources.');
  });

  it('checkKeyPolicy takes a single statement object, 2008-10-17, Service principals; refuses both Action and NotAction', () => {
    expect(() => checkKeyPolicy(JSON.stringify({ Version: '2008-10-17', Statement: { Effect: 'Deny', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'kms:*', Resource: '*' } }))).not.toThrow();
    expect(() => checkKeyPolicy(policy({}, { NotAction: 'kms:Decrypt' }))).toThrow(POLICY_MESSAGES.shape('a statement has both Action and NotAction'));
    expect(() => checkKeyPolicy(JSON.stringify({ Statement: [] }))).toThrow(POLICY_MESSAGES.shape('Statement is empty'));
  });
});

describe('the trail', () => {
  const records = (name: string) => {
    h.app.trail.flush();
    return (h.app.db.prepare('SELECT record FROM trail_events WHERE event_name = ? ORDER BY seq').all(name) as { record: string }[]).map((r) => JSON.parse(r.record));
  };

  it("PutKeyPolicy and GetKeyPolicy: one record each, in the Developer Guide's shape", () => {
    const { KeyId, Arn } = newKey();
    const text = policy({ Id: 'logged' });
    const puts = records('PutKeyPolicy').length;
    const gets = records('GetKeyPolicy').length;
    kms.call(alice, 'PutKeyPolicy', { KeyId, Policy: text });
    kms.call(alice, 'GetKeyPolicy', { KeyId });
    const put = records('PutKeyPolicy').slice(puts);
    const get = records('GetKeyPolicy').slice(gets);
    expect(put).toHaveLength(1);
    expect(get).toHaveLength(1);
    expect(put[0]).toMatchObject({
      eventSource: 'kms.amazonaws.com',
      eventName: 'PutKeyPolicy',
      requestParameters: { keyId: KeyId, policyName: 'default', policy: text, bypassPolicyLockoutSafetyCheck: false },
      responseElements: null,
      readOnly: false,
      resources: [{ ARN: Arn, accountId: ACCOUNT }],
    });
    expect(Object.keys(put[0].requestParameters)).toEqual(['keyId', 'policyName', 'policy', 'bypassPolicyLockoutSafetyCheck']);
    expect(get[0]).toMatchObject({ requestParameters: { keyId: KeyId, policyName: 'default' }, responseElements: null, readOnly: true, resources: [{ ARN: Arn }] });
    expect(JSON.stringify(get[0])).not.toContain('"logged"');
  });

  it('CreateKey logs its policy and bypass flag; a refused PutKeyPolicy is one record with its errorCode', () => {
    const text = policy({ Id: 'created' });
    newKey({ Policy: text, BypassPolicyLockoutSafetyCheck: false });
    const created = records('CreateKey').pop();
    expect(created.requestParameters).toMatchObject({ policy: text, bypassPolicyLockoutSafetyCheck: false });
    const { KeyId } = newKey();
    const before = records('PutKeyPolicy').length;
    failure(() => kms.call(alice, 'PutKeyPolicy', { KeyId, Policy: '{' }));
    const after = records('PutKeyPolicy').slice(before);
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ errorCode: 'MalformedPolicyDocumentException', errorMessage: POLICY_MESSAGES.notJson, requestParameters: { keyId: KeyId, policy: '{' } });
  });
});

describe('ebsim kms and the AWS CLI', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ebsim-policy-files-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function ebsim(...args: string[]) {
    return ebsimIn(h.dir, args);
  }

  const fileText = `{\n  "Version": "2012-10-17",\n  "Statement": [ { "Effect": "Allow", "Principal": { "AWS": "arn:aws:iam::${ACCOUNT}:root" }, "Action": "kms:*", "Resource": "*", "Sid": "fr\u00e9d" } ]\n}\n`;

  it('ebsim kms put-key-policy --policy file://… then get-key-policy --output text --query Policy prints the file back', async () => {
    const { KeyId } = newKey();
    const file = join(dir, 'policy.json');
    writeFileSync(file, fileText);
    const put = await ebsim('kms', 'put-key-policy', '--key-id', KeyId, '--policy-name', 'default', '--policy', `file://${file}`);
    expect(put.code, put.stderr).toBe(0);
    const got = await ebsim('kms', 'get-key-policy', '--key-id', KeyId, '--output', 'text', '--query', 'Policy');
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout).toBe(fileText);
    const names = await ebsim('kms', 'list-key-policies', '--key-id', KeyId, '--output', 'text', '--query', 'PolicyNames[0]');
    expect(names.stdout).toBe('default');
    const bad = await ebsim('kms', 'put-key-policy', '--key-id', KeyId, '--policy', '{');
    expect(bad.code).toBe(254);
    expect(bad.stderr).toContain(`An error occurred (MalformedPolicyDocumentException) when calling the PutKeyPolicy operation: ${POLICY_MESSAGES.notJson}`);
    const missing = await ebsim('kms', 'put-key-policy', '--key-id', KeyId, '--policy', `file://${join(dir, 'nope.json')}`);
    expect(missing.code).toBe(252);
    expect(missing.stderr).toContain(`Error parsing parameter '--policy': Unable to load paramfile file://${join(dir, 'nope.json')}: no such file or directory`);
    // --query: a name that is not there is null (text: None, as the AWS CLI prints it); any JMESPath works, a malformed one is refused.
    expect((await ebsim('kms', 'get-key-policy', '--key-id', KeyId, '--output', 'text', '--query', 'Nothing.Here')).stdout).toBe('None');
    const fancy = await ebsim('kms', 'list-key-policies', '--key-id', KeyId, '--query', 'PolicyNames[?@ == `default`]', '--output', 'text');
    expect([fancy.code, fancy.stdout]).toEqual([0, 'default']);
    const malformed = await ebsim('kms', 'list-key-policies', '--key-id', KeyId, '--query', 'PolicyNames[?');
    expect(malformed.code).toBe(252);
  });

  describe.skipIf(!HAVE_AWS)('the real AWS CLI against the HTTP endpoint', () => {
    let server: RunningServer;
    beforeAll(async () => {
      server = await inProcess(h.dir);
    });
    afterAll(async () => {
      await server?.close();
    });
    const cli = (...args: string[]) => aws(server.url, h.dir, args);

    it('@aws-sdk/client-kms: PutKeyPolicy, GetKeyPolicy (PolicyName optional), ListKeyPolicies, and the error by name', async () => {
      const client = new KMSClient({ endpoint: server.url, region: 'us-east-1', credentials: aliceCredentials(h.dir), maxAttempts: 1 });
      try {
        const { KeyId } = newKey();
        await client.send(new PutKeyPolicyCommand({ KeyId, Policy: fileText }));
        expect(await client.send(new GetKeyPolicyCommand({ KeyId }))).toMatchObject({ Policy: fileText, PolicyName: 'default' });
        expect(await client.send(new ListKeyPoliciesCommand({ KeyId }))).toMatchObject({ PolicyNames: ['default'], Truncated: false });
        const err = await client.send(new PutKeyPolicyCommand({ KeyId, Policy: '[' })).catch((e: Error) => e);
        expect(err).toMatchObject({ name: 'MalformedPolicyDocumentException', message: POLICY_MESSAGES.notJson });
      } finally {
        client.destroy();
      }
    });

    it('aws kms put-key-policy --policy file://…, get-key-policy --output text --query Policy, list-key-policies', async () => {
      const { KeyId } = newKey();
      const file = join(dir, 'aws-policy.json');
      writeFileSync(file, fileText);
      const put = await cli('kms', 'put-key-policy', '--key-id', KeyId, '--policy-name', 'default', '--policy', `file://${file}`);
      expect(put.code, put.stderr).toBe(0);
      const got = await cli('kms', 'get-key-policy', '--key-id', KeyId, '--policy-name', 'default', '--output', 'text', '--query', 'Policy');
      expect(got.code, got.stderr).toBe(0);
      expect(got.stdout).toBe(`${readFileSync(file, 'utf8')}\n`);
      const list = await cli('kms', 'list-key-policies', '--key-id', KeyId);
      // The AWS CLI pages through list-key-policies itself and prints the names only.
      expect(JSON.parse(list.stdout)).toEqual({ PolicyNames: ['default'] });
      const bad = await cli('kms', 'put-key-policy', '--key-id', KeyId, '--policy-name', 'default', '--policy', '{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/Bob"},"Action":"kms:*","Resource":"*"}]}');
      expect(bad.code).toBe(254);
      expect(bad.stderr).toContain('An error occurred (MalformedPolicyDocumentException) when calling the PutKeyPolicy operation: The new key policy will not allow you to update the key policy in the future.');
    });
  });
});

describe('EC2 acting for a user', () => {
  it('reads the key policy through the same path (GetKeyPolicy is not a grant operation)', () => {
    const { KeyId } = newKey();
    expect(kms.call(onBehalfOf(alice, 'ec2'), 'GetKeyPolicy', { KeyId }).Policy).toBe(defaultKeyPolicy(ACCOUNT));
  });
});
