// Tags on KMS keys (issue 14): TagResource, UntagResource, ListResourceTags and CreateKey's Tags,
// with AWS's rules (at most 50, the reserved aws: prefix, allowed characters, one value per tag
// key, no AWS managed keys, the key-state table), the trail records of the KMS Developer Guide,
// and the tag condition keys (aws:ResourceTag/…, aws:RequestTag/…, aws:TagKeys) deciding access.
// Each through the domain, `ebsim kms` (main in-process), @aws-sdk/client-kms over HTTP, and the
// real AWS CLI where it is installed.
import { existsSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateKeyCommand, DecryptCommand, EncryptCommand, KMSClient, ListResourceTagsCommand, TagResourceCommand, UntagResourceCommand,
} from '@aws-sdk/client-kms';
import { makeHome, type TestHome } from '../helpers/home.js';
import { aliceCredentials, aws, inProcess } from '../server/helpers.js';
import type { CallContext } from '../../src/core/call-context.js';
import type { RunningServer } from '../../src/server/index.js';
import type { SigningCredentials } from '../../src/server/sigv4.js';
import type { KmsService } from '../../src/kms/service.js';
import { TAG_MESSAGES } from '../../src/kms/tags.js';
import { noteLocalWrite } from '../../src/store/read-cache.js';
import { ebsimIn } from '../helpers/cli.js';

const ACCOUNT = '123456789012';
const HAVE_AWS = existsSync('/usr/bin/aws');

let h: TestHome;
let kms: KmsService;
let alice: CallContext;
let server: RunningServer;
const clients: KMSClient[] = [];

beforeAll(async () => {
  h = makeHome('ebsim-tags-');
  kms = h.app.kms();
  alice = h.app.as('Alice');
  server = await inProcess(h.dir);
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await server?.close();
  h.cleanup();
});

type Key = { KeyId: string; Arn: string };
const newKey = (params: Record<string, unknown> = {}, who = alice) => kms.call(who, 'CreateKey', params).KeyMetadata as Key;
const tagsOf = (KeyId: string, who = alice) => kms.call(who, 'ListResourceTags', { KeyId }).Tags as { TagKey: string; TagValue: string }[];
const tag = (TagKey: string, TagValue: string) => ({ TagKey, TagValue });

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

function client(credentials: SigningCredentials = aliceCredentials(h.dir)): KMSClient {
  const c = new KMSClient({ endpoint: server.url, region: 'us-east-1', credentials, maxAttempts: 1 });
  clients.push(c);
  return c;
}

function newUser(name: string, policy?: object): { ctx: CallContext; creds: SigningCredentials; arn: string } {
  h.app.iam.createUser(alice, name);
  const k = h.app.iam.createAccessKey(alice, name).AccessKey;
  if (policy) h.app.iam.call(alice, 'PutUserPolicy', { UserName: name, PolicyName: 'p', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: policy }) });
  return { ctx: h.app.as(name), creds: { accessKeyId: k.AccessKeyId, secretAccessKey: k.SecretAccessKey }, arn: `arn:aws:iam::${ACCOUNT}:user/${name}` };
}

const records = (name: string) => {
  h.app.trail.flush();
  return (h.app.db.prepare('SELECT record FROM trail_events WHERE event_name = ? ORDER BY seq').all(name) as { record: string }[]).map((r) => JSON.parse(r.record));
};

describe('TagResource, UntagResource, ListResourceTags', () => {
  it("CreateKey's Tags are stored and listed (by tag key); DescribeKey shows no tags, as AWS's does not", () => {
    const { KeyId } = newKey({ Tags: [tag('Project', 'Alpha'), tag('Cost Center', '80432'), tag('empty', '')] });
    expect(tagsOf(KeyId)).toEqual([tag('Cost Center', '80432'), tag('Project', 'Alpha'), tag('empty', '')]);
    expect(kms.call(alice, 'ListResourceTags', { KeyId })).toEqual({ Tags: tagsOf(KeyId), Truncated: false });
    const meta = kms.call(alice, 'DescribeKey', { KeyId }).KeyMetadata as Record<string, unknown>;
    expect(JSON.stringify(meta)).not.toContain('Alpha');
    expect(tagsOf(newKey().KeyId)).toEqual([]);
  });

  it("TagResource adds tags and replaces an existing tag key's value; tag keys are case-sensitive", () => {
    const { KeyId, Arn } = newKey({ Tags: [tag('Purpose', 'Test')] });
    expect(kms.call(alice, 'TagResource', { KeyId, Tags: [tag('Purpose', 'Prod'), tag('purpose', 'lower'), tag('Dept', 'IT')] })).toEqual({});
    expect(tagsOf(Arn)).toEqual([tag('Dept', 'IT'), tag('Purpose', 'Prod'), tag('purpose', 'lower')]);
  });

  it('UntagResource removes the tags named; a tag key the key does not have is not an error', () => {
    const { KeyId } = newKey({ Tags: [tag('a', '1'), tag('b', '2'), tag('c', '3')] });
    expect(kms.call(alice, 'UntagResource', { KeyId, TagKeys: ['a', 'c', 'never-there'] })).toEqual({});
    expect(tagsOf(KeyId)).toEqual([tag('b', '2')]);
    kms.call(alice, 'UntagResource', { KeyId, TagKeys: ['never-there'] });
    expect(tagsOf(KeyId)).toEqual([tag('b', '2')]);
  });

  it('"__proto__" and "constructor" as tag keys are just tags', () => {
    const { KeyId } = newKey({ Tags: [tag('__proto__', 'x'), tag('constructor', 'y')] });
    kms.call(alice, 'TagResource', { KeyId, Tags: [tag('hasOwnProperty', 'z')] });
    expect(tagsOf(KeyId)).toEqual([tag('__proto__', 'x'), tag('constructor', 'y'), tag('hasOwnProperty', 'z')]);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    kms.call(alice, 'UntagResource', { KeyId, TagKeys: ['__proto__'] });
    expect(tagsOf(KeyId).map((t) => t.TagKey)).toEqual(['constructor', 'hasOwnProperty']);
  });

  it('ListResourceTags pages with Limit (1..50, default 50) and Marker', () => {
    const Tags = Array.from({ length: 50 }, (_, i) => tag(`k${String(i).padStart(2, '0')}`, `v${i}`));
    const { KeyId } = newKey({ Tags });
    const all = kms.call(alice, 'ListResourceTags', { KeyId });
    expect(all).toMatchObject({ Truncated: false });
    expect(all.Tags).toEqual(Tags);
    const seen: unknown[] = [];
    let Marker: string | undefined;
    let pages = 0;
    do {
      const page = kms.call(alice, 'ListResourceTags', { KeyId, Limit: 20, ...(Marker ? { Marker } : {}) });
      seen.push(...(page.Tags as unknown[]));
      Marker = page.NextMarker as string | undefined;
      expect(page.Truncated).toBe(Marker !== undefined);
      pages++;
    } while (Marker);
    expect(pages).toBe(3);
    expect(seen).toEqual(Tags);
    expect(failure(() => kms.call(alice, 'ListResourceTags', { KeyId, Limit: 51 }))).toMatchObject({ code: 'ValidationException', message: expect.stringContaining("at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50") });
    expect(failure(() => kms.call(alice, 'ListResourceTags', { KeyId, Marker: 'bogus' })).code).toBe('InvalidMarkerException');
  });

  it("a deleted key takes its tags with it (the due deletion removes the rows); ListKeys is unchanged by tags", () => {
    const { KeyId } = newKey({ Tags: [tag('gone', 'soon')] });
    const listed = (kms.call(alice, 'ListKeys', { Limit: 1000 }).Keys as { KeyId: string }[]).find((k) => k.KeyId === KeyId);
    expect(listed).toEqual({ KeyId, KeyArn: `arn:aws:kms:us-east-1:${ACCOUNT}:key/${KeyId}` });
    kms.call(alice, 'ScheduleKeyDeletion', { KeyId, PendingWindowInDays: 7 });
    const rows = () => (h.app.db.prepare('SELECT count(*) AS n FROM kms_key_tags WHERE key_id = ?').get(KeyId) as { n: number }).n;
    expect(rows()).toBe(1);
    h.app.db.prepare('UPDATE kms_keys SET deletion_date = ? WHERE key_id = ?').run(new Date(Date.now() - 1000).toISOString(), KeyId);
    noteLocalWrite(h.app.db);
    expect(failure(() => tagsOf(KeyId)).code).toBe('NotFoundException');
    expect(rows()).toBe(0);
  });
});

describe('a model: TagResource and UntagResource behave as a Map', () => {
  it('any sequence of tag and untag calls leaves the tags a Map would hold (keys sorted by code unit)', () => {
    const tagKey = fc.constantFrom('a', 'A', 'b', '__proto__', 'constructor', 'toString', 'x y', 'k:1');
    const op = fc.oneof(
      fc.record({ tag: fc.uniqueArray(fc.tuple(tagKey, fc.constantFrom('', 'v', 'w 2')), { minLength: 1, maxLength: 4, selector: ([k]) => k }) }),
      fc.record({ untag: fc.array(tagKey, { minLength: 1, maxLength: 3 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 8 }), (ops) => {
        const { KeyId } = newKey();
        const model = new Map<string, string>();
        for (const o of ops) {
          if ('tag' in o) {
            kms.call(alice, 'TagResource', { KeyId, Tags: o.tag.map(([k, v]) => tag(k, v)) });
            for (const [k, v] of o.tag) model.set(k, v);
          } else {
            kms.call(alice, 'UntagResource', { KeyId, TagKeys: o.untag });
            for (const k of o.untag) model.delete(k);
          }
        }
        const expected = [...model].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => tag(k, v));
        expect(tagsOf(KeyId)).toEqual(expected);
      }),
      { numRuns: 25 },
    );
  });
});

describe('errors, as AWS answers them', () => {
  let KeyId = '';
  beforeAll(() => {
    KeyId = newKey().KeyId;
  });

  it('the reserved aws: prefix, in any case, is TagException "Tags beginning with aws: are reserved" (TagResource, CreateKey, UntagResource)', () => {
    for (const k of ['aws:team', 'AWS:team', 'Aws:x']) {
      expect(failure(() => kms.call(alice, 'TagResource', { KeyId, Tags: [tag(k, 'v')] }))).toEqual({ code: 'TagException', message: TAG_MESSAGES.reserved });
    }
    expect(failure(() => newKey({ Tags: [tag('ok', 'v'), tag('aws:createdBy', 'me')] }))).toEqual({ code: 'TagException', message: 'Tags beginning with aws: are reserved' });
    expect(failure(() => kms.call(alice, 'UntagResource', { KeyId, TagKeys: ['aws:team'] })).code).toBe('TagException');
    // A value may begin with aws: (the prefix is reserved for keys), and awsome is not aws:.
    kms.call(alice, 'TagResource', { KeyId, Tags: [tag('awsome', 'aws:fine')] });
    expect(tagsOf(KeyId)).toContainEqual(tag('awsome', 'aws:fine'));
  });

  it('characters outside letters, digits, spaces and _ . : / = + - @ are TagException "Invalid tag"; Unicode letters are fine', () => {
    expect(failure(() => kms.call(alice, 'TagResource', { KeyId, Tags: [tag('Owner', 'My & My Team')] }))).toEqual({ code: 'TagException', message: 'Invalid tag' });
    expect(failure(() => kms.call(alice, 'TagResource', { KeyId, Tags: [tag('a*b', 'v')] }))).toEqual({ code: 'TagException', message: 'Invalid tag' });
    kms.call(alice, 'TagResource', { KeyId, Tags: [tag('Équipe données_1.2:/=+-@', 'café über 東京 x')] });
    expect(tagsOf(KeyId)).toContainEqual(tag('Équipe données_1.2:/=+-@', 'café über 東京 x'));
  });

  it('a tag key twice in one request is TagException "Duplicate tag keys"', () => {
    expect(failure(() => kms.call(alice, 'TagResource', { KeyId, Tags: [tag('d', '1'), tag('d', '2')] }))).toEqual({ code: 'TagException', message: TAG_MESSAGES.duplicate });
    expect(failure(() => newKey({ Tags: [tag('d', '1'), tag('d', '1')] })).code).toBe('TagException');
  });

  it('more than 50 tags on a key is TagException "Too many tags"; replacing a value does not count', () => {
    const many = (n: number, p = 't') => Array.from({ length: n }, (_, i) => tag(`${p}${i}`, 'v'));
    const before = records('CreateKey').length;
    expect(failure(() => newKey({ Tags: many(51) }))).toEqual({ code: 'TagException', message: TAG_MESSAGES.tooMany });
    expect(records('CreateKey').slice(before)).toMatchObject([{ errorCode: 'TagException' }]);
    const k = newKey({ Tags: many(45) }).KeyId;
    expect(failure(() => kms.call(alice, 'TagResource', { KeyId: k, Tags: many(6, 'n') })).code).toBe('TagException');
    expect(tagsOf(k)).toHaveLength(45);
    kms.call(alice, 'TagResource', { KeyId: k, Tags: [...many(45).map((t) => ({ ...t, TagValue: 'new' })), ...many(5, 'n')] });
    expect(tagsOf(k)).toHaveLength(50);
    expect(failure(() => kms.call(alice, 'TagResource', { KeyId: k, Tags: [tag('one-more', 'v')] })).code).toBe('TagException');
  });

  it("lengths and required members are the model's: ValidationException", () => {
    const bad = (params: Record<string, unknown>) => failure(() => kms.call(alice, 'TagResource', { KeyId, ...params }));
    expect(bad({ Tags: [tag('k'.repeat(129), 'v')] })).toMatchObject({ code: 'ValidationException', message: expect.stringContaining("at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length less than or equal to 128") });
    expect(bad({ Tags: [tag('ok', 'v'), tag('k', 'v'.repeat(257))] }).message).toContain("at 'tags.2.member.tagValue' failed to satisfy constraint: Member must have length less than or equal to 256");
    expect(bad({ Tags: [tag('', 'v')] }).message).toContain("at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length greater than or equal to 1");
    expect(bad({ Tags: [{ TagKey: 'k' }] }).code).toBe('ValidationException');
    expect(failure(() => kms.call(alice, 'TagResource', { KeyId })).code).toBe('ValidationException');
    expect(failure(() => kms.call(alice, 'UntagResource', { KeyId })).code).toBe('ValidationException');
    kms.call(alice, 'TagResource', { KeyId, Tags: [tag('k'.repeat(128), 'v'.repeat(256))] });
  });

  it('an unknown key is NotFoundException; an alias, InvalidArnException (these take a key ID or key ARN)', () => {
    const missing = '11111111-2222-3333-4444-555555555555';
    for (const op of ['TagResource', 'UntagResource', 'ListResourceTags']) {
      const params = { KeyId: missing, Tags: [tag('a', 'b')], TagKeys: ['a'] };
      const p = op === 'TagResource' ? { KeyId: missing, Tags: params.Tags } : op === 'UntagResource' ? { KeyId: missing, TagKeys: params.TagKeys } : { KeyId: missing };
      expect(failure(() => kms.call(alice, op, p)).code).toBe('NotFoundException');
    }
    kms.call(alice, 'CreateAlias', { AliasName: 'alias/tagged', TargetKeyId: KeyId });
    expect(failure(() => kms.call(alice, 'ListResourceTags', { KeyId: 'alias/tagged' })).code).toBe('InvalidArnException');
  });

  it('an AWS managed key cannot be tagged or untagged (AccessDeniedException); its tags list, empty', () => {
    const managed = (kms.call(alice, 'DescribeKey', { KeyId: 'alias/aws/ebs' }).KeyMetadata as Key);
    const e = failure(() => kms.call(alice, 'TagResource', { KeyId: managed.KeyId, Tags: [tag('a', 'b')] }));
    expect(e).toEqual({ code: 'AccessDeniedException', message: `User: arn:aws:iam::${ACCOUNT}:user/Alice is not authorized to perform: kms:TagResource on resource: ${managed.Arn} because no resource-based policy allows the kms:TagResource action` });
    expect(failure(() => kms.call(alice, 'UntagResource', { KeyId: managed.Arn, TagKeys: ['a'] })).code).toBe('AccessDeniedException');
    expect(tagsOf(managed.KeyId)).toEqual([]);
  });

  it('key states: Disabled keys take tags; a key pending deletion refuses TagResource and UntagResource (KMSInvalidStateException) but lists its tags', () => {
    const k = newKey({ Tags: [tag('s', '1')] });
    kms.call(alice, 'DisableKey', { KeyId: k.KeyId });
    kms.call(alice, 'TagResource', { KeyId: k.KeyId, Tags: [tag('t', '2')] });
    kms.call(alice, 'UntagResource', { KeyId: k.KeyId, TagKeys: ['s'] });
    kms.call(alice, 'ScheduleKeyDeletion', { KeyId: k.KeyId, PendingWindowInDays: 7 });
    expect(failure(() => kms.call(alice, 'TagResource', { KeyId: k.KeyId, Tags: [tag('u', '3')] }))).toEqual({ code: 'KMSInvalidStateException', message: `${k.Arn} is pending deletion.` });
    expect(failure(() => kms.call(alice, 'UntagResource', { KeyId: k.KeyId, TagKeys: ['t'] })).code).toBe('KMSInvalidStateException');
    expect(tagsOf(k.KeyId)).toEqual([tag('t', '2')]);
  });
});

describe('the trail', () => {
  it("TagResource and UntagResource: one record each, in the Developer Guide's shape; CreateKey logs its tags", () => {
    const { KeyId, Arn } = newKey({ Tags: [tag('Project', 'Alpha')] });
    expect(records('CreateKey').pop().requestParameters.tags).toEqual([{ tagKey: 'Project', tagValue: 'Alpha' }]);
    const tags = records('TagResource').length;
    const untags = records('UntagResource').length;
    kms.call(alice, 'TagResource', { KeyId: Arn, Tags: [tag('Department', 'IT')] });
    kms.call(alice, 'UntagResource', { KeyId, TagKeys: ['Dept'] });
    const [t] = records('TagResource').slice(tags);
    const [u] = records('UntagResource').slice(untags);
    expect(t).toMatchObject({
      eventName: 'TagResource', eventSource: 'kms.amazonaws.com', readOnly: false,
      requestParameters: { keyId: Arn, tags: [{ tagKey: 'Department', tagValue: 'IT' }] }, responseElements: null,
      resources: [{ ARN: Arn, accountId: ACCOUNT }],
    });
    expect(u).toMatchObject({ eventName: 'UntagResource', readOnly: false, requestParameters: { keyId: KeyId, tagKeys: ['Dept'] }, responseElements: { keyId: Arn }, resources: [{ ARN: Arn }] });
    kms.call(alice, 'ListResourceTags', { KeyId });
    expect(records('ListResourceTags').pop()).toMatchObject({ readOnly: true, requestParameters: { keyId: KeyId }, responseElements: null });
  });

  it('a refused TagResource is one record with its errorCode and message', () => {
    const { KeyId } = newKey();
    const before = records('TagResource').length;
    failure(() => kms.call(alice, 'TagResource', { KeyId, Tags: [tag('aws:x', 'y')] }));
    expect(records('TagResource').slice(before)).toMatchObject([{ errorCode: 'TagException', errorMessage: TAG_MESSAGES.reserved, requestParameters: { keyId: KeyId } }]);
  });
});

describe('ebsim kms, @aws-sdk/client-kms and the AWS CLI', () => {
  it('ebsim kms tag-resource --tags TagKey=a,TagValue=b TagKey=c,TagValue=d (the AWS CLI shorthand), list-resource-tags, untag-resource', async () => {
    const { KeyId } = newKey();
    const put = await cli('kms', 'tag-resource', '--key-id', KeyId, '--tags', 'TagKey=a,TagValue=b', 'TagKey=c,TagValue=d');
    expect(put.code, put.stderr).toBe(0);
    expect(tagsOf(KeyId)).toEqual([tag('a', 'b'), tag('c', 'd')]);
    const json = await cli('kms', 'tag-resource', '--key-id', KeyId, '--tags', '[{"TagKey":"__proto__","TagValue":"j"}]');
    expect(json.code, json.stderr).toBe(0);
    const list = await cli('kms', 'list-resource-tags', '--key-id', KeyId);
    // Every page, as the AWS CLI prints a list: the items only, no Truncated flag.
    expect(JSON.parse(list.stdout)).toEqual({ Tags: [tag('__proto__', 'j'), tag('a', 'b'), tag('c', 'd')] });
    const text = await cli('kms', 'list-resource-tags', '--key-id', KeyId, '--output', 'text', '--query', 'Tags[1].TagValue');
    expect(text.stdout).toBe('b');
    const un = await cli('kms', 'untag-resource', '--key-id', KeyId, '--tag-keys', 'a', '__proto__');
    expect(un.code, un.stderr).toBe(0);
    expect(tagsOf(KeyId)).toEqual([tag('c', 'd')]);
    const created = await cli('kms', 'create-key', '--tags', 'TagKey=Project,TagValue=Alpha');
    expect(tagsOf(JSON.parse(created.stdout).KeyMetadata.KeyId)).toEqual([tag('Project', 'Alpha')]);
    const bad = await cli('kms', 'tag-resource', '--key-id', KeyId, '--tags', 'TagKey=aws:x,TagValue=y');
    expect(bad.code).toBe(254);
    expect(bad.stderr).toContain('An error occurred (TagException) when calling the TagResource operation: Tags beginning with aws: are reserved');
  });

  it('@aws-sdk/client-kms over HTTP: CreateKey with Tags, TagResource, ListResourceTags, UntagResource, TagException by name', async () => {
    const c = client();
    const { KeyMetadata } = await c.send(new CreateKeyCommand({ Tags: [tag('team', 'blue')] }));
    const KeyId = KeyMetadata!.KeyId!;
    await c.send(new TagResourceCommand({ KeyId, Tags: [tag('env', 'dev'), tag('team', 'red')] }));
    expect(await c.send(new ListResourceTagsCommand({ KeyId }))).toMatchObject({ Tags: [tag('env', 'dev'), tag('team', 'red')], Truncated: false });
    await c.send(new UntagResourceCommand({ KeyId, TagKeys: ['env'] }));
    const page = await c.send(new ListResourceTagsCommand({ KeyId, Limit: 1 }));
    expect(page).toMatchObject({ Tags: [tag('team', 'red')], Truncated: false });
    const err = await c.send(new TagResourceCommand({ KeyId, Tags: [tag('aws:x', 'y')] })).catch((e: Error) => e);
    expect(err).toMatchObject({ name: 'TagException', message: TAG_MESSAGES.reserved });
  });

  it.skipIf(!HAVE_AWS)('the real AWS CLI: tag-resource with the shorthand, list-resource-tags, untag-resource', async () => {
    const { KeyId } = newKey();
    const run = (...args: string[]) => aws(server.url, h.dir, args);
    const put = await run('kms', 'tag-resource', '--key-id', KeyId, '--tags', 'TagKey=a,TagValue=b', 'TagKey=c,TagValue=d');
    expect(put.code, put.stderr).toBe(0);
    expect(JSON.parse((await run('kms', 'list-resource-tags', '--key-id', KeyId)).stdout)).toMatchObject({ Tags: [tag('a', 'b'), tag('c', 'd')] });
    expect((await run('kms', 'untag-resource', '--key-id', KeyId, '--tag-keys', 'a')).code).toBe(0);
    expect(tagsOf(KeyId)).toEqual([tag('c', 'd')]);
    const bad = await run('kms', 'tag-resource', '--key-id', KeyId, '--tags', 'TagKey=x,TagValue=a&b');
    expect(bad.code).toBe(254);
    expect(bad.stderr).toContain('An error occurred (TagException) when calling the TagResource operation: Invalid tag');
  });
});

describe('ABAC: the tag condition keys decide', () => {
  const keyPolicy = (...statements: object[]) => JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }, ...statements],
  });

  it("a key policy allowing kms:Decrypt only when aws:ResourceTag/team = blue: decided by the key's tag, as it changes", async () => {
    const bob = newUser('Bob');
    const { KeyId } = newKey({
      Tags: [tag('team', 'blue')],
      Policy: keyPolicy({ Sid: 'Team blue decrypts', Effect: 'Allow', Principal: { AWS: bob.arn }, Action: 'kms:Decrypt', Resource: '*', Condition: { StringEquals: { 'aws:ResourceTag/team': 'blue' } } }),
    });
    const blob = kms.call(alice, 'Encrypt', { KeyId, Plaintext: Buffer.from('hi') }).CiphertextBlob as Uint8Array;
    expect(Buffer.from(kms.call(bob.ctx, 'Decrypt', { CiphertextBlob: blob }).Plaintext as Uint8Array).toString()).toBe('hi');
    kms.call(alice, 'TagResource', { KeyId, Tags: [tag('team', 'red')] });
    const denied = failure(() => kms.call(bob.ctx, 'Decrypt', { CiphertextBlob: blob }));
    expect(denied.code).toBe('AccessDeniedException');
    expect(denied.message).toContain(`User: ${bob.arn} is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:${ACCOUNT}:key/${KeyId}`);
    // Over HTTP, signed as Bob: the same decision.
    const sdk = client(bob.creds);
    expect(((await sdk.send(new DecryptCommand({ CiphertextBlob: blob })).catch((e: Error) => e)) as Error).name).toBe('AccessDeniedException');
    kms.call(alice, 'TagResource', { KeyId, Tags: [tag('team', 'blue')] });
    expect(Buffer.from((await sdk.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString()).toBe('hi');
    kms.call(alice, 'UntagResource', { KeyId, TagKeys: ['team'] });
    expect(failure(() => kms.call(bob.ctx, 'Decrypt', { CiphertextBlob: blob })).code).toBe('AccessDeniedException');
  });

  it('an IAM policy allowing kms:Encrypt on any key tagged team = blue (the default key policy delegates to IAM)', async () => {
    const carol = newUser('Carol', [{ Effect: 'Allow', Action: ['kms:Encrypt'], Resource: `arn:aws:kms:*:${ACCOUNT}:key/*`, Condition: { StringEquals: { 'aws:ResourceTag/team': 'blue' } } }]);
    const blue = newKey({ Tags: [tag('team', 'blue')] }).KeyId;
    const red = newKey({ Tags: [tag('team', 'red')] }).KeyId;
    const untagged = newKey().KeyId;
    expect(kms.call(carol.ctx, 'Encrypt', { KeyId: blue, Plaintext: Buffer.from('x') }).KeyId).toContain(blue);
    for (const k of [red, untagged]) expect(failure(() => kms.call(carol.ctx, 'Encrypt', { KeyId: k, Plaintext: Buffer.from('x') })).code).toBe('AccessDeniedException');
    const sdk = client(carol.creds);
    await sdk.send(new EncryptCommand({ KeyId: blue, Plaintext: Buffer.from('x') }));
    expect(((await sdk.send(new EncryptCommand({ KeyId: red, Plaintext: Buffer.from('x') })).catch((e: Error) => e)) as Error).name).toBe('AccessDeniedException');
    // Through the CLI, as Carol.
    const out = await cli('kms', 'encrypt', '--key-id', red, '--plaintext', 'eA==', '--as', 'Carol');
    expect(out.code).toBe(254);
    expect(out.stderr).toContain('AccessDeniedException');
  });

  it('a policy allowing TagResource and UntagResource only for tag keys ForAllValues in an allowed set (aws:TagKeys), and CreateKey only with aws:RequestTag/env = dev', () => {
    const dave = newUser('Dave', [
      { Effect: 'Allow', Action: ['kms:ListResourceTags', 'kms:DescribeKey'], Resource: '*' },
      { Effect: 'Allow', Action: ['kms:TagResource', 'kms:UntagResource'], Resource: '*', Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['Project', 'Cost Center', 'env'] } } },
      { Effect: 'Allow', Action: 'kms:CreateKey', Resource: '*' },
      { Effect: 'Deny', Action: ['kms:CreateKey', 'kms:TagResource'], Resource: '*', Condition: { StringNotEquals: { 'aws:RequestTag/env': 'dev' } } },
    ]);
    const { KeyId } = newKey({ Tags: [tag('env', 'dev')] });
    kms.call(dave.ctx, 'TagResource', { KeyId, Tags: [tag('Project', 'Alpha'), tag('env', 'dev')] });
    // A tag key outside the set: no Allow matches.
    expect(failure(() => kms.call(dave.ctx, 'TagResource', { KeyId, Tags: [tag('Owner', 'Dave'), tag('env', 'dev')] })).message).toContain('kms:TagResource');
    // aws:RequestTag/env missing or not dev: the explicit deny.
    expect(failure(() => kms.call(dave.ctx, 'TagResource', { KeyId, Tags: [tag('Project', 'Beta')] })).message).toContain('with an explicit deny in an identity-based policy');
    kms.call(dave.ctx, 'UntagResource', { KeyId, TagKeys: ['Project'] });
    expect(failure(() => kms.call(dave.ctx, 'UntagResource', { KeyId, TagKeys: ['env', 'Owner'] })).code).toBe('AccessDeniedException');
    expect(tagsOf(KeyId, dave.ctx)).toEqual([tag('env', 'dev')]);
    // CreateKey with tags also needs kms:TagResource, with the same condition keys.
    const created = newKey({ Tags: [tag('env', 'dev'), tag('Project', 'P')] }, dave.ctx);
    expect(tagsOf(created.KeyId, dave.ctx)).toEqual([tag('Project', 'P'), tag('env', 'dev')]);
    expect(failure(() => newKey({ Tags: [tag('env', 'prod')] }, dave.ctx)).code).toBe('AccessDeniedException');
    expect(failure(() => newKey({ Tags: [tag('env', 'dev'), tag('Owner', 'Dave')] }, dave.ctx)).message).toContain('kms:TagResource on resource: *');
  });
});
