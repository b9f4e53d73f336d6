// AWS managed keys are created on first use, but only behind AWS's own aliases and only by a
// call that is allowed: a principal without permissions must not be able to fill the store.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, makeHome, type TestHome } from '../helpers/home.js';
import type { CallContext } from '../../src/core/call-context.js';
import { onBehalfOf } from '../../src/core/call-context.js';
import type { KmsService } from '../../src/kms/service.js';
import { AWS_MANAGED_ALIASES } from '../../src/kms/aws-managed-aliases.js';

let h: TestHome;
let kms: KmsService;
let alice: CallContext;
let nobody: CallContext;

const keyCount = () => (h.app.db.prepare('SELECT count(*) AS n FROM kms_keys').get() as { n: number }).n;
const aliasCount = () => (h.app.db.prepare('SELECT count(*) AS n FROM kms_aliases').get() as { n: number }).n;

beforeAll(() => {
  h = makeHome();
  kms = h.app.kms();
  alice = h.app.as('Alice');
  h.app.iam.createRole(alice, 'Nobody');
  nobody = h.app.as('role/Nobody/s1');
});
afterAll(() => h.cleanup());

describe('AWS managed keys on first use', () => {
  it('a principal with no permissions creates no key: DescribeKey of alias/aws/<anything>, 200 times', () => {
    const before = [keyCount(), aliasCount()];
    for (let i = 0; i < 100; i++) {
      expect(errorCode(() => kms.call(nobody, 'DescribeKey', { KeyId: `alias/aws/made-up-${i}` }))).toBe('NotFoundException');
      // A real AWS alias, but the caller may not use it: denied before anything is created.
      const real = [...AWS_MANAGED_ALIASES][i % AWS_MANAGED_ALIASES.size]!;
      expect(errorCode(() => kms.call(nobody, 'DescribeKey', { KeyId: real }))).toBe('AccessDeniedException');
    }
    expect([keyCount(), aliasCount()]).toEqual(before);
  });

  it('names outside AWS managed aliases are NotFoundException in AWS words, for anyone, and create nothing', () => {
    const before = keyCount();
    for (const name of ['alias/aws/../../x', 'alias/aws/', 'alias/aws/ebs/extra', 'alias/aws/EBS', 'alias/aws/made up']) {
      expect(() => kms.call(alice, 'DescribeKey', { KeyId: name })).toThrow(`Alias arn:aws:kms:us-east-1:123456789012:${name} is not found.`);
      expect(errorCode(() => kms.call(alice, 'DescribeKey', { KeyId: `arn:aws:kms:us-east-1:123456789012:${name}` }))).toBe('NotFoundException');
    }
    expect(keyCount()).toBe(before);
  });

  it('a call the key would not allow creates nothing: Encrypt under alias/aws/rds directly (not through RDS)', () => {
    const before = keyCount();
    expect(errorCode(() => kms.call(alice, 'Encrypt', { KeyId: 'alias/aws/rds', Plaintext: Buffer.from('x') }))).toBe('AccessDeniedException');
    // ScheduleKeyDeletion takes a key ID or key ARN only: the alias is refused before anything is looked up.
    expect(errorCode(() => kms.call(alice, 'ScheduleKeyDeletion', { KeyId: 'alias/aws/rds' }))).toBe('InvalidArnException');
    expect(errorCode(() => kms.call(alice, 'ListResourceTags', { KeyId: 'alias/aws/rds' }))).toBe('InvalidArnException');
    expect(keyCount()).toBe(before);
  });

  it('an allowed call creates the key once: DescribeKey of alias/aws/s3 by an IAM user (as AWS documents)', () => {
    const before = keyCount();
    const first = kms.call(alice, 'DescribeKey', { KeyId: 'alias/aws/s3' }).KeyMetadata as { KeyId: string; KeyManager: string };
    const again = kms.call(alice, 'DescribeKey', { KeyId: 'alias/aws/s3' }).KeyMetadata as { KeyId: string };
    expect(first.KeyManager).toBe('AWS');
    expect(again.KeyId).toBe(first.KeyId);
    expect(keyCount()).toBe(before + 1);
    // Once it exists, a denied principal is told so about the key itself.
    expect(() => kms.call(nobody, 'DescribeKey', { KeyId: 'alias/aws/s3' })).toThrow(`on resource: arn:aws:kms:us-east-1:123456789012:key/${first.KeyId}`);
  });

  it('EC2 acting for an IAM user creates alias/aws/ebs on first use', () => {
    const r = kms.call(onBehalfOf(alice, 'ec2'), 'GenerateDataKeyWithoutPlaintext', { KeyId: 'alias/aws/ebs', NumberOfBytes: 64, EncryptionContext: { 'aws:ebs:id': 'vol-1' } });
    expect(r.KeyId).toMatch(/^arn:aws:kms:us-east-1:123456789012:key\//);
    expect((kms.call(alice, 'DescribeKey', { KeyId: 'alias/aws/ebs' }).KeyMetadata as { Arn: string }).Arn).toBe(r.KeyId);
  });

  it('a denied call for a key not yet created names the alias as the resource', () => {
    expect(() => kms.call(nobody, 'DescribeKey', { KeyId: 'alias/aws/lambda' })).toThrow(
      'User: arn:aws:sts::123456789012:assumed-role/Nobody/s1 is not authorized to perform: kms:DescribeKey on resource: arn:aws:kms:us-east-1:123456789012:alias/aws/lambda',
    );
  });
});
