// Each KMS operation's success and its errors, through the domain service as the CLI and the
// HTTP endpoint call it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ON_DEMAND_ROTATION_QUOTA } from '../../src/kms/operations/key-rotation.js';
import { allRecords } from '../../src/trail/lookup.js';
import { errorCode, makeHome, type TestHome } from '../helpers/home.js';
import type { CallContext } from '../../src/core/call-context.js';
import { onBehalfOf } from '../../src/core/call-context.js';
import type { KmsService } from '../../src/kms/service.js';
import { noteLocalWrite } from '../../src/store/read-cache.js';

let h: TestHome;
let kms: KmsService;
let alice: CallContext;

const createKey = (description = 'test') => (kms.call(alice, 'CreateKey', { Description: description }).KeyMetadata as { KeyId: string; Arn: string });
const pt = (s: string) => Buffer.from(s);

beforeAll(() => {
  h = makeHome();
  kms = h.app.kms();
  alice = h.app.as('Alice');
});
afterAll(() => h.cleanup());

describe('keys', () => {
  it('CreateKey returns AWS KeyMetadata for a symmetric customer managed key', () => {
    const m = kms.call(alice, 'CreateKey', { Description: 'd' }).KeyMetadata as Record<string, unknown>;
    expect(m).toMatchObject({ AWSAccountId: '123456789012', Enabled: true, KeyState: 'Enabled', KeyManager: 'CUSTOMER', KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT', Description: 'd' });
    expect(m.Arn).toBe(`arn:aws:kms:us-east-1:123456789012:key/${m.KeyId}`);
    expect(m.KeyId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('CreateKey refuses spec/usage pairs AWS refuses, SM2 outside China (UnsupportedOperationException) and assumed roles (AccessDeniedException)', () => {
    expect(errorCode(() => kms.call(alice, 'CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'ENCRYPT_DECRYPT' }))).toBe('ValidationException');
    expect(errorCode(() => kms.call(alice, 'CreateKey', { KeySpec: 'HMAC_256', KeyUsage: 'SIGN_VERIFY' }))).toBe('ValidationException');
    expect(errorCode(() => kms.call(alice, 'CreateKey', { KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'SIGN_VERIFY' }))).toBe('ValidationException');
    expect(errorCode(() => kms.call(alice, 'CreateKey', { KeySpec: 'SM2', KeyUsage: 'SIGN_VERIFY' }))).toBe('UnsupportedOperationException');
    expect(errorCode(() => kms.call(alice, 'CreateKey', { KeySpec: 'RSA_2048', CustomerMasterKeySpec: 'RSA_2048' }))).toBe('ValidationException');
    h.app.iam.createRole(alice, 'Reader');
    expect(errorCode(() => kms.call(h.app.as('role/Reader/s1'), 'CreateKey', {}))).toBe('AccessDeniedException');
  });

  it('CreateKey makes every spec AWS offers with the algorithm lists DescribeKey shows; data keys and rotation refuse non-symmetric keys', () => {
    const cases: [string, string, Record<string, string[]>][] = [
      ['RSA_2048', 'ENCRYPT_DECRYPT', { EncryptionAlgorithms: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] }],
      ['ECC_NIST_P384', 'KEY_AGREEMENT', { KeyAgreementAlgorithms: ['ECDH'] }],
      ['ECC_SECG_P256K1', 'SIGN_VERIFY', { SigningAlgorithms: ['ECDSA_SHA_256'] }],
      ['ECC_NIST_EDWARDS25519', 'SIGN_VERIFY', { SigningAlgorithms: ['ED25519_SHA_512', 'ED25519_PH_SHA_512'] }],
      ['HMAC_384', 'GENERATE_VERIFY_MAC', { MacAlgorithms: ['HMAC_SHA_384'] }],
      ['ML_DSA_65', 'SIGN_VERIFY', { SigningAlgorithms: ['ML_DSA_SHAKE_256'] }],
      ['ML_KEM_768', 'ENCAPSULATE_DECAPSULATE', { EncapsulationAlgorithms: ['ML_KEM'] }],
    ];
    for (const [KeySpec, KeyUsage, algorithms] of cases) {
      const m = kms.call(alice, 'CreateKey', { KeySpec, KeyUsage }).KeyMetadata as Record<string, unknown>;
      expect(m).toMatchObject({ KeySpec, KeyUsage, ...algorithms });
      expect(m.EncryptionAlgorithms === undefined).toBe(KeyUsage !== 'ENCRYPT_DECRYPT');
      const again = kms.call(alice, 'DescribeKey', { KeyId: m.KeyId }).KeyMetadata as Record<string, unknown>;
      expect(again).toMatchObject({ KeySpec, KeyUsage, ...algorithms });
      expect(errorCode(() => kms.call(alice, 'GenerateDataKey', { KeyId: m.KeyId, NumberOfBytes: 32 }))).toBe('InvalidKeyUsageException');
      expect(errorCode(() => kms.call(alice, 'EnableKeyRotation', { KeyId: m.KeyId }))).toBe('UnsupportedOperationException');
    }
    // A spec allowing one usage takes it when KeyUsage is left out.
    expect((kms.call(alice, 'CreateKey', { KeySpec: 'HMAC_256' }).KeyMetadata as { KeyUsage: string }).KeyUsage).toBe('GENERATE_VERIFY_MAC');
  });

  it('DescribeKey accepts key ID, key ARN, alias name and alias ARN; unknown ones are NotFoundException', () => {
    const k = createKey();
    kms.call(alice, 'CreateAlias', { AliasName: 'alias/describe-me', TargetKeyId: k.KeyId });
    for (const id of [k.KeyId, k.Arn, 'alias/describe-me', 'arn:aws:kms:us-east-1:123456789012:alias/describe-me']) {
      expect((kms.call(alice, 'DescribeKey', { KeyId: id }).KeyMetadata as { KeyId: string }).KeyId).toBe(k.KeyId);
    }
    expect(errorCode(() => kms.call(alice, 'DescribeKey', { KeyId: '11111111-2222-3333-4444-555555555555' }))).toBe('NotFoundException');
    expect(errorCode(() => kms.call(alice, 'DescribeKey', { KeyId: 'alias/none' }))).toBe('NotFoundException');
    expect(errorCode(() => kms.call(alice, 'DescribeKey', {}))).toBe('ValidationException');
  });

  it('ListKeys pages with Limit and Marker; a bad marker is InvalidMarkerException', () => {
    createKey();
    createKey();
    const first = kms.call(alice, 'ListKeys', { Limit: 1 });
    expect(first.Truncated).toBe(true);
    const second = kms.call(alice, 'ListKeys', { Limit: 1, Marker: first.NextMarker });
    expect((second.Keys as { KeyId: string }[])[0]!.KeyId).not.toBe((first.Keys as { KeyId: string }[])[0]!.KeyId);
    expect(errorCode(() => kms.call(alice, 'ListKeys', { Marker: 'garbage' }))).toBe('InvalidMarkerException');
    expect(errorCode(() => kms.call(alice, 'ListKeys', { Limit: 0 }))).toBe('ValidationException');
  });

  it('ListKeys pages by keyset: every live key once, in creation order, across a stretch of deleted keys; an offset marker is refused', () => {
    const made = Array.from({ length: 12 }, (_, i) => createKey(`paged ${i}`).KeyId);
    // Keys 3 to 8 past their deletion date: a page must reach past them, not come back short.
    const pastDue = h.app.db.prepare("UPDATE kms_keys SET key_state = 'PendingDeletion', deletion_date = '2000-01-01T00:00:00.000Z' WHERE key_id = ?");
    for (const id of made.slice(3, 9)) pastDue.run(id);
    noteLocalWrite(h.app.db);
    const ids = (r: Record<string, unknown>) => (r.Keys as { KeyId: string }[]).map((k) => k.KeyId);
    const all = ids(kms.call(alice, 'ListKeys', { Limit: 1000 }));
    expect(all.filter((id) => made.includes(id))).toEqual([...made.slice(0, 3), ...made.slice(9)]);
    const seen: string[] = [];
    let marker: string | undefined;
    for (let pages = 0; pages < 1000; pages++) {
      const page = kms.call(alice, 'ListKeys', { Limit: 2, ...(marker === undefined ? {} : { Marker: marker }) });
      if (page.Truncated) expect(ids(page)).toHaveLength(2);
      seen.push(...ids(page));
      marker = page.Truncated ? (page.NextMarker as string) : undefined;
      if (marker === undefined) break;
    }
    expect(seen).toEqual(all);
    // The offset form markers had before: not a marker ebsim hands out now.
    expect(errorCode(() => kms.call(alice, 'ListKeys', { Marker: Buffer.from('ebsim:2').toString('base64url') }))).toBe('InvalidMarkerException');
    expect(errorCode(() => kms.call(alice, 'ListKeys', { Marker: Buffer.from('ebsim:key:x y').toString('base64url') }))).toBe('InvalidMarkerException');
  });

  it('DisableKey makes cryptographic use fail with DisabledException in AWS words; EnableKey restores it', () => {
    const k = createKey();
    const blob = kms.call(alice, 'Encrypt', { KeyId: k.KeyId, Plaintext: pt('x') }).CiphertextBlob;
    kms.call(alice, 'DisableKey', { KeyId: k.KeyId });
    expect(() => kms.call(alice, 'Decrypt', { CiphertextBlob: blob })).toThrow(`${k.Arn} is disabled.`);
    expect(errorCode(() => kms.call(alice, 'Encrypt', { KeyId: k.KeyId, Plaintext: pt('x') }))).toBe('DisabledException');
    expect((kms.call(alice, 'DescribeKey', { KeyId: k.KeyId }).KeyMetadata as { KeyState: string }).KeyState).toBe('Disabled');
    kms.call(alice, 'EnableKey', { KeyId: k.KeyId });
    expect(Buffer.from(kms.call(alice, 'Decrypt', { CiphertextBlob: blob }).Plaintext as Uint8Array).toString()).toBe('x');
  });

  it('ScheduleKeyDeletion takes 7-30 days, sets PendingDeletion; CancelKeyDeletion leaves the key Disabled', () => {
    const k = createKey();
    expect(() => kms.call(alice, 'ScheduleKeyDeletion', { KeyId: k.KeyId, PendingWindowInDays: 6 })).toThrow(
      "1 validation error detected: Value '6' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value greater than or equal to 7",
    );
    expect(errorCode(() => kms.call(alice, 'ScheduleKeyDeletion', { KeyId: k.KeyId, PendingWindowInDays: 31 }))).toBe('ValidationException');
    const r = kms.call(alice, 'ScheduleKeyDeletion', { KeyId: k.KeyId, PendingWindowInDays: 7 });
    expect(r).toMatchObject({ KeyId: k.Arn, KeyState: 'PendingDeletion', PendingWindowInDays: 7 });
    expect((r.DeletionDate as Date).getTime()).toBeGreaterThan(Date.now() + 6.9 * 86400_000);
    expect(() => kms.call(alice, 'Encrypt', { KeyId: k.KeyId, Plaintext: pt('x') })).toThrow(`${k.Arn} is pending deletion.`);
    expect(errorCode(() => kms.call(alice, 'EnableKey', { KeyId: k.KeyId }))).toBe('KMSInvalidStateException');
    expect(errorCode(() => kms.call(alice, 'ScheduleKeyDeletion', { KeyId: k.KeyId }))).toBe('KMSInvalidStateException');
    kms.call(alice, 'CancelKeyDeletion', { KeyId: k.KeyId });
    const m = kms.call(alice, 'DescribeKey', { KeyId: k.KeyId }).KeyMetadata as Record<string, unknown>;
    expect(m.KeyState).toBe('Disabled');
    expect(m.DeletionDate).toBeUndefined();
    expect(errorCode(() => kms.call(alice, 'CancelKeyDeletion', { KeyId: k.KeyId }))).toBe('KMSInvalidStateException');
  });

  it('a key whose waiting period has passed is gone (NotFoundException)', () => {
    const k = createKey();
    kms.call(alice, 'ScheduleKeyDeletion', { KeyId: k.KeyId, PendingWindowInDays: 7 });
    h.app.db.prepare('UPDATE kms_keys SET deletion_date = ? WHERE key_id = ?').run(new Date(Date.now() - 1000).toISOString(), k.KeyId);
    noteLocalWrite(h.app.db); // a write behind the service's back: drop its read cache
    expect(errorCode(() => kms.call(alice, 'DescribeKey', { KeyId: k.KeyId }))).toBe('NotFoundException');
  });
});

describe('rotation', () => {
  it('Enable/Disable/GetKeyRotationStatus report the period and next date', () => {
    const k = createKey();
    expect(kms.call(alice, 'GetKeyRotationStatus', { KeyId: k.KeyId }).KeyRotationEnabled).toBe(false);
    kms.call(alice, 'EnableKeyRotation', { KeyId: k.KeyId, RotationPeriodInDays: 90 });
    const s = kms.call(alice, 'GetKeyRotationStatus', { KeyId: k.KeyId });
    expect(s).toMatchObject({ KeyRotationEnabled: true, RotationPeriodInDays: 90 });
    expect(errorCode(() => kms.call(alice, 'EnableKeyRotation', { KeyId: k.KeyId, RotationPeriodInDays: 89 }))).toBe('ValidationException');
    kms.call(alice, 'DisableKeyRotation', { KeyId: k.KeyId });
    expect(kms.call(alice, 'GetKeyRotationStatus', { KeyId: k.KeyId }).KeyRotationEnabled).toBe(false);
    kms.call(alice, 'DisableKey', { KeyId: k.KeyId });
    expect(errorCode(() => kms.call(alice, 'EnableKeyRotation', { KeyId: k.KeyId }))).toBe('DisabledException');
  });

  it('RotateKeyOnDemand: old ciphertexts still decrypt, new ones use the newest material', () => {
    const k = createKey();
    const before = kms.call(alice, 'Encrypt', { KeyId: k.KeyId, Plaintext: pt('old') }).CiphertextBlob as Buffer;
    kms.call(alice, 'RotateKeyOnDemand', { KeyId: k.KeyId });
    const after = kms.call(alice, 'Encrypt', { KeyId: k.KeyId, Plaintext: pt('new') }).CiphertextBlob as Buffer;
    expect(before.readUInt32BE(17)).toBe(1);
    expect(after.readUInt32BE(17)).toBe(2);
    expect(Buffer.from(kms.call(alice, 'Decrypt', { CiphertextBlob: before }).Plaintext as Uint8Array).toString()).toBe('old');
    expect(Buffer.from(kms.call(alice, 'Decrypt', { CiphertextBlob: after }).Plaintext as Uint8Array).toString()).toBe('new');
    // The rotation is complete at once: nothing is in progress, so no OnDemandRotationStartDate.
    expect(kms.call(alice, 'GetKeyRotationStatus', { KeyId: k.KeyId })).not.toHaveProperty('OnDemandRotationStartDate');
  });

  it(`RotateKeyOnDemand stops at AWS's quota of ${ON_DEMAND_ROTATION_QUOTA} per key (LimitExceededException); automatic rotations do not count`, () => {
    const k = createKey();
    for (let i = 0; i < ON_DEMAND_ROTATION_QUOTA; i++) kms.call(alice, 'RotateKeyOnDemand', { KeyId: k.KeyId });
    expect(errorCode(() => kms.call(alice, 'RotateKeyOnDemand', { KeyId: k.KeyId }))).toBe('LimitExceededException');
    const rotations = kms.call(alice, 'ListKeyRotations', { KeyId: k.KeyId, Limit: 100 }).Rotations as unknown[];
    expect(rotations).toHaveLength(ON_DEMAND_ROTATION_QUOTA);
    // Aliases are refused by the rotation operations (key ID or key ARN only).
    kms.call(alice, 'CreateAlias', { AliasName: 'alias/rotate-me', TargetKeyId: k.KeyId });
    expect(errorCode(() => kms.call(alice, 'EnableKeyRotation', { KeyId: 'alias/rotate-me' }))).toBe('InvalidArnException');
    expect(errorCode(() => kms.call(alice, 'CreateAlias', { AliasName: 'alias/my:alias', TargetKeyId: k.KeyId }))).toBe('ValidationException');
  });

  it('automatic rotation happens on first use after the rotation date', () => {
    const k = createKey();
    kms.call(alice, 'EnableKeyRotation', { KeyId: k.KeyId });
    h.app.db.prepare('UPDATE kms_keys SET next_rotation_at = ? WHERE key_id = ?').run(new Date(Date.now() - 1000).toISOString(), k.KeyId);
    noteLocalWrite(h.app.db); // a write behind the service's back: drop its read cache
    const blob = kms.call(alice, 'Encrypt', { KeyId: k.KeyId, Plaintext: pt('x') }).CiphertextBlob as Buffer;
    expect(blob.readUInt32BE(17)).toBe(2);
  });
});

describe('aliases', () => {
  it('CreateAlias / UpdateAlias / DeleteAlias / ListAliases', () => {
    const a = createKey();
    const b = createKey();
    kms.call(alice, 'CreateAlias', { AliasName: 'alias/app', TargetKeyId: a.KeyId });
    expect(errorCode(() => kms.call(alice, 'CreateAlias', { AliasName: 'alias/app', TargetKeyId: b.KeyId }))).toBe('AlreadyExistsException');
    kms.call(alice, 'UpdateAlias', { AliasName: 'alias/app', TargetKeyId: b.Arn });
    const listed = kms.call(alice, 'ListAliases', { KeyId: b.KeyId }).Aliases as { AliasName: string; AliasArn: string }[];
    expect(listed.map((x) => x.AliasName)).toEqual(['alias/app']);
    expect(listed[0]!.AliasArn).toBe('arn:aws:kms:us-east-1:123456789012:alias/app');
    kms.call(alice, 'DeleteAlias', { AliasName: 'alias/app' });
    expect(errorCode(() => kms.call(alice, 'DeleteAlias', { AliasName: 'alias/app' }))).toBe('NotFoundException');
    expect(errorCode(() => kms.call(alice, 'UpdateAlias', { AliasName: 'alias/app', TargetKeyId: a.KeyId }))).toBe('NotFoundException');
  });

  it('alias names: prefix alias/ required, alias/aws/ reserved, pattern enforced; targets must be keys', () => {
    const a = createKey();
    expect(errorCode(() => kms.call(alice, 'CreateAlias', { AliasName: 'app', TargetKeyId: a.KeyId }))).toBe('ValidationException');
    expect(errorCode(() => kms.call(alice, 'CreateAlias', { AliasName: 'alias/aws/mine', TargetKeyId: a.KeyId }))).toBe('InvalidAliasNameException');
    expect(errorCode(() => kms.call(alice, 'CreateAlias', { AliasName: 'alias/bad name', TargetKeyId: a.KeyId }))).toBe('ValidationException');
    kms.call(alice, 'CreateAlias', { AliasName: 'alias/first', TargetKeyId: a.KeyId });
    expect(errorCode(() => kms.call(alice, 'CreateAlias', { AliasName: 'alias/second', TargetKeyId: 'alias/first' }))).toBe('ValidationException');
  });
});

describe('cryptographic operations', () => {
  it('Encrypt/Decrypt round trip with a context; the context must match exactly', () => {
    const k = createKey();
    const r = kms.call(alice, 'Encrypt', { KeyId: k.KeyId, Plaintext: pt('secret'), EncryptionContext: { purpose: 'test' } });
    expect(r).toMatchObject({ KeyId: k.Arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' });
    const d = kms.call(alice, 'Decrypt', { CiphertextBlob: r.CiphertextBlob, EncryptionContext: { purpose: 'test' } });
    expect(Buffer.from(d.Plaintext as Uint8Array).toString()).toBe('secret');
    expect(d.KeyId).toBe(k.Arn);
    expect(errorCode(() => kms.call(alice, 'Decrypt', { CiphertextBlob: r.CiphertextBlob }))).toBe('InvalidCiphertextException');
    expect(errorCode(() => kms.call(alice, 'Decrypt', { CiphertextBlob: r.CiphertextBlob, EncryptionContext: { purpose: 'other' } }))).toBe('InvalidCiphertextException');
  });

  it('Decrypt with a KeyId that does not match the blob is IncorrectKeyException', () => {
    const a = createKey();
    const b = createKey();
    const blob = kms.call(alice, 'Encrypt', { KeyId: a.KeyId, Plaintext: pt('x') }).CiphertextBlob;
    expect(errorCode(() => kms.call(alice, 'Decrypt', { CiphertextBlob: blob, KeyId: b.KeyId }))).toBe('IncorrectKeyException');
    expect(() => kms.call(alice, 'Decrypt', { CiphertextBlob: blob, KeyId: b.KeyId })).toThrow('The key ID in the request does not identify a CMK that can perform this operation.');
    expect(kms.call(alice, 'Decrypt', { CiphertextBlob: blob, KeyId: a.Arn }).KeyId).toBe(a.Arn);
    // A malformed blob: AWS's InvalidCiphertextException has an empty message.
    expect(() => kms.call(alice, 'Decrypt', { CiphertextBlob: Buffer.alloc(40, 7) })).toThrow(expect.objectContaining({ name: 'InvalidCiphertextException', message: '' }));
  });

  it('bounds: Plaintext 1-4096 bytes, CiphertextBlob 1-6144, garbage blobs are InvalidCiphertextException', () => {
    const k = createKey();
    expect(errorCode(() => kms.call(alice, 'Encrypt', { KeyId: k.KeyId, Plaintext: Buffer.alloc(4097) }))).toBe('ValidationException');
    expect(errorCode(() => kms.call(alice, 'Encrypt', { KeyId: k.KeyId, Plaintext: Buffer.alloc(0) }))).toBe('ValidationException');
    expect(errorCode(() => kms.call(alice, 'Decrypt', { CiphertextBlob: Buffer.alloc(6145) }))).toBe('ValidationException');
    expect(errorCode(() => kms.call(alice, 'Decrypt', { CiphertextBlob: Buffer.from('not a blob at all, not at all, not at all, not at all') }))).toBe('InvalidCiphertextException');
    // An RSA algorithm with a symmetric key: AWS's InvalidKeyUsageException (as for SYMMETRIC_DEFAULT with an RSA key).
    expect(() => kms.call(alice, 'Encrypt', { KeyId: k.KeyId, Plaintext: pt('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' })).toThrow('Algorithm RSAES_OAEP_SHA_1 is incompatible with key spec SYMMETRIC_DEFAULT.');
    expect(errorCode(() => kms.call(alice, 'Encrypt', { KeyId: k.KeyId, Plaintext: pt('x'), Bogus: 1 }))).toBe('ValidationException');
  });

  it('ReEncrypt moves a ciphertext to another key and context without revealing it', () => {
    const a = createKey();
    const b = createKey();
    const blob = kms.call(alice, 'Encrypt', { KeyId: a.KeyId, Plaintext: pt('moved'), EncryptionContext: { v: '1' } }).CiphertextBlob;
    const r = kms.call(alice, 'ReEncrypt', { CiphertextBlob: blob, SourceEncryptionContext: { v: '1' }, DestinationKeyId: b.KeyId, DestinationEncryptionContext: { v: '2' } });
    expect(r).toMatchObject({ SourceKeyId: a.Arn, KeyId: b.Arn });
    expect(r.Plaintext).toBeUndefined();
    expect(Buffer.from(kms.call(alice, 'Decrypt', { CiphertextBlob: r.CiphertextBlob, EncryptionContext: { v: '2' } }).Plaintext as Uint8Array).toString()).toBe('moved');
    expect(errorCode(() => kms.call(alice, 'ReEncrypt', { CiphertextBlob: blob, DestinationKeyId: b.KeyId }))).toBe('InvalidCiphertextException');
  });

  it('GenerateDataKey: NumberOfBytes 1-1024 or KeySpec, exactly one of them', () => {
    const k = createKey();
    const r = kms.call(alice, 'GenerateDataKey', { KeyId: k.KeyId, KeySpec: 'AES_256', EncryptionContext: { a: 'b' } });
    expect((r.Plaintext as Uint8Array).length).toBe(32);
    const d = kms.call(alice, 'Decrypt', { CiphertextBlob: r.CiphertextBlob, EncryptionContext: { a: 'b' } });
    expect(Buffer.from(d.Plaintext as Uint8Array).equals(Buffer.from(r.Plaintext as Uint8Array))).toBe(true);
    expect((kms.call(alice, 'GenerateDataKey', { KeyId: k.KeyId, KeySpec: 'AES_128' }).Plaintext as Uint8Array).length).toBe(16);
    expect(() => kms.call(alice, 'GenerateDataKey', { KeyId: k.KeyId, NumberOfBytes: 2000 })).toThrow(
      "1 validation error detected: Value '2000' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024",
    );
    expect(errorCode(() => kms.call(alice, 'GenerateDataKey', { KeyId: k.KeyId }))).toBe('ValidationException');
    expect(errorCode(() => kms.call(alice, 'GenerateDataKey', { KeyId: k.KeyId, KeySpec: 'AES_256', NumberOfBytes: 32 }))).toBe('ValidationException');
    expect(errorCode(() => kms.call(alice, 'GenerateDataKey', { KeyId: k.KeyId, KeySpec: 'AES_512' }))).toBe('ValidationException');
  });

  it('GenerateDataKeyWithoutPlaintext returns no plaintext; the blob decrypts to 64 bytes', () => {
    const k = createKey();
    const r = kms.call(alice, 'GenerateDataKeyWithoutPlaintext', { KeyId: k.KeyId, NumberOfBytes: 64, EncryptionContext: { 'aws:ebs:id': 'vol-1' } });
    expect(r.Plaintext).toBeUndefined();
    expect(r.KeyId).toBe(k.Arn);
    const d = kms.call(alice, 'Decrypt', { CiphertextBlob: r.CiphertextBlob, EncryptionContext: { 'aws:ebs:id': 'vol-1' } });
    expect((d.Plaintext as Uint8Array).length).toBe(64);
  });

  it('GenerateRandom returns 1-1024 random bytes', () => {
    const a = kms.call(alice, 'GenerateRandom', { NumberOfBytes: 32 }).Plaintext as Uint8Array;
    const b = kms.call(alice, 'GenerateRandom', { NumberOfBytes: 32 }).Plaintext as Uint8Array;
    expect(a.length).toBe(32);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    expect(errorCode(() => kms.call(alice, 'GenerateRandom', { NumberOfBytes: 1025 }))).toBe('ValidationException');
  });

  it('an unknown operation is UnknownOperationException', () => {
    expect(errorCode(() => kms.call(alice, 'ExportKeyMaterial', {}))).toBe('UnknownOperationException');
  });
});

describe('the AWS managed key alias/aws/ebs', () => {
  it('is created on first use (KeyManager AWS) and is usable only through EC2', () => {
    const m = kms.call(alice, 'DescribeKey', { KeyId: 'alias/aws/ebs' }).KeyMetadata as Record<string, unknown>;
    expect(m.KeyManager).toBe('AWS');
    expect((kms.call(alice, 'DescribeKey', { KeyId: 'alias/aws/ebs' }).KeyMetadata as { KeyId: string }).KeyId).toBe(m.KeyId);
    expect(errorCode(() => kms.call(alice, 'GenerateDataKeyWithoutPlaintext', { KeyId: 'alias/aws/ebs', NumberOfBytes: 64 }))).toBe('AccessDeniedException');
    const viaEc2 = onBehalfOf(alice, 'ec2');
    const r = kms.call(viaEc2, 'GenerateDataKeyWithoutPlaintext', { KeyId: 'alias/aws/ebs', NumberOfBytes: 64, EncryptionContext: { 'aws:ebs:id': 'vol-x' } });
    expect(r.KeyId).toBe(m.Arn);
    expect(errorCode(() => kms.call(alice, 'DisableKey', { KeyId: m.KeyId as string }))).toBe('AccessDeniedException');
    expect(errorCode(() => kms.call(alice, 'CreateAlias', { AliasName: 'alias/mine', TargetKeyId: m.KeyId as string }))).toBe('AccessDeniedException');
  });
});

describe('secret members in validation messages', () => {
  it("a bound violation of a secret member names the member, never its value (AWS's sensitive form), and the trail's errorMessage holds no secret", () => {
    const k = createKey();
    expect(() => kms.call(alice, 'Encrypt', { KeyId: k.KeyId, Plaintext: Buffer.alloc(4097) })).toThrow(
      "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096",
    );
    const password = 'correct horse battery staple, much too long for a CloudHSM password';
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    expect(errorCode(() => kms.call(alice, 'UpdateCustomKeyStore', { CustomKeyStoreId: 'cks-1234567890abcdef0', KeyStorePassword: password }))).toBe('ValidationException');
    expect(errorCode(() => kms.call(alice, 'GenerateDataKey', { KeyId: k.KeyId, NumberOfBytes: 32, GrantTokens: ['x'.repeat(8193)] }))).toBe('ValidationException');
    expect(
      errorCode(() =>
        kms.call(alice, 'CreateCustomKeyStore', {
          CustomKeyStoreName: 'xks', CustomKeyStoreType: 'EXTERNAL_KEY_STORE', XksProxyUriEndpoint: 'https://proxy.example.com', XksProxyUriPath: '/kms/xks/v1',
          XksProxyConnectivity: 'PUBLIC_ENDPOINT', XksProxyAuthenticationCredential: { AccessKeyId: 'AKIAIOSFODNN7EXAMPLE', RawSecretAccessKey: secret },
        }),
      ),
    ).toBe('ValidationException');
    const trail = JSON.stringify(allRecords(h.app.db));
    expect(trail).toContain("Value at 'keyStorePassword'");
    for (const s of [password, secret, 'x'.repeat(100)]) expect(trail).not.toContain(s);
  });
});

describe('keys of other kinds where a symmetric key is expected', () => {
  it('UpdateAlias moves an alias only to a key of the same type and usage (ValidationException otherwise)', () => {
    const a = createKey();
    const b = createKey();
    const mac = kms.call(alice, 'CreateKey', { KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }).KeyMetadata as { KeyId: string };
    const rsa = kms.call(alice, 'CreateKey', { KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' }).KeyMetadata as { KeyId: string };
    kms.call(alice, 'CreateAlias', { AliasName: 'alias/same-kind', TargetKeyId: a.KeyId });
    expect(errorCode(() => kms.call(alice, 'UpdateAlias', { AliasName: 'alias/same-kind', TargetKeyId: mac.KeyId }))).toBe('ValidationException');
    expect(errorCode(() => kms.call(alice, 'UpdateAlias', { AliasName: 'alias/same-kind', TargetKeyId: rsa.KeyId }))).toBe('ValidationException');
    expect((kms.call(alice, 'DescribeKey', { KeyId: 'alias/same-kind' }).KeyMetadata as { KeyId: string }).KeyId).toBe(a.KeyId);
    kms.call(alice, 'UpdateAlias', { AliasName: 'alias/same-kind', TargetKeyId: b.KeyId });
    expect((kms.call(alice, 'DescribeKey', { KeyId: 'alias/same-kind' }).KeyMetadata as { KeyId: string }).KeyId).toBe(b.KeyId);
  });

  it("a blob whose header names an HMAC or signing key is refused before that key's material is used as an AES key", () => {
    const k = createKey();
    const blob = Buffer.from(kms.call(alice, 'Encrypt', { KeyId: k.KeyId, Plaintext: pt('x') }).CiphertextBlob as Uint8Array);
    for (const [KeySpec, KeyUsage] of [['HMAC_256', 'GENERATE_VERIFY_MAC'], ['ECC_NIST_P256', 'SIGN_VERIFY']]) {
      const other = (kms.call(alice, 'CreateKey', { KeySpec, KeyUsage }).KeyMetadata as { KeyId: string }).KeyId;
      const forged = Buffer.from(blob);
      Buffer.from(other.replace(/-/g, ''), 'hex').copy(forged, 1); // the header's key ID (bytes 1-16)
      expect(errorCode(() => kms.call(alice, 'Decrypt', { CiphertextBlob: forged }))).toBe('InvalidKeyUsageException');
    }
  });
});
