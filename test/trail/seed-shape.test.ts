// The records of the seed's KMS calls have the same keys, at every level, as the seed's records.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { makeHome, type TestHome } from '../helpers/home.js';
import { onBehalfOf, type CallContext } from '../../src/core/call-context.js';
import { EC2_INFRASTRUCTURE_ROLE } from '../../src/iam/service.js';
import { allRecords, exportTrail, lookupEvents, type TrailRecord } from '../../src/trail/index.js';

const seed = JSON.parse(readFileSync(new URL('../fixtures/seed-ec2-example-two.json', import.meta.url), 'utf8')) as { Records: TrailRecord[] };
const seedRecord = (name: string) => seed.Records.find((r) => r.eventName === name)!;

/** The tree of keys of a JSON value; values of encryption contexts are data, so their keys are not compared. */
function shape(v: unknown, path = ''): string[] {
  if (v === null || typeof v !== 'object' || Array.isArray(v) && v.length === 0) return [`${path}:${v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v}`];
  if (Array.isArray(v)) return shape(v[0], `${path}[]`);
  if (/encryptionContext(Subset|Equals)?$/.test(path)) return [`${path}:map`];
  return Object.entries(v).flatMap(([k, x]) => shape(x, `${path}.${k}`));
}

let h: TestHome;
let records: TrailRecord[];
const volumeId = 'vol-0f67bafb2aa11bb22';
const instanceId = 'i-081e2f56c00aa11bb';

beforeAll(() => {
  h = makeHome();
  const kms = h.app.kms();
  const alice = h.app.as('Alice');
  // What EC2 does in the seed, acting for Alice, then as the instance's infrastructure role.
  const ec2 = onBehalfOf(alice, 'ec2', 'shared-request-id');
  const ctx = { 'aws:ebs:id': volumeId };
  const blob = kms.call(onBehalfOf(alice, 'ec2'), 'GenerateDataKeyWithoutPlaintext', { KeyId: 'alias/aws/ebs', NumberOfBytes: 64, EncryptionContext: ctx }).CiphertextBlob;
  const keyArn = (kms.call(alice, 'DescribeKey', { KeyId: 'alias/aws/ebs' }).KeyMetadata as { Arn: string }).Arn;
  kms.call(ec2, 'CreateGrant', {
    KeyId: keyArn,
    GranteePrincipal: `123456789012:${EC2_INFRASTRUCTURE_ROLE}:${instanceId}`,
    Operations: ['Decrypt'],
    Constraints: { EncryptionContextSubset: ctx },
  });
  const host: CallContext = { principal: h.app.iam.sessionPrincipal(EC2_INFRASTRUCTURE_ROLE, instanceId, ''), region: 'us-east-1', sourceIPAddress: '172.16.0.10' };
  const plain = kms.call(host, 'Decrypt', { CiphertextBlob: blob, EncryptionContext: ctx }).Plaintext as Uint8Array;
  expect(plain.length).toBe(64);
  h.app.trail.flush();
  records = allRecords(h.app.db);
});
afterAll(() => h.cleanup());

describe('trail records against the seed', () => {
  for (const name of ['GenerateDataKeyWithoutPlaintext', 'CreateGrant', 'Decrypt']) {
    it(`${name}: same keys at every level as the seed's record`, () => {
      const ours = records.find((r) => r.eventName === name)!;
      expect(ours).toBeDefined();
      // One documented addition: today's CreateGrant records log `operations`; the 2014 seed predates it.
      const extra = name === 'CreateGrant' ? ['.requestParameters.operations[]:string'] : [];
      expect(shape(ours).sort()).toEqual([...shape(seedRecord(name)), ...extra].sort());
    });
  }

  it('values follow the seed: principals, invokedBy, grantee, context, readOnly, resources', () => {
    const gen = records.find((r) => r.eventName === 'GenerateDataKeyWithoutPlaintext')!;
    expect(gen.userIdentity).toMatchObject({ type: 'IAMUser', arn: 'arn:aws:iam::123456789012:user/Alice', userName: 'Alice', invokedBy: 'AWS Internal' });
    expect(gen).toMatchObject({ sourceIPAddress: 'AWS Internal', userAgent: 'AWS Internal', readOnly: true, responseElements: null, requestParameters: { keyId: 'alias/aws/ebs', numberOfBytes: 64, encryptionContext: { 'aws:ebs:id': volumeId } } });
    const grant = records.find((r) => r.eventName === 'CreateGrant')!;
    expect(grant.requestID).toBe('shared-request-id');
    expect(grant.requestParameters).toMatchObject({ granteePrincipal: `123456789012:aws:ec2-infrastructure:${instanceId}`, constraints: { encryptionContextSubset: { 'aws:ebs:id': volumeId } } });
    expect((grant.responseElements as { grantId: string }).grantId).toMatch(/^[0-9a-f]{64}$/);
    const dec = records.find((r) => r.eventName === 'Decrypt')!;
    expect(dec.userIdentity).toMatchObject({
      type: 'AssumedRole',
      principalId: `123456789012:aws:ec2-infrastructure:${instanceId}`,
      arn: `arn:aws:sts::123456789012:assumed-role/aws:ec2-infrastructure/${instanceId}`,
      accessKeyId: '',
      sessionContext: { sessionIssuer: { type: 'Role', principalId: '123456789012:aws:ec2-infrastructure', arn: 'arn:aws:iam::123456789012:role/aws:ec2-infrastructure', userName: 'aws:ec2-infrastructure' } },
    });
    expect(dec.resources![0]!.ARN).toBe(grant.resources![0]!.ARN);
    for (const r of records) expect(JSON.stringify(r)).not.toMatch(/"(ciphertextBlob|plaintext)"/i);
  });

  it('denied calls are recorded with errorCode and errorMessage', () => {
    const kms = h.app.kms();
    expect(() => kms.call(h.app.as('Alice'), 'Encrypt', { KeyId: 'alias/aws/ebs', Plaintext: Buffer.from('x') })).toThrow();
    const r = allRecords(h.app.db).pop()!;
    expect(r).toMatchObject({ eventName: 'Encrypt', errorCode: 'AccessDeniedException' });
    expect(r.errorMessage).toContain('is not authorized to perform: kms:Encrypt');
  });

  it('lookup-events filters by EventName, Username and ResourceName, newest first, with paging', () => {
    const byName = lookupEvents(h.app.db, { LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'Decrypt' }] });
    expect(byName.Events.map((e) => e.EventName)).toEqual(['Decrypt']);
    expect(byName.Events[0]!.Username).toBe(instanceId);
    const byUser = lookupEvents(h.app.db, { LookupAttributes: [{ AttributeKey: 'Username', AttributeValue: 'Alice' }] });
    expect(byUser.Events.length).toBeGreaterThanOrEqual(3);
    const keyArn = records.find((r) => r.eventName === 'Decrypt')!.resources![0]!.ARN;
    const byRes = lookupEvents(h.app.db, { LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: keyArn }] });
    expect(byRes.Events.length).toBeGreaterThanOrEqual(3);
    const page1 = lookupEvents(h.app.db, { MaxResults: 2 });
    const page2 = lookupEvents(h.app.db, { MaxResults: 2, NextToken: page1.NextToken });
    expect(page1.Events).toHaveLength(2);
    expect(page2.Events[0]!.EventId).not.toBe(page1.Events[1]!.EventId);
    expect(() => lookupEvents(h.app.db, { MaxResults: 51 })).toThrow(/ValidationException|between 1 and 50/);
  });

  it('export writes gzip\'d files in CloudTrail\'s layout holding every record', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ebsim-export-'));
    try {
      const files = exportTrail(allRecords(h.app.db), dir);
      expect(files.length).toBeGreaterThan(0);
      for (const f of files) expect(f).toMatch(/AWSLogs\/123456789012\/CloudTrail\/us-east-1\/\d{4}\/\d{2}\/\d{2}\/123456789012_CloudTrail_us-east-1_\d{8}T\d{4}Z_[A-Za-z0-9]+\.json\.gz$/);
      const total = files.reduce((n, f) => n + (JSON.parse(gunzipSync(readFileSync(f)).toString()) as { Records: unknown[] }).Records.length, 0);
      expect(total).toBe(allRecords(h.app.db).length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
