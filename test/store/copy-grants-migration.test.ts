// A home made before copies noted their workers' grants (no ec2_copy_grants table), holding copies
// an older ebsim left half-made (a snapshot `pending`, a volume `creating`, each with its worker's
// grant live, as a kill -9 left them): it opens with those grants found by their grantee, and the
// next EC2 call settles the copies and retires the grants (EC2's infrastructure session for the
// copy, through EC2, the copy's caller being unknown). A finished copy's grantee is not touched.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { openEbsim, type Ebsim } from '../../src/app/ebsim.js';
import { onBehalfOf, type CallContext } from '../../src/core/call-context.js';
import { Ec2Store } from '../../src/ec2/store.js';
import { INTERRUPTED } from '../../src/ec2/image-jobs.js';
import { makeHome, type TestHome } from '../helpers/home.js';
import { brief, recordsDuring } from '../helpers/ebs.js';

const ACCOUNT = '123456789012';
const GRANTEE = (id: string) => `${ACCOUNT}:aws:ec2-infrastructure:${id}`;
const WORKER = (id: string) => `arn:aws:sts::${ACCOUNT}:assumed-role/aws:ec2-infrastructure/${id}`;
const PENDING = 'snap-00000000000000a01';
const CREATING = 'vol-00000000000000a02';

let h: TestHome;
let alice: CallContext;
let keyArn: string;
let done: string;
let app: Ebsim;
const grantIds = new Map<string, string>();

/** A grant to the worker making `id`, as EC2 makes one for a re-encrypting copy (for Alice). */
function workerGrant(a: Ebsim, id: string): string {
  return a.kms().call(onBehalfOf(alice, 'ec2'), 'CreateGrant', {
    KeyId: keyArn, GranteePrincipal: GRANTEE(id), RetiringPrincipal: `arn:aws:iam::${ACCOUNT}:root`, Operations: ['Decrypt'], Constraints: { EncryptionContextSubset: { 'aws:ebs:id': id } },
  }).GrantId as string;
}

const liveFor = (a: Ebsim, id: string) => (a.kms().call(alice, 'ListGrants', { KeyId: keyArn, GranteePrincipal: GRANTEE(id) }).Grants as { GrantId: string }[]).map((g) => g.GrantId);

beforeAll(() => {
  h = makeHome('ebsim-h20-copy-grants-migration-');
  alice = h.app.as('Alice');
  keyArn = (h.app.kms().call(alice, 'CreateKey', {}).KeyMetadata as { Arn: string }).Arn;
  const vol = h.app.ec2().createVolume(alice, { Size: 1, Encrypted: true, KmsKeyId: keyArn }).VolumeId as string;
  done = h.app.ec2().createSnapshot(alice, { VolumeId: vol }).SnapshotId as string;
  // The rows an older ebsim's dead copies left (no lock held, no image), and their workers' grants.
  const store = new Ec2Store(h.app.db, ACCOUNT, 'us-east-1');
  const src = h.app.ec2().snapshot(done);
  store.insertSnapshot({ ...src, snapshotId: PENDING, state: 'pending', progress: 30, contextId: PENDING, sourceId: done, volumeId: 'vol-ffffffff' });
  store.insertVolume({ ...h.app.ec2().volume(vol), volumeId: CREATING, state: 'creating', snapshotId: done, instanceId: null, device: null, attachTime: null, grantId: null });
  for (const id of [PENDING, CREATING, done]) grantIds.set(id, workerGrant(h.app, id));
  h.app.close();
  // As the older ebsim's home was: no table for the copies' grants.
  const db = new Database(join(h.dir, 'ebsim.db'));
  try {
    db.exec('DROP TABLE ec2_copy_grants');
  } finally {
    db.close();
  }
  app = openEbsim(h.dir);
});
afterAll(() => {
  app?.close();
  h.cleanup();
});

describe('a home from before ec2_copy_grants, with copies an older ebsim left half-made', () => {
  it('opens with the grants of its unfinished copies noted (caller unknown), not a finished copy\'s', () => {
    const rows = app.db.prepare('SELECT grant_id, resource_id, account_id, region, key_arn, caller FROM ec2_copy_grants ORDER BY resource_id').all();
    expect(rows).toEqual([
      { grant_id: grantIds.get(PENDING), resource_id: PENDING, account_id: ACCOUNT, region: 'us-east-1', key_arn: keyArn, caller: null },
      { grant_id: grantIds.get(CREATING), resource_id: CREATING, account_id: ACCOUNT, region: 'us-east-1', key_arn: keyArn, caller: null },
    ]);
  });

  it('the next EC2 call settles both as interrupted and retires their grants (the worker\'s session, through EC2)', () => {
    expect(liveFor(app, PENDING)).toEqual([grantIds.get(PENDING)]);
    const recs = recordsDuring({ ...h, app }, () => app.ec2().describeSnapshots(alice));
    expect(brief(recs)).toEqual([['RetireGrant', WORKER(PENDING), 'ok'], ['RetireGrant', WORKER(CREATING), 'ok'], ['DescribeSnapshots', 'Alice', 'ok']]);
    expect(recs[0]).toMatchObject({ additionalEventData: { grantId: grantIds.get(PENDING) }, userIdentity: { invokedBy: 'AWS Internal' } });
    expect(app.ec2().snapshot(PENDING)).toMatchObject({ state: 'error', stateMessage: INTERRUPTED });
    expect(app.ec2().volume(CREATING)).toMatchObject({ state: 'error', stateMessage: INTERRUPTED });
    expect([liveFor(app, PENDING), liveFor(app, CREATING)]).toEqual([[], []]);
    expect(app.db.prepare('SELECT count(*) FROM ec2_copy_grants').pluck().get()).toBe(0);
    // A finished copy's grantee is no copy's leftover: its grant is its owner's to retire.
    expect(liveFor(app, done)).toEqual([grantIds.get(done)]);
  });
});
