// UpdateKeyDescription and ListKeyRotations (issue 14): success and each documented error, the
// key-state table, AWS managed keys, paging, the trail, `ebsim kms`, and @aws-sdk/client-kms over
// HTTP (responses use only the model's output members).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as sdk from '@aws-sdk/client-kms';
import { DescribeKeyCommand, KMSClient, ListKeyRotationsCommand, RotateKeyOnDemandCommand, UpdateKeyDescriptionCommand } from '@aws-sdk/client-kms';
import { makeHome, type TestHome } from '../helpers/home.js';
import { aliceCredentials, inProcess } from '../server/helpers.js';
import type { CallContext } from '../../src/core/call-context.js';
import type { RunningServer } from '../../src/server/index.js';
import type { KmsService } from '../../src/kms/service.js';
import { noteLocalWrite } from '../../src/store/read-cache.js';
import { ebsimIn } from '../helpers/cli.js';

const ACCOUNT = '123456789012';

let h: TestHome;
let kms: KmsService;
let alice: CallContext;
let server: RunningServer;
let client: KMSClient;

beforeAll(async () => {
  h = makeHome('ebsim-description-rotations-');
  kms = h.app.kms();
  alice = h.app.as('Alice');
  server = await inProcess(h.dir);
  client = new KMSClient({ endpoint: server.url, region: 'us-east-1', credentials: aliceCredentials(h.dir), maxAttempts: 1 });
});
afterAll(async () => {
  client?.destroy();
  await server?.close();
  h.cleanup();
});

type Key = { KeyId: string; Arn: string };
const newKey = (params: Record<string, unknown> = {}) => kms.call(alice, 'CreateKey', params).KeyMetadata as Key;
const describeKey = (KeyId: string) => kms.call(alice, 'DescribeKey', { KeyId }).KeyMetadata as Record<string, unknown>;
const managedKey = () => describeKey('alias/aws/ebs') as unknown as Key;

function failure(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    return { code: (err as { code: string }).code, message: (err as Error).message };
  }
  throw new Error('expected the call to fail');
}

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return ebsimIn(h.dir, args);
}

const records = (name: string) => {
  h.app.trail.flush();
  return (h.app.db.prepare('SELECT record FROM trail_events WHERE event_name = ? ORDER BY seq').all(name) as { record: string }[]).map((r) => JSON.parse(r.record));
};

/** The output members of an operation in the SDK's schema (names only). */
function modelOutputMembers(op: string): string[] {
  const schema = (sdk as unknown as Record<string, unknown>)[`${op}Response$`] as unknown[];
  return schema[4] as string[];
}
function entryMembers(): string[] {
  return ((sdk as unknown as Record<string, unknown>)['RotationsListEntry$'] as unknown[])[4] as string[];
}

describe('UpdateKeyDescription', () => {
  it('replaces the description DescribeKey shows; an empty description is allowed; the response is empty', () => {
    const { KeyId, Arn } = newKey({ Description: 'first' });
    expect(kms.call(alice, 'UpdateKeyDescription', { KeyId, Description: 'second' })).toEqual({});
    expect(describeKey(KeyId).Description).toBe('second');
    kms.call(alice, 'UpdateKeyDescription', { KeyId: Arn, Description: '' });
    expect(describeKey(KeyId).Description).toBe('');
    const long = 'd'.repeat(8192);
    kms.call(alice, 'UpdateKeyDescription', { KeyId, Description: long });
    expect(describeKey(KeyId).Description).toBe(long);
  });

  it("Description is required and at most 8192 characters (the model's bounds): ValidationException", () => {
    const { KeyId } = newKey();
    expect(failure(() => kms.call(alice, 'UpdateKeyDescription', { KeyId })).code).toBe('ValidationException');
    expect(failure(() => kms.call(alice, 'UpdateKeyDescription', { KeyId, Description: 'd'.repeat(8193) }))).toMatchObject({
      code: 'ValidationException',
      message: expect.stringContaining("at 'description' failed to satisfy constraint: Member must have length less than or equal to 8192"),
    });
  });

  it('key states: Disabled keys take a description; a key pending deletion does not (KMSInvalidStateException)', () => {
    const { KeyId, Arn } = newKey();
    kms.call(alice, 'DisableKey', { KeyId });
    kms.call(alice, 'UpdateKeyDescription', { KeyId, Description: 'disabled' });
    expect(describeKey(KeyId).Description).toBe('disabled');
    kms.call(alice, 'ScheduleKeyDeletion', { KeyId, PendingWindowInDays: 7 });
    expect(failure(() => kms.call(alice, 'UpdateKeyDescription', { KeyId, Description: 'x' }))).toEqual({ code: 'KMSInvalidStateException', message: `${Arn} is pending deletion.` });
  });

  it('an unknown key is NotFoundException; an alias InvalidArnException; an AWS managed key AccessDeniedException', () => {
    expect(failure(() => kms.call(alice, 'UpdateKeyDescription', { KeyId: '11111111-2222-3333-4444-555555555555', Description: 'x' })).code).toBe('NotFoundException');
    expect(failure(() => kms.call(alice, 'UpdateKeyDescription', { KeyId: 'alias/aws/ebs', Description: 'x' })).code).toBe('InvalidArnException');
    const m = managedKey();
    expect(failure(() => kms.call(alice, 'UpdateKeyDescription', { KeyId: m.KeyId, Description: 'mine now' }))).toEqual({
      code: 'AccessDeniedException',
      message: `User: arn:aws:iam::${ACCOUNT}:user/Alice is not authorized to perform: kms:UpdateKeyDescription on resource: ${m.Arn} because no resource-based policy allows the kms:UpdateKeyDescription action`,
    });
    expect(describeKey(m.KeyId).Description).toBe('Default key that protects my EBS volumes when no other key is defined');
  });

  it('the trail: one record with the key and the new description (logged: the model does not mark it sensitive)', () => {
    const { KeyId, Arn } = newKey();
    const before = records('UpdateKeyDescription').length;
    kms.call(alice, 'UpdateKeyDescription', { KeyId, Description: 'logged' });
    expect(records('UpdateKeyDescription').slice(before)).toMatchObject([
      { readOnly: false, requestParameters: { keyId: KeyId, description: 'logged' }, responseElements: null, resources: [{ ARN: Arn, accountId: ACCOUNT }] },
    ]);
  });

  it('ebsim kms update-key-description, and UpdateKeyDescriptionCommand over HTTP', async () => {
    const { KeyId } = newKey();
    const r = await cli('kms', 'update-key-description', '--key-id', KeyId, '--description', 'from the CLI');
    expect(r.code, r.stderr).toBe(0);
    expect(describeKey(KeyId).Description).toBe('from the CLI');
    const bad = await cli('kms', 'update-key-description', '--key-id', KeyId);
    expect(bad.code).not.toBe(0);
    await client.send(new UpdateKeyDescriptionCommand({ KeyId, Description: 'from the SDK' }));
    expect((await client.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!.Description).toBe('from the SDK');
    const err = await client.send(new UpdateKeyDescriptionCommand({ KeyId: managedKey().KeyId, Description: 'x' })).catch((e: Error) => e);
    expect(err).toMatchObject({ name: 'AccessDeniedException' });
  });
});

describe('ListKeyRotations', () => {
  const rotations = (KeyId: string, params: Record<string, unknown> = {}) => kms.call(alice, 'ListKeyRotations', { KeyId, ...params });

  it('a key never rotated has no rotations; with ALL_KEY_MATERIAL, its first key material (no date, no type)', () => {
    const { KeyId } = newKey();
    expect(rotations(KeyId)).toEqual({ Rotations: [], Truncated: false });
    expect(rotations(KeyId, { IncludeKeyMaterial: 'ROTATIONS_ONLY' })).toEqual({ Rotations: [], Truncated: false });
    const all = rotations(KeyId, { IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }).Rotations as Record<string, unknown>[];
    expect(all).toHaveLength(1);
    expect(all[0]).toEqual({ KeyId, KeyMaterialId: expect.stringMatching(/^[a-f0-9]{64}$/), KeyMaterialState: 'CURRENT' });
  });

  it('on-demand and automatic rotations, in order, with their dates and types; the newest material is CURRENT', () => {
    const { KeyId } = newKey();
    const t0 = Date.now();
    kms.call(alice, 'RotateKeyOnDemand', { KeyId });
    kms.call(alice, 'EnableKeyRotation', { KeyId, RotationPeriodInDays: 90 });
    // The automatic rotation comes due: the next call's due work rotates.
    h.app.db.prepare('UPDATE kms_keys SET next_rotation_at = ? WHERE key_id = ?').run(new Date(Date.now() - 1000).toISOString(), KeyId);
    noteLocalWrite(h.app.db);
    const list = rotations(KeyId).Rotations as { KeyId: string; KeyMaterialId: string; KeyMaterialState: string; RotationDate: Date; RotationType: string }[];
    expect(list.map((r) => [r.RotationType, r.KeyMaterialState])).toEqual([['ON_DEMAND', 'NON_CURRENT'], ['AUTOMATIC', 'CURRENT']]);
    for (const r of list) {
      expect(r.KeyId).toBe(KeyId);
      expect(r.RotationDate).toBeInstanceOf(Date);
      expect(r.RotationDate.getTime()).toBeGreaterThanOrEqual(t0 - 1000);
    }
    expect(new Set(list.map((r) => r.KeyMaterialId)).size).toBe(2);
    const all = rotations(KeyId, { IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }).Rotations as Record<string, unknown>[];
    expect(all).toHaveLength(3);
    expect(all[0]).not.toHaveProperty('RotationDate');
    expect(all.slice(1)).toEqual(list);
  });

  it('pages with Limit and Marker', () => {
    const { KeyId } = newKey();
    for (let i = 0; i < 5; i++) kms.call(alice, 'RotateKeyOnDemand', { KeyId });
    const first = rotations(KeyId, { Limit: 2 });
    expect(first).toMatchObject({ Truncated: true, NextMarker: expect.any(String) });
    const second = rotations(KeyId, { Limit: 2, Marker: first.NextMarker });
    const third = rotations(KeyId, { Limit: 2, Marker: second.NextMarker });
    expect(third).toMatchObject({ Truncated: false });
    expect([...(first.Rotations as unknown[]), ...(second.Rotations as unknown[]), ...(third.Rotations as unknown[])]).toEqual(rotations(KeyId).Rotations);
    expect(failure(() => rotations(KeyId, { Marker: 'nope' })).code).toBe('InvalidMarkerException');
    expect(failure(() => rotations(KeyId, { Limit: 0 })).code).toBe('ValidationException');
    expect(failure(() => rotations(KeyId, { IncludeKeyMaterial: 'SOME' })).message).toContain('Member must satisfy enum value set: [ALL_KEY_MATERIAL, ROTATIONS_ONLY]');
  });

  it('an AWS managed key lists its rotations (the account may List*); errors: unknown key, alias, pending deletion', () => {
    expect(rotations(managedKey().KeyId)).toEqual({ Rotations: [], Truncated: false });
    expect(failure(() => rotations('11111111-2222-3333-4444-555555555555')).code).toBe('NotFoundException');
    expect(failure(() => rotations('alias/aws/ebs')).code).toBe('InvalidArnException');
    const { KeyId, Arn } = newKey();
    kms.call(alice, 'DisableKey', { KeyId });
    expect(rotations(KeyId).Rotations).toEqual([]);
    kms.call(alice, 'ScheduleKeyDeletion', { KeyId, PendingWindowInDays: 7 });
    expect(failure(() => rotations(KeyId))).toEqual({ code: 'KMSInvalidStateException', message: `${Arn} is pending deletion.` });
  });

  it('the trail: a read-only record naming the key, with includeKeyMaterial when sent', () => {
    const { KeyId, Arn } = newKey();
    const before = records('ListKeyRotations').length;
    rotations(KeyId, { IncludeKeyMaterial: 'ALL_KEY_MATERIAL' });
    expect(records('ListKeyRotations').slice(before)).toMatchObject([
      { readOnly: true, requestParameters: { keyId: KeyId, includeKeyMaterial: 'ALL_KEY_MATERIAL' }, responseElements: null, resources: [{ ARN: Arn }] },
    ]);
  });

  it("ebsim kms list-key-rotations, and ListKeyRotationsCommand over HTTP (dates as dates; only the model's members)", async () => {
    const { KeyId } = newKey();
    await client.send(new RotateKeyOnDemandCommand({ KeyId }));
    const r = await cli('kms', 'list-key-rotations', '--key-id', KeyId, '--include-key-material', 'ALL_KEY_MATERIAL');
    expect(r.code, r.stderr).toBe(0);
    const printed = JSON.parse(r.stdout);
    expect(printed.Rotations).toHaveLength(2);
    expect(printed.Rotations[1]).toMatchObject({ KeyId, RotationType: 'ON_DEMAND', KeyMaterialState: 'CURRENT' });
    const got = await client.send(new ListKeyRotationsCommand({ KeyId }));
    expect(got.Rotations).toHaveLength(1);
    expect(got.Rotations![0]).toMatchObject({ KeyId, RotationType: 'ON_DEMAND', KeyMaterialState: 'CURRENT' });
    expect(got.Rotations![0]!.RotationDate).toBeInstanceOf(Date);
    expect(got.Truncated).toBe(false);
    const answer = kms.call(alice, 'ListKeyRotations', { KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' });
    expect(Object.keys(answer).filter((k) => !modelOutputMembers('ListKeyRotations').includes(k))).toEqual([]);
    for (const e of answer.Rotations as Record<string, unknown>[]) expect(Object.keys(e).filter((k) => !entryMembers().includes(k))).toEqual([]);
  });
});
