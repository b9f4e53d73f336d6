// The kms: condition keys of a request ("AWS KMS condition keys", KMS Developer Guide): first the
// pure function on hand-made requests, then what real operations hand to authorization (every
// authorize call recorded with the keys it would be evaluated with).
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CallContext } from '../../src/core/call-context.js';
import { onBehalfOf } from '../../src/core/call-context.js';
import { kmsConditionKeys, type ConditionKeys } from '../../src/kms/condition-keys.js';
import type { KmsKey } from '../../src/kms/keys.js';
import type { KmsService } from '../../src/kms/service.js';
import { makeHome, type TestHome } from '../helpers/home.js';

// Every authorization, with the kms: condition keys of the request the policy engine is given.
const kmsKeysOf = (keys: ReadonlyMap<string, string | readonly string[]>): ConditionKeys =>
  new Map([...keys].filter(([k]) => k.startsWith('kms:')).map(([k, v]) => [k, typeof v === 'string' ? v : [...v]]));
const seen: { action: string; keys: ConditionKeys }[] = [];
vi.mock('../../src/kms/authorize.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/kms/authorize.js')>();
  return {
    ...real,
    authorize: (...args: Parameters<typeof real.authorize>) => {
      const [env, ctx, key, action, req] = args;
      seen.push({ action, keys: kmsKeysOf(real.requestFor(env, ctx, key, action, req ?? {}, key.accountId).keys) });
      return real.authorize(...args);
    },
    authorizeAccountAction: (...args: Parameters<typeof real.authorizeAccountAction>) => {
      const [env, ctx, action, req] = args;
      seen.push({ action, keys: kmsKeysOf(real.requestFor(env, ctx, undefined, action, req ?? {}, ctx.principal.accountId).keys) });
      return real.authorizeAccountAction(...args);
    },
  };
});

const ACCOUNT = '123456789012';
const key: KmsKey = {
  keyId: '1234abcd-12ab-34cd-56ef-1234567890ab', accountId: ACCOUNT, region: 'us-east-1', arn: `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
  description: '', keyUsage: 'ENCRYPT_DECRYPT', keySpec: 'SYMMETRIC_DEFAULT', keyState: 'Enabled', keyManager: 'CUSTOMER', origin: 'AWS_KMS',
  createdAt: new Date(0), rotationEnabled: false, currentVersion: 1,
};
const caller = (viaService?: string): CallContext => ({
  principal: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/Alice`, principalId: 'AIDA', accountId: ACCOUNT, accessKeyId: 'AKIA', name: 'Alice', sessionCreationDate: '' },
  region: 'us-east-1', sourceIPAddress: '127.0.0.1', viaService,
});
const asObject = (m: ConditionKeys) => Object.fromEntries(m);

describe('kmsConditionKeys', () => {
  it('kms:CallerAccount on a key operation; kms:ViaService only when a service calls', () => {
    expect(kmsConditionKeys(caller(), key, 'DescribeKey').get('kms:CallerAccount')).toBe(ACCOUNT);
    expect(kmsConditionKeys(caller(), key, 'DescribeKey').has('kms:ViaService')).toBe(false);
    expect(kmsConditionKeys(caller('ec2.us-east-1.amazonaws.com'), key, 'Decrypt').get('kms:ViaService')).toBe('ec2.us-east-1.amazonaws.com');
    expect(kmsConditionKeys(caller(), undefined, 'ListKeys').has('kms:CallerAccount')).toBe(false);
  });

  it('kms:EncryptionContext:KEY per pair, keys spelled as sent; kms:EncryptionContextKeys lists them; none without a context', () => {
    const keys = kmsConditionKeys(caller(), key, 'kms:Encrypt', { context: { AppName: 'ExampleApp', 'aws:ebs:id': 'vol-1', __proto__x: 'p' } as Record<string, string> });
    expect(keys.get('kms:EncryptionContext:AppName')).toBe('ExampleApp');
    expect(keys.get('kms:EncryptionContext:aws:ebs:id')).toBe('vol-1');
    expect(keys.get('kms:EncryptionContextKeys')).toEqual(['AppName', 'aws:ebs:id', '__proto__x']);
    const empty = kmsConditionKeys(caller(), key, 'Decrypt', { context: {} });
    expect([...empty.keys()].filter((k) => k.startsWith('kms:EncryptionContext'))).toEqual([]);
    // Not for operations without an encryption context.
    expect(kmsConditionKeys(caller(), key, 'DescribeKey', { context: { a: 'b' } }).has('kms:EncryptionContextKeys')).toBe(false);
  });

  it('a context key named __proto__ is a key like any other', () => {
    const context = Object.create(null) as Record<string, string>;
    context.__proto__ = 'x';
    const keys = kmsConditionKeys(caller(), key, 'Decrypt', { context });
    expect(keys.get('kms:EncryptionContext:__proto__')).toBe('x');
    expect(keys.get('kms:EncryptionContextKeys')).toEqual(['__proto__']);
  });

  it('the key: kms:KeySpec, kms:KeyUsage, kms:KeyOrigin, kms:MultiRegion (and the deprecated CustomerMasterKey names)', () => {
    expect(asObject(kmsConditionKeys(caller(), key, 'Decrypt'))).toMatchObject({
      'kms:KeySpec': 'SYMMETRIC_DEFAULT', 'kms:CustomerMasterKeySpec': 'SYMMETRIC_DEFAULT', 'kms:KeyUsage': 'ENCRYPT_DECRYPT',
      'kms:CustomerMasterKeyUsage': 'ENCRYPT_DECRYPT', 'kms:KeyOrigin': 'AWS_KMS', 'kms:MultiRegion': 'false',
    });
  });

  it('CreateKey: the key asked for, defaults filled in; kms:BypassPolicyLockoutSafetyCheck only when sent', () => {
    expect(asObject(kmsConditionKeys(caller(), undefined, 'CreateKey'))).toEqual({
      'kms:KeySpec': 'SYMMETRIC_DEFAULT', 'kms:CustomerMasterKeySpec': 'SYMMETRIC_DEFAULT', 'kms:KeyUsage': 'ENCRYPT_DECRYPT',
      'kms:CustomerMasterKeyUsage': 'ENCRYPT_DECRYPT', 'kms:KeyOrigin': 'AWS_KMS', 'kms:MultiRegion': 'false',
    });
    const asked = kmsConditionKeys(caller(), undefined, 'CreateKey', { keySpec: 'RSA_4096', keyUsage: 'SIGN_VERIFY', origin: 'EXTERNAL', multiRegion: true, bypassPolicyLockoutSafetyCheck: true });
    expect(asObject(asked)).toMatchObject({ 'kms:KeySpec': 'RSA_4096', 'kms:KeyUsage': 'SIGN_VERIFY', 'kms:KeyOrigin': 'EXTERNAL', 'kms:MultiRegion': 'true', 'kms:BypassPolicyLockoutSafetyCheck': 'true' });
    expect(kmsConditionKeys(caller(), key, 'PutKeyPolicy', { bypassPolicyLockoutSafetyCheck: false }).get('kms:BypassPolicyLockoutSafetyCheck')).toBe('false');
    expect(kmsConditionKeys(caller(), key, 'PutKeyPolicy').has('kms:BypassPolicyLockoutSafetyCheck')).toBe(false);
  });

  it('kms:EncryptionAlgorithm on cryptographic operations: the one asked for, else SYMMETRIC_DEFAULT', () => {
    expect(kmsConditionKeys(caller(), key, 'GenerateDataKeyWithoutPlaintext').get('kms:EncryptionAlgorithm')).toBe('SYMMETRIC_DEFAULT');
    expect(kmsConditionKeys(caller(), key, 'ReEncryptTo', { encryptionAlgorithm: 'SYMMETRIC_DEFAULT' }).get('kms:EncryptionAlgorithm')).toBe('SYMMETRIC_DEFAULT');
    expect(kmsConditionKeys(caller(), key, 'DescribeKey').has('kms:EncryptionAlgorithm')).toBe(false);
  });

  it('kms:RequestAlias: the alias name when KeyId was an alias name or alias ARN; nothing for a key ID or key ARN', () => {
    expect(kmsConditionKeys(caller(), key, 'Encrypt', { keyIdParam: 'alias/finance-key' }).get('kms:RequestAlias')).toBe('alias/finance-key');
    expect(kmsConditionKeys(caller(), key, 'DescribeKey', { keyIdParam: `arn:aws:kms:us-east-1:${ACCOUNT}:alias/finance-key` }).get('kms:RequestAlias')).toBe('alias/finance-key');
    expect(kmsConditionKeys(caller(), key, 'Encrypt', { keyIdParam: key.arn }).has('kms:RequestAlias')).toBe(false);
    expect(kmsConditionKeys(caller(), key, 'Encrypt', { keyIdParam: key.keyId }).has('kms:RequestAlias')).toBe(false);
    // Not a condition of alias or grant management.
    expect(kmsConditionKeys(caller(), key, 'ListGrants', { keyIdParam: 'alias/x' }).has('kms:RequestAlias')).toBe(false);
  });

  it('kms:ResourceAliases: every alias of the key, as a list (also when it has none)', () => {
    expect(kmsConditionKeys(caller(), key, 'EnableKey', { resourceAliases: ['alias/a', 'alias/b'] }).get('kms:ResourceAliases')).toEqual(['alias/a', 'alias/b']);
    expect(kmsConditionKeys(caller(), key, 'EnableKey', { resourceAliases: [] }).get('kms:ResourceAliases')).toEqual([]);
  });

  it('grants: kms:GrantIsForAWSResource on CreateGrant, ListGrants and RevokeGrant, true only through a service', () => {
    for (const op of ['CreateGrant', 'ListGrants', 'RevokeGrant']) {
      expect(kmsConditionKeys(caller(), key, op).get('kms:GrantIsForAWSResource')).toBe('false');
      expect(kmsConditionKeys(caller('ec2.us-east-1.amazonaws.com'), key, op).get('kms:GrantIsForAWSResource')).toBe('true');
    }
    expect(kmsConditionKeys(caller('ec2.us-east-1.amazonaws.com'), key, 'Decrypt').has('kms:GrantIsForAWSResource')).toBe(false);
  });

  it('CreateGrant: kms:GrantOperations (list), kms:GranteePrincipal, kms:RetiringPrincipal, kms:GrantConstraintType and the constraint\'s context', () => {
    const keys = kmsConditionKeys(caller(), key, 'CreateGrant', {
      newGrant: { operations: ['Decrypt', 'RetireGrant'], constraints: { EncryptionContextEquals: { 'aws:ebs:id': 'vol-1' } } },
      granteePrincipal: `arn:aws:iam::${ACCOUNT}:role/R`,
      retiringPrincipal: `arn:aws:iam::${ACCOUNT}:role/S`,
    });
    expect(asObject(keys)).toMatchObject({
      'kms:GrantOperations': ['Decrypt', 'RetireGrant'],
      'kms:GranteePrincipal': `arn:aws:iam::${ACCOUNT}:role/R`,
      'kms:RetiringPrincipal': `arn:aws:iam::${ACCOUNT}:role/S`,
      'kms:GrantConstraintType': 'EncryptionContextEquals',
      'kms:EncryptionContext:aws:ebs:id': 'vol-1',
      'kms:EncryptionContextKeys': ['aws:ebs:id'],
    });
    const subset = kmsConditionKeys(caller(), key, 'CreateGrant', { newGrant: { operations: ['Encrypt'], constraints: { EncryptionContextSubset: { a: 'b' } } } });
    expect(subset.get('kms:GrantConstraintType')).toBe('EncryptionContextSubset');
    const plain = kmsConditionKeys(caller(), key, 'CreateGrant', { newGrant: { operations: ['Encrypt'] } });
    expect(plain.has('kms:GrantConstraintType')).toBe(false);
    expect(plain.has('kms:RetiringPrincipal')).toBe(false);
  });

  it('kms:ReEncryptOnSameKey, kms:RotationPeriodInDays, kms:ScheduleKeyDeletionPendingWindowInDays from their requests', () => {
    expect(kmsConditionKeys(caller(), key, 'ReEncryptFrom', { reEncryptOnSameKey: true }).get('kms:ReEncryptOnSameKey')).toBe('true');
    expect(kmsConditionKeys(caller(), key, 'ReEncryptTo', { reEncryptOnSameKey: false }).get('kms:ReEncryptOnSameKey')).toBe('false');
    expect(kmsConditionKeys(caller(), key, 'EnableKeyRotation', { rotationPeriodInDays: 180 }).get('kms:RotationPeriodInDays')).toBe('180');
    expect(kmsConditionKeys(caller(), key, 'EnableKeyRotation').has('kms:RotationPeriodInDays')).toBe(false);
    expect(kmsConditionKeys(caller(), key, 'ScheduleKeyDeletion', { pendingWindowInDays: 7 }).get('kms:ScheduleKeyDeletionPendingWindowInDays')).toBe('7');
  });
});

describe('what the operations hand to authorization', () => {
  let h: TestHome;
  let kms: KmsService;
  let alice: CallContext;
  let keyId = '';
  let keyArn = '';

  beforeAll(() => {
    h = makeHome('ebsim-condition-keys-');
    kms = h.app.kms();
    alice = h.app.as('Alice');
    const meta = kms.call(alice, 'CreateKey', {}).KeyMetadata as { KeyId: string; Arn: string };
    keyId = meta.KeyId;
    keyArn = meta.Arn;
    kms.call(alice, 'CreateAlias', { AliasName: 'alias/finance-key', TargetKeyId: keyId });
    h.app.iam.createRole(alice, 'R'); // a grant names a principal that exists
  });
  afterAll(() => h.cleanup());
  beforeEach(() => {
    seen.length = 0;
  });
  const keysOf = (action: string) => {
    const found = seen.filter((s) => s.action === action);
    expect(found, `authorizations of ${action}`).toHaveLength(1);
    return asObject(found[0]!.keys);
  };

  it('Encrypt through an alias: its context, algorithm, request alias and the key\'s aliases', () => {
    kms.call(alice, 'Encrypt', { KeyId: 'alias/finance-key', Plaintext: Buffer.from('x'), EncryptionContext: { Department: 'IT' } });
    expect(keysOf('Encrypt')).toEqual({
      'kms:CallerAccount': ACCOUNT, 'kms:KeySpec': 'SYMMETRIC_DEFAULT', 'kms:CustomerMasterKeySpec': 'SYMMETRIC_DEFAULT', 'kms:KeyUsage': 'ENCRYPT_DECRYPT',
      'kms:CustomerMasterKeyUsage': 'ENCRYPT_DECRYPT', 'kms:KeyOrigin': 'AWS_KMS', 'kms:MultiRegion': 'false', 'kms:ResourceAliases': ['alias/finance-key'],
      'kms:EncryptionContext:Department': 'IT', 'kms:EncryptionContextKeys': ['Department'], 'kms:EncryptionAlgorithm': 'SYMMETRIC_DEFAULT',
      'kms:RequestAlias': 'alias/finance-key',
    });
  });

  it('Decrypt naming its key by alias ARN, and ReEncrypt onto the same key or another', () => {
    const blob = kms.call(alice, 'Encrypt', { KeyId: keyId, Plaintext: Buffer.from('x'), EncryptionContext: { a: 'b' } }).CiphertextBlob as Uint8Array;
    seen.length = 0;
    kms.call(alice, 'Decrypt', { CiphertextBlob: blob, EncryptionContext: { a: 'b' }, KeyId: `arn:aws:kms:us-east-1:${ACCOUNT}:alias/finance-key` });
    expect(keysOf('Decrypt')).toMatchObject({ 'kms:RequestAlias': 'alias/finance-key', 'kms:EncryptionContext:a': 'b' });
    seen.length = 0;
    kms.call(alice, 'ReEncrypt', { CiphertextBlob: blob, SourceEncryptionContext: { a: 'b' }, DestinationKeyId: 'alias/finance-key', DestinationEncryptionContext: { c: 'd' } });
    expect(keysOf('ReEncryptFrom')).toMatchObject({ 'kms:ReEncryptOnSameKey': 'true', 'kms:EncryptionContext:a': 'b' });
    expect(keysOf('ReEncryptTo')).toMatchObject({ 'kms:ReEncryptOnSameKey': 'true', 'kms:EncryptionContext:c': 'd', 'kms:RequestAlias': 'alias/finance-key' });
    const other = (kms.call(alice, 'CreateKey', {}).KeyMetadata as { KeyId: string }).KeyId;
    seen.length = 0;
    kms.call(alice, 'ReEncrypt', { CiphertextBlob: blob, SourceEncryptionContext: { a: 'b' }, DestinationKeyId: other });
    expect(keysOf('ReEncryptFrom')['kms:ReEncryptOnSameKey']).toBe('false');
    expect(keysOf('ReEncryptTo')['kms:ReEncryptOnSameKey']).toBe('false');
  });

  it('CreateGrant by EC2 for the user: grant keys and kms:GrantIsForAWSResource true, kms:ViaService', () => {
    kms.call(onBehalfOf(alice, 'ec2'), 'CreateGrant', {
      KeyId: keyArn, GranteePrincipal: `arn:aws:iam::${ACCOUNT}:role/R`, Operations: ['Decrypt'], Constraints: { EncryptionContextSubset: { 'aws:ebs:id': 'vol-1' } },
    });
    expect(keysOf('CreateGrant')).toMatchObject({
      'kms:ViaService': 'ec2.us-east-1.amazonaws.com', 'kms:GrantIsForAWSResource': 'true', 'kms:GrantOperations': ['Decrypt'],
      'kms:GranteePrincipal': `arn:aws:iam::${ACCOUNT}:role/R`, 'kms:GrantConstraintType': 'EncryptionContextSubset', 'kms:EncryptionContext:aws:ebs:id': 'vol-1',
    });
  });

  it('CreateKey, PutKeyPolicy, EnableKeyRotation and ScheduleKeyDeletion hand over their parameters', () => {
    kms.call(alice, 'CreateKey', { BypassPolicyLockoutSafetyCheck: false, KeySpec: 'SYMMETRIC_DEFAULT' });
    expect(keysOf('CreateKey')).toMatchObject({ 'kms:BypassPolicyLockoutSafetyCheck': 'false', 'kms:KeySpec': 'SYMMETRIC_DEFAULT' });
    const text = JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }] });
    kms.call(alice, 'PutKeyPolicy', { KeyId: keyId, Policy: text, BypassPolicyLockoutSafetyCheck: true });
    expect(keysOf('PutKeyPolicy')['kms:BypassPolicyLockoutSafetyCheck']).toBe('true');
    kms.call(alice, 'EnableKeyRotation', { KeyId: keyId, RotationPeriodInDays: 90 });
    expect(keysOf('EnableKeyRotation')['kms:RotationPeriodInDays']).toBe('90');
    kms.call(alice, 'ScheduleKeyDeletion', { KeyId: keyId, PendingWindowInDays: 7 });
    expect(keysOf('ScheduleKeyDeletion')['kms:ScheduleKeyDeletionPendingWindowInDays']).toBe('7');
  });
});
