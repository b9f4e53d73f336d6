// Lifecycle work that comes due with time (a key's deletion, an automatic rotation) is done by
// the invoke path before the next call, and recorded as AWS records it: a service event.
// Reads never do it: a key past its deletion date is simply gone for them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { errorCode, makeHome, type TestHome } from '../helpers/home.js';
import type { CallContext } from '../../src/core/call-context.js';
import type { KmsService } from '../../src/kms/service.js';
import { allRecords } from '../../src/trail/lookup.js';
import { noteLocalWrite } from '../../src/store/read-cache.js';

let h: TestHome;
let kms: KmsService;
let alice: CallContext;

beforeAll(() => {
  h = makeHome();
  kms = h.app.kms();
  alice = h.app.as('Alice');
});
afterAll(() => h.cleanup());

const createKey = () => (kms.call(alice, 'CreateKey', {}).KeyMetadata as { KeyId: string; Arn: string });
const serviceEvents = (name: string) => {
  h.app.trail.flush();
  return allRecords(h.app.db).filter((r) => r.eventType === 'AwsServiceEvent' && r.eventName === name);
};
/** A write behind the service's back (as another process would do), so its caches see it. */
const backdate = (column: 'deletion_date' | 'next_rotation_at', keyId: string) => {
  h.app.db.prepare(`UPDATE kms_keys SET ${column} = ? WHERE key_id = ?`).run(new Date(Date.now() - 1000).toISOString(), keyId);
  noteLocalWrite(h.app.db);
};
const keyView = (svc: KmsService, keyId: string) => svc.inventory().keys.find((x) => x.KeyId === keyId)!;
/** Commits by anyone but `observer` since the last call (SQLite's data_version moves only for other connections). */
const dataVersion = (observer: Database.Database) => observer.pragma('data_version', { simple: true }) as number;

describe('due lifecycle work', () => {
  it('a key past its deletion date is gone for reads, which write nothing; the next call deletes it and records DeleteKey once', () => {
    const k = createKey();
    kms.call(alice, 'ScheduleKeyDeletion', { KeyId: k.KeyId, PendingWindowInDays: 7 });
    backdate('deletion_date', k.KeyId);
    const observer = new Database(h.app.paths.database, { readonly: true });
    try {
      const before = dataVersion(observer);
      expect(kms.inventory().keys.map((x) => x.KeyId)).not.toContain(k.KeyId);
      expect(dataVersion(observer)).toBe(before);
      expect(h.app.db.prepare('SELECT count(*) AS n FROM kms_keys WHERE key_id = ?').get(k.KeyId)).toEqual({ n: 1 });
      expect(serviceEvents('DeleteKey')).toHaveLength(0);

      expect(errorCode(() => kms.call(alice, 'DescribeKey', { KeyId: k.KeyId }))).toBe('NotFoundException');
      expect(h.app.db.prepare('SELECT count(*) AS n FROM kms_keys WHERE key_id = ?').get(k.KeyId)).toEqual({ n: 0 });
      kms.call(alice, 'ListKeys', {});
      const events = serviceEvents('DeleteKey');
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        eventSource: 'kms.amazonaws.com', userIdentity: { accountId: '123456789012', invokedBy: 'AWS Internal' }, sourceIPAddress: 'AWS Internal',
        requestParameters: null, responseElements: { keyId: k.Arn }, readOnly: false, managementEvent: true, eventCategory: 'Management',
        resources: [{ accountId: '123456789012', type: 'AWS::KMS::Key', ARN: k.Arn }], recipientAccountId: '123456789012',
      });
      // The service event comes before the call that found the work due.
      h.app.trail.flush();
      const names = allRecords(h.app.db).map((r) => `${r.eventType}:${r.eventName}`);
      expect(names.indexOf('AwsServiceEvent:DeleteKey')).toBe(names.lastIndexOf('AwsApiCall:DescribeKey') - 1);
    } finally {
      observer.close();
    }
  });

  it('an automatic rotation due is done before the next call of any key, recorded as RotateKey', () => {
    const k = createKey();
    const other = createKey();
    kms.call(alice, 'EnableKeyRotation', { KeyId: k.KeyId });
    backdate('next_rotation_at', k.KeyId);
    expect(keyView(kms, k.KeyId).KeyVersions).toBe(1);
    // A call about another key still runs the due work.
    kms.call(alice, 'DescribeKey', { KeyId: other.KeyId });
    expect(keyView(kms, k.KeyId).KeyVersions).toBe(2);
    expect(keyView(kms, k.KeyId).NextRotationDate!.getTime()).toBeGreaterThan(Date.now() + 364 * 86400_000);
    const events = serviceEvents('RotateKey');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ serviceEventDetails: { rotationType: 'AUTOMATIC', keyId: k.KeyId }, resources: [{ ARN: k.Arn, type: 'AWS::KMS::Key' }] });
    kms.call(alice, 'DescribeKey', { KeyId: other.KeyId });
    expect(serviceEvents('RotateKey')).toHaveLength(1);
  });

  it('a disabled key does not rotate while disabled', () => {
    const k = createKey();
    kms.call(alice, 'EnableKeyRotation', { KeyId: k.KeyId });
    kms.call(alice, 'DisableKey', { KeyId: k.KeyId });
    backdate('next_rotation_at', k.KeyId);
    kms.call(alice, 'ListKeys', {});
    expect(keyView(kms, k.KeyId).KeyVersions).toBe(1);
    kms.call(alice, 'EnableKey', { KeyId: k.KeyId });
    kms.call(alice, 'ListKeys', {});
    expect(keyView(kms, k.KeyId).KeyVersions).toBe(2);
  });
});
