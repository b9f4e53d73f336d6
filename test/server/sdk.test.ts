// The AWS SDK for JavaScript v3 (@aws-sdk/client-kms, client-cloudtrail) and boto3 against the
// endpoint (in-process): same results and error codes as the CLI and the domain give.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  KMSClient, CreateKeyCommand, DescribeKeyCommand, ListKeysCommand, CreateAliasCommand, ListAliasesCommand, EncryptCommand, DecryptCommand,
  ReEncryptCommand, GenerateDataKeyCommand, GenerateDataKeyWithoutPlaintextCommand, GenerateRandomCommand, DisableKeyCommand, EnableKeyCommand,
  EnableKeyRotationCommand, GetKeyRotationStatusCommand, RotateKeyOnDemandCommand, ScheduleKeyDeletionCommand, CancelKeyDeletionCommand,
  CreateGrantCommand, ListGrantsCommand, RetireGrantCommand, RevokeGrantCommand, ListRetirableGrantsCommand,
} from '@aws-sdk/client-kms';
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import type { RunningServer } from '../../src/server/index.js';
import { KmsService } from '../../src/kms/service.js';
import { aliceCredentials, inProcess, newHome, removeHome, trailRecords, hasBoto3, runBoto3 } from './helpers.js';

let home: string;
let server: RunningServer;
let kms: KMSClient;
let trail: CloudTrailClient;

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as { name: string }).name;
  }
  throw new Error('expected an error');
}

beforeAll(async () => {
  home = newHome();
  server = await inProcess(home);
  const credentials = aliceCredentials(home);
  kms = new KMSClient({ endpoint: server.url, region: 'us-east-1', credentials, maxAttempts: 1 });
  trail = new CloudTrailClient({ endpoint: server.url, region: 'us-east-1', credentials, maxAttempts: 1 });
});
afterAll(async () => {
  kms?.destroy();
  trail?.destroy();
  await server?.close();
  if (home) removeHome(home);
});

describe('@aws-sdk/client-kms', () => {
  it('drives every operation ebsim supports', async () => {
    const meta = (await kms.send(new CreateKeyCommand({ Description: 'sdk' }))).KeyMetadata!;
    expect(meta.CreationDate).toBeInstanceOf(Date);
    expect(Math.abs(meta.CreationDate!.getTime() - Date.now())).toBeLessThan(60_000);
    const id = meta.KeyId!;
    expect((await kms.send(new DescribeKeyCommand({ KeyId: id }))).KeyMetadata!.Arn).toBe(meta.Arn);
    expect((await kms.send(new ListKeysCommand({}))).Keys!.map((k) => k.KeyId)).toContain(id);
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/sdk', TargetKeyId: id }));
    expect((await kms.send(new ListAliasesCommand({ KeyId: id }))).Aliases!.map((a) => a.AliasName)).toEqual(['alias/sdk']);

    const plain = new TextEncoder().encode('hello from the sdk');
    const enc = await kms.send(new EncryptCommand({ KeyId: 'alias/sdk', Plaintext: plain, EncryptionContext: { a: 'b' } }));
    expect(enc.CiphertextBlob).toBeInstanceOf(Uint8Array);
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { a: 'b' } }));
    expect(new TextDecoder().decode(dec.Plaintext)).toBe('hello from the sdk');
    const other = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    const re = await kms.send(new ReEncryptCommand({ CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: { a: 'b' }, DestinationKeyId: other }));
    expect(re.KeyId).toBe(other);
    const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: id, NumberOfBytes: 64 }));
    expect((await kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob }))).Plaintext).toEqual(dk.Plaintext);
    const dkw = await kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: id, KeySpec: 'AES_256' }));
    expect(dkw.Plaintext).toBeUndefined();
    expect((await kms.send(new GenerateRandomCommand({ NumberOfBytes: 17 }))).Plaintext).toHaveLength(17);

    await kms.send(new EnableKeyRotationCommand({ KeyId: id }));
    expect((await kms.send(new GetKeyRotationStatusCommand({ KeyId: id }))).KeyRotationEnabled).toBe(true);
    // RotateKeyOnDemand is missing from awscli 2.9: the SDK covers it. Old ciphertexts still decrypt.
    expect((await kms.send(new RotateKeyOnDemandCommand({ KeyId: id }))).KeyId).toContain(id);
    expect((await kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob }))).Plaintext).toEqual(dk.Plaintext);

    const g = await kms.send(new CreateGrantCommand({ KeyId: id, GranteePrincipal: 'arn:aws:iam::123456789012:user/Alice', RetiringPrincipal: 'arn:aws:iam::123456789012:user/Alice', Operations: ['Decrypt'] }));
    const g2 = await kms.send(new CreateGrantCommand({ KeyId: id, GranteePrincipal: 'arn:aws:iam::123456789012:user/Alice', Operations: ['Encrypt'] }));
    const grants = (await kms.send(new ListGrantsCommand({ KeyId: id }))).Grants!;
    expect(grants.map((x) => x.GrantId).sort()).toEqual([g.GrantId, g2.GrantId].sort());
    expect(grants[0]!.CreationDate).toBeInstanceOf(Date);
    expect((await kms.send(new ListRetirableGrantsCommand({ RetiringPrincipal: 'arn:aws:iam::123456789012:user/Alice' }))).Grants!.map((x) => x.GrantId)).toContain(g.GrantId);
    await kms.send(new RetireGrantCommand({ GrantToken: g.GrantToken }));
    await kms.send(new RevokeGrantCommand({ KeyId: id, GrantId: g2.GrantId }));

    await kms.send(new DisableKeyCommand({ KeyId: id }));
    expect(await codeOf(kms.send(new EncryptCommand({ KeyId: id, Plaintext: plain })))).toBe('DisabledException');
    await kms.send(new EnableKeyCommand({ KeyId: id }));
    const s = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: other, PendingWindowInDays: 7 }));
    expect(s.DeletionDate).toBeInstanceOf(Date);
    expect(s.KeyState).toBe('PendingDeletion');
    await kms.send(new CancelKeyDeletionCommand({ KeyId: other }));
  });

  it('error codes match the domain\'s for the same request', async () => {
    const app = server.app;
    const alice = app.as('Alice');
    const domainCode = (op: string, params: Record<string, unknown>) => {
      try {
        app.kms().call(alice, op, params);
      } catch (err) {
        return (err as { code: string }).code;
      }
      return 'none';
    };
    const cases: [string, Record<string, unknown>, Promise<unknown>][] = [
      ['DescribeKey', { KeyId: 'alias/none' }, kms.send(new DescribeKeyCommand({ KeyId: 'alias/none' }))],
      ['GenerateRandom', { NumberOfBytes: 5000 }, kms.send(new GenerateRandomCommand({ NumberOfBytes: 5000 }))],
      ['Decrypt', { CiphertextBlob: new Uint8Array(64) }, kms.send(new DecryptCommand({ CiphertextBlob: new Uint8Array(64) }))],
      ['CreateAlias', { AliasName: 'alias/aws/x', TargetKeyId: 'alias/aws/ebs' }, kms.send(new CreateAliasCommand({ AliasName: 'alias/aws/x', TargetKeyId: 'alias/aws/ebs' }))],
    ];
    for (const [op, params, viaSdk] of cases) {
      const code = await codeOf(viaSdk);
      expect(code, op).toBe(domainCode(op, params));
      expect(code, op).not.toBe('none');
    }
  });

  it('every SDK call is in the trail with the SDK user agent, Alice and 127.0.0.1', async () => {
    server.app.trail.flush(); // every record of the calls above committed (the server group-commits them)
    const records = trailRecords(home).filter((r) => r.eventSource === 'kms.amazonaws.com' && /aws-sdk-js/.test(r.userAgent ?? ''));
    expect(records.length).toBeGreaterThanOrEqual(30);
    expect(new Set(records.map((r) => r.eventName))).toContain('RotateKeyOnDemand');
    for (const r of records) {
      expect(r.sourceIPAddress).toBe('127.0.0.1');
      expect(r.userIdentity).toMatchObject({ type: 'IAMUser', userName: 'Alice', accessKeyId: aliceCredentials(home).accessKeyId });
    }
  });
});

describe('@aws-sdk/client-cloudtrail', () => {
  it('LookupEvents pages through the trail with dates as Dates', async () => {
    const first = await trail.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'CreateKey' }], MaxResults: 1 }));
    expect(first.Events).toHaveLength(1);
    expect(first.Events![0]!.EventTime).toBeInstanceOf(Date);
    expect(first.NextToken).toBeTruthy();
    const second = await trail.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'CreateKey' }], MaxResults: 1, NextToken: first.NextToken }));
    expect(second.Events![0]!.EventId).not.toBe(first.Events![0]!.EventId);
    const windowed = await trail.send(new LookupEventsCommand({ StartTime: new Date(Date.now() - 3600_000), EndTime: new Date(Date.now() + 60_000) }));
    expect(windowed.Events!.length).toBeGreaterThan(10);
    expect(await codeOf(trail.send(new LookupEventsCommand({ MaxResults: 500 })))).toBe('InvalidMaxResultsException');
    server.app.trail.flush(); // every record of the calls above committed (the server group-commits them)
    const looked = trailRecords(home, 'LookupEvents');
    expect(looked.length).toBeGreaterThanOrEqual(4);
    expect(looked[0]).toMatchObject({ eventSource: 'cloudtrail.amazonaws.com', readOnly: true, sourceIPAddress: '127.0.0.1' });
  });
});

// boto3 may not be installed where the tests run; skipped with that reason when it is not.
describe.skipIf(!hasBoto3())('boto3 (python3 -c "import boto3" works)', () => {
  it('same results and error codes', async () => {
    const script = join(home, 'boto.py');
    writeFileSync(
      script,
      `
import boto3, json, sys
from botocore.exceptions import ClientError
s = boto3.session.Session(profile_name='ebsim')
kms = s.client('kms', endpoint_url=sys.argv[1])
ct = s.client('cloudtrail', endpoint_url=sys.argv[1])
sts = s.client('sts', endpoint_url=sys.argv[1])
out = {}
out['arn'] = sts.get_caller_identity()['Arn']
k = kms.create_key(Description='boto3')['KeyMetadata']
out['state'] = k['KeyState']
ct_ = kms.encrypt(KeyId=k['KeyId'], Plaintext=b'\\x00\\x01boto', EncryptionContext={'x': 'y'})['CiphertextBlob']
out['plain'] = kms.decrypt(CiphertextBlob=ct_, EncryptionContext={'x': 'y'})['Plaintext'].hex()
d = kms.generate_data_key_without_plaintext(KeyId=k['KeyId'], NumberOfBytes=64)
out['dk'] = len(kms.decrypt(CiphertextBlob=d['CiphertextBlob'])['Plaintext'])
out['random'] = len(kms.generate_random(NumberOfBytes=9)['Plaintext'])
out['keys'] = len(kms.list_keys()['Keys'])
errors = {}
for name, call in [('notfound', lambda: kms.describe_key(KeyId='alias/none')),
                   ('validation', lambda: kms.generate_random(NumberOfBytes=4096)),
                   ('ciphertext', lambda: kms.decrypt(CiphertextBlob=b'\\x01' * 80))]:
    try:
        call()
        errors[name] = None
    except ClientError as e:
        errors[name] = e.response['Error']['Code']
out['errors'] = errors
out['events'] = len(ct.lookup_events(LookupAttributes=[{'AttributeKey': 'EventName', 'AttributeValue': 'GenerateRandom'}])['Events'])
print(json.dumps(out))
`,
    );
    const stdout = await runBoto3(home, script, [server.url]);
    const r = JSON.parse(stdout);
    expect(r).toMatchObject({
      arn: 'arn:aws:iam::123456789012:user/Alice',
      state: 'Enabled',
      plain: Buffer.from('\x00\x01boto', 'latin1').toString('hex'),
      dk: 64,
      random: 9,
      errors: { notfound: 'NotFoundException', validation: 'ValidationException', ciphertext: 'InvalidCiphertextException' },
    });
    expect(r.events).toBeGreaterThanOrEqual(2);
    expect(r.keys).toBeGreaterThanOrEqual(3);
    server.app.trail.flush(); // every record of the calls above committed (the server group-commits them)
    expect(trailRecords(home, 'CreateKey').find((x) => x.userAgent?.startsWith('Boto3/'))?.userIdentity.userName).toBe('Alice');
  });
});

it('KmsService lists the operations the endpoint serves', () => {
  expect(KmsService.operationNames()).toContain('RotateKeyOnDemand');
});
