// Imported key material (issue 14) through the in-process service: Origin EXTERNAL, the import
// done as AWS documents it (GetParametersForImport, wrap with node:crypto under the returned
// public key, ImportKeyMaterial, then Encrypt/Decrypt), the 2025 multi-material rotation,
// expiry as due work, DeleteImportedKeyMaterial, each documented error, and the trail without
// secrets. Symmetric material is checked independently: ebsim's blob opens under the imported
// bytes with @noble/ciphers.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import * as sdk from '@aws-sdk/client-kms';
import { gcm } from '@noble/ciphers/aes.js';
import { errorCode, makeHome, type TestHome } from '../helpers/home.js';
import type { CallContext } from '../../src/core/call-context.js';
import type { KmsService } from '../../src/kms/service.js';
import { KeyStore } from '../../src/kms/keys.js';
import { RootKey } from '../../src/store/root-key.js';
import { allRecords } from '../../src/trail/lookup.js';
import { noteLocalWrite } from '../../src/store/read-cache.js';
import { blobParts, wrapMaterial, type WrappingAlgorithm } from '../helpers/import-wrap.js';

let h: TestHome;
let kms: KmsService;
let alice: CallContext;

beforeAll(() => {
  h = makeHome('ebsim-imported-');
  kms = h.app.kms();
  alice = h.app.as('Alice');
});
afterAll(() => h.cleanup());
afterEach(() => vi.useRealTimers());

type Meta = Record<string, any>;
const call = (op: string, params: Record<string, unknown>) => kms.call(alice, op, params) as Record<string, any>;
const externalKey = (params: Record<string, unknown> = {}) => call('CreateKey', { Origin: 'EXTERNAL', ...params }).KeyMetadata as Meta;
const describe_ = (KeyId: string) => call('DescribeKey', { KeyId }).KeyMetadata as Meta;
function failure(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    return { code: (err as { code: string }).code, message: (err as Error).message };
  }
  throw new Error('expected the call to fail');
}

type Algorithm = WrappingAlgorithm;

/** GetParametersForImport, wrap, ImportKeyMaterial: the whole documented round. */
function importMaterial(keyId: string, material: Buffer, extra: Record<string, unknown> = {}, algorithm: Algorithm = 'RSAES_OAEP_SHA_256', spec = 'RSA_2048') {
  const p = call('GetParametersForImport', { KeyId: keyId, WrappingAlgorithm: algorithm, WrappingKeySpec: spec });
  return call('ImportKeyMaterial', {
    KeyId: keyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrapMaterial(p.PublicKey, material, algorithm), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', ...extra,
  });
}

/** ebsim's blob (kms/blob.ts layout) opened with @noble/ciphers under the material we imported. */
function openWith(material: Buffer, blob: Uint8Array): Buffer {
  const { nonce, aad, sealed } = blobParts(blob);
  return Buffer.from(gcm(material, nonce, aad).decrypt(sealed));
}

const records = (name: string) => {
  h.app.trail.flush();
  return allRecords(h.app.db).filter((r) => r.eventName === name);
};

/** The stored (unwrapped) material of a key's current version, read as the store reads it. */
function storedMaterial(keyId: string): Buffer {
  const store = new KeyStore(h.app.db, RootKey.loadOrCreate(h.app.paths.rootKey), '123456789012', 'us-east-1');
  const key = store.get(keyId)!;
  return store.material(key, key.currentVersion)!;
}

describe('CreateKey with Origin EXTERNAL', () => {
  it('makes a key without material: PendingImport, not enabled, no material ID or expiry yet', () => {
    const k = externalKey({ Description: 'byok' });
    expect(k).toMatchObject({ Origin: 'EXTERNAL', KeyState: 'PendingImport', Enabled: false, KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT' });
    expect(k).not.toHaveProperty('CurrentKeyMaterialId');
    expect(k).not.toHaveProperty('ExpirationModel');
    expect(k).not.toHaveProperty('ValidTo');
    expect(h.app.db.prepare('SELECT count(*) AS n FROM kms_key_versions WHERE key_id = ?').get(k.KeyId)).toEqual({ n: 0 });
  });

  it('a key pending import refuses cryptographic use and EnableKey (KMSInvalidStateException, "is pending import."), but is described, tagged and aliased', () => {
    const k = externalKey();
    expect(failure(() => call('Encrypt', { KeyId: k.KeyId, Plaintext: Buffer.from('x') }))).toEqual({ code: 'KMSInvalidStateException', message: `${k.Arn} is pending import.` });
    expect(failure(() => call('GenerateDataKey', { KeyId: k.KeyId, NumberOfBytes: 32 })).code).toBe('KMSInvalidStateException');
    expect(failure(() => call('EnableKey', { KeyId: k.KeyId })).code).toBe('KMSInvalidStateException');
    expect(failure(() => call('DisableKey', { KeyId: k.KeyId })).code).toBe('KMSInvalidStateException');
    call('TagResource', { KeyId: k.KeyId, Tags: [{ TagKey: 'a', TagValue: 'b' }] });
    call('CreateAlias', { AliasName: 'alias/pending-import', TargetKeyId: k.KeyId });
    call('UpdateKeyDescription', { KeyId: k.KeyId, Description: 'still pending' });
    expect(describe_('alias/pending-import')).toMatchObject({ KeyState: 'PendingImport', Description: 'still pending' });
  });

  it('CurrentKeyMaterialId is on every symmetric key: 64 hex digits, and ListKeyRotations names the same material', () => {
    const k = call('CreateKey', {}).KeyMetadata as Meta;
    expect(k.CurrentKeyMaterialId).toMatch(/^[0-9a-f]{64}$/);
    const rotations = call('ListKeyRotations', { KeyId: k.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }).Rotations;
    expect(rotations).toEqual([{ KeyId: k.KeyId, KeyMaterialId: k.CurrentKeyMaterialId, KeyMaterialState: 'CURRENT' }]);
    call('RotateKeyOnDemand', { KeyId: k.KeyId });
    const after = describe_(k.KeyId).CurrentKeyMaterialId;
    expect(after).toMatch(/^[0-9a-f]{64}$/);
    expect(after).not.toBe(k.CurrentKeyMaterialId);
    // Not on an HMAC key: "present for symmetric encryption keys".
    expect(call('CreateKey', { KeySpec: 'HMAC_256' }).KeyMetadata).not.toHaveProperty('CurrentKeyMaterialId');
  });

  it('refuses specs whose material cannot be imported, and custom key store origins without an existing store', () => {
    expect(failure(() => externalKey({ KeySpec: 'ML_DSA_44' })).code).toBe('UnsupportedOperationException');
    expect(failure(() => call('CreateKey', { Origin: 'AWS_CLOUDHSM' })).code).toBe('ValidationException');
    expect(failure(() => call('CreateKey', { Origin: 'EXTERNAL_KEY_STORE', CustomKeyStoreId: 'cks-1234567890abcdef0' })).code).toBe('ValidationException');
    expect(failure(() => call('CreateKey', { Origin: 'AWS_CLOUDHSM', CustomKeyStoreId: 'cks-1234567890abcdef0' }))).toEqual({
      code: 'CustomKeyStoreNotFoundException', message: 'Custom key store cks-1234567890abcdef0 does not exist in this account and Region.',
    });
    expect(failure(() => call('CreateKey', { Origin: 'EXTERNAL_KEY_STORE', CustomKeyStoreId: 'cks-1', XksKeyId: 'ext-key-1' })).code).toBe('CustomKeyStoreNotFoundException');
    expect(failure(() => call('CreateKey', { XksKeyId: 'ext-key-1' })).code).toBe('ValidationException');
  });
});

describe('GetParametersForImport', () => {
  it('a fresh RSA wrapping key per call, of the spec asked, valid 24 hours; the token holds no plaintext private key', () => {
    const k = externalKey();
    const before = Date.now();
    const a = call('GetParametersForImport', { KeyId: k.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_3072' });
    const b = call('GetParametersForImport', { KeyId: k.Arn, WrappingAlgorithm: 'RSA_AES_KEY_WRAP_SHA_256', WrappingKeySpec: 'RSA_2048' });
    expect(a.KeyId).toBe(k.Arn);
    const pa = createPublicKey({ key: Buffer.from(a.PublicKey), format: 'der', type: 'spki' });
    const pb = createPublicKey({ key: Buffer.from(b.PublicKey), format: 'der', type: 'spki' });
    expect([pa.asymmetricKeyType, pa.asymmetricKeyDetails!.modulusLength]).toEqual(['rsa', 3072]);
    expect(pb.asymmetricKeyDetails!.modulusLength).toBe(2048);
    expect(Buffer.from(a.PublicKey).equals(Buffer.from(b.PublicKey))).toBe(false);
    expect(Buffer.from(a.ImportToken).equals(Buffer.from(b.ImportToken))).toBe(false);
    const validFor = (a.ParametersValidTo as Date).getTime() - before;
    expect(validFor).toBeGreaterThanOrEqual(24 * 3600_000 - 5000);
    expect(validFor).toBeLessThanOrEqual(24 * 3600_000 + 5000);
    // The private key's modulus is in any plaintext copy of it: not in the token, not on disk.
    const modulus = Buffer.from(pa.export({ format: 'jwk' }).n!, 'base64url');
    expect(Buffer.from(a.ImportToken).includes(modulus.subarray(0, 32))).toBe(false);
    h.app.trail.flush();
    for (const f of [h.app.paths.database, `${h.app.paths.database}-wal`, h.app.paths.trail, `${h.app.paths.trail}-wal`]) {
      if (existsSync(f)) expect(readFileSync(f).includes(modulus.subarray(0, 32)), f).toBe(false);
    }
  });

  it('errors: a key with material from KMS, the retired PKCS #1 v1.5 algorithm, SM2 outside China, an alias, a key pending deletion', () => {
    const own = call('CreateKey', {}).KeyMetadata as Meta;
    expect(failure(() => call('GetParametersForImport', { KeyId: own.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }))).toEqual({
      code: 'UnsupportedOperationException', message: `${own.Arn} origin is AWS_KMS which is not valid for this operation.`,
    });
    const k = externalKey();
    const params = (WrappingAlgorithm: string, WrappingKeySpec = 'RSA_2048') => () => call('GetParametersForImport', { KeyId: k.KeyId, WrappingAlgorithm, WrappingKeySpec });
    expect(errorCode(params('RSAES_PKCS1_V1_5'))).toBe('ValidationException');
    expect(errorCode(params('SM2PKE', 'SM2'))).toBe('ValidationException');
    expect(errorCode(params('RSA_OAEP'))).toBe('ValidationException');
    expect(errorCode(params('RSAES_OAEP_SHA_256', 'RSA_1024'))).toBe('ValidationException');
    call('CreateAlias', { AliasName: 'alias/byok-gpfi', TargetKeyId: k.KeyId });
    expect(errorCode(() => call('GetParametersForImport', { KeyId: 'alias/byok-gpfi', WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }))).toBe('InvalidArnException');
    expect(errorCode(() => call('GetParametersForImport', { KeyId: '11111111-2222-3333-4444-555555555555', WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }))).toBe('NotFoundException');
    call('ScheduleKeyDeletion', { KeyId: k.KeyId, PendingWindowInDays: 7 });
    expect(failure(params('RSAES_OAEP_SHA_256'))).toEqual({ code: 'KMSInvalidStateException', message: `${k.Arn} is pending deletion.` });
  });
});

describe('ImportKeyMaterial of symmetric material', () => {
  for (const algorithm of ['RSAES_OAEP_SHA_256', 'RSAES_OAEP_SHA_1', 'RSA_AES_KEY_WRAP_SHA_256', 'RSA_AES_KEY_WRAP_SHA_1'] as const) {
    it(`${algorithm}: the key is Enabled and encrypts under exactly the imported 256 bits (opened with @noble/ciphers)`, () => {
      const k = externalKey();
      const material = randomBytes(32);
      const out = importMaterial(k.KeyId, material, {}, algorithm);
      expect(out.KeyId).toBe(k.Arn);
      expect(out.KeyMaterialId).toMatch(/^[0-9a-f]{64}$/);
      expect(describe_(k.KeyId)).toMatchObject({ KeyState: 'Enabled', Enabled: true, Origin: 'EXTERNAL', ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', CurrentKeyMaterialId: out.KeyMaterialId });
      expect(describe_(k.KeyId)).not.toHaveProperty('ValidTo');
      const enc = call('Encrypt', { KeyId: k.KeyId, Plaintext: Buffer.from('imported!') });
      expect(openWith(material, enc.CiphertextBlob).toString()).toBe('imported!');
      const dec = call('Decrypt', { CiphertextBlob: enc.CiphertextBlob });
      expect(Buffer.from(dec.Plaintext).toString()).toBe('imported!');
      expect(dec.KeyMaterialId).toBe(out.KeyMaterialId);
      const dk = call('GenerateDataKey', { KeyId: k.KeyId, KeySpec: 'AES_256' });
      expect(dk.KeyMaterialId).toBe(out.KeyMaterialId);
      expect(openWith(material, dk.CiphertextBlob).equals(Buffer.from(dk.Plaintext))).toBe(true);
    });
  }

  it('RSA_4096 wrapping keys work too', () => {
    const k = externalKey();
    const material = randomBytes(32);
    importMaterial(k.KeyId, material, {}, 'RSA_AES_KEY_WRAP_SHA_256', 'RSA_4096');
    expect(openWith(material, call('Encrypt', { KeyId: k.KeyId, Plaintext: Buffer.from('4096') }).CiphertextBlob).toString()).toBe('4096');
  });

  it('the same material imported into two keys gives each its own KeyMaterialId; ReEncrypt names source and destination material', () => {
    const material = randomBytes(32);
    const [a, b] = [externalKey(), externalKey()];
    const ia = importMaterial(a.KeyId, material).KeyMaterialId;
    const ib = importMaterial(b.KeyId, material).KeyMaterialId;
    expect(ia).not.toBe(ib);
    const enc = call('Encrypt', { KeyId: a.KeyId, Plaintext: Buffer.from('re') });
    const re = call('ReEncrypt', { CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: b.KeyId });
    expect(re).toMatchObject({ SourceKeyId: a.Arn, KeyId: b.Arn, SourceKeyMaterialId: ia, DestinationKeyMaterialId: ib });
    expect(openWith(material, re.CiphertextBlob).toString()).toBe('re');
  });

  it('errors of the token: another key\'s, not one at all, past its 24 hours', () => {
    const [k, other] = [externalKey(), externalKey()];
    const p = call('GetParametersForImport', { KeyId: other.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' });
    const material = randomBytes(32);
    const attempt = (token: Uint8Array) => () =>
      call('ImportKeyMaterial', { KeyId: k.KeyId, ImportToken: token, EncryptedKeyMaterial: wrapMaterial(p.PublicKey, material, 'RSAES_OAEP_SHA_256'), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
    expect(errorCode(attempt(p.ImportToken))).toBe('InvalidImportTokenException');
    expect(errorCode(attempt(randomBytes(200)))).toBe('InvalidImportTokenException');
    const tampered = Buffer.from(p.ImportToken);
    tampered[tampered.length - 1]! ^= 1;
    expect(errorCode(() => call('ImportKeyMaterial', { KeyId: other.KeyId, ImportToken: tampered, EncryptedKeyMaterial: wrapMaterial(p.PublicKey, material, 'RSAES_OAEP_SHA_256'), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }))).toBe('InvalidImportTokenException');
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 24 * 3600_000 + 1000);
    expect(errorCode(() => call('ImportKeyMaterial', { KeyId: other.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrapMaterial(p.PublicKey, material, 'RSAES_OAEP_SHA_256'), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }))).toBe('ExpiredImportTokenException');
    vi.useRealTimers();
    expect(describe_(other.KeyId).KeyState).toBe('PendingImport');
  });

  it('errors of the material: wrapped under another key or algorithm (InvalidCiphertextException), not 256 bits (IncorrectKeyMaterialException)', () => {
    const k = externalKey();
    const p = call('GetParametersForImport', { KeyId: k.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' });
    const send = (EncryptedKeyMaterial: Buffer) => () => call('ImportKeyMaterial', { KeyId: k.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'der' });
    expect(failure(send(wrapMaterial(stranger, randomBytes(32), 'RSAES_OAEP_SHA_256')))).toEqual({ code: 'InvalidCiphertextException', message: '' });
    expect(errorCode(send(wrapMaterial(p.PublicKey, randomBytes(32), 'RSAES_OAEP_SHA_1')))).toBe('InvalidCiphertextException');
    expect(errorCode(send(wrapMaterial(p.PublicKey, randomBytes(32), 'RSA_AES_KEY_WRAP_SHA_256')))).toBe('InvalidCiphertextException');
    expect(errorCode(send(wrapMaterial(p.PublicKey, randomBytes(16), 'RSAES_OAEP_SHA_256')))).toBe('IncorrectKeyMaterialException');
    expect(errorCode(send(wrapMaterial(p.PublicKey, randomBytes(33), 'RSAES_OAEP_SHA_256')))).toBe('IncorrectKeyMaterialException');
    expect(describe_(k.KeyId).KeyState).toBe('PendingImport');
  });

  it('errors of the expiry: ValidTo required with KEY_MATERIAL_EXPIRES (the default), refused without, in the past, beyond 365 days', () => {
    const k = externalKey();
    const material = randomBytes(32);
    const attempt = (extra: Record<string, unknown>) => () => importMaterial(k.KeyId, material, { ExpirationModel: undefined, ...extra });
    expect(errorCode(attempt({}))).toBe('ValidationException');
    expect(errorCode(attempt({ ExpirationModel: 'KEY_MATERIAL_EXPIRES' }))).toBe('ValidationException');
    expect(errorCode(attempt({ ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', ValidTo: new Date(Date.now() + 3600_000) }))).toBe('ValidationException');
    expect(errorCode(attempt({ ValidTo: new Date(Date.now() - 1000) }))).toBe('ValidationException');
    expect(errorCode(attempt({ ValidTo: new Date(Date.now() + 366 * 86400_000) }))).toBe('ValidationException');
    expect(errorCode(attempt({ ValidTo: 'not a time' }))).toBe('ValidationException');
    // Epoch seconds (the JSON protocol's form) and ISO 8601 (the CLI's) are both times.
    const at = Math.floor(Date.now() / 1000) + 7200;
    importMaterial(k.KeyId, material, { ExpirationModel: undefined, ValidTo: at });
    expect(describe_(k.KeyId)).toMatchObject({ KeyState: 'Enabled', ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: new Date(at * 1000) });
    importMaterial(k.KeyId, material, { ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: new Date((at + 60) * 1000).toISOString() });
    expect(describe_(k.KeyId).ValidTo).toEqual(new Date((at + 60) * 1000));
  });

  it('reimport: the same material again (to change its expiry) keeps its ID; different material is IncorrectKeyMaterialException', () => {
    const k = externalKey();
    const material = randomBytes(32);
    const first = importMaterial(k.KeyId, material, { ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: new Date(Date.now() + 3600_000) }).KeyMaterialId;
    expect(importMaterial(k.KeyId, material).KeyMaterialId).toBe(first);
    expect(describe_(k.KeyId)).toMatchObject({ ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', CurrentKeyMaterialId: first });
    expect(describe_(k.KeyId)).not.toHaveProperty('ValidTo');
    expect(errorCode(() => importMaterial(k.KeyId, randomBytes(32)))).toBe('IncorrectKeyMaterialException');
    expect(errorCode(() => importMaterial(k.KeyId, randomBytes(32), { ImportType: 'EXISTING_KEY_MATERIAL' }))).toBe('IncorrectKeyMaterialException');
    expect(errorCode(() => importMaterial(k.KeyId, material, { ImportType: 'NEW_KEY_MATERIAL' }))).toBe('IncorrectKeyMaterialException');
    expect(errorCode(() => importMaterial(k.KeyId, material, { KeyMaterialId: 'f'.repeat(64) }))).toBe('IncorrectKeyMaterialException');
    expect(errorCode(() => importMaterial(k.KeyId, randomBytes(32), { ImportType: 'NEW_KEY_MATERIAL', KeyMaterialId: first }))).toBe('ValidationException');
    expect(errorCode(() => importMaterial(k.KeyId, material, { KeyMaterialId: 'F'.repeat(64) }))).toBe('ValidationException');
    expect(importMaterial(k.KeyId, material, { KeyMaterialId: first, ImportType: 'EXISTING_KEY_MATERIAL' }).KeyMaterialId).toBe(first);
  });

  it('only keys with Origin EXTERNAL, in a compatible state', () => {
    const own = call('CreateKey', {}).KeyMetadata as Meta;
    expect(failure(() => call('ImportKeyMaterial', { KeyId: own.KeyId, ImportToken: randomBytes(10), EncryptedKeyMaterial: randomBytes(10), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' })).code).toBe('UnsupportedOperationException');
    expect(failure(() => call('DeleteImportedKeyMaterial', { KeyId: own.KeyId })).code).toBe('UnsupportedOperationException');
    const k = externalKey();
    const material = randomBytes(32);
    importMaterial(k.KeyId, material);
    call('DisableKey', { KeyId: k.KeyId });
    expect(importMaterial(k.KeyId, material).KeyId).toBe(k.Arn);
    expect(describe_(k.KeyId).KeyState).toBe('Disabled');
    call('ScheduleKeyDeletion', { KeyId: k.KeyId, PendingWindowInDays: 7 });
    expect(errorCode(() => importMaterial(k.KeyId, material))).toBe('KMSInvalidStateException');
  });
});

describe('DeleteImportedKeyMaterial and expiry', () => {
  it('deleting the material makes the key PendingImport (ciphertexts wait); reimporting the same material brings them back', () => {
    const k = externalKey();
    const material = randomBytes(32);
    const id = importMaterial(k.KeyId, material).KeyMaterialId;
    const enc = call('Encrypt', { KeyId: k.KeyId, Plaintext: Buffer.from('kept') });
    expect(call('DeleteImportedKeyMaterial', { KeyId: k.KeyId })).toEqual({ KeyId: k.Arn, KeyMaterialId: id });
    expect(describe_(k.KeyId)).toMatchObject({ KeyState: 'PendingImport', CurrentKeyMaterialId: id });
    expect(failure(() => call('Decrypt', { CiphertextBlob: enc.CiphertextBlob }))).toEqual({ code: 'KMSInvalidStateException', message: `${k.Arn} is pending import.` });
    expect(h.app.db.prepare('SELECT count(*) AS n FROM kms_key_versions WHERE key_id = ?').get(k.KeyId)).toEqual({ n: 0 });
    expect(call('ListKeyRotations', { KeyId: k.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }).Rotations).toEqual([
      { KeyId: k.KeyId, KeyMaterialId: id, ImportState: 'PENDING_IMPORT', KeyMaterialState: 'CURRENT', ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' },
    ]);
    // Nothing left to delete: no effect.
    expect(call('DeleteImportedKeyMaterial', { KeyId: k.KeyId }).KeyId).toBe(k.Arn);
    expect(errorCode(() => call('DeleteImportedKeyMaterial', { KeyId: k.KeyId, KeyMaterialId: 'a'.repeat(64) }))).toBe('NotFoundException');
    expect(errorCode(() => importMaterial(k.KeyId, randomBytes(32)))).toBe('IncorrectKeyMaterialException');
    importMaterial(k.KeyId, material);
    expect(describe_(k.KeyId).KeyState).toBe('Enabled');
    expect(Buffer.from(call('Decrypt', { CiphertextBlob: enc.CiphertextBlob }).Plaintext).toString()).toBe('kept');
  });

  it('on a key pending deletion the state stays; cancelling the deletion leaves the key PendingImport, not Disabled', () => {
    const k = externalKey();
    importMaterial(k.KeyId, randomBytes(32));
    call('ScheduleKeyDeletion', { KeyId: k.KeyId, PendingWindowInDays: 7 });
    call('DeleteImportedKeyMaterial', { KeyId: k.KeyId });
    expect(describe_(k.KeyId).KeyState).toBe('PendingDeletion');
    call('CancelKeyDeletion', { KeyId: k.KeyId });
    expect(describe_(k.KeyId).KeyState).toBe('PendingImport');
    expect(errorCode(() => call('CancelKeyDeletion', { KeyId: k.KeyId }))).toBe('KMSInvalidStateException');
  });

  it('when ValidTo passes, the next call deletes the material (DeleteExpiredKeyMaterial service event) and the key is PendingImport', () => {
    const k = externalKey();
    const id = importMaterial(k.KeyId, randomBytes(32), { ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: new Date(Date.now() + 3600_000) }).KeyMaterialId;
    expect(describe_(k.KeyId).KeyState).toBe('Enabled');
    h.app.db.prepare('UPDATE kms_imported_materials SET valid_to = ? WHERE key_id = ?').run(new Date(Date.now() - 1000).toISOString(), k.KeyId);
    noteLocalWrite(h.app.db);
    expect(describe_(k.KeyId)).toMatchObject({ KeyState: 'PendingImport', CurrentKeyMaterialId: id });
    expect(describe_(k.KeyId)).not.toHaveProperty('ValidTo');
    const events = records('DeleteExpiredKeyMaterial').filter((r) => r.serviceEventDetails?.keyId === k.KeyId);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      eventType: 'AwsServiceEvent', requestParameters: null, responseElements: null, sourceIPAddress: 'AWS Internal',
      resources: [{ accountId: '123456789012', type: 'AWS::KMS::Key', ARN: k.Arn }], serviceEventDetails: { keyId: k.KeyId, keyMaterialId: id },
    });
    describe_(k.KeyId);
    expect(records('DeleteExpiredKeyMaterial').filter((r) => r.serviceEventDetails?.keyId === k.KeyId)).toHaveLength(1);
  });
});

describe('multi-material rotation of a symmetric key (ImportType NEW_KEY_MATERIAL, RotateKeyOnDemand)', () => {
  it('new material waits PENDING_ROTATION; RotateKeyOnDemand makes it current; old ciphertexts still decrypt under theirs', () => {
    const k = externalKey();
    const [a, b] = [randomBytes(32), randomBytes(32)];
    const idA = importMaterial(k.KeyId, a, { KeyMaterialDescription: 'first one' }).KeyMaterialId;
    const oldBlob = call('Encrypt', { KeyId: k.KeyId, Plaintext: Buffer.from('under A') }).CiphertextBlob;
    const idB = importMaterial(k.KeyId, b, { ImportType: 'NEW_KEY_MATERIAL', KeyMaterialDescription: 'second one', ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: new Date(Date.now() + 86400_000) }).KeyMaterialId;
    expect(idB).not.toBe(idA);
    expect(call('ListKeyRotations', { KeyId: k.KeyId }).Rotations).toEqual([]);
    const all = call('ListKeyRotations', { KeyId: k.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }).Rotations;
    expect(all).toMatchObject([
      { KeyMaterialId: idA, KeyMaterialDescription: 'first one', ImportState: 'IMPORTED', KeyMaterialState: 'CURRENT', ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' },
      { KeyMaterialId: idB, KeyMaterialDescription: 'second one', ImportState: 'IMPORTED', KeyMaterialState: 'PENDING_ROTATION', ExpirationModel: 'KEY_MATERIAL_EXPIRES' },
    ]);
    expect(all[1].ValidTo).toBeInstanceOf(Date);
    expect(all[1]).not.toHaveProperty('RotationDate');
    // Pending material is not permanently associated: no ValidTo on the key, encryption still under A.
    expect(describe_(k.KeyId)).toMatchObject({ CurrentKeyMaterialId: idA, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
    expect(openWith(a, call('Encrypt', { KeyId: k.KeyId, Plaintext: Buffer.from('still A') }).CiphertextBlob).toString()).toBe('still A');
    expect(errorCode(() => importMaterial(k.KeyId, randomBytes(32), { ImportType: 'NEW_KEY_MATERIAL' }))).toBe('KMSInvalidStateException');

    expect(call('RotateKeyOnDemand', { KeyId: k.KeyId }).KeyId).toBe(k.Arn);
    expect(describe_(k.KeyId)).toMatchObject({ CurrentKeyMaterialId: idB, ExpirationModel: 'KEY_MATERIAL_EXPIRES' });
    expect(describe_(k.KeyId).ValidTo).toBeInstanceOf(Date);
    const rotations = call('ListKeyRotations', { KeyId: k.KeyId }).Rotations;
    expect(rotations).toHaveLength(1);
    expect(rotations[0]).toMatchObject({ KeyMaterialId: idB, KeyMaterialState: 'CURRENT', RotationType: 'ON_DEMAND' });
    expect(rotations[0].RotationDate).toBeInstanceOf(Date);
    expect(openWith(b, call('Encrypt', { KeyId: k.KeyId, Plaintext: Buffer.from('now B') }).CiphertextBlob).toString()).toBe('now B');
    const old = call('Decrypt', { CiphertextBlob: oldBlob });
    expect([Buffer.from(old.Plaintext).toString(), old.KeyMaterialId]).toEqual(['under A', idA]);
    expect(errorCode(() => call('RotateKeyOnDemand', { KeyId: k.KeyId }))).toBe('KMSInvalidStateException');
    expect(failure(() => call('EnableKeyRotation', { KeyId: k.KeyId }))).toEqual({ code: 'UnsupportedOperationException', message: `${k.Arn} origin is EXTERNAL which is not valid for this operation.` });

    // Deleting a non-current material by ID: the key lacks it, so PendingImport; reimport by ID restores it.
    expect(call('DeleteImportedKeyMaterial', { KeyId: k.KeyId, KeyMaterialId: idA }).KeyMaterialId).toBe(idA);
    expect(describe_(k.KeyId).KeyState).toBe('PendingImport');
    expect(call('ListKeyRotations', { KeyId: k.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }).Rotations.map((r: Meta) => [r.KeyMaterialState, r.ImportState])).toEqual([
      ['NON_CURRENT', 'PENDING_IMPORT'], ['CURRENT', 'IMPORTED'],
    ]);
    importMaterial(k.KeyId, a, { ImportType: 'EXISTING_KEY_MATERIAL', KeyMaterialId: idA });
    expect(describe_(k.KeyId).KeyState).toBe('Enabled');
    // The description is kept when a reimport gives none.
    expect(call('ListKeyRotations', { KeyId: k.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }).Rotations[0].KeyMaterialDescription).toBe('first one');
    expect(Buffer.from(call('Decrypt', { CiphertextBlob: oldBlob }).Plaintext).toString()).toBe('under A');
  });

  it('material pending rotation that is deleted goes entirely, and the key stays usable', () => {
    const k = externalKey();
    importMaterial(k.KeyId, randomBytes(32));
    const pending = importMaterial(k.KeyId, randomBytes(32), { ImportType: 'NEW_KEY_MATERIAL' }).KeyMaterialId;
    call('DeleteImportedKeyMaterial', { KeyId: k.KeyId, KeyMaterialId: pending });
    expect(describe_(k.KeyId).KeyState).toBe('Enabled');
    expect(call('ListKeyRotations', { KeyId: k.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }).Rotations).toHaveLength(1);
    expect(errorCode(() => call('RotateKeyOnDemand', { KeyId: k.KeyId }))).toBe('KMSInvalidStateException');
  });
});

describe('HMAC and asymmetric material', () => {
  it('HMAC_256: raw key bytes (32 to 64), stored as given; the symmetric-only parameters are refused', () => {
    const k = externalKey({ KeySpec: 'HMAC_256' });
    expect(k.KeyUsage).toBe('GENERATE_VERIFY_MAC');
    const material = randomBytes(48);
    expect(errorCode(() => importMaterial(k.KeyId, randomBytes(16)))).toBe('IncorrectKeyMaterialException');
    expect(errorCode(() => importMaterial(k.KeyId, randomBytes(65)))).toBe('IncorrectKeyMaterialException');
    expect(errorCode(() => importMaterial(k.KeyId, material, { ImportType: 'NEW_KEY_MATERIAL' }))).toBe('ValidationException');
    expect(errorCode(() => importMaterial(k.KeyId, material, { KeyMaterialDescription: 'x' }))).toBe('ValidationException');
    importMaterial(k.KeyId, material);
    const meta = describe_(k.KeyId);
    expect(meta).toMatchObject({ KeyState: 'Enabled', ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', MacAlgorithms: ['HMAC_SHA_256'] });
    expect(meta).not.toHaveProperty('CurrentKeyMaterialId');
    expect(storedMaterial(k.KeyId).equals(material)).toBe(true);
    expect(errorCode(() => importMaterial(k.KeyId, randomBytes(48)))).toBe('IncorrectKeyMaterialException');
    // No ImportState etc. for a non-symmetric key's entry.
    expect(call('ListKeyRotations', { KeyId: k.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }).Rotations[0]).not.toHaveProperty('ImportState');
  });

  it('ECC_NIST_P256 and RSA_2048: an unencrypted PKCS #8 private key of the key\'s own type (RSA only under RSA_AES_KEY_WRAP)', () => {
    const ec = externalKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const der = pair.privateKey.export({ type: 'pkcs8', format: 'der' });
    const wrong = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey.export({ type: 'pkcs8', format: 'der' });
    expect(failure(() => importMaterial(ec.KeyId, wrong)).code).toBe('IncorrectKeyMaterialException');
    expect(errorCode(() => importMaterial(ec.KeyId, randomBytes(100)))).toBe('IncorrectKeyMaterialException');
    importMaterial(ec.KeyId, der);
    expect(describe_(ec.KeyId)).toMatchObject({ KeyState: 'Enabled', SigningAlgorithms: ['ECDSA_SHA_256'] });
    // Independent check: the stored key is OpenSSL's same key (same public point).
    const stored = createPrivateKey({ key: storedMaterial(ec.KeyId), format: 'der', type: 'pkcs8' });
    expect(createPublicKey(stored).export({ type: 'spki', format: 'der' }).equals(pair.publicKey.export({ type: 'spki', format: 'der' }))).toBe(true);

    const rsa = externalKey({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' });
    const rsaPair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    importMaterial(rsa.KeyId, rsaPair.privateKey.export({ type: 'pkcs8', format: 'der' }), {}, 'RSA_AES_KEY_WRAP_SHA_256', 'RSA_3072');
    expect(describe_(rsa.KeyId)).toMatchObject({ KeyState: 'Enabled', EncryptionAlgorithms: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] });
    const storedRsa = createPrivateKey({ key: storedMaterial(rsa.KeyId), format: 'der', type: 'pkcs8' });
    expect(createPublicKey(storedRsa).export({ format: 'jwk' }).n).toBe(rsaPair.publicKey.export({ format: 'jwk' }).n);
  });
});

describe('the trail', () => {
  it('records the import without the token, the wrapped material or the material; AWS\'s fields and readOnly', () => {
    const k = externalKey();
    const material = randomBytes(32);
    const validTo = new Date(Date.UTC(2099, 0, 1, 5, 47, 45));
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date(Date.UTC(2098, 11, 1)));
    const p = call('GetParametersForImport', { KeyId: k.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' });
    const wrapped = wrapMaterial(p.PublicKey, material, 'RSAES_OAEP_SHA_256');
    const out = call('ImportKeyMaterial', {
      KeyId: k.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrapped, ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: validTo,
      ImportType: 'NEW_KEY_MATERIAL', KeyMaterialDescription: 'ExampleKeyMaterialA',
    });
    call('DeleteImportedKeyMaterial', { KeyId: k.KeyId, KeyMaterialId: out.KeyMaterialId });
    vi.useRealTimers();
    const gp = records('GetParametersForImport').pop()!;
    expect(gp).toMatchObject({
      requestParameters: { keyId: k.KeyId, wrappingAlgorithm: 'RSAES_OAEP_SHA_256', wrappingKeySpec: 'RSA_2048' }, responseElements: null, readOnly: true,
      resources: [{ accountId: '123456789012', ARN: k.Arn }],
    });
    const imp = records('ImportKeyMaterial').pop()!;
    expect(imp.requestParameters).toEqual({
      keyId: k.KeyId, validTo: 'Jan 1, 2099, 5:47:45 AM', expirationModel: 'KEY_MATERIAL_EXPIRES', importType: 'NEW_KEY_MATERIAL', keyMaterialDescription: 'ExampleKeyMaterialA',
    });
    expect(imp).toMatchObject({ responseElements: { keyId: k.Arn, keyMaterialId: out.KeyMaterialId }, readOnly: false });
    const del = records('DeleteImportedKeyMaterial').pop()!;
    expect(del).toMatchObject({ requestParameters: { keyId: k.KeyId, keyMaterialId: out.KeyMaterialId }, responseElements: { keyId: k.Arn, keyMaterialId: out.KeyMaterialId } });
    const text = JSON.stringify([gp, imp, del]);
    for (const secret of [p.ImportToken, wrapped, material, p.PublicKey]) {
      const bytes = Buffer.from(secret);
      expect(text).not.toContain(bytes.toString('base64').slice(0, 24));
      expect(text).not.toContain(bytes.toString('hex').slice(0, 24));
    }
  });
});

describe('responses against the SDK model', () => {
  const sdkMembers = (shape: string) => ((sdk as unknown as Record<string, unknown[]>)[`${shape}$`]![4] as string[]);
  const extra = (answer: Record<string, unknown>, shape: string) => Object.keys(answer).filter((k) => !sdkMembers(shape).includes(k));

  it('every member ebsim answers with is one of the model\'s output members', () => {
    const k = externalKey();
    const p = call('GetParametersForImport', { KeyId: k.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' });
    const imported = call('ImportKeyMaterial', {
      KeyId: k.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrapMaterial(p.PublicKey, randomBytes(32), 'RSAES_OAEP_SHA_256'),
      ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: new Date(Date.now() + 3600_000),
    });
    const enc = call('Encrypt', { KeyId: k.KeyId, Plaintext: Buffer.from('m') });
    const answers: [Record<string, unknown>, string][] = [
      [p, 'GetParametersForImportResponse'],
      [imported, 'ImportKeyMaterialResponse'],
      [describe_(k.KeyId), 'KeyMetadata'],
      [call('Decrypt', { CiphertextBlob: enc.CiphertextBlob }), 'DecryptResponse'],
      [call('ReEncrypt', { CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: k.KeyId }), 'ReEncryptResponse'],
      [call('GenerateDataKey', { KeyId: k.KeyId, NumberOfBytes: 8 }), 'GenerateDataKeyResponse'],
      [call('GenerateDataKeyWithoutPlaintext', { KeyId: k.KeyId, NumberOfBytes: 8 }), 'GenerateDataKeyWithoutPlaintextResponse'],
      [call('ListKeyRotations', { KeyId: k.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }).Rotations[0], 'RotationsListEntry'],
      [call('GetKeyLastUsage', { KeyId: k.KeyId }), 'GetKeyLastUsageResponse'],
      [call('GetKeyLastUsage', { KeyId: k.KeyId }).KeyLastUsage, 'KeyLastUsageData'],
      [call('DescribeCustomKeyStores', {}), 'DescribeCustomKeyStoresResponse'],
      [call('DeleteImportedKeyMaterial', { KeyId: k.KeyId }), 'DeleteImportedKeyMaterialResponse'],
    ];
    for (const [answer, shape] of answers) expect(extra(answer, shape), shape).toEqual([]);
    // The new members are there.
    expect(answers[2]![0]).toHaveProperty('ValidTo');
    expect(answers[3]![0]).toHaveProperty('KeyMaterialId');
    expect(answers[4]![0]).toHaveProperty('SourceKeyMaterialId');
    expect(answers[5]![0]).toHaveProperty('KeyMaterialId');
  });
});
