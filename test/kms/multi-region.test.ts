// Multi-Region keys (issue 14): CreateKey MultiRegion makes a primary key with an `mrk-` ID;
// ReplicateKey makes a replica with the same key ID and key material in another Region, with its
// own description, policy, tags and state; a ciphertext of any key of the set decrypts with every
// other; rotation of the primary rotates the set; UpdatePrimaryRegion moves the primary; a primary
// with replicas waits for them to be deleted (PendingReplicaDeletion). Through the domain and
// `ebsim kms` (main in-process); the HTTP endpoint's side is test/server/regions.test.ts.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gcm } from '@noble/ciphers/aes.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallContext } from '../../src/core/call-context.js';
import { BLOB_LAYOUT, encodeContext } from '../../src/kms/index.js';
import type { KmsService } from '../../src/kms/service.js';
import { noteLocalWrite } from '../../src/store/read-cache.js';
import { allRecords } from '../../src/trail/lookup.js';
import { ebsimIn } from '../helpers/cli.js';
import { makeHome, type TestHome } from '../helpers/home.js';
import { recordsOf } from '../iam/trail.js';

const ACCOUNT = '123456789012';
const HOME = 'us-east-1';
const OTHER = 'eu-west-1';
const THIRD = 'ap-southeast-2';

let h: TestHome;
let alice: CallContext;

beforeAll(() => {
  h = makeHome('ebsim-mrk-');
  alice = h.app.as('Alice');
});
afterAll(() => h.cleanup());

type Meta = { KeyId: string; Arn: string; KeyState: string; MultiRegion: boolean; MultiRegionConfiguration?: Record<string, any>; [k: string]: unknown };
const kmsIn = (region: string): KmsService => h.app.kms(ACCOUNT, region);
const as = (region: string): CallContext => ({ ...alice, region });
const call = (region: string, operation: string, params: Record<string, unknown> = {}) => kmsIn(region).call(as(region), operation, params);
const describe_ = (region: string, KeyId: string) => call(region, 'DescribeKey', { KeyId }).KeyMetadata as Meta;
const arnIn = (region: string, keyId: string) => `arn:aws:kms:${region}:${ACCOUNT}:key/${keyId}`;
const text = (b: unknown) => Buffer.from(b as Uint8Array).toString();

function failure(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    return { code: (err as { code: string }).code, message: (err as Error).message };
  }
  throw new Error('expected the call to fail');
}

/** A primary in HOME with a replica in OTHER. */
function newSet(params: Record<string, unknown> = {}): { keyId: string; primary: Meta; replica: Meta } {
  const primary = call(HOME, 'CreateKey', { MultiRegion: true, ...params }).KeyMetadata as Meta;
  const replica = call(HOME, 'ReplicateKey', { KeyId: primary.KeyId, ReplicaRegion: OTHER }).ReplicaKeyMetadata as Meta;
  return { keyId: primary.KeyId, primary, replica };
}

/** Opens a blob with @noble/ciphers' AES-256-GCM under `material`: an implementation independent of ebsim's (node:crypto). */
function nobleOpen(material: Uint8Array, blob: Uint8Array, context: Record<string, string> = {}): string {
  const b = Buffer.from(blob);
  const aad = Buffer.concat([b.subarray(0, BLOB_LAYOUT.HEADER), encodeContext(context)]);
  return Buffer.from(gcm(material, b.subarray(BLOB_LAYOUT.NONCE_OFFSET, BLOB_LAYOUT.HEADER), aad).decrypt(b.subarray(BLOB_LAYOUT.HEADER))).toString();
}

/** The unwrapped material of version `v` of the key `keyId` as stored in `region` (the store's own view). */
function materialIn(region: string, keyId: string, v: number): Buffer {
  const keys = (kmsIn(region) as unknown as { keys: { get(id: string): unknown; material(k: unknown, v: number): Buffer } }).keys;
  return Buffer.from(keys.material(keys.get(keyId), v));
}

describe('CreateKey MultiRegion', () => {
  it('makes a primary key with an mrk- ID, MultiRegion true and itself as PrimaryKey', () => {
    const m = call(HOME, 'CreateKey', { MultiRegion: true, Description: 'primary' }).KeyMetadata as Meta;
    expect(m.KeyId).toMatch(/^mrk-[0-9a-f]{32}$/);
    expect(m.Arn).toBe(arnIn(HOME, m.KeyId));
    expect(m).toMatchObject({ MultiRegion: true, KeyState: 'Enabled', MultiRegionConfiguration: { MultiRegionKeyType: 'PRIMARY', PrimaryKey: { Arn: m.Arn, Region: HOME }, ReplicaKeys: [] } });
    // A single-Region key: MultiRegion false, no configuration.
    const single = call(HOME, 'CreateKey', {}).KeyMetadata as Meta;
    expect(single.MultiRegion).toBe(false);
    expect(single.MultiRegionConfiguration).toBeUndefined();
  });

  it('works for the asymmetric and HMAC specs too ("all supported KMS key types")', () => {
    for (const [KeySpec, KeyUsage] of [['ECC_NIST_P256', 'SIGN_VERIFY'], ['RSA_2048', 'ENCRYPT_DECRYPT'], ['HMAC_256', 'GENERATE_VERIFY_MAC']]) {
      const { keyId, replica } = newSet({ KeySpec, KeyUsage });
      expect(replica).toMatchObject({ KeyId: keyId, KeySpec, KeyUsage, MultiRegion: true });
      // The replica holds the very same key material (a private key, an HMAC key).
      expect(materialIn(OTHER, keyId, 1).equals(materialIn(HOME, keyId, 1))).toBe(true);
    }
  });
});

describe('ReplicateKey', () => {
  it('creates the replica in the other Region: same key ID, its own ARN, description, policy and tags; DescribeKey shows the set from both sides', () => {
    const primary = call(HOME, 'CreateKey', { MultiRegion: true, Description: 'the primary', Tags: [{ TagKey: 'side', TagValue: 'primary' }] }).KeyMetadata as Meta;
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'root', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }] });
    const r = call(HOME, 'ReplicateKey', { KeyId: primary.Arn, ReplicaRegion: OTHER, Description: 'the replica', Policy: policy, Tags: [{ TagKey: 'side', TagValue: 'replica' }] });
    const replica = r.ReplicaKeyMetadata as Meta;
    expect(replica).toMatchObject({
      KeyId: primary.KeyId, Arn: arnIn(OTHER, primary.KeyId), Description: 'the replica', KeyState: 'Enabled', MultiRegion: true,
      MultiRegionConfiguration: { MultiRegionKeyType: 'REPLICA', PrimaryKey: { Arn: primary.Arn, Region: HOME }, ReplicaKeys: [{ Arn: arnIn(OTHER, primary.KeyId), Region: OTHER }] },
    });
    expect(r.ReplicaPolicy).toBe(policy);
    expect(r.ReplicaTags).toEqual([{ TagKey: 'side', TagValue: 'replica' }]);
    // What is not shared stays each key's own.
    expect(describe_(HOME, primary.KeyId)).toMatchObject({ Description: 'the primary', MultiRegionConfiguration: { MultiRegionKeyType: 'PRIMARY', ReplicaKeys: [{ Region: OTHER }] } });
    expect(call(HOME, 'ListResourceTags', { KeyId: primary.KeyId }).Tags).toEqual([{ TagKey: 'side', TagValue: 'primary' }]);
    expect(call(OTHER, 'ListResourceTags', { KeyId: primary.KeyId }).Tags).toEqual([{ TagKey: 'side', TagValue: 'replica' }]);
    expect(call(OTHER, 'GetKeyPolicy', { KeyId: primary.KeyId }).Policy).toBe(policy);
    expect(call(HOME, 'GetKeyPolicy', { KeyId: primary.KeyId }).Policy).toContain('"Id" : "key-default-1"');
    // Without a Policy, the replica has the default key policy.
    const third = call(HOME, 'ReplicateKey', { KeyId: primary.KeyId, ReplicaRegion: THIRD });
    expect(third.ReplicaPolicy).toContain('"Id" : "key-default-1"');
    expect(third.ReplicaTags).toEqual([]);
    expect((describe_(THIRD, primary.KeyId).MultiRegionConfiguration!.ReplicaKeys as { Region: string }[]).map((k) => k.Region)).toEqual([OTHER, THIRD]);
    // ListKeys of each Region lists its own key of the set.
    expect((call(OTHER, 'ListKeys').Keys as { KeyArn: string }[]).map((k) => k.KeyArn)).toContain(arnIn(OTHER, primary.KeyId));
  });

  it('a ciphertext of any key of the set decrypts with every other, with or without KeyId; the material is one (opened by an independent AES-GCM)', () => {
    const { keyId } = newSet();
    call(HOME, 'ReplicateKey', { KeyId: keyId, ReplicaRegion: THIRD });
    const ctx = { purpose: 'mrk' };
    const fromPrimary = call(HOME, 'Encrypt', { KeyId: keyId, Plaintext: Buffer.from('written in us-east-1'), EncryptionContext: ctx }).CiphertextBlob as Uint8Array;
    const fromReplica = call(OTHER, 'Encrypt', { KeyId: keyId, Plaintext: Buffer.from('written in eu-west-1'), EncryptionContext: ctx });
    expect(fromReplica.KeyId).toBe(arnIn(OTHER, keyId));
    for (const region of [HOME, OTHER, THIRD]) {
      const a = call(region, 'Decrypt', { CiphertextBlob: fromPrimary, EncryptionContext: ctx });
      expect(a.KeyId).toBe(arnIn(region, keyId));
      expect(text(a.Plaintext)).toBe('written in us-east-1');
      const b = call(region, 'Decrypt', { CiphertextBlob: fromReplica.CiphertextBlob, EncryptionContext: ctx, KeyId: arnIn(region, keyId) });
      expect(text(b.Plaintext)).toBe('written in eu-west-1');
    }
    // A replica's ciphertext opens under the primary's material, by @noble/ciphers.
    expect(nobleOpen(materialIn(HOME, keyId, 1), fromReplica.CiphertextBlob as Uint8Array, ctx)).toBe('written in eu-west-1');
    // ReEncrypt in the replica's Region from the set's ciphertext to a key of that Region.
    const local = call(OTHER, 'CreateKey', {}).KeyMetadata as Meta;
    const re = call(OTHER, 'ReEncrypt', { CiphertextBlob: fromPrimary, SourceEncryptionContext: ctx, DestinationKeyId: local.KeyId });
    expect(re.SourceKeyId).toBe(arnIn(OTHER, keyId));
    expect(text(call(OTHER, 'Decrypt', { CiphertextBlob: re.CiphertextBlob }).Plaintext)).toBe('written in us-east-1');
  });

  it('refuses a single-Region key, a replica, an alias, a Region of the set, an unknown Region and a disabled primary, as AWS does', () => {
    const single = call(HOME, 'CreateKey', {}).KeyMetadata as Meta;
    expect(failure(() => call(HOME, 'ReplicateKey', { KeyId: single.KeyId, ReplicaRegion: OTHER }))).toEqual({ code: 'UnsupportedOperationException', message: `${single.Arn} is not a multi-Region key.` });
    const { keyId, primary, replica } = newSet();
    expect(failure(() => call(OTHER, 'ReplicateKey', { KeyId: keyId, ReplicaRegion: THIRD }))).toEqual({ code: 'UnsupportedOperationException', message: `${replica.Arn} is not a multi-Region primary key.` });
    call(HOME, 'CreateAlias', { AliasName: 'alias/mrk-replicate', TargetKeyId: keyId });
    expect(failure(() => call(HOME, 'ReplicateKey', { KeyId: 'alias/mrk-replicate', ReplicaRegion: THIRD }))).toEqual({ code: 'InvalidArnException', message: 'Key Aliases are not supported for this operation.' });
    for (const region of [HOME, OTHER]) {
      expect(failure(() => call(HOME, 'ReplicateKey', { KeyId: keyId, ReplicaRegion: region }))).toEqual({ code: 'AlreadyExistsException', message: `The multi-Region key ${arnIn(region, keyId)} already exists.` });
    }
    expect(failure(() => call(HOME, 'ReplicateKey', { KeyId: keyId, ReplicaRegion: 'EU-WEST-1' }))).toEqual({
      code: 'ValidationException',
      message: "1 validation error detected: Value 'EU-WEST-1' at 'replicaRegion' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([a-z]+-){2,3}\\d+$",
    });
    expect(failure(() => call(HOME, 'ReplicateKey', { KeyId: keyId, ReplicaRegion: 'cn-north-1' }))).toEqual({ code: 'ValidationException', message: 'ReplicaRegion cn-north-1 is not a Region of the aws partition in which KMS is available.' });
    call(HOME, 'DisableKey', { KeyId: keyId });
    expect(failure(() => call(HOME, 'ReplicateKey', { KeyId: keyId, ReplicaRegion: THIRD }))).toEqual({ code: 'DisabledException', message: `${primary.Arn} is disabled.` });
    call(HOME, 'EnableKey', { KeyId: keyId });
    // Nothing was created by the refusals.
    expect(failure(() => describe_(THIRD, keyId)).code).toBe('NotFoundException');
  });

  it('needs kms:CreateKey in an IAM policy for the replica Region (aws:RequestedRegion is the replica\'s)', () => {
    h.app.iam.call(alice, 'CreateUser', { UserName: 'Rita' });
    h.app.iam.call(alice, 'PutUserPolicy', {
      UserName: 'Rita',
      PolicyName: 'replicate-only-to-eu',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: ['kms:ReplicateKey', 'kms:DescribeKey'], Resource: '*' },
          { Effect: 'Allow', Action: 'kms:CreateKey', Resource: '*', Condition: { StringEquals: { 'aws:RequestedRegion': OTHER } } },
        ],
      }),
    });
    const rita = h.app.as('Rita');
    const primary = call(HOME, 'CreateKey', { MultiRegion: true }).KeyMetadata as Meta;
    const denied = failure(() => kmsIn(HOME).call(rita, 'ReplicateKey', { KeyId: primary.KeyId, ReplicaRegion: THIRD }));
    expect(denied.code).toBe('AccessDeniedException');
    expect(denied.message).toContain('kms:CreateKey');
    const ok = kmsIn(HOME).call(rita, 'ReplicateKey', { KeyId: primary.KeyId, ReplicaRegion: OTHER }).ReplicaKeyMetadata as Meta;
    expect(ok.Arn).toBe(arnIn(OTHER, primary.KeyId));
  });

  it('policies see kms:ReplicaRegion, kms:PrimaryRegion and kms:MultiRegion', () => {
    h.app.iam.call(alice, 'CreateUser', { UserName: 'Paula' });
    h.app.iam.call(alice, 'PutUserPolicy', {
      UserName: 'Paula',
      PolicyName: 'mrk-admin-within-limits',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: ['kms:CreateKey', 'kms:DescribeKey', 'kms:Encrypt'], Resource: '*' },
          { Effect: 'Allow', Action: 'kms:ReplicateKey', Resource: '*', Condition: { StringEquals: { 'kms:ReplicaRegion': OTHER } } },
          { Effect: 'Allow', Action: 'kms:UpdatePrimaryRegion', Resource: '*', Condition: { StringEquals: { 'kms:PrimaryRegion': OTHER } } },
          { Effect: 'Deny', Action: 'kms:Encrypt', Resource: '*', Condition: { Bool: { 'kms:MultiRegion': 'true' } } },
        ],
      }),
    });
    const paula = h.app.as('Paula');
    const home = kmsIn(HOME);
    const m = home.call(paula, 'CreateKey', { MultiRegion: true }).KeyMetadata as Meta;
    expect(failure(() => home.call(paula, 'ReplicateKey', { KeyId: m.KeyId, ReplicaRegion: THIRD })).message).toContain('kms:ReplicateKey');
    expect((home.call(paula, 'ReplicateKey', { KeyId: m.KeyId, ReplicaRegion: OTHER }).ReplicaKeyMetadata as Meta).Arn).toBe(arnIn(OTHER, m.KeyId));
    call(HOME, 'ReplicateKey', { KeyId: m.KeyId, ReplicaRegion: THIRD });
    expect(failure(() => home.call(paula, 'UpdatePrimaryRegion', { KeyId: m.KeyId, PrimaryRegion: THIRD })).message).toContain('kms:UpdatePrimaryRegion');
    expect(home.call(paula, 'UpdatePrimaryRegion', { KeyId: m.KeyId, PrimaryRegion: OTHER })).toEqual({});
    const denied = failure(() => kmsIn(OTHER).call({ ...paula, region: OTHER }, 'Encrypt', { KeyId: m.KeyId, Plaintext: Buffer.from('x') }));
    expect(denied.message).toContain('with an explicit deny in an identity-based policy');
    const single = home.call(paula, 'CreateKey', {}).KeyMetadata as Meta;
    expect(home.call(paula, 'Encrypt', { KeyId: single.KeyId, Plaintext: Buffer.from('x') }).KeyId).toBe(single.Arn);
  });

  it('the keys of a set name their shared material with one KeyMaterialId (DescribeKey, ListKeyRotations, Decrypt)', () => {
    const { keyId } = newSet();
    const ids = [HOME, OTHER].map((r) => (call(r, 'DescribeKey', { KeyId: keyId }).KeyMetadata as Meta & { CurrentKeyMaterialId: string }).CurrentKeyMaterialId);
    expect(ids[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(ids[1]).toBe(ids[0]);
    const listed = [HOME, OTHER].map((r) => (call(r, 'ListKeyRotations', { KeyId: keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }).Rotations as { KeyMaterialId: string }[])[0]!.KeyMaterialId);
    expect(listed).toEqual(ids);
    const blob = call(HOME, 'Encrypt', { KeyId: keyId, Plaintext: Buffer.from('x') }).CiphertextBlob;
    expect(call(OTHER, 'Decrypt', { CiphertextBlob: blob }).KeyMaterialId).toBe(ids[0]);
    // Another set's material is another ID.
    const other = newSet().keyId;
    expect((call(HOME, 'DescribeKey', { KeyId: other }).KeyMetadata as { CurrentKeyMaterialId: string }).CurrentKeyMaterialId).not.toBe(ids[0]);
  });

  it('policies see kms:MultiRegionKeyType: PRIMARY or REPLICA, as the set stands now', () => {
    h.app.iam.call(alice, 'CreateUser', { UserName: 'Quinn' });
    h.app.iam.call(alice, 'PutUserPolicy', {
      UserName: 'Quinn',
      PolicyName: 'primaries-only',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*', Condition: { StringEquals: { 'kms:MultiRegionKeyType': 'PRIMARY' } } }],
      }),
    });
    const quinn = h.app.as('Quinn');
    const { keyId } = newSet();
    const encryptIn = (region: string) => () => kmsIn(region).call({ ...quinn, region }, 'Encrypt', { KeyId: keyId, Plaintext: Buffer.from('x') });
    expect(encryptIn(HOME)().KeyId).toBe(arnIn(HOME, keyId));
    expect(failure(encryptIn(OTHER)).code).toBe('AccessDeniedException');
    // Moving the primary moves the answer.
    call(HOME, 'UpdatePrimaryRegion', { KeyId: keyId, PrimaryRegion: OTHER });
    expect(encryptIn(OTHER)().KeyId).toBe(arnIn(OTHER, keyId));
    expect(failure(encryptIn(HOME)).code).toBe('AccessDeniedException');
    // A single-Region key has no type: the condition is not met.
    const single = call(HOME, 'CreateKey', {}).KeyMetadata as Meta;
    expect(failure(() => kmsIn(HOME).call(quinn, 'Encrypt', { KeyId: single.KeyId, Plaintext: Buffer.from('x') })).code).toBe('AccessDeniedException');
  });

  it('is recorded as ReplicateKey in the primary\'s Region and CreateKey in the replica\'s', () => {
    const { keyId } = newSet();
    const rec = recordsOf(h, 'ReplicateKey').pop()!;
    expect(rec).toMatchObject({
      awsRegion: HOME,
      requestParameters: { keyId, replicaRegion: OTHER },
      responseElements: {
        replicaKeyMetadata: {
          keyId, arn: arnIn(OTHER, keyId), multiRegion: true,
          multiRegionConfiguration: { multiRegionKeyType: 'REPLICA', primaryKey: { arn: arnIn(HOME, keyId), region: HOME }, replicaKeys: [{ arn: arnIn(OTHER, keyId), region: OTHER }] },
        },
        replicaTags: [],
      },
      resources: [{ ARN: arnIn(HOME, keyId), accountId: ACCOUNT }],
    });
    const created = allRecords(h.app.db).filter((r) => r.eventName === 'CreateKey' && r.eventType === 'AwsServiceEvent').pop()!;
    expect(created).toMatchObject({ awsRegion: OTHER, resources: [{ ARN: arnIn(OTHER, keyId), accountId: ACCOUNT }], responseElements: { keyMetadata: { keyId, arn: arnIn(OTHER, keyId) } } });
  });
});

describe('what the set shares and what it does not', () => {
  it('rotating the primary rotates the set: new ciphertexts of any key decrypt everywhere; the replica refuses rotation settings', () => {
    const { keyId, replica } = newSet();
    call(HOME, 'RotateKeyOnDemand', { KeyId: keyId });
    const after = call(OTHER, 'Encrypt', { KeyId: keyId, Plaintext: Buffer.from('after rotation') }).CiphertextBlob as Uint8Array;
    // The replica encrypted under version 2 (the blob names it), which the primary decrypts.
    expect(Buffer.from(after).readUInt32BE(17)).toBe(2);
    expect(text(call(HOME, 'Decrypt', { CiphertextBlob: after }).Plaintext)).toBe('after rotation');
    expect(materialIn(OTHER, keyId, 2).equals(materialIn(HOME, keyId, 2))).toBe(true);
    expect(nobleOpen(materialIn(HOME, keyId, 2), after)).toBe('after rotation');
    expect((call(OTHER, 'ListKeyRotations', { KeyId: keyId }).Rotations as unknown[]).length).toBe(1);
    // Automatic rotation is the set's: set on the primary, seen on the replica, refused there.
    call(HOME, 'EnableKeyRotation', { KeyId: keyId, RotationPeriodInDays: 180 });
    expect(call(OTHER, 'GetKeyRotationStatus', { KeyId: keyId })).toMatchObject({ KeyRotationEnabled: true, RotationPeriodInDays: 180 });
    for (const op of ['EnableKeyRotation', 'DisableKeyRotation', 'RotateKeyOnDemand']) {
      expect(failure(() => call(OTHER, op, { KeyId: keyId }))).toEqual({
        code: 'UnsupportedOperationException',
        message: `${replica.Arn} is a multi-Region replica key: rotate its primary key ${arnIn(HOME, keyId)} instead.`,
      });
    }
    // An automatic rotation that comes due is done once, for the whole set, by whichever Region serves the next call.
    h.app.db.prepare('UPDATE kms_keys SET next_rotation_at = ? WHERE key_id LIKE ?').run(new Date(Date.now() - 1000).toISOString(), `${keyId}/%`);
    noteLocalWrite(h.app.db);
    call(OTHER, 'ListKeys');
    call(HOME, 'ListKeys');
    const v3 = call(HOME, 'Encrypt', { KeyId: keyId, Plaintext: Buffer.from('v3') }).CiphertextBlob as Uint8Array;
    expect(Buffer.from(v3).readUInt32BE(17)).toBe(3);
    expect(text(call(OTHER, 'Decrypt', { CiphertextBlob: v3 }).Plaintext)).toBe('v3');
    expect((call(HOME, 'ListKeyRotations', { KeyId: keyId }).Rotations as unknown[]).length).toBe(2);
    expect(allRecords(h.app.db).filter((r) => r.eventName === 'RotateKey' && (r.resources as { ARN: string }[])[0]!.ARN.endsWith(keyId))).toHaveLength(1);
  });

  it('key state, aliases and grants are each key\'s own', () => {
    const { keyId } = newSet();
    call(OTHER, 'DisableKey', { KeyId: keyId });
    expect(describe_(OTHER, keyId).KeyState).toBe('Disabled');
    expect(describe_(HOME, keyId).KeyState).toBe('Enabled');
    const blob = call(HOME, 'Encrypt', { KeyId: keyId, Plaintext: Buffer.from('x') }).CiphertextBlob;
    expect(failure(() => call(OTHER, 'Decrypt', { CiphertextBlob: blob })).code).toBe('DisabledException');
    call(OTHER, 'EnableKey', { KeyId: keyId });
    // The same alias name in two Regions names each Region's key.
    call(HOME, 'CreateAlias', { AliasName: 'alias/everywhere', TargetKeyId: keyId });
    call(OTHER, 'CreateAlias', { AliasName: 'alias/everywhere', TargetKeyId: keyId });
    expect((call(OTHER, 'ListAliases', { KeyId: keyId }).Aliases as { AliasArn: string; TargetKeyId: string }[])).toEqual([
      expect.objectContaining({ AliasArn: `arn:aws:kms:${OTHER}:${ACCOUNT}:alias/everywhere`, TargetKeyId: keyId }),
    ]);
    expect(call(OTHER, 'Encrypt', { KeyId: 'alias/everywhere', Plaintext: Buffer.from('y') }).KeyId).toBe(arnIn(OTHER, keyId));
    // A grant on the replica is not a grant on the primary.
    const g = call(OTHER, 'CreateGrant', { KeyId: keyId, GranteePrincipal: `arn:aws:iam::${ACCOUNT}:user/Alice`, Operations: ['Decrypt'] });
    expect((call(OTHER, 'ListGrants', { KeyId: keyId }).Grants as { GrantId: string; KeyId: string }[]).map((x) => [x.GrantId, x.KeyId])).toEqual([[g.GrantId, arnIn(OTHER, keyId)]]);
    expect(call(HOME, 'ListGrants', { KeyId: keyId }).Grants).toEqual([]);
    call(OTHER, 'RevokeGrant', { KeyId: keyId, GrantId: g.GrantId });
  });
});

describe('UpdatePrimaryRegion', () => {
  it('makes the replica the primary and the primary a replica; the new primary replicates and rotates, the old one no longer', () => {
    const { keyId } = newSet();
    expect(call(HOME, 'UpdatePrimaryRegion', { KeyId: keyId, PrimaryRegion: OTHER })).toEqual({});
    expect(describe_(HOME, keyId).MultiRegionConfiguration).toEqual({
      MultiRegionKeyType: 'REPLICA', PrimaryKey: { Arn: arnIn(OTHER, keyId), Region: OTHER }, ReplicaKeys: [{ Arn: arnIn(HOME, keyId), Region: HOME }],
    });
    expect(describe_(OTHER, keyId).MultiRegionConfiguration).toMatchObject({ MultiRegionKeyType: 'PRIMARY', PrimaryKey: { Region: OTHER } });
    expect(failure(() => call(HOME, 'ReplicateKey', { KeyId: keyId, ReplicaRegion: THIRD })).code).toBe('UnsupportedOperationException');
    expect(failure(() => call(HOME, 'RotateKeyOnDemand', { KeyId: keyId })).code).toBe('UnsupportedOperationException');
    call(OTHER, 'RotateKeyOnDemand', { KeyId: keyId });
    expect(call(OTHER, 'ReplicateKey', { KeyId: keyId, ReplicaRegion: THIRD }).ReplicaKeyMetadata).toMatchObject({ MultiRegionConfiguration: { PrimaryKey: { Region: OTHER } } });
    const blob = call(THIRD, 'Encrypt', { KeyId: keyId, Plaintext: Buffer.from('v2 from the third') }).CiphertextBlob as Uint8Array;
    expect(Buffer.from(blob).readUInt32BE(17)).toBe(2);
    expect(text(call(HOME, 'Decrypt', { CiphertextBlob: blob }).Plaintext)).toBe('v2 from the third');
  });

  it('refuses a replica, a single-Region key, a Region without a key of the set and the primary\'s own Region', () => {
    const { keyId, replica } = newSet();
    expect(failure(() => call(OTHER, 'UpdatePrimaryRegion', { KeyId: keyId, PrimaryRegion: HOME }))).toEqual({ code: 'UnsupportedOperationException', message: `${replica.Arn} is not a multi-Region primary key.` });
    const single = call(HOME, 'CreateKey', {}).KeyMetadata as Meta;
    expect(failure(() => call(HOME, 'UpdatePrimaryRegion', { KeyId: single.KeyId, PrimaryRegion: OTHER })).code).toBe('UnsupportedOperationException');
    expect(failure(() => call(HOME, 'UpdatePrimaryRegion', { KeyId: keyId, PrimaryRegion: THIRD }))).toEqual({ code: 'NotFoundException', message: `Key '${arnIn(THIRD, keyId)}' does not exist` });
    expect(failure(() => call(HOME, 'UpdatePrimaryRegion', { KeyId: keyId, PrimaryRegion: HOME })).code).toBe('UnsupportedOperationException');
  });
});

describe('deleting a set', () => {
  it('a primary with replicas waits in PendingReplicaDeletion; when its last replica is deleted its own waiting period begins', () => {
    const { keyId, primary } = newSet();
    const s = call(HOME, 'ScheduleKeyDeletion', { KeyId: keyId, PendingWindowInDays: 7 });
    expect(s).toEqual({ KeyId: primary.Arn, KeyState: 'PendingReplicaDeletion', PendingWindowInDays: 7 });
    const m = describe_(HOME, keyId);
    expect(m).toMatchObject({ KeyState: 'PendingReplicaDeletion', Enabled: false, PendingDeletionWindowInDays: 7 });
    expect(m.DeletionDate).toBeUndefined();
    expect(failure(() => call(HOME, 'Encrypt', { KeyId: keyId, Plaintext: Buffer.from('x') }))).toEqual({ code: 'KMSInvalidStateException', message: `${primary.Arn} is pending replica deletion.` });
    // The replica still works, and is deleted on its own schedule.
    expect(call(OTHER, 'Encrypt', { KeyId: keyId, Plaintext: Buffer.from('x') }).KeyId).toBe(arnIn(OTHER, keyId));
    const r = call(OTHER, 'ScheduleKeyDeletion', { KeyId: keyId, PendingWindowInDays: 7 });
    expect(r).toMatchObject({ KeyState: 'PendingDeletion', DeletionDate: expect.any(Date) });
    h.app.db.prepare('UPDATE kms_keys SET deletion_date = ? WHERE key_id = ?').run(new Date(Date.now() - 1000).toISOString(), `${keyId}/${OTHER}`);
    noteLocalWrite(h.app.db);
    call(OTHER, 'ListKeys');
    expect(failure(() => describe_(OTHER, keyId))).toEqual({ code: 'NotFoundException', message: `Key '${arnIn(OTHER, keyId)}' does not exist` });
    const now = describe_(HOME, keyId);
    expect(now).toMatchObject({ KeyState: 'PendingDeletion', MultiRegionConfiguration: { ReplicaKeys: [] } });
    const days = ((now.DeletionDate as Date).getTime() - Date.now()) / 86400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThanOrEqual(7);
  });

  it("the primary's waiting period runs from its last replica's deletion date, however late the deletion is noticed", () => {
    const { keyId } = newSet();
    call(HOME, 'ScheduleKeyDeletion', { KeyId: keyId, PendingWindowInDays: 7 });
    call(OTHER, 'ScheduleKeyDeletion', { KeyId: keyId, PendingWindowInDays: 7 });
    // The replica's period ended three days ago; no one called KMS in its Region since.
    const ended = new Date(Date.now() - 3 * 86400_000);
    h.app.db.prepare('UPDATE kms_keys SET deletion_date = ? WHERE key_id = ?').run(ended.toISOString(), `${keyId}/${OTHER}`);
    noteLocalWrite(h.app.db);
    call(OTHER, 'ListKeys');
    const days = ((describe_(HOME, keyId).DeletionDate as Date).getTime() - Date.now()) / 86400_000;
    expect(days).toBeGreaterThan(3.9);
    expect(days).toBeLessThan(4.01);
  });

  it('a replica whose waiting period has ended does not hold back its primary, even before its row is removed', () => {
    const { keyId } = newSet();
    call(OTHER, 'ScheduleKeyDeletion', { KeyId: keyId, PendingWindowInDays: 7 });
    h.app.db.prepare('UPDATE kms_keys SET deletion_date = ? WHERE key_id = ?').run(new Date(Date.now() - 1000).toISOString(), `${keyId}/${OTHER}`);
    noteLocalWrite(h.app.db);
    // No call in OTHER since: the replica's row is still stored.
    expect(call(HOME, 'ScheduleKeyDeletion', { KeyId: keyId, PendingWindowInDays: 7 })).toMatchObject({ KeyState: 'PendingDeletion' });
  });

  it('CancelKeyDeletion of a primary in PendingReplicaDeletion leaves it Disabled, as for any key', () => {
    const { keyId, primary } = newSet();
    call(HOME, 'ScheduleKeyDeletion', { KeyId: keyId });
    expect(call(HOME, 'CancelKeyDeletion', { KeyId: keyId })).toEqual({ KeyId: primary.Arn });
    expect(describe_(HOME, keyId).KeyState).toBe('Disabled');
  });

  it('a replica in PendingDeletion still blocks a new replica in its Region (AlreadyExistsException)', () => {
    const { keyId } = newSet();
    call(OTHER, 'ScheduleKeyDeletion', { KeyId: keyId });
    expect(failure(() => call(HOME, 'ReplicateKey', { KeyId: keyId, ReplicaRegion: OTHER })).code).toBe('AlreadyExistsException');
  });
});

describe('through the CLI', () => {
  it('`ebsim kms create-key --multi-region`, `replicate-key`, `--region` decrypt of a fileb:// blob, `update-primary-region`', async () => {
    const created = await ebsimIn(h.dir, ['kms', 'create-key', '--multi-region', '--description', 'cli set']);
    expect(created.code).toBe(0);
    const keyId = created.json().KeyMetadata.KeyId as string;
    expect(keyId).toMatch(/^mrk-/);
    const rep = await ebsimIn(h.dir, ['kms', 'replicate-key', '--key-id', keyId, '--replica-region', OTHER, '--description', 'cli replica']);
    expect(rep.code).toBe(0);
    expect(rep.json().ReplicaKeyMetadata).toMatchObject({ Arn: arnIn(OTHER, keyId), Description: 'cli replica' });
    const enc = await ebsimIn(h.dir, ['kms', 'encrypt', '--key-id', keyId, '--plaintext', Buffer.from('via the cli').toString('base64')]);
    const file = join(h.dir, 'mrk.blob');
    writeFileSync(file, Buffer.from(enc.json().CiphertextBlob as string, 'base64'));
    const dec = await ebsimIn(h.dir, ['--region', OTHER, 'kms', 'decrypt', '--ciphertext-blob', `fileb://${file}`]);
    expect(dec.code).toBe(0);
    expect(dec.json().KeyId).toBe(arnIn(OTHER, keyId));
    expect(Buffer.from(dec.json().Plaintext as string, 'base64').toString()).toBe('via the cli');
    const upd = await ebsimIn(h.dir, ['kms', 'update-primary-region', '--key-id', keyId, '--primary-region', OTHER]);
    expect(upd.code).toBe(0);
    const d = await ebsimIn(h.dir, ['kms', 'describe-key', '--key-id', keyId, '--query', 'KeyMetadata.MultiRegionConfiguration.MultiRegionKeyType', '--output', 'text']);
    expect(d.stdout.trim()).toBe('REPLICA');
    const refused = await ebsimIn(h.dir, ['kms', 'replicate-key', '--key-id', keyId, '--replica-region', THIRD]);
    expect(refused.code).toBe(254);
    expect(refused.stderr).toContain(`An error occurred (UnsupportedOperationException) when calling the ReplicateKey operation: ${arnIn(HOME, keyId)} is not a multi-Region primary key.`);
  });
});
