// Lesson: stop and start. A stop retires the instance's grants (RetireGrant in AWS's shape: no
// requestParameters, the grant in additionalEventData); the start needs a new grant, made by EC2
// with the starter's permissions, so a caller without kms:CreateGrant sees the instance go back to
// stopped with AWS's StateReason. The policy AWS documents for that (kms:CreateGrant when
// kms:GrantIsForAWSResource) mends it; a reboot makes no KMS call.
import { WHY } from '../why.js';
import type { Lesson } from './lesson.js';
import { aliceKey, launch, ALICE_KEY } from './setup.js';

const names = (rs: { eventName: string; errorCode?: string }[]) => rs.map((r) => `${r.eventName}${r.errorCode ? `:${r.errorCode}` : ''}`).join(',');
const doc = (...statements: Record<string, unknown>[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });

export const stopStart: Lesson = {
  name: 'stop-start',
  summary: 'a start without kms:CreateGrant fails as on AWS; a stop retires the grant',
  async run(c) {
    const { app, s, alice } = c;
    const ec2 = app.ec2();
    const kms = app.kms();
    await s.step('Stop and start: the start needs kms:CreateGrant, as on AWS', WHY.stopStart(ALICE_KEY));
    const keyArn = aliceKey(c);
    app.iam.call(alice, 'CreateUser', { UserName: 'Bob' });
    app.iam.call(alice, 'PutUserPolicy', { UserName: 'Bob', PolicyName: 'ec2-only', PolicyDocument: doc({ Effect: 'Allow', Action: 'ec2:*', Resource: '*' }) });
    const bob = app.as('Bob');
    const { instanceId, volumeId } = launch(c, ALICE_KEY);
    const state = () => ec2.instance(instanceId);
    s.setup(`Bob, allowed ec2:* only; Alice's ${instanceId} with ${volumeId} under ${ALICE_KEY}`, s.newRecords());
    const grantId = ec2.volume(volumeId).grantId;
    ec2.stopInstances(alice, { InstanceIds: [instanceId] });
    const stop = s.newRecords();
    s.records(stop);
    const retire = stop.find((r) => r.eventName === 'RetireGrant');
    s.check('Alice\'s stop: EC2 retires the instance\'s grant, recorded as AWS records RetireGrant (requestParameters null, the grant ID in additionalEventData)',
      names(stop) === 'StopInstances,ListGrants,RetireGrant' && retire?.requestParameters === null && (retire.additionalEventData as { grantId?: string } | undefined)?.grantId === grantId &&
        state().state === 'stopped' && !kms.inventory().grants.some((g) => g.GrantId === grantId && g.State === 'live'));

    ec2.startInstances(bob, [instanceId]);
    const refused = s.newRecords();
    s.records(refused);
    s.check('Bob\'s start: StartInstances succeeds (pending), then EC2\'s CreateGrant for Bob is refused: his policy has no kms:CreateGrant',
      names(refused) === 'StartInstances,CreateGrant:AccessDeniedException');
    const reason = state().stateReason;
    s.check(`${instanceId} is back to stopped, with AWS's StateReason: ${reason?.message ?? 'none'}`,
      state().state === 'stopped' && reason?.code === 'Client.InternalError' && reason.message === 'Client.InternalError: Client error on launch');

    s.say('Alice gives Bob what AWS documents for it: kms:CreateGrant on the key, only for grants an AWS service makes (kms:GrantIsForAWSResource).');
    app.iam.call(alice, 'PutUserPolicy', {
      UserName: 'Bob', PolicyName: 'ebs-grants',
      PolicyDocument: doc({ Effect: 'Allow', Action: 'kms:CreateGrant', Resource: keyArn, Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } } }),
    });
    s.newRecords();
    await s.expectError('Bob\'s own CreateGrant (no AWS service making it)', 'AccessDeniedException', () =>
      kms.call(bob, 'CreateGrant', { KeyId: keyArn, GranteePrincipal: `arn:aws:iam::${bob.principal.accountId}:user/Bob`, Operations: ['Decrypt'] }));
    s.records(s.newRecords());
    ec2.startInstances(bob, [instanceId]);
    const started = s.newRecords();
    s.records(started);
    s.check(`Bob's start now: CreateGrant (EC2 for Bob), the host's Decrypt; ${instanceId} is running`,
      names(started) === 'StartInstances,CreateGrant,Decrypt' && state().state === 'running' && state().stateReason === null);

    ec2.rebootInstances(bob, [instanceId]);
    const reboot = s.newRecords();
    s.records(reboot);
    s.check('a reboot: RebootInstances alone, no KMS call (the host keeps the data key in memory)', names(reboot) === 'RebootInstances' && state().state === 'running');
  },
};
