// LookupEvents over the HTTP endpoint answers for the signer's account in the Region of the
// credential scope, as CloudTrail's event history does (one per account and Region): a home of
// two accounts whose users call KMS in two Regions, one of them across accounts (in both
// accounts' histories) and one refused across accounts (in the caller's only). Through
// @aws-sdk/client-cloudtrail, the AWS CLI (`--region`) and `ebsim trail lookup-events --account --region`.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudTrailClient, LookupEventsCommand, type Event } from '@aws-sdk/client-cloudtrail';
import { CreateKeyCommand, DescribeKeyCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { initHome } from '../../src/app/ebsim.js';
import type { RunningServer } from '../../src/server/index.js';
import type { SigningCredentials } from '../../src/server/sigv4.js';
import { ebsimIn } from '../helpers/cli.js';
import { aliceCredentials, aws, inProcess, newHome, removeHome } from './helpers.js';

const A = '123456789012';
const B = '111122223333';
const EAST = 'us-east-1';
const WEST = 'eu-west-1';

let home: string;
let server: RunningServer;
let credsA: SigningCredentials;
let credsB: SigningCredentials;
const clients: { destroy(): void }[] = [];
const kms = (creds: SigningCredentials, region: string) => {
  const c = new KMSClient({ endpoint: server.url, region, credentials: creds, maxAttempts: 1 });
  clients.push(c);
  return c;
};
const cloudtrail = (creds: SigningCredentials, region: string) => {
  const c = new CloudTrailClient({ endpoint: server.url, region, credentials: creds, maxAttempts: 1 });
  clients.push(c);
  return c;
};

/** Every event of a lookup, following NextToken. */
async function everyEvent(client: CloudTrailClient): Promise<Event[]> {
  const events: Event[] = [];
  let NextToken: string | undefined;
  do {
    const page = await client.send(new LookupEventsCommand({ MaxResults: 50, NextToken }));
    events.push(...page.Events!);
    NextToken = page.NextToken;
  } while (NextToken);
  return events;
}

const recordOf = (e: { CloudTrailEvent?: string }) => JSON.parse(e.CloudTrailEvent!) as { awsRegion: string; recipientAccountId: string; userIdentity: { accountId: string }; eventName: string; errorCode?: string; eventID: string };

/** Made in beforeAll: the keys and the event IDs of the calls each account must (not) see. */
const made: Record<string, string> = {};

beforeAll(async () => {
  home = newHome('ebsim-trail-scope-');
  initHome(home, B);
  server = await inProcess(home);
  credsA = aliceCredentials(home);
  const file = readFileSync(join(home, 'credentials'), 'utf8');
  const section = file.slice(file.indexOf(`[ebsim-${B}]`));
  credsB = { accessKeyId: /aws_access_key_id = (\S+)/.exec(section)![1]!, secretAccessKey: /aws_secret_access_key = (\S+)/.exec(section)![1]! };

  // A: a key in each Region, the east one shared with B by its key policy; another east key, not shared.
  const policy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: 'kms:*', Resource: '*' },
      { Sid: 'B uses it', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${B}:root` }, Action: ['kms:Encrypt', 'kms:DescribeKey'], Resource: '*' },
    ],
  });
  const shared = (await kms(credsA, EAST).send(new CreateKeyCommand({ Description: 'A east, shared', Policy: policy }))).KeyMetadata!;
  const closed = (await kms(credsA, EAST).send(new CreateKeyCommand({ Description: 'A east, not shared' }))).KeyMetadata!;
  const west = (await kms(credsA, WEST).send(new CreateKeyCommand({ Description: 'A west' }))).KeyMetadata!;
  const bEast = (await kms(credsB, EAST).send(new CreateKeyCommand({ Description: 'B east' }))).KeyMetadata!;
  Object.assign(made, { shared: shared.Arn!, closed: closed.Arn!, west: west.Arn!, bEast: bEast.Arn! });
  // B across accounts: an Encrypt under A's shared key (allowed), a DescribeKey of A's other key (refused).
  await kms(credsB, EAST).send(new EncryptCommand({ KeyId: shared.Arn, Plaintext: Buffer.from('across') }));
  await expect(kms(credsB, EAST).send(new DescribeKeyCommand({ KeyId: closed.Arn }))).rejects.toThrow(/not authorized/);
  server.app.trail.flush(); // read-only calls' records are group-committed: commit them now
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await server?.close();
  if (home) removeHome(home);
});

describe('@aws-sdk/client-cloudtrail: each signer sees its account\'s events in its Region', () => {
  it('A in us-east-1: its own east calls and B\'s allowed call on its key; not B\'s refused one, nor any west call, nor B\'s own', async () => {
    const events = await everyEvent(cloudtrail(credsA, EAST));
    const records = events.map(recordOf);
    expect(records.length).toBeGreaterThan(0);
    for (const r of records) {
      expect(r.awsRegion).toBe(EAST);
      expect(r.userIdentity.accountId === A || (r.recipientAccountId === A && !r.errorCode), JSON.stringify(r)).toBe(true);
    }
    const descriptions = events.filter((e) => e.EventName === 'CreateKey').map((e) => JSON.parse(e.CloudTrailEvent!).requestParameters.description);
    expect(descriptions.sort()).toEqual(['A east, not shared', 'A east, shared']);
    expect(records.filter((r) => r.eventName === 'Encrypt' && r.userIdentity.accountId === B)).toHaveLength(1);
    expect(records.filter((r) => r.eventName === 'DescribeKey')).toEqual([]);
  });

  it('A in eu-west-1: only its west calls', async () => {
    const records = (await everyEvent(cloudtrail(credsA, WEST))).map(recordOf);
    expect(records.filter((r) => r.eventName === 'CreateKey')).toHaveLength(1);
    for (const r of records) expect([r.awsRegion, r.userIdentity.accountId]).toEqual([WEST, A]);
  });

  it('B in us-east-1: its own calls, the cross-account Encrypt and its refused DescribeKey; none of A\'s own', async () => {
    const records = (await everyEvent(cloudtrail(credsB, EAST))).map(recordOf);
    for (const r of records) expect([r.awsRegion, r.userIdentity.accountId]).toEqual([EAST, B]);
    expect(records.filter((r) => r.eventName === 'CreateKey')).toHaveLength(1);
    expect(records.filter((r) => r.eventName === 'Encrypt').map((r) => r.recipientAccountId)).toEqual([A]);
    expect(records.filter((r) => r.eventName === 'DescribeKey').map((r) => r.errorCode)).toEqual(['AccessDeniedException']);
  });

  it('B in eu-west-1, where it never called: nothing but its earlier lookups there', async () => {
    const client = cloudtrail(credsB, WEST);
    await client.send(new LookupEventsCommand({}));
    server.app.trail.flush();
    const records = (await everyEvent(client)).map(recordOf);
    expect(records.length).toBeGreaterThan(0);
    for (const r of records) expect([r.awsRegion, r.userIdentity.accountId, r.eventName]).toEqual([WEST, B, 'LookupEvents']);
  });

  it('an attribute lookup is scoped too: EventName=CreateKey from each signer and Region', async () => {
    const names = async (creds: SigningCredentials, region: string) =>
      (await cloudtrail(creds, region).send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'CreateKey' }] }))).Events!.map((e) => e.Resources![0]!.ResourceName);
    expect((await names(credsA, EAST)).sort()).toEqual([made.closed, made.shared].sort());
    expect(await names(credsA, WEST)).toEqual([made.west]);
    expect(await names(credsB, EAST)).toEqual([made.bEast]);
    expect(await names(credsB, WEST)).toEqual([]);
    // By resource: B sees A's shared key only through its own call on it.
    const byKey = await cloudtrail(credsB, EAST).send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: made.shared }] }));
    expect(byKey.Events!.map((e) => [e.EventName, recordOf(e).userIdentity.accountId])).toEqual([['Encrypt', B]]);
  });
});

describe.skipIf(!existsSync('/usr/bin/aws'))('the AWS CLI and ebsim\'s own CLI', () => {
  it('`aws cloudtrail lookup-events --region eu-west-1` as A: only A\'s west events', async () => {
    const out = await aws(server.url, home, ['cloudtrail', 'lookup-events', '--region', WEST, '--lookup-attributes', 'AttributeKey=EventName,AttributeValue=CreateKey'], credsA);
    expect(out.code, out.stderr).toBe(0);
    const events = JSON.parse(out.stdout).Events as { CloudTrailEvent: string; Resources: { ResourceName: string }[] }[];
    expect(events.map((e) => e.Resources[0]!.ResourceName)).toEqual([made.west]);
    const east = await aws(server.url, home, ['cloudtrail', 'lookup-events', '--region', EAST, '--lookup-attributes', 'AttributeKey=EventName,AttributeValue=CreateKey'], credsB);
    expect((JSON.parse(east.stdout).Events as { Resources: { ResourceName: string }[] }[]).map((e) => e.Resources[0]!.ResourceName)).toEqual([made.bEast]);
  });

  it('`ebsim trail lookup-events --account B` and `--region`: the same scopes from the CLI', async () => {
    const look = async (...args: string[]) => {
      const r = await ebsimIn(home, ['trail', 'lookup-events', '--lookup-attributes', 'AttributeKey=EventName,AttributeValue=CreateKey', ...args]);
      expect(r.code, r.stderr).toBe(0);
      return (r.json().Events as { Resources: { ResourceName: string }[] }[]).map((e) => e.Resources[0]!.ResourceName).sort();
    };
    expect(await look()).toEqual([made.closed, made.shared].sort());
    expect(await look('--region', WEST)).toEqual([made.west]);
    expect(await look('--account', B)).toEqual([made.bEast]);
    expect(await look('--account', B, '--region', WEST)).toEqual([]);
  });
});
