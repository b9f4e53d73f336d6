// One endpoint, every commercial Region (issue 14): the Region of a request is its SigV4 credential
// scope's, as if it had been sent to that Region's endpoint. @aws-sdk/client-kms configured for two
// Regions against the same URL sees two KMSs: per-Region keys with AWS's messages, multi-Region keys
// replicated, decrypted in the other Region and moved, each record with its awsRegion. boto3 and
// the AWS CLI (`--region`) where they are installed.
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateKeyCommand, DecryptCommand, DescribeKeyCommand, EncryptCommand, KMSClient, ListKeysCommand, ReplicateKeyCommand, ScheduleKeyDeletionCommand, UpdatePrimaryRegionCommand,
} from '@aws-sdk/client-kms';
import type { RunningServer } from '../../src/server/index.js';
import { aliceCredentials, hasBoto3, inProcess, newHome, removeHome, runBoto3, trailRecords } from './helpers.js';

const ACCOUNT = '123456789012';
const EAST = 'us-east-1';
const WEST = 'eu-west-1';
const HAVE_AWS = existsSync('/usr/bin/aws');

let home: string;
let server: RunningServer;
let east: KMSClient;
let west: KMSClient;

beforeAll(async () => {
  home = newHome('ebsim-regions-server-');
  server = await inProcess(home);
  const credentials = aliceCredentials(home);
  east = new KMSClient({ endpoint: server.url, region: EAST, credentials, maxAttempts: 1 });
  west = new KMSClient({ endpoint: server.url, region: WEST, credentials, maxAttempts: 1 });
});
afterAll(async () => {
  east?.destroy();
  west?.destroy();
  await server?.close();
  if (home) removeHome(home);
});

const arnIn = (region: string, keyId: string) => `arn:aws:kms:${region}:${ACCOUNT}:key/${keyId}`;

async function failure(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return { name: (err as Error).name, message: (err as Error).message };
  }
  throw new Error('expected an error');
}

describe('@aws-sdk/client-kms in two Regions against one endpoint', () => {
  it('a key made in us-east-1 is us-east-1\'s: eu-west-1 does not list it and answers AWS\'s NotFoundException for its ID and its ARN', async () => {
    const meta = (await east.send(new CreateKeyCommand({ Description: 'east only' }))).KeyMetadata!;
    expect(meta.Arn).toBe(arnIn(EAST, meta.KeyId!));
    expect((await west.send(new ListKeysCommand({}))).Keys!.map((k) => k.KeyId)).not.toContain(meta.KeyId);
    expect(await failure(west.send(new DescribeKeyCommand({ KeyId: meta.KeyId })))).toEqual({ name: 'NotFoundException', message: `Key '${arnIn(WEST, meta.KeyId!)}' does not exist` });
    expect(await failure(west.send(new DescribeKeyCommand({ KeyId: meta.Arn })))).toEqual({ name: 'NotFoundException', message: `Invalid arn ${EAST}` });
    const own = (await west.send(new CreateKeyCommand({}))).KeyMetadata!;
    expect(own.Arn).toBe(arnIn(WEST, own.KeyId!));
    // Each call is recorded in the Region its signature named.
    const records = trailRecords(home, 'CreateKey');
    expect(records.find((r) => r.responseElements?.keyMetadata?.keyId === own.KeyId)).toMatchObject({ awsRegion: WEST });
    expect(records.find((r) => r.responseElements?.keyMetadata?.keyId === meta.KeyId)).toMatchObject({ awsRegion: EAST });
    expect(trailRecords(home, 'DescribeKey')[0]).toMatchObject({ awsRegion: WEST, errorCode: 'NotFoundException', errorMessage: `Invalid arn ${EAST}` });
  });

  it('a multi-Region key: created in us-east-1, replicated to eu-west-1, encrypted in one and decrypted in the other, then moved', async () => {
    const primary = (await east.send(new CreateKeyCommand({ MultiRegion: true, Description: 'sdk set' }))).KeyMetadata!;
    expect(primary).toMatchObject({ MultiRegion: true, MultiRegionConfiguration: { MultiRegionKeyType: 'PRIMARY', PrimaryKey: { Region: EAST }, ReplicaKeys: [] } });
    const r = await east.send(new ReplicateKeyCommand({ KeyId: primary.Arn, ReplicaRegion: WEST, Tags: [{ TagKey: 'env', TagValue: 'dr' }] }));
    expect(r.ReplicaKeyMetadata).toMatchObject({ KeyId: primary.KeyId, Arn: arnIn(WEST, primary.KeyId!), MultiRegionConfiguration: { MultiRegionKeyType: 'REPLICA' } });
    expect(r.ReplicaKeyMetadata!.CreationDate).toBeInstanceOf(Date);
    expect(r.ReplicaPolicy).toContain('"Version" : "2012-10-17"');
    expect(r.ReplicaTags).toEqual([{ TagKey: 'env', TagValue: 'dr' }]);

    const context = { app: 'dr' };
    const enc = await east.send(new EncryptCommand({ KeyId: primary.KeyId, Plaintext: new TextEncoder().encode('fail over'), EncryptionContext: context }));
    const dec = await west.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: context }));
    expect(dec.KeyId).toBe(arnIn(WEST, primary.KeyId!));
    expect(new TextDecoder().decode(dec.Plaintext)).toBe('fail over');
    const back = await west.send(new EncryptCommand({ KeyId: arnIn(WEST, primary.KeyId!), Plaintext: new TextEncoder().encode('and back') }));
    expect(new TextDecoder().decode((await east.send(new DecryptCommand({ CiphertextBlob: back.CiphertextBlob, KeyId: primary.Arn }))).Plaintext)).toBe('and back');

    expect(await failure(west.send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: 'ap-south-1' })))).toEqual({
      name: 'UnsupportedOperationException', message: `${arnIn(WEST, primary.KeyId!)} is not a multi-Region primary key.`,
    });
    await east.send(new UpdatePrimaryRegionCommand({ KeyId: primary.KeyId, PrimaryRegion: WEST }));
    expect((await east.send(new DescribeKeyCommand({ KeyId: primary.KeyId }))).KeyMetadata!.MultiRegionConfiguration).toMatchObject({ MultiRegionKeyType: 'REPLICA', PrimaryKey: { Region: WEST } });
    const del = await west.send(new ScheduleKeyDeletionCommand({ KeyId: primary.KeyId, PendingWindowInDays: 7 }));
    expect(del).toMatchObject({ KeyState: 'PendingReplicaDeletion', PendingWindowInDays: 7 });
    expect(del.DeletionDate).toBeUndefined();

    expect(trailRecords(home, 'ReplicateKey').find((x) => !x.errorCode)).toMatchObject({ awsRegion: EAST, requestParameters: { replicaRegion: WEST } });
    expect(trailRecords(home, 'UpdatePrimaryRegion')[0]).toMatchObject({ awsRegion: EAST, requestParameters: { primaryRegion: WEST } });
    expect(trailRecords(home, 'Decrypt').find((x) => x.resources?.[0]?.ARN === arnIn(WEST, primary.KeyId!))).toMatchObject({ awsRegion: WEST });
  });
});

describe.skipIf(!hasBoto3())('boto3 (python3 -c "import boto3" works)', () => {
  it('clients of two Regions: create-key --multi-region, replicate, decrypt in the replica\'s Region, AWS\'s error elsewhere', async () => {
    const script = join(home, 'regions.py');
    writeFileSync(
      script,
      `
import boto3, json, sys
from botocore.exceptions import ClientError
s = boto3.session.Session(profile_name='ebsim')
east = s.client('kms', endpoint_url=sys.argv[1], region_name='${EAST}')
west = s.client('kms', endpoint_url=sys.argv[1], region_name='${WEST}')
out = {}
k = east.create_key(MultiRegion=True)['KeyMetadata']
out['keyId'] = k['KeyId']
out['replica'] = east.replicate_key(KeyId=k['KeyId'], ReplicaRegion='${WEST}')['ReplicaKeyMetadata']['Arn']
blob = east.encrypt(KeyId=k['KeyId'], Plaintext=b'boto3 across')['CiphertextBlob']
d = west.decrypt(CiphertextBlob=blob)
out['plain'] = d['Plaintext'].decode()
out['decryptedBy'] = d['KeyId']
single = east.create_key()['KeyMetadata']
try:
    west.describe_key(KeyId=single['Arn'])
except ClientError as e:
    out['error'] = [e.response['Error']['Code'], e.response['Error']['Message']]
print(json.dumps(out))
`,
    );
    const r = JSON.parse(await runBoto3(home, script, [server.url]));
    expect(r.keyId).toMatch(/^mrk-[0-9a-f]{32}$/);
    expect(r).toMatchObject({ replica: arnIn(WEST, r.keyId), plain: 'boto3 across', decryptedBy: arnIn(WEST, r.keyId), error: ['NotFoundException', `Invalid arn ${EAST}`] });
  });
});

describe.skipIf(!HAVE_AWS)('the AWS CLI (--region against the same --endpoint-url)', () => {
  it('`aws kms replicate-key` then `aws --region eu-west-1 kms describe-key` shows the replica', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        const env: NodeJS.ProcessEnv = { ...process.env, AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'), AWS_PROFILE: 'ebsim', AWS_CONFIG_FILE: '/dev/null', AWS_EC2_METADATA_DISABLED: 'true', AWS_PAGER: '' };
        delete env.AWS_ACCESS_KEY_ID;
        delete env.AWS_SECRET_ACCESS_KEY;
        delete env.AWS_DEFAULT_REGION;
        delete env.AWS_REGION;
        execFile('/usr/bin/aws', ['--endpoint-url', server.url, ...args], { env }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
      });
    const made = await run(['kms', 'create-key', '--multi-region']);
    expect(made.code).toBe(0);
    const keyId = JSON.parse(made.stdout).KeyMetadata.KeyId as string;
    expect((await run(['kms', 'replicate-key', '--key-id', keyId, '--replica-region', WEST])).code).toBe(0);
    const there = await run(['--region', WEST, 'kms', 'describe-key', '--key-id', keyId]);
    expect(JSON.parse(there.stdout).KeyMetadata).toMatchObject({ Arn: arnIn(WEST, keyId), MultiRegionConfiguration: { MultiRegionKeyType: 'REPLICA' } });
    const wrong = await run(['--region', 'ap-south-1', 'kms', 'describe-key', '--key-id', keyId]);
    expect(wrong.stderr).toContain(`An error occurred (NotFoundException) when calling the DescribeKey operation: Key 'arn:aws:kms:ap-south-1:${ACCOUNT}:key/${keyId}' does not exist`);
  });
});
