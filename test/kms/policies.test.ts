// Issue 13's "Done when": real policy documents from AWS's documentation, each allowed and denied
// case checked through the three entry points — the CLI (`main` in-process), the HTTP endpoint
// with the AWS SDK for JavaScript v3, and EC2's internal calls (RunInstances, CreateVolume,
// AttachVolume and the instance host's Decrypt). Account IDs, Regions and principals are adapted
// to the home's (123456789012, us-east-1, Alice); every other character of a quoted statement is
// AWS's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateGrantCommand, DecryptCommand, DescribeKeyCommand, DisableKeyCommand, EncryptCommand, GenerateDataKeyCommand, KMSClient, PutKeyPolicyCommand,
} from '@aws-sdk/client-kms';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { makeHome, type TestHome } from '../helpers/home.js';
import { aliceCredentials, inProcess, sleep } from '../server/helpers.js';
import { directCall, type CallContext } from '../../src/core/call-context.js';
import type { RunningServer } from '../../src/server/index.js';
import type { SigningCredentials } from '../../src/server/sigv4.js';
import { ebsimIn } from '../helpers/cli.js';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const ALICE = `arn:aws:iam::${ACCOUNT}:user/Alice`;
const EBS_VIA = `ec2.${REGION}.amazonaws.com`;

let h: TestHome;
let server: RunningServer;
let alice: CallContext;
const clients: { destroy(): void }[] = [];

beforeAll(async () => {
  h = makeHome('ebsim-policies-');
  alice = h.app.as('Alice');
  server = await inProcess(h.dir);
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await server?.close();
  h.cleanup();
});

// ---- the three entry points ------------------------------------------------------------------

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string; json(): Record<string, any> }> {
  return ebsimIn(h.dir, args);
}

/** The line `ebsim` prints for a service error, as the AWS CLI does. */
const cliError = (code: string, op: string, message: string) => `An error occurred (${code}) when calling the ${op} operation: ${message}`;

function kmsClient(credentials: SigningCredentials & { sessionToken?: string }): KMSClient {
  const c = new KMSClient({ endpoint: server.url, region: REGION, credentials, maxAttempts: 1 });
  clients.push(c);
  return c;
}
function stsClient(credentials: SigningCredentials & { sessionToken?: string }): STSClient {
  const c = new STSClient({ endpoint: server.url, region: REGION, credentials, maxAttempts: 1 });
  clients.push(c);
  return c;
}

/** What an SDK call rejected with: the error's name and message. */
async function sdkFailure(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return { name: (err as Error).name, message: (err as Error).message };
  }
  throw new Error('expected the call to fail');
}

function failure(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    return { code: (err as { code: string }).code, message: (err as Error).message };
  }
  throw new Error('expected the call to fail');
}

/**
 * Changes made through `h.app` reach the in-process server's own connection within
 * CROSS_PROCESS_STALENESS_MS (2 ms): wait that long before the next SDK call.
 */
const settle = () => sleep(5);

const kms = () => h.app.kms();
const ec2 = () => h.app.ec2();

function newKey(policy?: string, bypass = false): { KeyId: string; Arn: string } {
  return kms().call(alice, 'CreateKey', { ...(policy ? { Policy: policy } : {}), ...(bypass ? { BypassPolicyLockoutSafetyCheck: true } : {}) }).KeyMetadata as { KeyId: string; Arn: string };
}

const doc = (...statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const denied = (who: string, action: string, resource: string, why: string) => `User: ${who} is not authorized to perform: ${action} on resource: ${resource} ${why}`;
const noPolicy = (type: string, action: string) => `because no ${type} policy allows the ${action} action`;
const explicitDeny = (type: string) => `with an explicit deny in ${type === 'identity-based' ? 'an' : 'a'} ${type} policy`;

/** A user with an access key, and no policy at all. */
function newUser(name: string): { ctx: CallContext; creds: SigningCredentials } {
  h.app.iam.createUser(alice, name);
  const k = h.app.iam.createAccessKey(alice, name).AccessKey;
  return { ctx: h.app.as(name), creds: { accessKeyId: k.AccessKeyId, secretAccessKey: k.SecretAccessKey } };
}

/** A real session of `role` (credentials stored, so the SDK can sign with them), and its call context. */
function session(role: string, name: string, policy?: string): { ctx: CallContext; creds: SigningCredentials & { sessionToken: string } } {
  const r = h.app.iam.assumeRole(alice, role, name, policy === undefined ? {} : { policy });
  const c = r.Credentials;
  const found = h.app.iam.lookupAccessKey(c.AccessKeyId)!;
  return { ctx: directCall(found.principal, REGION), creds: { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken } };
}

/** An instance with an encrypted volume under `keyId` attached through EC2 (GenerateDataKeyWithoutPlaintext, ListGrants, CreateGrant, the host's Decrypt). */
function attachEncrypted(ctx: CallContext, keyId?: string): { volumeId: string; instanceId: string } {
  const vol = ec2().createVolume(ctx, { Size: 1, Encrypted: true, ...(keyId ? { KmsKeyId: keyId } : {}) }) as { VolumeId: string };
  const inst = (ec2().runInstances(ctx, { ImageId: 'ami-0123abcd', InstanceType: 't3.micro' }).Instances as { InstanceId: string }[])[0]!.InstanceId;
  ec2().attachVolume(ctx, { VolumeId: vol.VolumeId, InstanceId: inst, Device: '/dev/sdf' });
  return { volumeId: vol.VolumeId, instanceId: inst };
}

/**
 * The last `n` KMS records but DescribeKey: name, whether EC2 made the call, and the error if any.
 * (DescribeKey is read-only, so another connection's may be committed up to 20 ms late, after
 * the calls that followed it.)
 */
function lastKmsRecords(n: number): { eventName: string; via: boolean; errorCode?: string }[] {
  h.app.trail.flush();
  const rows = h.app.db.prepare("SELECT record FROM trail_events WHERE event_source = 'kms.amazonaws.com' AND event_name != 'DescribeKey' ORDER BY seq DESC LIMIT ?").pluck().all(n) as string[];
  return rows.reverse().map((t) => {
    const r = JSON.parse(t);
    return { eventName: r.eventName, via: r.userIdentity?.invokedBy === 'AWS Internal', ...(r.errorCode ? { errorCode: r.errorCode } : {}) };
  });
}

// ---- 1. a key policy that allows a role only with a given encryption context -----------------

describe('kms:EncryptionContext:context-key: a role may Decrypt only with AppName=ExampleApp', () => {
  // The statement is the KMS Developer Guide's, "Encryption context in policies":
  // https://docs.aws.amazon.com/kms/latest/developerguide/encrypt_context.html#encryption-context-authorization
  // (and "kms:EncryptionContext:context-key", https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-encryption-context).
  const roleStatement = {
    Effect: 'Allow',
    Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/RoleForExampleApp` },
    Action: 'kms:Decrypt',
    Resource: '*',
    Condition: { StringEquals: { 'kms:EncryptionContext:AppName': 'ExampleApp' } },
  };
  // Alice administers and uses the key by name, so the policy delegates nothing to the account.
  const aliceStatement = { Sid: 'Alice', Effect: 'Allow', Principal: { AWS: ALICE }, Action: 'kms:*', Resource: '*' };
  let key: { KeyId: string; Arn: string };
  let right: Uint8Array;
  let wrong: Uint8Array;
  let role: ReturnType<typeof session>;
  const sessionArn = `arn:aws:sts::${ACCOUNT}:assumed-role/RoleForExampleApp/app`;

  beforeAll(async () => {
    h.app.iam.createRole(alice, 'RoleForExampleApp');
    key = newKey(doc(aliceStatement, roleStatement));
    right = kms().call(alice, 'Encrypt', { KeyId: key.KeyId, Plaintext: Buffer.from('secret'), EncryptionContext: { AppName: 'ExampleApp' } }).CiphertextBlob as Uint8Array;
    wrong = kms().call(alice, 'Encrypt', { KeyId: key.KeyId, Plaintext: Buffer.from('secret'), EncryptionContext: { AppName: 'OtherApp' } }).CiphertextBlob as Uint8Array;
    role = session('RoleForExampleApp', 'app');
    await settle();
  });

  const message = () => denied(sessionArn, 'kms:Decrypt', key.Arn, noPolicy('resource-based', 'kms:Decrypt'));

  it('in-process: the session decrypts with the right context; another context is AccessDeniedException, recorded once', () => {
    expect(Buffer.from(kms().call(role.ctx, 'Decrypt', { CiphertextBlob: right, EncryptionContext: { AppName: 'ExampleApp' } }).Plaintext as Uint8Array).toString()).toBe('secret');
    expect(failure(() => kms().call(role.ctx, 'Decrypt', { CiphertextBlob: wrong, EncryptionContext: { AppName: 'OtherApp' } }))).toEqual({ code: 'AccessDeniedException', message: message() });
    expect(lastKmsRecords(2)).toEqual([{ eventName: 'Decrypt', via: false }, { eventName: 'Decrypt', via: false, errorCode: 'AccessDeniedException' }]);
  });

  it('CLI: ebsim kms decrypt --as role/RoleForExampleApp/app', async () => {
    const ok = await cli('kms', 'decrypt', '--ciphertext-blob', b64(right), '--encryption-context', 'AppName=ExampleApp', '--as', 'role/RoleForExampleApp/app');
    expect(ok.code, ok.stderr).toBe(0);
    expect(Buffer.from(ok.json().Plaintext, 'base64').toString()).toBe('secret');
    const no = await cli('kms', 'decrypt', '--ciphertext-blob', b64(wrong), '--encryption-context', 'AppName=OtherApp', '--as', 'role/RoleForExampleApp/app');
    expect(no.code).toBe(254);
    expect(no.stderr).toContain(cliError('AccessDeniedException', 'Decrypt', message()));
  });

  it('SDK: the session signed with its temporary credentials', async () => {
    const c = kmsClient(role.creds);
    const ok = await c.send(new DecryptCommand({ CiphertextBlob: right, EncryptionContext: { AppName: 'ExampleApp' } }));
    expect(Buffer.from(ok.Plaintext!).toString()).toBe('secret');
    expect(await sdkFailure(c.send(new DecryptCommand({ CiphertextBlob: wrong, EncryptionContext: { AppName: 'OtherApp' } })))).toEqual({ name: 'AccessDeniedException', message: message() });
  });
});

// ---- 2. the aws/ebs AWS managed key policy -------------------------------------------------

describe('the aws/ebs key policy: use only through EC2 (kms:ViaService), metadata directly', () => {
  // AWS's policy for the AWS managed key for Amazon EBS: the first statement as the KMS Developer
  // Guide prints it (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-caller-account),
  // the whole text in src/kms/default-policies.ts and pinned in test/kms/key-policy.test.ts.
  let ebsKey: { KeyId: string; Arn: string };
  let volume: { volumeId: string; instanceId: string };
  let blob: Buffer;

  beforeAll(async () => {
    ebsKey = kms().call(alice, 'DescribeKey', { KeyId: 'alias/aws/ebs' }).KeyMetadata as { KeyId: string; Arn: string };
    volume = attachEncrypted(alice);
    blob = ec2().volume(volume.volumeId).encryptedDataKey!;
    await settle();
  });

  it('EC2 for Alice: RunInstances with an encrypted mapping makes GenerateDataKeyWithoutPlaintext and CreateGrant through EC2, and the host decrypts by the grant', () => {
    const r = ec2().runInstances(alice, {
      ImageId: 'ami-b66ed3de', InstanceType: 'm3.medium',
      BlockDeviceMappings: [{ DeviceName: '/dev/sdb', Ebs: { VolumeSize: 1, DeleteOnTermination: false, VolumeType: 'gp2', Encrypted: true } }],
    });
    const inst = (r.Instances as { State: { Name: string } }[])[0]!;
    expect(inst.State.Name).toBe('running');
    expect(lastKmsRecords(3)).toEqual([
      { eventName: 'GenerateDataKeyWithoutPlaintext', via: true },
      { eventName: 'CreateGrant', via: true },
      { eventName: 'Decrypt', via: false },
    ]);
    // and AttachVolume of a new volume (done in beforeAll) gave the host its key too
    expect(ec2().decryptDataKey(ec2().volume(volume.volumeId)).length).toBe(64);
  });

  it('in-process: Alice (AdministratorAccess) calling GenerateDataKey or Decrypt directly is denied by the key policy; DescribeKey is allowed', () => {
    expect(failure(() => kms().call(alice, 'GenerateDataKey', { KeyId: 'alias/aws/ebs', NumberOfBytes: 32 }))).toEqual({
      code: 'AccessDeniedException',
      message: denied(ALICE, 'kms:GenerateDataKey', ebsKey.Arn, noPolicy('resource-based', 'kms:GenerateDataKey')),
    });
    expect(failure(() => kms().call(alice, 'Decrypt', { CiphertextBlob: blob, EncryptionContext: { 'aws:ebs:id': volume.volumeId } }))).toEqual({
      code: 'AccessDeniedException',
      message: denied(ALICE, 'kms:Decrypt', ebsKey.Arn, noPolicy('resource-based', 'kms:Decrypt')),
    });
    expect((kms().call(alice, 'DescribeKey', { KeyId: 'alias/aws/ebs' }).KeyMetadata as { KeyManager: string }).KeyManager).toBe('AWS');
  });

  it('CLI: ebsim kms generate-data-key / decrypt denied, describe-key allowed', async () => {
    const gen = await cli('kms', 'generate-data-key', '--key-id', 'alias/aws/ebs', '--number-of-bytes', '32');
    expect(gen.code).toBe(254);
    expect(gen.stderr).toContain(cliError('AccessDeniedException', 'GenerateDataKey', denied(ALICE, 'kms:GenerateDataKey', ebsKey.Arn, noPolicy('resource-based', 'kms:GenerateDataKey'))));
    const dec = await cli('kms', 'decrypt', '--ciphertext-blob', b64(blob), '--encryption-context', `aws:ebs:id=${volume.volumeId}`);
    expect(dec.code).toBe(254);
    expect(dec.stderr).toContain(cliError('AccessDeniedException', 'Decrypt', denied(ALICE, 'kms:Decrypt', ebsKey.Arn, noPolicy('resource-based', 'kms:Decrypt'))));
    const desc = await cli('kms', 'describe-key', '--key-id', 'alias/aws/ebs');
    expect(desc.code, desc.stderr).toBe(0);
    expect(desc.json().KeyMetadata.Arn).toBe(ebsKey.Arn);
  });

  it('CLI: ebsim ec2 run-instances with an encrypted mapping works (EC2 for Alice)', async () => {
    const r = await cli('ec2', 'run-instances', '--image-id', 'ami-b66ed3de', '--instance-type', 'm3.medium', '--block-device-mappings', '[{"DeviceName":"/dev/sdb","Ebs":{"VolumeSize":1,"Encrypted":true}}]');
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().Instances[0].State.Name).toBe('running');
    expect(lastKmsRecords(3).map((x) => [x.eventName, x.via, x.errorCode])).toEqual([
      ['GenerateDataKeyWithoutPlaintext', true, undefined],
      ['CreateGrant', true, undefined],
      ['Decrypt', false, undefined],
    ]);
  });

  it('SDK: GenerateDataKey and Decrypt denied, DescribeKey allowed', async () => {
    const c = kmsClient(aliceCredentials(h.dir));
    expect(await sdkFailure(c.send(new GenerateDataKeyCommand({ KeyId: 'alias/aws/ebs', NumberOfBytes: 32 })))).toEqual({
      name: 'AccessDeniedException',
      message: denied(ALICE, 'kms:GenerateDataKey', ebsKey.Arn, noPolicy('resource-based', 'kms:GenerateDataKey')),
    });
    expect((await sdkFailure(c.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { 'aws:ebs:id': volume.volumeId } })))).name).toBe('AccessDeniedException');
    expect((await c.send(new DescribeKeyCommand({ KeyId: 'alias/aws/ebs' }))).KeyMetadata!.Arn).toBe(ebsKey.Arn);
  });
});

// ---- 3. CreateGrant only for an AWS resource ---------------------------------------------------

describe('kms:GrantIsForAWSResource: Alice may create grants only through EC2', () => {
  // The condition as AWS writes it ("Allow attachment of persistent resources", the default key
  // policy's key-user statement, https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-service-integration,
  // and "kms:GrantIsForAWSResource", https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-is-for-aws-resource),
  // turned into a Deny so that it binds Alice, whose AdministratorAccess the default statement
  // (key-policy-default.html#key-policy-default-allow-root-enable-iam) would otherwise let create any grant.
  const policy = doc(
    { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
    { Sid: 'Deny grants not for AWS resources', Effect: 'Deny', Principal: { AWS: '*' }, Action: 'kms:CreateGrant', Resource: '*', Condition: { Bool: { 'kms:GrantIsForAWSResource': false } } },
  );
  let key: { KeyId: string; Arn: string };
  const grant = () => ({ KeyId: key.KeyId, GranteePrincipal: `arn:aws:iam::${ACCOUNT}:role/RoleForExampleApp`, Operations: ['Decrypt'] });
  const message = () => denied(ALICE, 'kms:CreateGrant', key.Arn, explicitDeny('resource-based'));

  beforeAll(async () => {
    key = newKey(policy);
    await settle();
  });

  it('in-process: direct CreateGrant is an explicit deny; EC2 attaching a volume under the key creates its grant', () => {
    expect(failure(() => kms().call(alice, 'CreateGrant', grant()))).toEqual({ code: 'AccessDeniedException', message: message() });
    const { volumeId } = attachEncrypted(alice, key.Arn);
    expect(lastKmsRecords(3)).toEqual([{ eventName: 'GenerateDataKeyWithoutPlaintext', via: true }, { eventName: 'CreateGrant', via: true }, { eventName: 'Decrypt', via: false }]);
    expect(ec2().volume(volumeId).grantId).toMatch(/^[0-9a-f]{64}$/);
  });

  it('CLI: ebsim kms create-grant denied; ebsim ec2 run-instances with the key allowed', async () => {
    const no = await cli('kms', 'create-grant', '--key-id', key.KeyId, '--grantee-principal', grant().GranteePrincipal, '--operations', 'Decrypt');
    expect(no.code).toBe(254);
    expect(no.stderr).toContain(cliError('AccessDeniedException', 'CreateGrant', message()));
    const ok = await cli('ec2', 'run-instances', '--image-id', 'ami-b66ed3de', '--instance-type', 'm3.medium', '--block-device-mappings', `[{"DeviceName":"/dev/sdb","Ebs":{"VolumeSize":1,"Encrypted":true,"KmsKeyId":"${key.Arn}"}}]`);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.json().Instances[0].State.Name).toBe('running');
    expect(lastKmsRecords(2).map((r) => [r.eventName, r.via, r.errorCode])).toEqual([['CreateGrant', true, undefined], ['Decrypt', false, undefined]]);
  });

  it('SDK: CreateGrant denied', async () => {
    const c = kmsClient(aliceCredentials(h.dir));
    expect(await sdkFailure(c.send(new CreateGrantCommand(grant() as never)))).toEqual({ name: 'AccessDeniedException', message: message() });
  });
});

describe('kms:GrantIsForAWSResource in an IAM policy: a user who may create grants only through EC2', () => {
  // The Amazon EBS User Guide's IAM policy for users of encrypted volumes, "Permissions for IAM
  // users" (https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption-requirements.html#ebs-encryption-permissions):
  // the permissions it lists, and its CreateGrant statement as printed there (key ARN adapted).
  let key: { KeyId: string; Arn: string };
  let grace: ReturnType<typeof newUser>;
  const GRACE = `arn:aws:iam::${ACCOUNT}:user/Grace`;
  const message = () => denied(GRACE, 'kms:CreateGrant', key.Arn, noPolicy('identity-based', 'kms:CreateGrant'));
  const grant = () => ({ KeyId: key.KeyId, GranteePrincipal: GRACE, Operations: ['Decrypt'] });

  beforeAll(async () => {
    key = newKey();
    grace = newUser('Grace');
    h.app.iam.call(alice, 'PutUserPolicy', {
      UserName: 'Grace', PolicyName: 'ebs-volumes',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: ['kms:Decrypt', 'kms:DescribeKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:ReEncrypt*'], Resource: [key.Arn] },
          { Effect: 'Allow', Action: 'kms:CreateGrant', Resource: [key.Arn], Condition: { Bool: { 'kms:GrantIsForAWSResource': true } } },
          // The EC2 side of launching and attaching (IAM decides EC2 calls too).
          { Effect: 'Allow', Action: ['ec2:RunInstances', 'ec2:CreateVolume', 'ec2:AttachVolume', 'ec2:Describe*'], Resource: '*' },
        ],
      }),
    });
    await settle();
  });

  it('in-process: her own CreateGrant is refused; EC2 attaching her volume creates the grant', () => {
    expect(failure(() => kms().call(grace.ctx, 'CreateGrant', grant()))).toEqual({ code: 'AccessDeniedException', message: message() });
    attachEncrypted(grace.ctx, key.Arn);
    expect(lastKmsRecords(3)).toEqual([{ eventName: 'GenerateDataKeyWithoutPlaintext', via: true }, { eventName: 'CreateGrant', via: true }, { eventName: 'Decrypt', via: false }]);
  });

  it('CLI: ebsim kms create-grant --as Grace refused; ebsim ec2 run-instances --as Grace with the key works', async () => {
    const no = await cli('kms', 'create-grant', '--key-id', key.KeyId, '--grantee-principal', GRACE, '--operations', 'Decrypt', '--as', 'Grace');
    expect(no.code).toBe(254);
    expect(no.stderr).toContain(cliError('AccessDeniedException', 'CreateGrant', message()));
    const ok = await cli('ec2', 'run-instances', '--image-id', 'ami-b66ed3de', '--instance-type', 'm3.medium', '--as', 'Grace', '--block-device-mappings', `[{"DeviceName":"/dev/sdb","Ebs":{"VolumeSize":1,"Encrypted":true,"KmsKeyId":"${key.Arn}"}}]`);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.json().Instances[0].State.Name).toBe('running');
  });

  it('SDK: CreateGrant refused', async () => {
    expect(await sdkFailure(kmsClient(grace.creds).send(new CreateGrantCommand(grant() as never)))).toEqual({ name: 'AccessDeniedException', message: message() });
  });
});

// ---- 4. kms:ViaService limited to EC2 on a customer managed key -------------------------------

describe('kms:ViaService: a customer managed key usable only through EC2', () => {
  // "kms:ViaService", https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service:
  // use through Amazon EC2 or Amazon RDS in one Region (here us-east-1, for Alice instead of ExampleRole).
  const viaStatement = {
    Effect: 'Allow',
    Principal: { AWS: ALICE },
    Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:CreateGrant', 'kms:ListGrants', 'kms:DescribeKey'],
    Resource: '*',
    Condition: { StringEquals: { 'kms:ViaService': [EBS_VIA, `rds.${REGION}.amazonaws.com`] } },
  };
  // The key administrators' statement of the console's default key policy
  // (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-administrators):
  // Alice administers the key (and so passes the lockout check) but may not use it directly.
  const adminStatement = {
    Sid: 'Allow access for Key Administrators',
    Effect: 'Allow',
    Principal: { AWS: ALICE },
    Action: ['kms:Create*', 'kms:Describe*', 'kms:Enable*', 'kms:List*', 'kms:Put*', 'kms:Update*', 'kms:Revoke*', 'kms:Disable*', 'kms:Get*', 'kms:Delete*', 'kms:TagResource', 'kms:UntagResource', 'kms:ScheduleKeyDeletion', 'kms:CancelKeyDeletion', 'kms:RotateKeyOnDemand'],
    Resource: '*',
  };
  let key: { KeyId: string; Arn: string };
  const message = () => denied(ALICE, 'kms:Encrypt', key.Arn, noPolicy('resource-based', 'kms:Encrypt'));

  beforeAll(async () => {
    key = newKey(doc(adminStatement, viaStatement));
    await settle();
  });

  it('in-process: direct Encrypt denied; EC2 creating and attaching a volume under the key works', () => {
    expect(failure(() => kms().call(alice, 'Encrypt', { KeyId: key.KeyId, Plaintext: Buffer.from('x') }))).toEqual({ code: 'AccessDeniedException', message: message() });
    const { volumeId } = attachEncrypted(alice, key.KeyId);
    expect(lastKmsRecords(3)).toEqual([
      { eventName: 'GenerateDataKeyWithoutPlaintext', via: true },
      { eventName: 'CreateGrant', via: true },
      { eventName: 'Decrypt', via: false },
    ]);
    expect(ec2().volume(volumeId).kmsKeyArn).toBe(key.Arn);
  });

  it('CLI: ebsim kms encrypt denied; ebsim ec2 create-volume --kms-key-id allowed', async () => {
    const no = await cli('kms', 'encrypt', '--key-id', key.KeyId, '--plaintext', b64(Buffer.from('x')));
    expect(no.code).toBe(254);
    expect(no.stderr).toContain(cliError('AccessDeniedException', 'Encrypt', message()));
    const ok = await cli('ec2', 'create-volume', '--size', '1', '--encrypted', '--kms-key-id', key.Arn, '--availability-zone', `${REGION}a`);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.json().KmsKeyId).toBe(key.Arn);
  });

  it('SDK: Encrypt denied', async () => {
    const c = kmsClient(aliceCredentials(h.dir));
    expect(await sdkFailure(c.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') })))).toEqual({ name: 'AccessDeniedException', message: message() });
  });

  it('the denial comes from the document: with kms:* for * as the key policy, the same direct Encrypt is allowed', async () => {
    const open = doc({ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:*', Resource: '*' });
    kms().call(alice, 'PutKeyPolicy', { KeyId: key.KeyId, Policy: open });
    await settle();
    expect(kms().call(alice, 'Encrypt', { KeyId: key.KeyId, Plaintext: Buffer.from('x') }).KeyId).toBe(key.Arn);
    expect((await cli('kms', 'encrypt', '--key-id', key.KeyId, '--plaintext', b64(Buffer.from('x')))).code).toBe(0);
    expect((await kmsClient(aliceCredentials(h.dir)).send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') }))).KeyId).toBe(key.Arn);
    // and back: the document alone decides
    kms().call(alice, 'PutKeyPolicy', { KeyId: key.KeyId, Policy: doc(adminStatement, viaStatement) });
    expect(failure(() => kms().call(alice, 'Encrypt', { KeyId: key.KeyId, Plaintext: Buffer.from('x') })).code).toBe('AccessDeniedException');
  });
});

// ---- 5. IAM identity and session policies decide with the default key policy ------------------

describe('with the default key policy, IAM identity and session policies decide', () => {
  let key: { KeyId: string; Arn: string };
  let bob: ReturnType<typeof newUser>;
  const BOB = `arn:aws:iam::${ACCOUNT}:user/Bob`;
  // "Allow a user to encrypt and decrypt with specific KMS keys", KMS Developer Guide, IAM policy examples:
  // https://docs.aws.amazon.com/kms/latest/developerguide/customer-managed-policies.html#iam-policy-example-encrypt-decrypt-specific-cmks
  const encryptDecrypt = () => JSON.stringify({
    Version: '2012-10-17',
    Statement: { Effect: 'Allow', Action: ['kms:Encrypt', 'kms:Decrypt'], Resource: [key.Arn] },
  });
  // "Prevent a user from disabling or deleting any KMS keys", same page:
  // https://docs.aws.amazon.com/kms/latest/developerguide/customer-managed-policies.html#iam-policy-example-deny-disable-delete
  const denyDisableDelete = JSON.stringify({
    Version: '2012-10-17',
    Statement: { Effect: 'Deny', Action: ['kms:DisableKey', 'kms:ScheduleKeyDeletion'], Resource: '*' },
  });
  const encrypt = (ctx: CallContext) => kms().call(ctx, 'Encrypt', { KeyId: key.KeyId, Plaintext: Buffer.from('x') });

  beforeAll(async () => {
    key = newKey(); // key-default-1: the account, and through it IAM policies
    bob = newUser('Bob');
    await settle();
  });

  it('Bob with no policy: AccessDeniedException, no identity-based policy allows (in-process, CLI, SDK)', async () => {
    const message = denied(BOB, 'kms:Encrypt', key.Arn, noPolicy('identity-based', 'kms:Encrypt'));
    expect(failure(() => encrypt(bob.ctx))).toEqual({ code: 'AccessDeniedException', message });
    const r = await cli('kms', 'encrypt', '--key-id', key.KeyId, '--plaintext', b64(Buffer.from('x')), '--as', 'Bob');
    expect(r.code).toBe(254);
    expect(r.stderr).toContain(cliError('AccessDeniedException', 'Encrypt', message));
    expect(await sdkFailure(kmsClient(bob.creds).send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') })))).toEqual({ name: 'AccessDeniedException', message });
  });

  it('an inline policy allowing kms:Encrypt on the key (ebsim iam put-user-policy) allows it', async () => {
    const put = await cli('iam', 'put-user-policy', '--user-name', 'Bob', '--policy-name', 'EncryptDecrypt', '--policy-document', encryptDecrypt());
    expect(put.code, put.stderr).toBe(0);
    await settle();
    expect(encrypt(bob.ctx).KeyId).toBe(key.Arn);
    const r = await cli('kms', 'encrypt', '--key-id', key.KeyId, '--plaintext', b64(Buffer.from('x')), '--as', 'Bob');
    expect(r.code, r.stderr).toBe(0);
    await settle();
    expect((await kmsClient(bob.creds).send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') }))).KeyId).toBe(key.Arn);
    // Another key is still refused: the policy names this one.
    const other = newKey();
    expect(failure(() => kms().call(bob.ctx, 'Encrypt', { KeyId: other.KeyId, Plaintext: Buffer.from('x') })).message).toBe(denied(BOB, 'kms:Encrypt', other.Arn, noPolicy('identity-based', 'kms:Encrypt')));
  });

  it('an explicit Deny in an attached managed policy beats AdministratorAccess (ebsim iam create-policy, attach-user-policy)', async () => {
    expect((await cli('iam', 'attach-user-policy', '--user-name', 'Bob', '--policy-arn', 'arn:aws:iam::aws:policy/AdministratorAccess')).code).toBe(0);
    await settle();
    expect(kms().call(bob.ctx, 'DisableKey', { KeyId: key.KeyId })).toEqual({});
    kms().call(alice, 'EnableKey', { KeyId: key.KeyId });
    const created = await cli('iam', 'create-policy', '--policy-name', 'DenyDisableDelete', '--policy-document', denyDisableDelete);
    expect(created.code, created.stderr).toBe(0);
    const arn = created.json().Policy.Arn as string;
    expect((await cli('iam', 'attach-user-policy', '--user-name', 'Bob', '--policy-arn', arn)).code).toBe(0);
    await settle();
    const message = denied(BOB, 'kms:DisableKey', key.Arn, explicitDeny('identity-based'));
    expect(failure(() => kms().call(bob.ctx, 'DisableKey', { KeyId: key.KeyId }))).toEqual({ code: 'AccessDeniedException', message });
    const r = await cli('kms', 'disable-key', '--key-id', key.KeyId, '--as', 'Bob');
    expect(r.code).toBe(254);
    expect(r.stderr).toContain(cliError('AccessDeniedException', 'DisableKey', message));
    await settle();
    expect(await sdkFailure(kmsClient(bob.creds).send(new DisableKeyCommand({ KeyId: key.KeyId })))).toEqual({ name: 'AccessDeniedException', message });
    // Alice, without the Deny, still may.
    expect(kms().call(alice, 'DisableKey', { KeyId: key.KeyId })).toEqual({});
    kms().call(alice, 'EnableKey', { KeyId: key.KeyId });
  });

  it('a session policy (AssumeRole --policy) narrows the role: no session policy allows kms:Encrypt', async () => {
    h.app.iam.createRole(alice, 'KeyUser');
    h.app.iam.call(alice, 'PutRolePolicy', { RoleName: 'KeyUser', PolicyName: 'EncryptDecrypt', PolicyDocument: encryptDecrypt() });
    const decryptOnly = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' }] });
    const blob = kms().call(alice, 'Encrypt', { KeyId: key.KeyId, Plaintext: Buffer.from('narrow') }).CiphertextBlob as Uint8Array;

    // In-process: the session without a session policy may encrypt; with one, only decrypt.
    expect(encrypt(session('KeyUser', 'wide').ctx).KeyId).toBe(key.Arn);
    const narrow = session('KeyUser', 'narrow', decryptOnly);
    const message = denied(`arn:aws:sts::${ACCOUNT}:assumed-role/KeyUser/narrow`, 'kms:Encrypt', key.Arn, noPolicy('session', 'kms:Encrypt'));
    expect(failure(() => encrypt(narrow.ctx))).toEqual({ code: 'AccessDeniedException', message });
    expect(Buffer.from(kms().call(narrow.ctx, 'Decrypt', { CiphertextBlob: blob }).Plaintext as Uint8Array).toString()).toBe('narrow');

    // SDK: STS AssumeRole with Policy, then KMS with the session's credentials.
    await settle();
    const assumed = await stsClient(aliceCredentials(h.dir)).send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${ACCOUNT}:role/KeyUser`, RoleSessionName: 'sdk', Policy: decryptOnly }));
    const c = assumed.Credentials!;
    const k = kmsClient({ accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! });
    expect(await sdkFailure(k.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') })))).toEqual({
      name: 'AccessDeniedException',
      message: denied(`arn:aws:sts::${ACCOUNT}:assumed-role/KeyUser/sdk`, 'kms:Encrypt', key.Arn, noPolicy('session', 'kms:Encrypt')),
    });
    expect(Buffer.from((await k.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString()).toBe('narrow');

    // CLI: ebsim sts assume-role --policy starts the session (its credentials carry the policy;
    // `--as role/ROLE/SESSION` is a session of its own, without one).
    const r = await cli('sts', 'assume-role', '--role-arn', `arn:aws:iam::${ACCOUNT}:role/KeyUser`, '--role-session-name', 'cli', '--policy', decryptOnly);
    expect(r.code, r.stderr).toBe(0);
    const found = h.app.iam.lookupAccessKey(r.json().Credentials.AccessKeyId)!;
    expect(failure(() => encrypt(directCall(found.principal, REGION))).message).toBe(denied(`arn:aws:sts::${ACCOUNT}:assumed-role/KeyUser/cli`, 'kms:Encrypt', key.Arn, noPolicy('session', 'kms:Encrypt')));
  });

  it("a session policy also limits what the key policy allows the session's role; not what it allows the session by its own ARN", async () => {
    // IAM User Guide, "Session policies" (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session):
    // a resource-based policy naming the role ARN adds its permissions before the session is
    // created, and "the session policy limits the total permissions granted by the resource-based
    // policy and the identity-based policy"; one naming the session ARN adds them after, and they
    // "are not limited by the session policies".
    h.app.iam.createRole(alice, 'Named');
    const named = (arn: string) => newKey(doc(
      { Sid: 'Alice', Effect: 'Allow', Principal: { AWS: ALICE }, Action: 'kms:*', Resource: '*' },
      { Sid: 'Use', Effect: 'Allow', Principal: { AWS: arn }, Action: ['kms:Encrypt', 'kms:Decrypt'], Resource: '*' },
    ));
    const byRole = named(`arn:aws:iam::${ACCOUNT}:role/Named`);
    const bySession = named(`arn:aws:sts::${ACCOUNT}:assumed-role/Named/narrow`);
    const decryptOnly = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' }] });
    const narrow = session('Named', 'narrow', decryptOnly);
    const sessionArn = `arn:aws:sts::${ACCOUNT}:assumed-role/Named/narrow`;
    // Without a session policy the role's sessions may encrypt under the role's key.
    expect(kms().call(session('Named', 'wide').ctx, 'Encrypt', { KeyId: byRole.KeyId, Plaintext: Buffer.from('x') }).KeyId).toBe(byRole.Arn);
    expect(failure(() => kms().call(narrow.ctx, 'Encrypt', { KeyId: byRole.KeyId, Plaintext: Buffer.from('x') }))).toEqual({
      code: 'AccessDeniedException',
      message: denied(sessionArn, 'kms:Encrypt', byRole.Arn, noPolicy('session', 'kms:Encrypt')),
    });
    const blob = kms().call(alice, 'Encrypt', { KeyId: byRole.KeyId, Plaintext: Buffer.from('x') }).CiphertextBlob as Uint8Array;
    expect(kms().call(narrow.ctx, 'Decrypt', { CiphertextBlob: blob }).KeyId).toBe(byRole.Arn);
    expect(kms().call(narrow.ctx, 'Encrypt', { KeyId: bySession.KeyId, Plaintext: Buffer.from('x') }).KeyId).toBe(bySession.Arn);
    await settle();
    expect((await sdkFailure(kmsClient(narrow.creds).send(new EncryptCommand({ KeyId: byRole.KeyId, Plaintext: Buffer.from('x') })))).message).toBe(denied(sessionArn, 'kms:Encrypt', byRole.Arn, noPolicy('session', 'kms:Encrypt')));
  });

  it('an explicit Deny in the key policy beats a grant: the grant to role Worker is refused (in-process, CLI, SDK)', async () => {
    h.app.iam.createRole(alice, 'Worker');
    const k = newKey(doc(
      { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
      { Sid: 'Deny Worker', Effect: 'Deny', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/Worker` }, Action: 'kms:Decrypt', Resource: '*' },
    ));
    kms().call(alice, 'CreateGrant', { KeyId: k.KeyId, GranteePrincipal: `arn:aws:iam::${ACCOUNT}:role/Worker`, Operations: ['Decrypt'] });
    const blob = kms().call(alice, 'Encrypt', { KeyId: k.KeyId, Plaintext: Buffer.from('w') }).CiphertextBlob as Uint8Array;
    const worker = session('Worker', 'ww');
    const message = (s: string) => denied(`arn:aws:sts::${ACCOUNT}:assumed-role/Worker/${s}`, 'kms:Decrypt', k.Arn, explicitDeny('resource-based'));
    expect(failure(() => kms().call(worker.ctx, 'Decrypt', { CiphertextBlob: blob }))).toEqual({ code: 'AccessDeniedException', message: message('ww') });
    const r = await cli('kms', 'decrypt', '--ciphertext-blob', b64(blob), '--as', 'role/Worker/ww');
    expect(r.code).toBe(254);
    expect(r.stderr).toContain(cliError('AccessDeniedException', 'Decrypt', message('ww')));
    await settle();
    expect(await sdkFailure(kmsClient(worker.creds).send(new DecryptCommand({ CiphertextBlob: blob })))).toEqual({ name: 'AccessDeniedException', message: message('ww') });
    // Without the Deny, the same grant allows it.
    kms().call(alice, 'PutKeyPolicy', { KeyId: k.KeyId, Policy: doc({ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }) });
    expect(Buffer.from(kms().call(worker.ctx, 'Decrypt', { CiphertextBlob: blob }).Plaintext as Uint8Array).toString()).toBe('w');
  });

  it("EC2: a Deny on the instances' infrastructure role in the key policy beats the grant EC2 creates (the host's Decrypt is refused)", () => {
    const k = newKey(doc(
      { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
      { Sid: 'Deny the hosts', Effect: 'Deny', Principal: { AWS: '*' }, Action: 'kms:Decrypt', Resource: '*', Condition: { ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:role/aws:ec2-infrastructure` } } },
    ));
    const err = failure(() => attachEncrypted(alice, k.Arn));
    expect(err.message).toContain('with an explicit deny in a resource-based policy');
    expect(lastKmsRecords(1)).toEqual([{ eventName: 'Decrypt', via: false, errorCode: 'AccessDeniedException' }]);
  });
});

// ---- 6. the lockout safety check ----------------------------------------------------------------

describe('the lockout safety check (PutKeyPolicy over the SDK)', () => {
  const bobOnly = doc({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/Bob` }, Action: 'kms:*', Resource: '*' });

  it('a policy naming only another user is MalformedPolicyDocumentException; with BypassPolicyLockoutSafetyCheck it is accepted and Alice is locked out', async () => {
    const key = newKey();
    await settle();
    const c = kmsClient(aliceCredentials(h.dir));
    expect(await sdkFailure(c.send(new PutKeyPolicyCommand({ KeyId: key.KeyId, Policy: bobOnly })))).toEqual({
      name: 'MalformedPolicyDocumentException',
      message: 'The new key policy will not allow you to update the key policy in the future.',
    });
    await c.send(new DescribeKeyCommand({ KeyId: key.KeyId }));
    await c.send(new PutKeyPolicyCommand({ KeyId: key.KeyId, Policy: bobOnly, BypassPolicyLockoutSafetyCheck: true }));
    for (const [action, send] of [
      ['kms:DescribeKey', () => c.send(new DescribeKeyCommand({ KeyId: key.KeyId }))],
      ['kms:PutKeyPolicy', () => c.send(new PutKeyPolicyCommand({ KeyId: key.KeyId, Policy: doc({ Effect: 'Allow', Principal: { AWS: ALICE }, Action: 'kms:*', Resource: '*' }), BypassPolicyLockoutSafetyCheck: true }))],
    ] as const) {
      expect(await sdkFailure(send())).toEqual({ name: 'AccessDeniedException', message: denied(ALICE, action, key.Arn, noPolicy('resource-based', action)) });
    }
    // CLI too, and Bob, whom the policy names, is not.
    expect((await cli('kms', 'describe-key', '--key-id', key.KeyId)).code).toBe(254);
    expect((await cli('kms', 'describe-key', '--key-id', key.KeyId, '--as', 'Bob')).code).toBe(0);
  });
});
