// Sharing a snapshot with another account of the home (the EBS user guide's "Share an Amazon EBS
// snapshot"): ModifySnapshotAttribute's createVolumePermission in EC2's CloudTrail shape,
// DescribeSnapshotAttribute, ResetSnapshotAttribute; an encrypted snapshot never public, one under
// aws/ebs never shared; the other account copies it (or creates a volume from it) only once the
// owner's key policy lets it use the key, re-encrypting every sector under its own key (checked
// with OpenSSL's XTS under both data keys), each KMS call in the trail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initHome } from '../../src/app/ebsim.js';
import type { CallContext } from '../../src/core/call-context.js';
import type { Ec2Service } from '../../src/ec2/index.js';
import { errorCode, makeHome, type TestHome } from '../helpers/home.js';
import { brief, readSector, recordsDuring, runInstance, writeThroughHost, writtenSectors, xtsDecryptSector, SECTOR } from '../helpers/ebs.js';
import type { TrailRecord } from '../../src/trail/index.js';

const A = '123456789012'; // owns the snapshots
const B = '111122223333'; // the account they are shared with
const doc = (...statements: Record<string, unknown>[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
/** The key policy the EBS user guide asks for before sharing: the owner's default statement, and B allowed to use the key and create grants on it. */
const sharedKeyPolicy = doc(
  { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: 'kms:*', Resource: '*' },
  {
    Sid: 'Allow the other account to use this key', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${B}:root` },
    Action: ['kms:Decrypt', 'kms:DescribeKey', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:CreateGrant'], Resource: '*',
  },
);
const NOTE = Buffer.from('shared with account B, re-encrypted under its own key\n'.repeat(80).slice(0, SECTOR));

let h: TestHome;
let aliceA: CallContext;
let aliceB: CallContext;
let ec2A: Ec2Service;
let ec2B: Ec2Service;
let sharedKey: { KeyId: string; Arn: string };
let snapShared: string;
let volumeShared: string;

const kmsCall = (ctx: CallContext, op: string, params: Record<string, unknown>) => h.app.kms(ctx.principal.accountId).call(ctx, op, params);
const newKey = (ctx: CallContext, params: Record<string, unknown> = {}) => kmsCall(ctx, 'CreateKey', params).KeyMetadata as { KeyId: string; Arn: string };
const during = (fn: () => unknown): TrailRecord[] => recordsDuring(h, fn);
const permissionsOf = (snapshotId: string) => ec2A.call(aliceA, 'DescribeSnapshotAttribute', { SnapshotId: snapshotId, Attribute: 'createVolumePermission' });

/** A volume of A's under `keyId` with NOTE at sector 7, and its completed snapshot. */
async function snapshotUnder(keyId: string | undefined): Promise<{ volumeId: string; snapshotId: string }> {
  const instanceId = runInstance(h, aliceA);
  const volumeId = ec2A.createVolume(aliceA, { Size: 1, Encrypted: true, ...(keyId ? { KmsKeyId: keyId } : {}) }).VolumeId as string;
  await writeThroughHost(h, aliceA, volumeId, instanceId, [[7 * SECTOR, NOTE]]);
  return { volumeId, snapshotId: ec2A.createSnapshot(aliceA, { VolumeId: volumeId }).SnapshotId as string };
}

beforeAll(async () => {
  h = makeHome('ebsim-sharing-');
  initHome(h.dir, B);
  aliceA = h.app.as('Alice');
  aliceB = h.app.as('Alice', undefined, B);
  ec2A = h.app.ec2(A);
  ec2B = h.app.ec2(B);
  sharedKey = newKey(aliceA, { Description: 'shared with B', Policy: sharedKeyPolicy });
  ({ volumeId: volumeShared, snapshotId: snapShared } = await snapshotUnder(sharedKey.Arn));
}, 120_000);
afterAll(() => h.cleanup());

describe('createVolumePermission', () => {
  it('add, describe, remove, reset; ModifySnapshotAttribute recorded in EC2\'s shape', () => {
    expect(permissionsOf(snapShared)).toEqual({ SnapshotId: snapShared, CreateVolumePermissions: [] });
    const recs = during(() => ec2A.call(aliceA, 'ModifySnapshotAttribute', { SnapshotId: snapShared, Attribute: 'createVolumePermission', CreateVolumePermission: { Add: [{ UserId: B }] } }));
    // EC2 asks KMS which kind of key the snapshot is under (an AWS managed key cannot be shared).
    expect(brief(recs)).toEqual([['DescribeKey', 'Alice via EC2', 'ok'], ['ModifySnapshotAttribute', 'Alice', 'ok']]);
    expect(recs[1]).toMatchObject({
      eventSource: 'ec2.amazonaws.com',
      requestParameters: { snapshotId: snapShared, createVolumePermission: { add: { items: [{ userId: B }] } }, attributeType: 'CREATE_VOLUME_PERMISSION' },
      responseElements: { _return: true },
    });
    expect(permissionsOf(snapShared)).toEqual({ SnapshotId: snapShared, CreateVolumePermissions: [{ UserId: B }] });
    // The older form: UserIds with OperationType.
    ec2A.call(aliceA, 'ModifySnapshotAttribute', { SnapshotId: snapShared, UserIds: [B], OperationType: 'remove' });
    expect(permissionsOf(snapShared)).toEqual({ SnapshotId: snapShared, CreateVolumePermissions: [] });
    ec2A.call(aliceA, 'ModifySnapshotAttribute', { SnapshotId: snapShared, CreateVolumePermission: { Add: [{ UserId: B }, { UserId: '444455556666' }] } });
    ec2A.call(aliceA, 'ResetSnapshotAttribute', { SnapshotId: snapShared, Attribute: 'createVolumePermission' });
    expect(permissionsOf(snapShared)).toEqual({ SnapshotId: snapShared, CreateVolumePermissions: [] });
  });

  it('refused in EC2\'s terms, each refusal recorded with its errorCode and errorMessage', () => {
    const modify = (params: Record<string, unknown>) => errorCode(() => ec2A.call(aliceA, 'ModifySnapshotAttribute', { SnapshotId: snapShared, ...params }));
    expect(modify({ CreateVolumePermission: { Add: [{ UserId: B }], Remove: [{ UserId: '444455556666' }] } })).toBe('InvalidParameterCombination');
    expect(modify({ CreateVolumePermission: { Add: [{ UserId: 'B' }] } })).toBe('InvalidParameterValue');
    expect(modify({ CreateVolumePermission: { Add: [{ Group: 'everyone' }] } })).toBe('InvalidParameterValue');
    expect(modify({ UserIds: [B] })).toBe('MissingParameter');
    expect(modify({})).toBe('MissingParameter');
    expect(modify({ Attribute: 'productCodes', CreateVolumePermission: { Add: [{ UserId: B }] } })).toBe('InvalidParameterValue');
    // An encrypted snapshot cannot be made public (EC2 API reference, ModifySnapshotAttribute).
    const recs = during(() => expect(modify({ CreateVolumePermission: { Add: [{ Group: 'all' }] } })).toBe('OperationNotPermitted'));
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ eventName: 'ModifySnapshotAttribute', errorCode: 'Client.OperationNotPermitted', errorMessage: 'Encrypted snapshots cannot be made public.', responseElements: null });
    expect(recs[0]!.requestParameters).toMatchObject({ createVolumePermission: { add: { items: [{ group: 'all' }] } } });
    expect(errorCode(() => ec2A.call(aliceA, 'ModifySnapshotAttribute', { SnapshotId: 'snap-0123456789abcdef0', CreateVolumePermission: { Add: [{ UserId: B }] } }))).toBe('InvalidSnapshot.NotFound');
    expect(permissionsOf(snapShared)).toEqual({ SnapshotId: snapShared, CreateVolumePermissions: [] });
  });

  it('a snapshot under aws/ebs cannot be shared: EC2 asks KMS the key\'s manager (DescribeKey, EC2 for the caller), then refuses', async () => {
    const { snapshotId } = await snapshotUnder(undefined);
    const recs = during(() => expect(errorCode(() => ec2A.call(aliceA, 'ModifySnapshotAttribute', { SnapshotId: snapshotId, CreateVolumePermission: { Add: [{ UserId: B }] } }))).toBe('OperationNotPermitted'));
    expect(brief(recs)).toEqual([['DescribeKey', 'Alice via EC2', 'ok'], ['ModifySnapshotAttribute', 'Alice', 'Client.OperationNotPermitted']]);
    expect(recs[1]!.errorMessage).toContain('cannot be shared with other accounts');
    // An unencrypted snapshot may even be public.
    const instanceId = runInstance(h, aliceA);
    const plain = ec2A.createVolume(aliceA, { Size: 1 }).VolumeId as string;
    await writeThroughHost(h, aliceA, plain, instanceId, [[0, NOTE]]);
    const plainSnap = ec2A.createSnapshot(aliceA, { VolumeId: plain }).SnapshotId as string;
    ec2A.call(aliceA, 'ModifySnapshotAttribute', { SnapshotId: plainSnap, CreateVolumePermission: { Add: [{ Group: 'all' }] } });
    expect(permissionsOf(plainSnap)).toEqual({ SnapshotId: plainSnap, CreateVolumePermissions: [{ Group: 'all' }] });
    const copy = ec2B.copySnapshot(aliceB, { SourceSnapshotId: plainSnap }).SnapshotId as string;
    expect(ec2B.snapshot(copy)).toMatchObject({ state: 'completed', encrypted: false });
    expect(readSector(ec2B.imagePath(copy), 0).equals(NOTE)).toBe(true);
  }, 60_000);
});

describe('the other account copies a shared encrypted snapshot', () => {
  it('not shared: InvalidSnapshot.NotFound, as if it did not exist', () => {
    expect(errorCode(() => ec2B.copySnapshot(aliceB, { SourceSnapshotId: snapShared }))).toBe('InvalidSnapshot.NotFound');
    expect(errorCode(() => ec2B.createVolume(aliceB, { SnapshotId: snapShared }))).toBe('InvalidSnapshot.NotFound');
  });

  it('shared, the key policy letting B use the key: a new data key under B\'s key, both opened by B\'s EC2 infrastructure through grants, every sector re-encrypted', () => {
    ec2A.call(aliceA, 'ModifySnapshotAttribute', { SnapshotId: snapShared, CreateVolumePermission: { Add: [{ UserId: B }] } });
    const keyOfB = newKey(aliceB, { Description: 'B\'s copies' });
    let copyId = '';
    const recs = during(() => (copyId = ec2B.copySnapshot(aliceB, { SourceSnapshotId: snapShared, Encrypted: true, KmsKeyId: keyOfB.Arn }).SnapshotId as string));
    const worker = `arn:aws:sts::${B}:assumed-role/aws:ec2-infrastructure/${copyId}`;
    expect(brief(recs)).toEqual([
      ['CopySnapshot', 'Alice', 'ok'],
      ['DescribeKey', 'Alice via EC2', 'ok'],
      ['GenerateDataKeyWithoutPlaintext', 'Alice via EC2', 'ok'],
      ['CreateGrant', 'Alice via EC2', 'ok'],
      ['CreateGrant', 'Alice via EC2', 'ok'],
      ['Decrypt', worker, 'ok'],
      ['Decrypt', worker, 'ok'],
      ['RetireGrant', 'Alice via EC2', 'ok'],
      ['RetireGrant', 'Alice via EC2', 'ok'],
    ]);
    // B's Alice made every call; the grant and Decrypt on A's key are A's records too (recipientAccountId).
    expect(recs.every((r) => (r.userIdentity as { accountId: string }).accountId === B)).toBe(true);
    const onKey = (r: TrailRecord) => r.resources?.[0]?.ARN;
    expect(recs.filter((r) => onKey(r) === sharedKey.Arn).map((r) => [r.eventName, r.recipientAccountId])).toEqual([['CreateGrant', A], ['Decrypt', A], ['RetireGrant', A]]);
    expect(recs[3]!.requestParameters).toMatchObject({ keyId: sharedKey.Arn, granteePrincipal: `${B}:aws:ec2-infrastructure:${copyId}`, constraints: { encryptionContextSubset: { 'aws:ebs:id': volumeShared } } });
    const copy = ec2B.snapshot(copyId);
    expect(copy).toMatchObject({ state: 'completed', encrypted: true, kmsKeyArn: keyOfB.Arn, ownerId: B, volumeId: 'vol-ffffffff' });
    // Authorised principals fetch both data keys: A's Alice the source's, B's Alice the copy's.
    const src = ec2A.snapshot(snapShared);
    const oldKey = Buffer.from(kmsCall(aliceA, 'Decrypt', { CiphertextBlob: src.encryptedDataKey!, EncryptionContext: { 'aws:ebs:id': volumeShared } }).Plaintext as Uint8Array);
    const newKeyBytes = Buffer.from(kmsCall(aliceB, 'Decrypt', { CiphertextBlob: copy.encryptedDataKey!, EncryptionContext: { 'aws:ebs:id': copyId } }).Plaintext as Uint8Array);
    expect(newKeyBytes.equals(oldKey)).toBe(false);
    const sectors = writtenSectors(ec2A.imagePath(snapShared));
    expect(sectors).toContain(7);
    expect(writtenSectors(ec2B.imagePath(copyId))).toEqual(sectors);
    for (const s of sectors) {
      const before = readSector(ec2A.imagePath(snapShared), s);
      const after = readSector(ec2B.imagePath(copyId), s);
      expect(after.equals(before), `sector ${s}`).toBe(false);
      expect(xtsDecryptSector(newKeyBytes, s, after).equals(xtsDecryptSector(oldKey, s, before)), `sector ${s}`).toBe(true);
    }
    expect(xtsDecryptSector(newKeyBytes, 7, readSector(ec2B.imagePath(copyId), 7)).equals(NOTE)).toBe(true);
    // Neither account keeps a grant from the copy.
    expect(kmsCall(aliceA, 'ListGrants', { KeyId: sharedKey.Arn }).Grants).toEqual([]);
  });

  it('without a KmsKeyId the copy is under B\'s default key (aws/ebs), never the owner\'s; CreateVolume from the shared snapshot likewise', () => {
    const copyId = ec2B.copySnapshot(aliceB, { SourceSnapshotId: snapShared }).SnapshotId as string;
    const copy = ec2B.snapshot(copyId);
    expect(copy.state).toBe('completed');
    expect(copy.kmsKeyArn).toMatch(new RegExp(`^arn:aws:kms:us-east-1:${B}:key/`));
    const awsEbsOfB = (h.app.kms(B).inventory().aliases.find((a) => a.AliasName === 'alias/aws/ebs'))!.TargetKeyId;
    expect(copy.kmsKeyArn!.endsWith(awsEbsOfB)).toBe(true);
    const vol = ec2B.createVolume(aliceB, { SnapshotId: snapShared }).VolumeId as string;
    expect(ec2B.volume(vol)).toMatchObject({ state: 'available', encrypted: true, kmsKeyArn: copy.kmsKeyArn });
  });

  it('shared, but the key policy does not let B use the key: the copy ends in error, the refused CreateGrant in the trail', async () => {
    const privateKey = newKey(aliceA, { Description: 'default policy: A only' });
    const { snapshotId } = await snapshotUnder(privateKey.Arn);
    ec2A.call(aliceA, 'ModifySnapshotAttribute', { SnapshotId: snapshotId, CreateVolumePermission: { Add: [{ UserId: B }] } });
    let copyId = '';
    const recs = during(() => (copyId = ec2B.copySnapshot(aliceB, { SourceSnapshotId: snapshotId }).SnapshotId as string));
    const refused = recs.find((r) => r.errorCode);
    expect(refused).toMatchObject({ eventName: 'CreateGrant', errorCode: 'AccessDeniedException', resources: [{ ARN: privateKey.Arn }] });
    expect(recs.filter((r) => r.eventName === 'Decrypt')).toEqual([]);
    const copy = ec2B.snapshot(copyId);
    expect(copy.state).toBe('error');
    expect(copy.stateMessage).toContain('AccessDeniedException');
    // The owner lets B in (key policy), and the copy succeeds.
    kmsCall(aliceA, 'PutKeyPolicy', { KeyId: privateKey.KeyId, PolicyName: 'default', Policy: sharedKeyPolicy });
    const again = ec2B.copySnapshot(aliceB, { SourceSnapshotId: snapshotId }).SnapshotId as string;
    expect(ec2B.snapshot(again).state).toBe('completed');
  }, 60_000);
});
