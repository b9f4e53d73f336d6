// GetKeyLastUsage (issue 14): each key's last successful cryptographic operation, with the
// eventID and requestID of its CloudTrail record; kept in memory and written at most once a
// second, to the trail's database (another process sees it after that write, and the state
// database's data_version does not move).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { errorCode, makeHome, type TestHome } from '../helpers/home.js';
import type { CallContext } from '../../src/core/call-context.js';
import type { KmsService } from '../../src/kms/service.js';
import { openEbsim } from '../../src/app/ebsim.js';
import { allRecords } from '../../src/trail/lookup.js';
import { FLUSH_INTERVAL_MS } from '../../src/kms/last-usage.js';

let h: TestHome;
let kms: KmsService;
let alice: CallContext;

beforeAll(() => {
  h = makeHome('ebsim-last-usage-');
  kms = h.app.kms();
  alice = h.app.as('Alice');
});
afterAll(() => h.cleanup());

type Key = { KeyId: string; Arn: string; CreationDate: Date };
const newKey = () => kms.call(alice, 'CreateKey', {}).KeyMetadata as Key;
const lastUsage = (svc: KmsService, KeyId: string) => svc.call(alice, 'GetKeyLastUsage', { KeyId }) as Record<string, any>;
const lastRecord = (name: string) => {
  h.app.trail.flush();
  return allRecords(h.app.db).filter((r) => r.eventName === name).pop()!;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('GetKeyLastUsage', () => {
  it('a key never used: an empty KeyLastUsage, tracking from its creation', () => {
    const k = newKey();
    expect(lastUsage(kms, k.KeyId)).toEqual({ KeyId: k.KeyId, KeyLastUsage: {}, TrackingStartDate: k.CreationDate, KeyCreationDate: k.CreationDate });
  });

  it('names the last successful cryptographic call: operation, time, and its record\'s eventID and requestID', () => {
    const k = newKey();
    const blob = kms.call(alice, 'Encrypt', { KeyId: k.KeyId, Plaintext: Buffer.from('x'), EncryptionContext: { a: 'b' } }).CiphertextBlob;
    const enc = lastRecord('Encrypt');
    expect(lastUsage(kms, k.Arn).KeyLastUsage).toEqual({ Operation: 'Encrypt', Timestamp: new Date(enc.eventTime), CloudTrailEventId: enc.eventID, KmsRequestId: enc.requestID });
    kms.call(alice, 'Decrypt', { CiphertextBlob: blob, EncryptionContext: { a: 'b' } });
    expect(lastUsage(kms, k.KeyId).KeyLastUsage.Operation).toBe('Decrypt');
    // A failed call and a call that is not cryptographic change nothing.
    const before = lastUsage(kms, k.KeyId).KeyLastUsage;
    expect(errorCode(() => kms.call(alice, 'Decrypt', { CiphertextBlob: blob, EncryptionContext: { a: 'c' } }))).toBe('InvalidCiphertextException');
    kms.call(alice, 'DescribeKey', { KeyId: k.KeyId });
    kms.call(alice, 'GetKeyLastUsage', { KeyId: k.KeyId });
    expect(lastUsage(kms, k.KeyId).KeyLastUsage).toEqual(before);
    // ReEncrypt uses two keys: each records it.
    const other = newKey();
    kms.call(alice, 'ReEncrypt', { CiphertextBlob: blob, SourceEncryptionContext: { a: 'b' }, DestinationKeyId: other.KeyId });
    const re = lastRecord('ReEncrypt');
    for (const id of [k.KeyId, other.KeyId]) expect(lastUsage(kms, id).KeyLastUsage).toMatchObject({ Operation: 'ReEncrypt', CloudTrailEventId: re.eventID });
    kms.call(alice, 'GenerateDataKeyWithoutPlaintext', { KeyId: other.Arn, NumberOfBytes: 32 });
    expect(lastUsage(kms, other.KeyId).KeyLastUsage.Operation).toBe('GenerateDataKeyWithoutPlaintext');
  });

  it('takes a key ID or key ARN only; an unknown key is NotFoundException; the call is recorded read-only', () => {
    const k = newKey();
    kms.call(alice, 'CreateAlias', { AliasName: 'alias/last-usage', TargetKeyId: k.KeyId });
    expect(errorCode(() => lastUsage(kms, 'alias/last-usage'))).toBe('InvalidArnException');
    expect(errorCode(() => lastUsage(kms, '11111111-2222-3333-4444-555555555555'))).toBe('NotFoundException');
    lastUsage(kms, k.KeyId);
    expect(lastRecord('GetKeyLastUsage')).toMatchObject({ requestParameters: { keyId: k.KeyId }, responseElements: null, readOnly: true });
    // Every key state: a key pending deletion still answers.
    kms.call(alice, 'ScheduleKeyDeletion', { KeyId: k.KeyId, PendingWindowInDays: 7 });
    expect(lastUsage(kms, k.KeyId).KeyId).toBe(k.KeyId);
  });

  it('is written at most once a second: another process sees the first use at once, a later one after the interval, and the state database does not change', async () => {
    const k = newKey();
    const blob = kms.call(alice, 'Encrypt', { KeyId: k.KeyId, Plaintext: Buffer.from('x') }).CiphertextBlob;
    // The Encrypt may wait up to a second for its write; after that, a second with no write.
    await sleep(2 * FLUSH_INTERVAL_MS + 100);
    const observer = new Database(h.app.paths.database, { readonly: true });
    const other = openEbsim(h.dir);
    try {
      const version = observer.pragma('data_version', { simple: true });
      kms.call(alice, 'Decrypt', { CiphertextBlob: blob }); // written at once: the last write is more than a second ago
      kms.call(alice, 'GenerateDataKey', { KeyId: k.KeyId, NumberOfBytes: 16 }); // kept in memory for now
      const theirs = () => lastUsage(other.kms(), k.KeyId).KeyLastUsage.Operation;
      expect(lastUsage(kms, k.KeyId).KeyLastUsage.Operation).toBe('GenerateDataKey');
      expect(theirs()).toBe('Decrypt');
      await sleep(FLUSH_INTERVAL_MS + 100);
      expect(theirs()).toBe('GenerateDataKey');
      expect(observer.pragma('data_version', { simple: true })).toBe(version);
    } finally {
      observer.close();
      other.close();
    }
  });

  it('with a background trail writer, that thread saves the uses: a save while another connection holds the trail\'s write lock neither waits nor fails, and is committed with the trail', () => {
    const app = openEbsim(h.dir);
    const locker = new Database(h.app.paths.trail);
    try {
      app.trail.useBackgroundWriter({ retention: false });
      const svc = app.kms();
      const k = svc.call(alice, 'CreateKey', {}).KeyMetadata as Key;
      const stored = () => (locker.prepare('SELECT operation FROM kms_key_last_usage WHERE key_id = ?').pluck().get(k.Arn) as string | undefined) ?? null;
      locker.exec('BEGIN IMMEDIATE');
      // This process's first use is saved at once: handed to the writer, which waits for the lock.
      svc.call(alice, 'Encrypt', { KeyId: k.KeyId, Plaintext: Buffer.from('x') });
      expect(lastUsage(svc, k.KeyId).KeyLastUsage.Operation).toBe('Encrypt');
      expect(stored()).toBeNull();
      locker.exec('COMMIT');
      // The trail's own flush waits for the writer: the use is in with the records, no second save needed.
      app.trail.flush();
      expect(stored()).toBe('Encrypt');
    } finally {
      if (locker.inTransaction) locker.exec('ROLLBACK');
      locker.close();
      app.close();
    }
  });

  it('closing the home writes what is pending; TrackingStartDate is when tracking began for a key made before', () => {
    const dir = h.dir;
    const app = openEbsim(dir);
    const k = app.kms().call(alice, 'CreateKey', {}).KeyMetadata as Key;
    const svc = app.kms();
    svc.call(alice, 'Encrypt', { KeyId: k.KeyId, Plaintext: Buffer.from('1') });
    svc.call(alice, 'Encrypt', { KeyId: k.KeyId, Plaintext: Buffer.from('2') });
    svc.call(alice, 'GenerateDataKey', { KeyId: k.KeyId, NumberOfBytes: 16 });
    app.close();
    // As if tracking had begun after the key was made (a home older than GetKeyLastUsage).
    const later = new Date(k.CreationDate.getTime() + 5000);
    h.app.db.prepare('UPDATE trail.kms_usage_tracking SET started_at = ?').run(later.toISOString());
    const again = openEbsim(dir);
    try {
      const r = lastUsage(again.kms(), k.KeyId);
      expect(r.KeyLastUsage.Operation).toBe('GenerateDataKey');
      expect(r.TrackingStartDate).toEqual(later);
      expect(r.KeyCreationDate).toEqual(k.CreationDate);
    } finally {
      again.close();
    }
  });
});
