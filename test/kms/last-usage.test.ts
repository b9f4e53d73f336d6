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
import { BUSY_RETRY_MS, FLUSH_INTERVAL_MS } from '../../src/kms/last-usage.js';

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

  it('never waits on the request path for another connection\'s write lock: the use is written once the lock is free', async () => {
    const k = newKey();
    const blob = kms.call(alice, 'Encrypt', { KeyId: k.KeyId, Plaintext: Buffer.from('x') }).CiphertextBlob;
    await sleep(FLUSH_INTERVAL_MS + 100);
    // Another connection (as the trail's writer thread or another worker process) holds the trail's write lock.
    const holder = new Database(h.app.paths.trail);
    const other = openEbsim(h.dir);
    const theirs = () => lastUsage(other.kms(), k.KeyId).KeyLastUsage.Operation;
    try {
      expect(theirs()).toBe('Encrypt'); // (opened before the lock is taken)
      holder.exec('BEGIN IMMEDIATE');
      const started = performance.now();
      kms.call(alice, 'Decrypt', { CiphertextBlob: blob }); // due for a write, which finds the lock taken
      // The store's busy timeout is 30 s: a flush that queued for the lock would still be waiting.
      expect(performance.now() - started).toBeLessThan(1000);
      expect(lastUsage(kms, k.KeyId).KeyLastUsage.Operation).toBe('Decrypt');
      expect(theirs()).toBe('Encrypt');
      holder.exec('COMMIT');
      // Retried every BUSY_RETRY_MS until it finds the lock free.
      for (let waited = 0; theirs() !== 'Decrypt' && waited < 5000; waited += BUSY_RETRY_MS) await sleep(BUSY_RETRY_MS);
      expect(theirs()).toBe('Decrypt');
    } finally {
      if (holder.inTransaction) holder.exec('ROLLBACK');
      holder.close();
      other.close();
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
