// Lesson: sharing an encrypted snapshot with another account. The snapshot's createVolumePermission
// names the account, but its data key is under the owner's KMS key: the other account's copy
// needs a grant on that key, which only the owner's key policy can allow. Refused first (the copy
// is `error`, the refused CreateGrant in the trail), then allowed, the copy re-encrypted under a
// key of the other account's own.
import { initHome } from '../../app/ebsim.js';
import { asBuffer } from '../../ec2/ebs-keys.js';
import { ADMINISTRATOR_ACCESS } from '../../iam/aws-managed-policies.js';
import { decryptSectorWithOpenssl } from '../openssl-xts.js';
import { WHY } from '../why.js';
import type { Lesson } from './lesson.js';
import { aliceKey, launch, noteBytes, noteOnDisk, NOTE_SECTOR, writeNote, ALICE_KEY } from './setup.js';

/** The other account, as in the KMS developer guide's cross-account examples. */
const OTHER = '111122223333';

export const shareSnapshot: Lesson = {
  name: 'share-snapshot',
  summary: 'another account copies a shared encrypted snapshot only once the key policy lets it',
  async run(c) {
    const { app, s, alice } = c;
    await s.step('Sharing an encrypted snapshot with another account', WHY.share(OTHER));
    const keyArn = aliceKey(c);
    const { volumeId } = launch(c, ALICE_KEY);
    const note = noteBytes('share-snapshot');
    await writeNote(c, volumeId, note);
    const snapshotId = app.ec2().createSnapshot(alice, { VolumeId: volumeId }).SnapshotId as string;
    initHome(app.paths.dir, OTHER);
    const owner = app.as('Alice', undefined, OTHER);
    app.iam.call(owner, 'CreateUser', { UserName: 'Bea' });
    app.iam.call(owner, 'AttachUserPolicy', { UserName: 'Bea', PolicyArn: ADMINISTRATOR_ACCESS });
    const bea = app.as('Bea', undefined, OTHER);
    const beaKms = app.kms(OTHER);
    const beaKey = beaKms.call(bea, 'CreateKey', { Description: 'Bea\'s copies' }).KeyMetadata as { KeyId: string; Arn: string };
    beaKms.call(bea, 'CreateAlias', { AliasName: 'alias/bea', TargetKeyId: beaKey.KeyId });
    s.setup(`${snapshotId} of ${volumeId} under ${ALICE_KEY}; account ${OTHER} with Bea (an administrator there) and her own key alias/bea`, s.newRecords());

    app.ec2().call(alice, 'ModifySnapshotAttribute', { SnapshotId: snapshotId, CreateVolumePermission: { Add: [{ UserId: OTHER }] } });
    const shared = s.newRecords();
    s.records(shared);
    s.check(`Alice shares ${snapshotId} with ${OTHER} (createVolumePermission)`, shared.at(-1)?.eventName === 'ModifySnapshotAttribute' && !shared.some((r) => r.errorCode));

    const beaEc2 = app.ec2(OTHER);
    const first = beaEc2.copySnapshot(bea, { SourceSnapshotId: snapshotId, Encrypted: true, KmsKeyId: beaKey.Arn }).SnapshotId as string;
    const refused = s.newRecords();
    s.records(refused);
    const denied = refused.find((r) => r.errorCode);
    s.check(`Bea's copy ends in error: EC2's CreateGrant for her on Alice's key is refused (its policy names only ${alice.principal.accountId})`,
      beaEc2.snapshot(first).state === 'error' && denied?.eventName === 'CreateGrant' && denied.errorCode === 'AccessDeniedException' && denied.resources?.[0]?.ARN === keyArn);

    s.say(`Alice adds to her key's policy what the EBS user guide asks for: account ${OTHER} may use the key and create grants on it.`);
    app.kms().call(alice, 'PutKeyPolicy', { KeyId: keyArn, PolicyName: 'default', Policy: sharingPolicy(alice.principal.accountId) });
    s.newRecords();
    const copyId = beaEc2.copySnapshot(bea, { SourceSnapshotId: snapshotId, Encrypted: true, KmsKeyId: beaKey.Arn }).SnapshotId as string;
    const copied = s.newRecords();
    s.records(copied);
    const copy = beaEc2.snapshot(copyId);
    s.check(`now the copy is completed, under Bea's key, its data key new (the grant on Alice's key retired when done)`,
      copy.state === 'completed' && copy.kmsKeyArn === beaKey.Arn && copied.filter((r) => r.eventName === 'RetireGrant' && !r.errorCode).length === 2);
    const key = asBuffer(beaKms.call(bea, 'Decrypt', { CiphertextBlob: copy.encryptedDataKey!, EncryptionContext: { 'aws:ebs:id': copyId } }).Plaintext as Uint8Array);
    s.newRecords();
    try {
      const onDisk = noteOnDisk(c, copyId);
      s.check(`Bea's data key (she may open it) decrypts her copy's sector ${NOTE_SECTOR} to what Alice wrote; on disk it differs from Alice's`,
        decryptSectorWithOpenssl(key, NOTE_SECTOR, onDisk).equals(note) && !onDisk.equals(noteOnDisk(c, snapshotId)));
    } finally {
      key.fill(0);
    }
  },
};

/** The default key policy, and the statement that lets the other account use the key through EC2's grants. */
function sharingPolicy(owner: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${owner}:root` }, Action: 'kms:*', Resource: '*' },
      {
        Sid: 'Allow the other account to copy shared snapshots', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${OTHER}:root` },
        Action: ['kms:Decrypt', 'kms:DescribeKey', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:CreateGrant'], Resource: '*',
      },
    ],
  });
}
