// Stop, start and reboot as AWS documents them, told by the trail: a stop retires the instance's
// grants, a start grants and decrypts again as the instance's role with the caller's permissions
// (without kms:CreateGrant the instance goes back to stopped with AWS's StateReason), a reboot
// makes no KMS call. In-process and through the CLI (`main`).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, errorCode, type TestHome } from '../helpers/home.js';
import { ebsimIn } from '../helpers/cli.js';
import { allRecords, type TrailRecord } from '../../src/trail/index.js';
import { ExclusiveLock, imageLockFile } from '../../src/device/lock.js';
import type { CallContext } from '../../src/core/call-context.js';

const ACCOUNT = '123456789012';
const ROLE_SESSION = (instanceId: string) => `arn:aws:sts::${ACCOUNT}:assumed-role/aws:ec2-infrastructure/${instanceId}`;
const GRANTEE = (instanceId: string) => `${ACCOUNT}:aws:ec2-infrastructure:${instanceId}`;
const USER_STOP = { Code: 'Client.UserInitiatedShutdown', Message: 'Client.UserInitiatedShutdown: User initiated shutdown' };
const CLIENT_ERROR = { Code: 'Client.InternalError', Message: 'Client.InternalError: Client error on launch' };
const KEY_STATE = { Code: 'Client.InvalidKMSKey.InvalidState', Message: 'Client.InvalidKMSKey.InvalidState: The KMS key provided is in an incorrect state' };
const doc = (...statements: Record<string, unknown>[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });

let h: TestHome;
let alice: CallContext;
let bob: CallContext;

beforeAll(() => {
  h = makeHome('ebsim-lifecycle-');
  alice = h.app.as('Alice');
  // Bob may do everything but create grants: the re:Post case "my IAM entity has all EC2 permissions".
  h.app.iam.call(alice, 'CreateUser', { UserName: 'Bob' });
  h.app.iam.call(alice, 'AttachUserPolicy', { UserName: 'Bob', PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' });
  h.app.iam.call(alice, 'PutUserPolicy', { UserName: 'Bob', PolicyName: 'no-grants', PolicyDocument: doc({ Effect: 'Deny', Action: 'kms:CreateGrant', Resource: '*' }) });
  bob = h.app.as('Bob');
});
afterAll(() => h.cleanup());

const ec2 = () => h.app.ec2();
const kms = (ctx: CallContext, op: string, params: Record<string, unknown>) => h.app.kms().call(ctx, op, params);

function recordsDuring(fn: () => unknown): TrailRecord[] {
  h.app.trail.flush();
  const before = allRecords(h.app.db).length;
  fn();
  h.app.trail.flush();
  return allRecords(h.app.db).slice(before);
}

/** Who made a record: a user, EC2 for a user ("Alice via EC2"), or an instance's role session. */
function who(r: TrailRecord): string {
  const u = r.userIdentity as { type: string; userName?: string; arn: string; invokedBy?: string };
  if (u.type === 'AssumedRole') return u.arn;
  return u.invokedBy ? `${u.userName} via EC2` : u.userName!;
}
const brief = (recs: TrailRecord[]) => recs.map((r) => [r.eventName, who(r), r.errorCode ?? 'ok']);

/** An instance with an encrypted /dev/sdb (under `keyId`, else alias/aws/ebs), launched by Alice. */
function launch(keyId?: string): { instanceId: string; volumeId: string; keyArn: string } {
  const r = ec2().runInstances(alice, {
    ImageId: 'ami-0123abcd', InstanceType: 't3.micro',
    BlockDeviceMappings: [{ DeviceName: '/dev/sdb', Ebs: { VolumeSize: 1, Encrypted: true, ...(keyId ? { KmsKeyId: keyId } : {}) } }],
  });
  const inst = (r.Instances as { InstanceId: string; BlockDeviceMappings: { DeviceName: string; Ebs: { VolumeId: string } }[] }[])[0]!;
  const volumeId = inst.BlockDeviceMappings.find((m) => m.DeviceName === '/dev/sdb')!.Ebs.VolumeId;
  return { instanceId: inst.InstanceId, volumeId, keyArn: ec2().volume(volumeId).kmsKeyArn! };
}

function described(instanceId: string): Record<string, any> {
  return ((ec2().describeInstances(alice, [instanceId]).Reservations as { Instances: Record<string, any>[] }[])[0]!.Instances[0])!;
}

function liveGrantees(keyArn: string): string[] {
  return (kms(alice, 'ListGrants', { KeyId: keyArn }).Grants as { GranteePrincipal: string }[]).map((g) => g.GranteePrincipal);
}

function newKey(description: string): { KeyId: string; Arn: string } {
  return kms(alice, 'CreateKey', { Description: description }).KeyMetadata as { KeyId: string; Arn: string };
}

describe('stop, start, reboot in the trail', () => {
  it('stop: StopInstances in AWS\'s shape, then EC2 retires the instance\'s grant; the instance is stopped for the user', () => {
    const { instanceId, volumeId, keyArn } = launch();
    const grantId = ec2().volume(volumeId).grantId!;
    expect(liveGrantees(keyArn)).toContain(GRANTEE(instanceId));
    let response: Record<string, unknown> = {};
    const recs = recordsDuring(() => (response = ec2().stopInstances(alice, { InstanceIds: [instanceId] })));
    expect(response).toEqual({ StoppingInstances: [{ InstanceId: instanceId, CurrentState: { Code: 64, Name: 'stopping' }, PreviousState: { Code: 16, Name: 'running' } }] });
    expect(brief(recs)).toEqual([['StopInstances', 'Alice', 'ok'], ['ListGrants', 'Alice via EC2', 'ok'], ['RetireGrant', 'Alice via EC2', 'ok']]);
    // The CloudTrail user guide's StopInstances record: force logged, the state change in responseElements.
    expect(recs[0]).toMatchObject({
      requestParameters: { instancesSet: { items: [{ instanceId }] }, force: false },
      responseElements: { instancesSet: { items: [{ instanceId, currentState: { code: 64, name: 'stopping' }, previousState: { code: 16, name: 'running' } }] } },
    });
    // The KMS developer guide's RetireGrant record: requestParameters null, the grant in additionalEventData.
    expect(recs[2]!.requestParameters).toBeNull();
    expect(recs[2]!.additionalEventData).toEqual({ grantId });
    expect(liveGrantees(keyArn)).not.toContain(GRANTEE(instanceId));
    const i = described(instanceId);
    expect(i.State).toEqual({ Code: 80, Name: 'stopped' });
    expect(i.StateReason).toEqual(USER_STOP);
    expect(i.StateTransitionReason).toMatch(/^User initiated \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT\)$/);
    // The volume stays attached to the stopped instance, its grant gone.
    expect(ec2().volume(volumeId)).toMatchObject({ state: 'in-use', instanceId, grantId: null });
  });

  it('start: StartInstances answers pending; then CreateGrant (EC2 for the caller, same request) and Decrypt by the instance\'s role', () => {
    const { instanceId, volumeId, keyArn } = launch();
    ec2().stopInstances(alice, { InstanceIds: [instanceId] });
    let response: Record<string, unknown> = {};
    const recs = recordsDuring(() => (response = ec2().startInstances(alice, [instanceId])));
    expect(response).toEqual({ StartingInstances: [{ InstanceId: instanceId, CurrentState: { Code: 0, Name: 'pending' }, PreviousState: { Code: 80, Name: 'stopped' } }] });
    expect(brief(recs)).toEqual([['StartInstances', 'Alice', 'ok'], ['CreateGrant', 'Alice via EC2', 'ok'], ['Decrypt', ROLE_SESSION(instanceId), 'ok']]);
    const [start, grant, decrypt] = recs;
    expect(start).toMatchObject({
      requestParameters: { instancesSet: { items: [{ instanceId }] } },
      responseElements: { instancesSet: { items: [{ instanceId, currentState: { code: 0, name: 'pending' }, previousState: { code: 80, name: 'stopped' } }] } },
    });
    expect(grant!.requestID).toBe(start!.requestID);
    expect(grant!.requestParameters).toMatchObject({ keyId: keyArn, granteePrincipal: GRANTEE(instanceId), operations: ['Decrypt'], constraints: { encryptionContextSubset: { 'aws:ebs:id': volumeId } } });
    expect(decrypt!.requestParameters).toMatchObject({ encryptionContext: { 'aws:ebs:id': volumeId } });
    expect(decrypt!.sourceIPAddress).toMatch(/^172\.31\./);
    expect(decrypt!.resources![0]!.ARN).toBe(keyArn);
    const i = described(instanceId);
    expect(i.State).toEqual({ Code: 16, Name: 'running' });
    expect(i.StateReason).toBeUndefined();
    expect(i.StateTransitionReason).toBe('');
    expect(ec2().volume(volumeId).grantId).toBe((grant!.responseElements as { grantId: string }).grantId);
  });

  it('reboot: RebootInstances alone, no KMS call; the instance stays running', () => {
    const { instanceId } = launch();
    let response: Record<string, unknown> = { unset: true };
    const recs = recordsDuring(() => (response = ec2().rebootInstances(alice, [instanceId])));
    expect(response).toEqual({});
    expect(brief(recs)).toEqual([['RebootInstances', 'Alice', 'ok']]);
    expect(recs.filter((r) => r.eventSource === 'kms.amazonaws.com')).toEqual([]);
    expect(recs[0]).toMatchObject({ requestParameters: { instancesSet: { items: [{ instanceId }] } }, responseElements: { _return: true } });
    expect(described(instanceId).State).toEqual({ Code: 16, Name: 'running' });
  });

  it('a stopped instance\'s host serves nothing: a read is refused before any Decrypt', async () => {
    const { instanceId, volumeId } = launch();
    ec2().stopInstances(alice, { InstanceIds: [instanceId] });
    h.app.trail.flush();
    const before = allRecords(h.app.db).length;
    await expect(h.app.host().read(alice, volumeId, 0, 16)).rejects.toThrow(`${volumeId} is attached to ${instanceId}, which is stopped`);
    h.app.trail.flush();
    expect(allRecords(h.app.db).slice(before)).toEqual([]);
    ec2().startInstances(alice, [instanceId]);
    expect((await h.app.host().read(alice, volumeId, 0, 16)).equals(Buffer.alloc(16))).toBe(true);
  });

  it('attaching to a stopped instance makes no KMS call; the start grants and decrypts that volume', () => {
    const { instanceId, volumeId } = launch();
    ec2().stopInstances(alice, { InstanceIds: [instanceId] });
    const vol = ec2().createVolume(alice, { Size: 1, Encrypted: true }) as { VolumeId: string };
    const attach = recordsDuring(() => ec2().attachVolume(alice, { VolumeId: vol.VolumeId, InstanceId: instanceId, Device: '/dev/sdf' }));
    expect(brief(attach)).toEqual([['AttachVolume', 'Alice', 'ok']]);
    expect(ec2().volume(vol.VolumeId)).toMatchObject({ state: 'in-use', instanceId, grantId: null });
    const start = recordsDuring(() => ec2().startInstances(alice, [instanceId]));
    expect(brief(start).map((r) => r[0])).toEqual(['StartInstances', 'CreateGrant', 'Decrypt', 'CreateGrant', 'Decrypt']);
    const contextOf = (r: TrailRecord) => ((r.requestParameters as { encryptionContext?: Record<string, string>; constraints?: { encryptionContextSubset: Record<string, string> } }).encryptionContext ?? (r.requestParameters as { constraints: { encryptionContextSubset: Record<string, string> } }).constraints.encryptionContextSubset)['aws:ebs:id'];
    expect(start.slice(1).map(contextOf).sort()).toEqual([volumeId, volumeId, vol.VolumeId, vol.VolumeId].sort());
    expect(described(instanceId).State.Name).toBe('running');
  });
});

describe('grants as EBS makes them', () => {
  it('grantee the instance\'s role session, retiring principal the account\'s root (ListRetirableGrants finds it); terminate retires it after the TerminateInstances record', () => {
    const { instanceId, volumeId, keyArn } = launch();
    const grantId = ec2().volume(volumeId).grantId!;
    const root = `arn:aws:iam::${ACCOUNT}:root`;
    const listed = (kms(alice, 'ListGrants', { KeyId: keyArn, GrantId: grantId }).Grants as Record<string, unknown>[])[0];
    expect(listed).toMatchObject({ GranteePrincipal: GRANTEE(instanceId), RetiringPrincipal: root, Operations: ['Decrypt'], Constraints: { EncryptionContextSubset: { 'aws:ebs:id': volumeId } } });
    const retirable = kms(alice, 'ListRetirableGrants', { RetiringPrincipal: root, Limit: 1000 }).Grants as { GrantId: string }[];
    expect(retirable.map((g) => g.GrantId)).toContain(grantId);
    const recs = recordsDuring(() => ec2().terminateInstances(alice, [instanceId]));
    // The record first, then the calls it causes (AWS's order); the volume outlives the instance, without its grant.
    expect(brief(recs)).toEqual([['TerminateInstances', 'Alice', 'ok'], ['ListGrants', 'Alice via EC2', 'ok'], ['RetireGrant', 'Alice via EC2', 'ok']]);
    expect(recs[2]).toMatchObject({ requestParameters: null, additionalEventData: { grantId }, requestID: recs[0]!.requestID });
    expect(liveGrantees(keyArn)).not.toContain(GRANTEE(instanceId));
    expect(ec2().volume(volumeId)).toMatchObject({ state: 'available', instanceId: null, grantId: null });
  });

  it('a user with only the KMS permissions AWS documents for EBS (no kms:RetireGrant, no kms:ListGrants): stop, detach and terminate still retire the grants', () => {
    h.app.iam.call(alice, 'CreateUser', { UserName: 'Erin' });
    h.app.iam.call(alice, 'PutUserPolicy', {
      UserName: 'Erin', PolicyName: 'ebs-documented',
      PolicyDocument: doc(
        { Effect: 'Allow', Action: 'ec2:*', Resource: '*' },
        { Effect: 'Allow', Action: ['kms:CreateGrant', 'kms:Decrypt', 'kms:DescribeKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:ReEncrypt*'], Resource: '*' },
        // Even an explicit Deny of the caller's own retirement: EC2 retires its grants, not the caller.
        { Effect: 'Deny', Action: 'kms:RetireGrant', Resource: '*' },
      ),
    });
    const erin = h.app.as('Erin');
    const run = (ctx: CallContext) => {
      const r = ec2().runInstances(ctx, { ImageId: 'ami-0123abcd', InstanceType: 't3.micro', BlockDeviceMappings: [{ DeviceName: '/dev/sdb', Ebs: { VolumeSize: 1, Encrypted: true } }] });
      const inst = (r.Instances as { InstanceId: string; BlockDeviceMappings: { DeviceName: string; Ebs: { VolumeId: string } }[] }[])[0]!;
      const volumeId = inst.BlockDeviceMappings.find((m) => m.DeviceName === '/dev/sdb')!.Ebs.VolumeId;
      return { instanceId: inst.InstanceId, volumeId, keyArn: ec2().volume(volumeId).kmsKeyArn! };
    };
    const stopped = run(erin);
    expect(liveGrantees(stopped.keyArn)).toContain(GRANTEE(stopped.instanceId));
    const stop = recordsDuring(() => ec2().stopInstances(erin, { InstanceIds: [stopped.instanceId] }));
    // EC2 asks whether the grant is live (ListGrants, for Erin, who may not list), then retires it by its ID.
    expect(brief(stop)).toEqual([['StopInstances', 'Erin', 'ok'], ['ListGrants', 'Erin via EC2', 'AccessDeniedException'], ['RetireGrant', 'Erin via EC2', 'ok']]);
    expect(liveGrantees(stopped.keyArn)).not.toContain(GRANTEE(stopped.instanceId));

    const detached = run(erin);
    ec2().detachVolume(erin, { VolumeId: detached.volumeId });
    expect(liveGrantees(detached.keyArn)).not.toContain(GRANTEE(detached.instanceId));

    const terminated = run(erin);
    ec2().terminateInstances(erin, [terminated.instanceId]);
    expect(liveGrantees(terminated.keyArn)).not.toContain(GRANTEE(terminated.instanceId));
    // Erin's own RetireGrant, outside EC2, is still hers to be refused.
    const own = newKey('a grant Erin may not retire herself');
    const g = kms(alice, 'CreateGrant', { KeyId: own.Arn, GranteePrincipal: `arn:aws:iam::${ACCOUNT}:user/Erin`, RetiringPrincipal: `arn:aws:iam::${ACCOUNT}:root`, Operations: ['Decrypt'] });
    expect(() => kms(erin, 'RetireGrant', { KeyId: own.Arn, GrantId: g.GrantId })).toThrow(/explicit deny/);
  });
});

describe('a start KMS refuses: back to stopped with AWS\'s StateReason', () => {
  it('a caller without kms:CreateGrant (identity policy Deny): the CreateGrant record fails, no Decrypt, StateReason Client.InternalError', () => {
    const { instanceId } = launch();
    ec2().stopInstances(alice, { InstanceIds: [instanceId] });
    let response: Record<string, any> = {};
    const recs = recordsDuring(() => (response = ec2().startInstances(bob, [instanceId])));
    // AWS answers pending; the instance then goes back to stopped (re:Post "kms-iam-ec2-permission").
    expect(response.StartingInstances[0].CurrentState).toEqual({ Code: 0, Name: 'pending' });
    expect(brief(recs)).toEqual([['StartInstances', 'Bob', 'ok'], ['CreateGrant', 'Bob via EC2', 'AccessDeniedException']]);
    expect(recs[1]!.errorMessage).toContain(`User: arn:aws:iam::${ACCOUNT}:user/Bob is not authorized to perform: kms:CreateGrant`);
    const i = described(instanceId);
    expect(i.State).toEqual({ Code: 80, Name: 'stopped' });
    expect(i.StateReason).toEqual(CLIENT_ERROR);
    // Alice, who may create grants, starts it.
    const again = recordsDuring(() => ec2().startInstances(alice, [instanceId]));
    expect(brief(again)).toEqual([['StartInstances', 'Alice', 'ok'], ['CreateGrant', 'Alice via EC2', 'ok'], ['Decrypt', ROLE_SESSION(instanceId), 'ok']]);
    expect(described(instanceId).State.Name).toBe('running');
    expect(described(instanceId).StateReason).toBeUndefined();
  });

  it('a key policy that denies the caller kms:CreateGrant: the same StateReason', () => {
    const key = newKey('denies Carol grants');
    h.app.iam.call(alice, 'CreateUser', { UserName: 'Carol' });
    h.app.iam.call(alice, 'AttachUserPolicy', { UserName: 'Carol', PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' });
    const carol = h.app.as('Carol');
    kms(alice, 'PutKeyPolicy', {
      KeyId: key.KeyId, PolicyName: 'default',
      Policy: doc(
        { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
        { Sid: 'No grants for Carol', Effect: 'Deny', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/Carol` }, Action: 'kms:CreateGrant', Resource: '*' },
      ),
    });
    const { instanceId } = launch(key.Arn);
    ec2().stopInstances(alice, { InstanceIds: [instanceId] });
    const recs = recordsDuring(() => ec2().startInstances(carol, [instanceId]));
    expect(brief(recs)).toEqual([['StartInstances', 'Carol', 'ok'], ['CreateGrant', 'Carol via EC2', 'AccessDeniedException']]);
    expect(recs[1]!.errorMessage).toContain('with an explicit deny in a resource-based policy');
    expect(described(instanceId)).toMatchObject({ State: { Code: 80, Name: 'stopped' }, StateReason: CLIENT_ERROR });
  });

  it('a disabled key: the grant is made, the Decrypt fails (DisabledException), StateReason Client.InvalidKMSKey.InvalidState; enabled again, the next start reuses the grant', () => {
    const key = newKey('disabled while stopped');
    const { instanceId, volumeId } = launch(key.Arn);
    ec2().stopInstances(alice, { InstanceIds: [instanceId] });
    kms(alice, 'DisableKey', { KeyId: key.KeyId });
    const recs = recordsDuring(() => ec2().startInstances(alice, [instanceId]));
    expect(brief(recs)).toEqual([['StartInstances', 'Alice', 'ok'], ['CreateGrant', 'Alice via EC2', 'ok'], ['Decrypt', ROLE_SESSION(instanceId), 'DisabledException']]);
    expect(described(instanceId)).toMatchObject({ State: { Name: 'stopped' }, StateReason: KEY_STATE });
    kms(alice, 'EnableKey', { KeyId: key.KeyId });
    const grantId = ec2().volume(volumeId).grantId;
    expect(grantId).toMatch(/^[0-9a-f]{64}$/);
    const again = recordsDuring(() => ec2().startInstances(alice, [instanceId]));
    expect(brief(again)).toEqual([['StartInstances', 'Alice', 'ok'], ['ListGrants', 'Alice via EC2', 'ok'], ['Decrypt', ROLE_SESSION(instanceId), 'ok']]);
    expect(ec2().volume(volumeId).grantId).toBe(grantId);
    expect(described(instanceId).State.Name).toBe('running');
  });

  it('a key pending deletion: CreateGrant fails (KMSInvalidStateException), StateReason Client.InvalidKMSKey.InvalidState', () => {
    const key = newKey('scheduled for deletion while stopped');
    const { instanceId } = launch(key.Arn);
    ec2().stopInstances(alice, { InstanceIds: [instanceId] });
    kms(alice, 'ScheduleKeyDeletion', { KeyId: key.KeyId, PendingWindowInDays: 7 });
    const recs = recordsDuring(() => ec2().startInstances(alice, [instanceId]));
    expect(brief(recs)).toEqual([['StartInstances', 'Alice', 'ok'], ['CreateGrant', 'Alice via EC2', 'KMSInvalidStateException']]);
    expect(described(instanceId)).toMatchObject({ State: { Code: 80, Name: 'stopped' }, StateReason: KEY_STATE });
  });
});

describe('a volume open on the host', () => {
  /** Holds the volume's image writer lock, as a mount's device daemon or `ebsim volume write` does. */
  function holdOpen(volumeId: string): ExclusiveLock {
    return ExclusiveLock.tryAcquire(imageLockFile(ec2().imagePath(volumeId)))!;
  }

  it('without Force, the stop is refused (IncorrectInstanceState, one failed record) and nothing changes', () => {
    const { instanceId, volumeId } = launch();
    const lock = holdOpen(volumeId);
    try {
      const recs = recordsDuring(() => expect(errorCode(() => ec2().stopInstances(alice, { InstanceIds: [instanceId] }))).toBe('IncorrectInstanceState'));
      expect(brief(recs)).toEqual([['StopInstances', 'Alice', 'Client.IncorrectInstanceState']]);
      expect(recs[0]!.errorMessage).toContain(`The instance '${instanceId}' has ${volumeId} open on its host (pid ${process.pid})`);
      expect(recs[0]!.errorMessage).toContain(`ebsim volume unmount ${volumeId}`);
      expect(described(instanceId).State.Name).toBe('running');
      expect(ec2().volume(volumeId).grantId).not.toBeNull();
    } finally {
      lock.release();
    }
  });

  it('with Force, the instance stays stopping until the host lets go, then any EC2 call finishes the stop', () => {
    const { instanceId, volumeId } = launch();
    const lock = holdOpen(volumeId);
    let response: Record<string, any> = {};
    try {
      const recs = recordsDuring(() => (response = ec2().stopInstances(alice, { InstanceIds: [instanceId], Force: true })));
      expect(response.StoppingInstances[0].CurrentState).toEqual({ Code: 64, Name: 'stopping' });
      expect(recs[0]!.requestParameters).toEqual({ instancesSet: { items: [{ instanceId }] }, force: true });
      expect(brief(recs).map((r) => r[0])).toEqual(['StopInstances', 'ListGrants', 'RetireGrant']);
      expect(described(instanceId).State).toEqual({ Code: 64, Name: 'stopping' });
      expect(errorCode(() => ec2().startInstances(alice, [instanceId]))).toBe('IncorrectInstanceState');
    } finally {
      lock.release();
    }
    expect(described(instanceId)).toMatchObject({ State: { Code: 80, Name: 'stopped' }, StateReason: USER_STOP });
  });
});

describe('states that refuse, in EC2\'s words', () => {
  it('start of a terminated instance, reboot of a stopped one, stop of an unknown one', () => {
    const { instanceId } = launch();
    ec2().stopInstances(alice, { InstanceIds: [instanceId] });
    const reboot = recordsDuring(() => expect(errorCode(() => ec2().rebootInstances(alice, [instanceId]))).toBe('IncorrectInstanceState'));
    expect(reboot[0]).toMatchObject({ errorCode: 'Client.IncorrectInstanceState', errorMessage: `The instance '${instanceId}' is not in a state from which it can be rebooted.` });
    ec2().terminateInstances(alice, [instanceId]);
    expect(described(instanceId)).toMatchObject({ State: { Code: 48, Name: 'terminated' }, StateReason: USER_STOP });
    const start = recordsDuring(() => expect(errorCode(() => ec2().startInstances(alice, [instanceId]))).toBe('IncorrectInstanceState'));
    expect(start[0]).toMatchObject({ errorCode: 'Client.IncorrectInstanceState', errorMessage: `The instance '${instanceId}' is not in a state from which it can be started.` });
    expect(errorCode(() => ec2().stopInstances(alice, { InstanceIds: [instanceId] }))).toBe('IncorrectInstanceState');
    expect(errorCode(() => ec2().stopInstances(alice, { InstanceIds: ['i-0000000000000000f'] }))).toBe('InvalidInstanceID.NotFound');
  });

  it('stopping a stopped instance and starting a running one answer with the state as it is, and make no KMS call', () => {
    const { instanceId } = launch();
    const start = recordsDuring(() => expect(ec2().startInstances(alice, [instanceId]).StartingInstances).toEqual([{ InstanceId: instanceId, CurrentState: { Code: 16, Name: 'running' }, PreviousState: { Code: 16, Name: 'running' } }]));
    expect(brief(start)).toEqual([['StartInstances', 'Alice', 'ok']]);
    ec2().stopInstances(alice, { InstanceIds: [instanceId] });
    const stop = recordsDuring(() => expect(ec2().stopInstances(alice, { InstanceIds: [instanceId] }).StoppingInstances).toEqual([{ InstanceId: instanceId, CurrentState: { Code: 80, Name: 'stopped' }, PreviousState: { Code: 80, Name: 'stopped' } }]));
    expect(brief(stop)).toEqual([['StopInstances', 'Alice', 'ok']]);
  });
});

describe('through the CLI', () => {
  it('stop-instances, describe-instances, start-instances (denied for Bob), reboot-instances', async () => {
    const { instanceId } = launch();
    const cli = (...args: string[]) => ebsimIn(h.dir, args);
    const stop = await cli('ec2', 'stop-instances', '--instance-ids', instanceId);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.json()).toEqual({ StoppingInstances: [{ InstanceId: instanceId, CurrentState: { Code: 64, Name: 'stopping' }, PreviousState: { Code: 16, Name: 'running' } }] });
    const bobStart = await cli('ec2', 'start-instances', '--instance-ids', instanceId, '--as', 'Bob');
    expect(bobStart.code, bobStart.stderr).toBe(0);
    expect(bobStart.json().StartingInstances[0].CurrentState.Name).toBe('pending');
    const d = (await cli('ec2', 'describe-instances', '--instance-ids', instanceId)).json();
    expect(d.Reservations[0].Instances[0]).toMatchObject({ State: { Code: 80, Name: 'stopped' }, StateReason: CLIENT_ERROR });
    h.app.trail.flush();
    const failed = allRecords(h.app.db).filter((r) => r.eventName === 'CreateGrant' && r.errorCode).at(-1)!;
    expect(who(failed)).toBe('Bob via EC2');
    expect((await cli('ec2', 'start-instances', '--instance-ids', instanceId)).code).toBe(0);
    expect((await cli('ec2', 'describe-instances', '--instance-ids', instanceId)).json().Reservations[0].Instances[0].State.Name).toBe('running');
    const reboot = await cli('ec2', 'reboot-instances', '--instance-ids', instanceId);
    expect(reboot.code, reboot.stderr).toBe(0);
    h.app.trail.flush();
    expect(allRecords(h.app.db).at(-1)!.eventName).toBe('RebootInstances');
  });

  it('stop-instances of an instance with a volume open: the error line; with --force the CLI goes through the host and the instance waits in stopping', async () => {
    const { instanceId, volumeId } = launch();
    const lock = ExclusiveLock.tryAcquire(imageLockFile(ec2().imagePath(volumeId)))!;
    try {
      const refused = await ebsimIn(h.dir, ['ec2', 'stop-instances', '--instance-ids', instanceId]);
      expect(refused.code).toBe(254);
      expect(refused.stderr).toContain(`An error occurred (IncorrectInstanceState) when calling the StopInstances operation: The instance '${instanceId}' has ${volumeId} open on its host`);
      const forced = await ebsimIn(h.dir, ['ec2', 'stop-instances', '--instance-ids', instanceId, '--force']);
      expect(forced.code, forced.stderr).toBe(0);
      expect(forced.json().StoppingInstances[0].CurrentState.Name).toBe('stopping');
      // No mount to unmount (the lock is this process's, not a device daemon's): still stopping.
      expect(described(instanceId).State.Name).toBe('stopping');
    } finally {
      lock.release();
    }
    expect(described(instanceId).State.Name).toBe('stopped');
  });
});

describe('RunInstances with a client token (EC2\'s idempotency)', () => {
  it('the same token and arguments give the first launch\'s reservation, nothing launched again; other arguments are refused', () => {
    const token = `idem-${Date.now()}`;
    const run = (params: Record<string, unknown>) => ec2().runInstances(alice, { ImageId: 'ami-0123abcd', InstanceType: 't3.micro', ClientToken: token, ...params } as never);
    const count = () => (ec2().describeInstances(alice).Reservations as { Instances: unknown[] }[]).reduce((n, r) => n + r.Instances.length, 0);
    const first = run({});
    const launched = count();
    const again = run({});
    expect(count()).toBe(launched);
    expect(again.ReservationId).toBe(first.ReservationId);
    expect((again.Instances as { InstanceId: string }[])[0]!.InstanceId).toBe((first.Instances as { InstanceId: string }[])[0]!.InstanceId);
    // Now running: the replay says so.
    expect((again.Instances as { State: { Name: string } }[])[0]!.State.Name).toBe('running');
    for (const changed of [{ InstanceType: 't3.large' }, { ImageId: 'ami-0123abce' }, { Placement: { AvailabilityZone: 'us-east-1b' } }]) {
      let message = '';
      try {
        run(changed);
      } catch (err) {
        message = `${(err as { code: string }).code}: ${(err as Error).message}`;
      }
      expect(message).toBe('IdempotentParameterMismatch: Arguments on this idempotent request are inconsistent with arguments used in previous request(s).');
    }
    expect(count()).toBe(launched);
    // Another token launches another instance.
    ec2().runInstances(alice, { ImageId: 'ami-0123abcd', InstanceType: 't3.micro', ClientToken: `${token}-2` });
    expect(count()).toBe(launched + 1);
  });
});
