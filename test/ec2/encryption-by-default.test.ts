// EBS encryption by default and the default KMS key, per account and Region: the six operations
// in AWS's response shapes, and new volumes (CreateVolume, RunInstances) encrypted as AWS
// encrypts them, each with its KMS calls in the trail. In-process and through the CLI (`main`).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, errorCode, type TestHome } from '../helpers/home.js';
import { ebsimIn } from '../helpers/cli.js';
import { initHome, openEbsim } from '../../src/app/ebsim.js';
import { allRecords, type TrailRecord } from '../../src/trail/index.js';
import { EbsEncryptionDefaults } from '../../src/ec2/encryption-defaults.js';
import type { CallContext } from '../../src/core/call-context.js';

const A = '123456789012';
const B = '210987654321';
const EBS_ALIAS_ARN = `arn:aws:kms:us-east-1:${A}:alias/aws/ebs`;
const XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

let h: TestHome;
let alice: CallContext;

beforeAll(() => {
  h = makeHome('ebsim-ebs-default-');
  alice = h.app.as('Alice');
});
afterAll(() => h.cleanup());

const ec2 = () => h.app.ec2();
const call = (op: string, params: Record<string, unknown> = {}, ctx = alice) => ec2().call(ctx, op, params);

function recordsDuring(fn: () => unknown): TrailRecord[] {
  h.app.trail.flush();
  const before = allRecords(h.app.db).length;
  fn();
  h.app.trail.flush();
  return allRecords(h.app.db).slice(before);
}

const names = (recs: TrailRecord[]) => recs.map((r) => r.eventName);
const named = (recs: TrailRecord[], name: string) => recs.find((r) => r.eventName === name)!;
// CreateVolume is recorded first, then the GenerateDataKeyWithoutPlaintext it causes, as AWS's
// "Amazon EC2 example one" shows.
const CREATE_ENCRYPTED = ['CreateVolume', 'GenerateDataKeyWithoutPlaintext'];
const viaEc2 = (r: TrailRecord) => (r.userIdentity as { invokedBy?: string }).invokedBy === 'AWS Internal';

interface VolumeShape {
  VolumeId: string;
  Encrypted: boolean;
  KmsKeyId?: string;
}

describe('the settings, as a new account has them', () => {
  it('disabled, with alias/aws/ebs\'s ARN as the default key; Get* are recorded with EC2\'s wrapped request and no responseElements', () => {
    const recs = recordsDuring(() => {
      expect(call('GetEbsEncryptionByDefault')).toEqual({ EbsEncryptionByDefault: false });
      expect(call('GetEbsDefaultKmsKeyId')).toEqual({ KmsKeyId: EBS_ALIAS_ARN });
    });
    expect(recs.map((r) => [r.eventName, r.requestParameters, r.responseElements])).toEqual([
      ['GetEbsEncryptionByDefault', { GetEbsEncryptionByDefaultRequest: '' }, null],
      ['GetEbsDefaultKmsKeyId', { GetEbsDefaultKmsKeyIdRequest: '' }, null],
    ]);
  });

  it('disabled: a volume without Encrypted is not encrypted, and no KMS call is made', () => {
    let v: VolumeShape | undefined;
    const recs = recordsDuring(() => (v = call('CreateVolume', { Size: 1 }) as unknown as VolumeShape));
    expect(v).toMatchObject({ Encrypted: false });
    expect(v!.KmsKeyId).toBeUndefined();
    expect(names(recs)).toEqual(['CreateVolume']);
  });
});

describe('encryption by default enabled', () => {
  it('Enable answers EbsEncryptionByDefault true, recorded in the wrapped form with the request ID', () => {
    const recs = recordsDuring(() => expect(call('EnableEbsEncryptionByDefault')).toEqual({ EbsEncryptionByDefault: true }));
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({
      eventName: 'EnableEbsEncryptionByDefault',
      requestParameters: { EnableEbsEncryptionByDefaultRequest: '' },
      responseElements: { EnableEbsEncryptionByDefaultResponse: { xmlns: XMLNS, requestId: recs[0]!.requestID, ebsEncryptionByDefault: true } },
    });
    expect(call('GetEbsEncryptionByDefault')).toEqual({ EbsEncryptionByDefault: true });
  });

  it('CreateVolume without Encrypted: encrypted under alias/aws/ebs (GenerateDataKeyWithoutPlaintext by EC2 for Alice, the volume\'s context)', () => {
    let v: VolumeShape | undefined;
    const recs = recordsDuring(() => (v = call('CreateVolume', { Size: 1 }) as unknown as VolumeShape));
    expect(v!.Encrypted).toBe(true);
    expect(v!.KmsKeyId).toMatch(new RegExp(`^arn:aws:kms:us-east-1:${A}:key/[0-9a-f-]{36}$`));
    expect(names(recs)).toEqual(CREATE_ENCRYPTED);
    const gen = named(recs, 'GenerateDataKeyWithoutPlaintext');
    expect(named(recs, 'CreateVolume').requestParameters).toMatchObject({ encrypted: true });
    expect(viaEc2(gen)).toBe(true);
    expect(gen.requestParameters).toEqual({ keyId: 'alias/aws/ebs', numberOfBytes: 64, encryptionContext: { 'aws:ebs:id': v!.VolumeId } });
    expect(gen.resources![0]!.ARN).toBe(v!.KmsKeyId);
    // alias/aws/ebs's key policy lets Alice use it only through EC2 (kms:ViaService): not directly.
    const blob = ec2().volume(v!.VolumeId).encryptedDataKey!;
    expect(errorCode(() => h.app.kms().call(alice, 'Decrypt', { CiphertextBlob: blob, EncryptionContext: { 'aws:ebs:id': v!.VolumeId } }))).toBe('AccessDeniedException');
  });

  it('Encrypted=false cannot opt out: the volume is encrypted all the same', () => {
    const v = call('CreateVolume', { Size: 1, Encrypted: false }) as unknown as VolumeShape;
    expect(v).toMatchObject({ Encrypted: true });
    expect(ec2().volume(v.VolumeId).encryptedDataKey).toBeInstanceOf(Buffer);
  });

  it('a default key of Alice\'s choosing (ModifyEbsDefaultKmsKeyId by alias name): new volumes and launches are encrypted under it', () => {
    const key = h.app.kms().call(alice, 'CreateKey', { Description: 'EBS default' }).KeyMetadata as { KeyId: string; Arn: string };
    h.app.kms().call(alice, 'CreateAlias', { AliasName: 'alias/ebs-default', TargetKeyId: key.KeyId });
    const aliasArn = `arn:aws:kms:us-east-1:${A}:alias/ebs-default`;
    const modify = recordsDuring(() => expect(call('ModifyEbsDefaultKmsKeyId', { KmsKeyId: 'alias/ebs-default' })).toEqual({ KmsKeyId: aliasArn }));
    expect(modify[0]).toMatchObject({
      requestParameters: { ModifyEbsDefaultKmsKeyIdRequest: { KmsKeyId: 'alias/ebs-default' } },
      responseElements: { ModifyEbsDefaultKmsKeyIdResponse: { xmlns: XMLNS, kmsKeyId: aliasArn } },
    });
    expect(names(modify)).toEqual(['ModifyEbsDefaultKmsKeyId']); // the key is checked when a volume uses it
    expect(call('GetEbsDefaultKmsKeyId')).toEqual({ KmsKeyId: aliasArn });

    let v: VolumeShape | undefined;
    const create = recordsDuring(() => (v = call('CreateVolume', { Size: 1 }) as unknown as VolumeShape));
    expect(v).toMatchObject({ Encrypted: true, KmsKeyId: key.Arn });
    expect(names(create)).toEqual(CREATE_ENCRYPTED);
    expect(named(create, 'GenerateDataKeyWithoutPlaintext').requestParameters).toMatchObject({ keyId: aliasArn, encryptionContext: { 'aws:ebs:id': v!.VolumeId } });
    expect(named(create, 'GenerateDataKeyWithoutPlaintext').resources![0]!.ARN).toBe(key.Arn);

    // A launch: the root volume and a mapping without Encrypted are both encrypted under the default key.
    let run: Record<string, any> = {};
    const launch = recordsDuring(() => (run = ec2().runInstances(alice, { ImageId: 'ami-0123abcd', InstanceType: 't3.micro', BlockDeviceMappings: [{ DeviceName: '/dev/sdb', Ebs: { VolumeSize: 1 } }] })));
    const instanceId = run.Instances[0].InstanceId as string;
    expect(names(launch)).toEqual(['RunInstances', 'GenerateDataKeyWithoutPlaintext', 'CreateGrant', 'Decrypt', 'GenerateDataKeyWithoutPlaintext', 'CreateGrant', 'Decrypt']);
    const volumeIds = (run.Instances[0].BlockDeviceMappings as { Ebs: { VolumeId: string } }[]).map((m) => m.Ebs.VolumeId);
    for (const id of volumeIds) expect(ec2().volume(id)).toMatchObject({ encrypted: true, kmsKeyArn: key.Arn });
    expect(launch.filter((r) => r.eventName === 'Decrypt').map((r) => (r.userIdentity as { arn: string }).arn)).toEqual(volumeIds.map(() => `arn:aws:sts::${A}:assumed-role/aws:ec2-infrastructure/${instanceId}`));
    expect(launch.filter((r) => r.eventName === 'GenerateDataKeyWithoutPlaintext').map((r) => (r.requestParameters as { encryptionContext: Record<string, string> }).encryptionContext['aws:ebs:id'])).toEqual(volumeIds);
  });

  it('a KmsKeyId in the request wins over the default key', () => {
    const other = h.app.kms().call(alice, 'CreateKey', { Description: 'named by the request' }).KeyMetadata as { Arn: string };
    expect(call('CreateVolume', { Size: 1, Encrypted: true, KmsKeyId: other.Arn })).toMatchObject({ Encrypted: true, KmsKeyId: other.Arn });
  });

  it('an unencrypted snapshot is restored and copied encrypted under the default key, without being asked', () => {
    call('DisableEbsEncryptionByDefault');
    const plain = call('CreateVolume', { Size: 1 }) as unknown as VolumeShape;
    expect(plain.Encrypted).toBe(false);
    const snap = call('CreateSnapshot', { VolumeId: plain.VolumeId }) as { SnapshotId: string };
    call('EnableEbsEncryptionByDefault');
    let restored: VolumeShape | undefined;
    const restore = recordsDuring(() => (restored = call('CreateVolume', { SnapshotId: snap.SnapshotId }) as unknown as VolumeShape));
    expect(names(restore)).toEqual(['CreateVolume', 'GenerateDataKeyWithoutPlaintext', 'CreateGrant', 'Decrypt', 'RetireGrant']);
    expect(ec2().volume(restored!.VolumeId)).toMatchObject({ encrypted: true, state: 'available' });
    let copy: { SnapshotId: string } | undefined;
    const recs = recordsDuring(() => (copy = call('CopySnapshot', { SourceSnapshotId: snap.SnapshotId }) as { SnapshotId: string }));
    expect(names(recs)).toEqual(['CopySnapshot', 'GenerateDataKeyWithoutPlaintext', 'CreateGrant', 'Decrypt', 'RetireGrant']);
    expect(ec2().snapshot(copy!.SnapshotId)).toMatchObject({ encrypted: true, state: 'completed' });
  });

  it('Disable: volumes are unencrypted unless asked, and then still under the default key; Reset: back to alias/aws/ebs', () => {
    const recs = recordsDuring(() => expect(call('DisableEbsEncryptionByDefault')).toEqual({ EbsEncryptionByDefault: false }));
    expect(recs[0]!.responseElements).toMatchObject({ DisableEbsEncryptionByDefaultResponse: { ebsEncryptionByDefault: false } });
    expect(call('CreateVolume', { Size: 1 })).toMatchObject({ Encrypted: false });
    const chosen = (call('GetEbsDefaultKmsKeyId') as { KmsKeyId: string }).KmsKeyId;
    expect(chosen).not.toBe(EBS_ALIAS_ARN);
    const asked = call('CreateVolume', { Size: 1, Encrypted: true }) as unknown as VolumeShape;
    const keyArn = (h.app.kms().call(alice, 'DescribeKey', { KeyId: chosen }).KeyMetadata as { Arn: string }).Arn;
    expect(asked.KmsKeyId).toBe(keyArn);

    const reset = recordsDuring(() => expect(call('ResetEbsDefaultKmsKeyId')).toEqual({ KmsKeyId: EBS_ALIAS_ARN }));
    expect(reset[0]).toMatchObject({ requestParameters: { ResetEbsDefaultKmsKeyIdRequest: '' }, responseElements: { ResetEbsDefaultKmsKeyIdResponse: { kmsKeyId: EBS_ALIAS_ARN } } });
    const managed = (h.app.kms().call(alice, 'DescribeKey', { KeyId: 'alias/aws/ebs' }).KeyMetadata as { Arn: string }).Arn;
    let v: VolumeShape | undefined;
    const create = recordsDuring(() => (v = call('CreateVolume', { Size: 1, Encrypted: true }) as unknown as VolumeShape));
    expect(v!.KmsKeyId).toBe(managed);
    expect(named(create, 'GenerateDataKeyWithoutPlaintext').requestParameters).toMatchObject({ keyId: 'alias/aws/ebs' });
  });

  it('a default key that does not exist is accepted (AWS checks it asynchronously); the next encrypted volume fails on its GenerateDataKeyWithoutPlaintext, and is error', () => {
    const missing = '0b0b0b0b-1111-2222-3333-444444444444';
    expect(call('ModifyEbsDefaultKmsKeyId', { KmsKeyId: missing })).toEqual({ KmsKeyId: `arn:aws:kms:us-east-1:${A}:key/${missing}` });
    let v: VolumeShape | undefined;
    const recs = recordsDuring(() => (v = call('CreateVolume', { Size: 1, Encrypted: true }) as unknown as VolumeShape));
    expect(recs.map((r) => [r.eventName, r.errorCode])).toEqual([['CreateVolume', undefined], ['GenerateDataKeyWithoutPlaintext', 'NotFoundException']]);
    expect(v).toMatchObject({ State: 'creating', Encrypted: true });
    expect(ec2().volume(v!.VolumeId)).toMatchObject({ state: 'error', kmsKeyArn: null });
    expect(ec2().volume(v!.VolumeId).stateMessage).toContain('NotFoundException');
    call('ResetEbsDefaultKmsKeyId');
  });

  it('ModifyEbsDefaultKmsKeyId needs a KmsKeyId (MissingParameter)', () => {
    expect(errorCode(() => call('ModifyEbsDefaultKmsKeyId'))).toBe('MissingParameter');
  });

  it('an IAM user needs ec2: permission for each (UnauthorizedOperation without it)', () => {
    h.app.iam.call(alice, 'CreateUser', { UserName: 'Dan' });
    const dan = h.app.as('Dan');
    const recs = recordsDuring(() => expect(errorCode(() => call('EnableEbsEncryptionByDefault', {}, dan))).toBe('UnauthorizedOperation'));
    expect(recs[0]).toMatchObject({ eventName: 'EnableEbsEncryptionByDefault', errorCode: 'Client.UnauthorizedOperation' });
    expect(recs[0]!.errorMessage).toContain('ec2:EnableEbsEncryptionByDefault');
  });
});

describe('per account and Region', () => {
  it('enabling it in one account and Region changes neither another account nor another Region', () => {
    call('EnableEbsEncryptionByDefault');
    initHome(h.dir, B, 'eu-west-1');
    const aliceB = h.app.as('Alice', undefined, B);
    const ec2B = h.app.ec2(B);
    expect(ec2B.call(aliceB, 'GetEbsEncryptionByDefault', {})).toEqual({ EbsEncryptionByDefault: false });
    expect(ec2B.call(aliceB, 'GetEbsDefaultKmsKeyId', {})).toEqual({ KmsKeyId: `arn:aws:kms:eu-west-1:${B}:alias/aws/ebs` });
    expect(ec2B.call(aliceB, 'CreateVolume', { Size: 1 })).toMatchObject({ Encrypted: false });
    // The same account in another Region has its own setting.
    expect(new EbsEncryptionDefaults(h.app.db, A, 'us-east-1').enabled()).toBe(true);
    expect(new EbsEncryptionDefaults(h.app.db, A, 'eu-west-1').enabled()).toBe(false);
    call('DisableEbsEncryptionByDefault');
  });

  it('a home made before these tables opens: the settings read as a new account\'s', () => {
    const dir = makeHome('ebsim-ebs-default-old-');
    try {
      const alice0 = dir.app.as('Alice');
      dir.app.ec2().call(alice0, 'EnableEbsEncryptionByDefault', {});
      dir.app.db.exec('DROP TABLE ec2_ebs_encryption_defaults; DROP TABLE ec2_instance_state_reasons;');
      dir.app.close();
      const again = openEbsim(dir.dir);
      try {
        const ctx = again.as('Alice');
        expect(again.ec2().call(ctx, 'GetEbsEncryptionByDefault', {})).toEqual({ EbsEncryptionByDefault: false });
        const run = again.ec2().runInstances(ctx, { ImageId: 'ami-0123abcd', InstanceType: 't3.micro' });
        expect((run.Instances as { State: { Name: string } }[])[0]!.State.Name).toBe('running');
      } finally {
        again.close();
      }
    } finally {
      dir.cleanup();
    }
  });
});

describe('through the CLI', () => {
  it('enable-, get-, modify-, reset-, disable-: the AWS CLI\'s output; create-volume follows the setting', async () => {
    const cli = async (...args: string[]) => {
      const r = await ebsimIn(h.dir, args);
      expect(r.code, r.stderr).toBe(0);
      return r.json();
    };
    expect(await cli('ec2', 'enable-ebs-encryption-by-default')).toEqual({ EbsEncryptionByDefault: true });
    expect(await cli('ec2', 'get-ebs-encryption-by-default')).toEqual({ EbsEncryptionByDefault: true });
    const key = (await cli('kms', 'create-key', '--description', 'cli default')).KeyMetadata as { KeyId: string; Arn: string };
    expect(await cli('ec2', 'modify-ebs-default-kms-key-id', '--kms-key-id', key.KeyId)).toEqual({ KmsKeyId: key.Arn });
    expect(await cli('ec2', 'get-ebs-default-kms-key-id')).toEqual({ KmsKeyId: key.Arn });
    expect(await cli('ec2', 'create-volume', '--size', '1')).toMatchObject({ Encrypted: true, KmsKeyId: key.Arn });
    expect(await cli('ec2', 'reset-ebs-default-kms-key-id')).toEqual({ KmsKeyId: EBS_ALIAS_ARN });
    expect(await cli('ec2', 'disable-ebs-encryption-by-default')).toEqual({ EbsEncryptionByDefault: false });
    expect(await cli('ec2', 'create-volume', '--size', '1')).toMatchObject({ Encrypted: false });
  });
});
