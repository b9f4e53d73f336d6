// CopySnapshot as ebsim models "Copy an Amazon EBS snapshot" and "How Amazon EBS uses AWS KMS":
// the copy's data key is bound to the copy's own ID; under the same KMS key it is the source's
// data key (ReEncrypt) over a sparse copy of the same ciphertext; under another key, or from an
// unencrypted source made encrypted, it is a new data key and every written sector is decrypted
// with the source's key and encrypted with the new one by EC2's infrastructure role through
// grants. Each KMS call is checked in the trail, and every re-encrypted sector against OpenSSL's
// XTS-AES-256 under the new data key, fetched by decrypting the copy's encrypted data key.
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, errorCode, type TestHome } from '../helpers/home.js';
import { ebsimIn } from '../helpers/cli.js';
import { onBehalfOf, type CallContext } from '../../src/core/call-context.js';
import type { TrailRecord } from '../../src/trail/index.js';
import type { Snapshot } from '../../src/ec2/index.js';
import {
  brief, contextOf, imageDigest, plaintextKey, readSector, recordsDuring, runInstance, writeThroughHost, writtenSectors, xtsDecryptSector, xtsEncryptSector, SECTOR,
} from '../helpers/ebs.js';

const ACCOUNT = '123456789012';
const MIB = 1 << 20;
const WORKER = (id: string) => `arn:aws:sts::${ACCOUNT}:assumed-role/aws:ec2-infrastructure/${id}`;
const GRANTEE = (id: string) => `${ACCOUNT}:aws:ec2-infrastructure:${id}`;
const ctxOf = (id: string) => ({ 'aws:ebs:id': id });

let h: TestHome;
let alice: CallContext;
let viaEc2: CallContext;
let keyA: { KeyId: string; Arn: string };
let keyB: { KeyId: string; Arn: string };
/** A snapshot of a volume under key A, with data in sectors 0, 1, 76801 and 179200. */
let snapA: Snapshot;
let volumeA: string;
/** A snapshot of an unencrypted volume. */
let plainSnap: Snapshot;

const ec2 = () => h.app.ec2();
const newKey = (description: string) => h.app.kms().call(alice, 'CreateKey', { Description: description }).KeyMetadata as { KeyId: string; Arn: string };
const copy = (params: Record<string, unknown>, ctx = alice) => ec2().call(ctx, 'CopySnapshot', params) as { SnapshotId: string };
const keyArnOf = (r: TrailRecord) => r.resources?.[0]?.ARN;

/** The snapshot made by `fn` (the last CreateSnapshot's), as stored. */
function snapshotOf(volumeId: string): Snapshot {
  const r = ec2().createSnapshot(alice, { VolumeId: volumeId }) as { SnapshotId: string };
  return ec2().snapshot(r.SnapshotId);
}

/**
 * The re-encryption proof: the copy's written sectors are exactly the source's, each one OpenSSL's
 * XTS-AES-256 under `newKey` of the source's plaintext (decrypted under `oldKey`, or as stored for
 * an unencrypted source), and none is the source's ciphertext.
 */
function expectReencrypted(sourceImage: string, copyImage: string, oldKey: Buffer | null, newKey: Buffer): string[] {
  const sectors = writtenSectors(sourceImage);
  expect(sectors.length).toBeGreaterThan(0);
  expect(writtenSectors(copyImage)).toEqual(sectors);
  const plaintexts: string[] = [];
  for (const s of sectors) {
    const before = readSector(sourceImage, s);
    const plaintext = oldKey ? xtsDecryptSector(oldKey, s, before) : before;
    const after = readSector(copyImage, s);
    expect(after.equals(xtsEncryptSector(newKey, s, plaintext)), `sector ${s}`).toBe(true);
    expect(xtsDecryptSector(newKey, s, after).equals(plaintext)).toBe(true);
    expect(after.equals(before)).toBe(false);
    plaintexts.push(plaintext.toString('latin1').replace(/\0+$/, ''));
  }
  return plaintexts;
}

beforeAll(async () => {
  h = makeHome('ebsim-copy-snapshot-');
  alice = h.app.as('Alice');
  viaEc2 = onBehalfOf(alice, 'ec2');
  keyA = newKey('source key');
  keyB = newKey('target key');
  const inst = runInstance(h, alice);
  volumeA = ec2().createVolume(alice, { Size: 1, Encrypted: true, KmsKeyId: keyA.Arn }).VolumeId as string;
  await writeThroughHost(h, alice, volumeA, inst, [[0, Buffer.from('alpha')], [SECTOR, Buffer.from('alpha two')], [300 * MIB + 4096, Buffer.from('beta')], [700 * MIB, Buffer.from('gamma')]]);
  snapA = snapshotOf(volumeA);
  const plainVolume = ec2().createVolume(alice, { Size: 1 }).VolumeId as string;
  await writeThroughHost(h, alice, plainVolume, inst, [[4096, Buffer.from('plain delta')], [512 * MIB, Buffer.from('plain epsilon')]]);
  plainSnap = snapshotOf(plainVolume);
});
afterAll(() => h.cleanup());

describe('a copy under the source\'s own key', () => {
  it('rebinds the same data key to the copy\'s ID (ReEncrypt, EC2 for Alice) and copies the ciphertext as it is', () => {
    let c: { SnapshotId: string } | undefined;
    const recs = recordsDuring(h, () => (c = copy({ SourceSnapshotId: snapA.snapshotId, Description: 'same key' })));
    const id = c!.SnapshotId;
    expect(brief(recs)).toEqual([['CopySnapshot', 'Alice', 'ok'], ['ReEncrypt', 'Alice via EC2', 'ok']]);
    expect(recs[0]).toMatchObject({ requestParameters: { sourceSnapshotId: snapA.snapshotId, description: 'same key' }, responseElements: { snapshotId: id } });
    expect(recs[1]!.requestParameters).toMatchObject({ sourceEncryptionContext: ctxOf(volumeA), destinationKeyId: keyA.Arn, destinationEncryptionContext: ctxOf(id) });
    const s = ec2().snapshot(id);
    expect(s).toMatchObject({ state: 'completed', encrypted: true, kmsKeyArn: keyA.Arn, contextId: id, volumeId: 'vol-ffffffff', sourceId: snapA.snapshotId });
    expect(plaintextKey(h, alice, s.encryptedDataKey!, id).equals(plaintextKey(h, alice, snapA.encryptedDataKey!, volumeA))).toBe(true);
    const [src, dst] = [ec2().imagePath(snapA.snapshotId), ec2().imagePath(id)];
    expect(writtenSectors(dst)).toEqual(writtenSectors(src));
    for (const n of writtenSectors(src)) expect(readSector(dst, n).equals(readSector(src, n))).toBe(true);
    const [d] = ec2().describeSnapshots(alice, [id]).Snapshots as Record<string, unknown>[];
    expect(d).toMatchObject({ VolumeId: 'vol-ffffffff', State: 'completed', Progress: '100%', KmsKeyId: keyA.Arn, Encrypted: true });
  });

  it('the same key named by its key ID: EC2 asks KMS which key that is (DescribeKey), then rebinds', () => {
    const recs = recordsDuring(h, () => copy({ SourceSnapshotId: snapA.snapshotId, Encrypted: true, KmsKeyId: keyA.KeyId }));
    expect(brief(recs)).toEqual([['CopySnapshot', 'Alice', 'ok'], ['DescribeKey', 'Alice via EC2', 'ok'], ['ReEncrypt', 'Alice via EC2', 'ok']]);
  });
});

describe('a copy under another key (--encrypted --kms-key-id)', () => {
  let id: string;
  let recs: TrailRecord[];

  beforeAll(() => {
    recs = recordsDuring(h, () => (id = copy({ SourceSnapshotId: snapA.snapshotId, Encrypted: true, KmsKeyId: keyB.KeyId }).SnapshotId));
  });

  it('leaves the trail of ebsim\'s model: a new data key, a grant per key to the copy\'s infrastructure session, its Decrypts, the grants retired', () => {
    expect(brief(recs)).toEqual([
      ['CopySnapshot', 'Alice', 'ok'],
      ['DescribeKey', 'Alice via EC2', 'ok'],
      ['GenerateDataKeyWithoutPlaintext', 'Alice via EC2', 'ok'],
      ['CreateGrant', 'Alice via EC2', 'ok'],
      ['CreateGrant', 'Alice via EC2', 'ok'],
      ['Decrypt', WORKER(id), 'ok'],
      ['Decrypt', WORKER(id), 'ok'],
      ['RetireGrant', 'Alice via EC2', 'ok'],
      ['RetireGrant', 'Alice via EC2', 'ok'],
    ]);
    const [, describe, generate, grantA, grantB, decryptA, decryptB, retireA, retireB] = recs;
    expect(describe!.requestParameters).toMatchObject({ keyId: keyB.KeyId });
    expect(generate!.requestParameters).toEqual({ keyId: keyB.KeyId, numberOfBytes: 64, encryptionContext: ctxOf(id) });
    expect(keyArnOf(generate!)).toBe(keyB.Arn);
    expect(grantA!.requestParameters).toMatchObject({ keyId: keyA.Arn, granteePrincipal: GRANTEE(id), operations: ['Decrypt'], constraints: { encryptionContextSubset: ctxOf(volumeA) } });
    expect(grantB!.requestParameters).toMatchObject({ keyId: keyB.Arn, granteePrincipal: GRANTEE(id), operations: ['Decrypt'], constraints: { encryptionContextSubset: ctxOf(id) } });
    expect([grantA, grantB].map((g) => g!.requestID)).toEqual([recs[0]!.requestID, recs[0]!.requestID]);
    // The grants were noted with the copy while it ran (so a crash has them retired) and dropped once retired.
    expect((h.app.db.prepare('SELECT count(*) AS n FROM ec2_copy_grants').get() as { n: number }).n).toBe(0);
    expect([contextOf(decryptA!), keyArnOf(decryptA!)]).toEqual([ctxOf(volumeA), keyA.Arn]);
    expect([contextOf(decryptB!), keyArnOf(decryptB!)]).toEqual([ctxOf(id), keyB.Arn]);
    expect([keyArnOf(retireA!), keyArnOf(retireB!)]).toEqual([keyA.Arn, keyB.Arn]);
    for (const k of [keyA, keyB]) expect(h.app.kms().call(alice, 'ListGrants', { KeyId: k.KeyId, GranteePrincipal: GRANTEE(id) }).Grants).toEqual([]);
  });

  it('the copy is under key B with a new data key, bound to the copy\'s ID', () => {
    const s = ec2().snapshot(id);
    expect(s).toMatchObject({ state: 'completed', encrypted: true, kmsKeyArn: keyB.Arn, contextId: id, volumeId: 'vol-ffffffff' });
    const newKey = plaintextKey(h, alice, s.encryptedDataKey!, id);
    const oldKey = plaintextKey(h, alice, snapA.encryptedDataKey!, volumeA);
    expect(newKey.equals(oldKey)).toBe(false);
  });

  it('every written sector is re-encrypted: OpenSSL\'s XTS under the new key of the source\'s plaintext, the sector number as tweak', () => {
    const s = ec2().snapshot(id);
    const plaintexts = expectReencrypted(ec2().imagePath(snapA.snapshotId), ec2().imagePath(id), plaintextKey(h, alice, snapA.encryptedDataKey!, volumeA), plaintextKey(h, alice, s.encryptedDataKey!, id));
    expect(plaintexts.map((p) => p.slice(0, 5))).toEqual(['alpha', 'alpha', 'beta', 'gamma']);
  });

  it('the new image is not the old one, and stays as sparse', () => {
    const [src, dst] = [ec2().imagePath(snapA.snapshotId), ec2().imagePath(id)];
    expect(imageDigest(dst)).not.toBe(imageDigest(src));
    expect(fs.statSync(dst).blocks).toBeLessThanOrEqual(fs.statSync(src).blocks);
  });

  it('--kms-key-id needs --encrypted, as on AWS: InvalidParameterDependency, and nothing is copied', () => {
    const before = ec2().describeSnapshots(alice).Snapshots as unknown[];
    const recs = recordsDuring(h, () => expect(errorCode(() => copy({ SourceSnapshotId: snapA.snapshotId, KmsKeyId: keyB.KeyId }))).toBe('InvalidParameterDependency'));
    expect(recs.map((r) => [r.eventName, r.errorCode, r.errorMessage])).toEqual([
      ['CopySnapshot', 'Client.InvalidParameterDependency', 'The parameter KmsKeyId requires the parameter Encrypted to be set.'],
    ]);
    expect(ec2().describeSnapshots(alice).Snapshots).toHaveLength(before.length);
  });
});

describe('encrypting an unencrypted snapshot by copying it', () => {
  it('--encrypted without a key: the default KMS key (alias/aws/ebs), a new data key, every sector encrypted', () => {
    let id = '';
    const recs = recordsDuring(h, () => (id = copy({ SourceSnapshotId: plainSnap.snapshotId, Encrypted: true }).SnapshotId));
    expect(brief(recs)).toEqual([
      ['CopySnapshot', 'Alice', 'ok'],
      ['GenerateDataKeyWithoutPlaintext', 'Alice via EC2', 'ok'],
      ['CreateGrant', 'Alice via EC2', 'ok'],
      ['Decrypt', WORKER(id), 'ok'],
      ['RetireGrant', 'Alice via EC2', 'ok'],
    ]);
    expect(recs[1]!.requestParameters).toMatchObject({ keyId: 'alias/aws/ebs', encryptionContext: ctxOf(id) });
    const s = ec2().snapshot(id);
    const managed = (h.app.kms().call(alice, 'DescribeKey', { KeyId: 'alias/aws/ebs' }).KeyMetadata as { Arn: string }).Arn;
    expect(s).toMatchObject({ encrypted: true, kmsKeyArn: managed, state: 'completed' });
    // alias/aws/ebs is used through EC2 only: Alice decrypts it as EC2 does for her.
    const plaintexts = expectReencrypted(ec2().imagePath(plainSnap.snapshotId), ec2().imagePath(id), null, plaintextKey(h, viaEc2, s.encryptedDataKey!, id));
    expect(plaintexts).toEqual(['plain delta', 'plain epsilon']);
  });

  it('without --encrypted, and encryption by default off: an unencrypted copy, no KMS call', () => {
    let id = '';
    const recs = recordsDuring(h, () => (id = copy({ SourceSnapshotId: plainSnap.snapshotId }).SnapshotId));
    expect(brief(recs)).toEqual([['CopySnapshot', 'Alice', 'ok']]);
    expect(ec2().snapshot(id)).toMatchObject({ encrypted: false, kmsKeyArn: null, state: 'completed' });
    expect(readSector(ec2().imagePath(id), 1).subarray(0, 11).toString()).toBe('plain delta');
  });

  it('with encryption by default on, under its default key: encrypted without being asked', () => {
    const chosen = newKey('EBS default');
    ec2().call(alice, 'ModifyEbsDefaultKmsKeyId', { KmsKeyId: chosen.KeyId });
    ec2().call(alice, 'EnableEbsEncryptionByDefault');
    try {
      let id = '';
      const recs = recordsDuring(h, () => (id = copy({ SourceSnapshotId: plainSnap.snapshotId }).SnapshotId));
      expect(recs.map((r) => r.eventName)).toEqual(['CopySnapshot', 'GenerateDataKeyWithoutPlaintext', 'CreateGrant', 'Decrypt', 'RetireGrant']);
      expect(keyArnOf(recs[1]!)).toBe(chosen.Arn);
      const s = ec2().snapshot(id);
      expect(s).toMatchObject({ encrypted: true, kmsKeyArn: chosen.Arn });
      expectReencrypted(ec2().imagePath(plainSnap.snapshotId), ec2().imagePath(id), null, plaintextKey(h, alice, s.encryptedDataKey!, id));
    } finally {
      ec2().call(alice, 'DisableEbsEncryptionByDefault');
      ec2().call(alice, 'ResetEbsDefaultKmsKeyId');
    }
  });
});

describe('a copy KMS refuses', () => {
  it('a disabled target key: CopySnapshot succeeds (AWS copies asynchronously), the copy is error with its StateMessage, no image left', () => {
    const disabled = newKey('disabled');
    h.app.kms().call(alice, 'DisableKey', { KeyId: disabled.KeyId });
    let id = '';
    const recs = recordsDuring(h, () => (id = copy({ SourceSnapshotId: snapA.snapshotId, Encrypted: true, KmsKeyId: disabled.Arn }).SnapshotId));
    expect(brief(recs)).toEqual([['CopySnapshot', 'Alice', 'ok'], ['DescribeKey', 'Alice via EC2', 'ok'], ['GenerateDataKeyWithoutPlaintext', 'Alice via EC2', 'DisabledException']]);
    const [d] = ec2().describeSnapshots(alice, [id]).Snapshots as Record<string, unknown>[];
    expect(d).toMatchObject({ State: 'error', Progress: '0%' });
    expect(d!.StateMessage).toMatch(/^The KMS call GenerateDataKeyWithoutPlaintext failed: \(DisabledException\) /);
    expect(fs.existsSync(ec2().imagePath(id))).toBe(false);
    expect(fs.existsSync(`${ec2().imagePath(id)}.partial`)).toBe(false);
  });

  it('a caller without kms:CreateGrant on the source key: the grant is refused, nothing is decrypted, the copy is error', () => {
    h.app.iam.call(alice, 'CreateUser', { UserName: 'Bob' });
    h.app.iam.call(alice, 'AttachUserPolicy', { UserName: 'Bob', PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' });
    h.app.iam.call(alice, 'PutUserPolicy', { UserName: 'Bob', PolicyName: 'no-grants', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'kms:CreateGrant', Resource: '*' }] }) });
    const bob = h.app.as('Bob');
    let id = '';
    const recs = recordsDuring(h, () => (id = copy({ SourceSnapshotId: snapA.snapshotId, Encrypted: true, KmsKeyId: keyB.Arn }, bob).SnapshotId));
    expect(brief(recs)).toEqual([
      ['CopySnapshot', 'Bob', 'ok'],
      ['DescribeKey', 'Bob via EC2', 'ok'],
      ['GenerateDataKeyWithoutPlaintext', 'Bob via EC2', 'ok'],
      ['CreateGrant', 'Bob via EC2', 'AccessDeniedException'],
    ]);
    expect(ec2().snapshot(id)).toMatchObject({ state: 'error' });
  });
});

describe('through the CLI', () => {
  it('copy-snapshot --encrypted --kms-key-id answers the new SnapshotId; describe-snapshots shows it completed under the key', async () => {
    const cli = (...args: string[]) => ebsimIn(h.dir, args);
    const out = (await cli('ec2', 'copy-snapshot', '--source-snapshot-id', snapA.snapshotId, '--encrypted', '--kms-key-id', keyB.Arn)).json();
    expect(Object.keys(out)).toEqual(['SnapshotId']);
    const d = (await cli('ec2', 'describe-snapshots', '--snapshot-ids', out.SnapshotId)).json().Snapshots[0];
    expect(d).toMatchObject({ State: 'completed', KmsKeyId: keyB.Arn, VolumeId: 'vol-ffffffff', Progress: '100%' });
    const refused = await cli('ec2', 'copy-snapshot', '--source-snapshot-id', snapA.snapshotId, '--kms-key-id', keyB.Arn);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('An error occurred (InvalidParameterDependency) when calling the CopySnapshot operation: The parameter KmsKeyId requires the parameter Encrypted to be set.');
  });
});
