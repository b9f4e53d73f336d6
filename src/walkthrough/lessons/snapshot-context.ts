// Lesson: a snapshot keeps the volume's data key and its encryption context (aws:ebs:id = the
// volume's ID): CreateSnapshot makes no KMS call, the snapshot's image holds the volume's
// ciphertext byte for byte, and its data key opens only with the volume's ID. A copy is bound to
// its own ID (ReEncrypt) and carries AWS's placeholder VolumeId.
import { decryptSectorWithOpenssl } from '../openssl-xts.js';
import { asBuffer } from '../../ec2/ebs-keys.js';
import { COPIED_SNAPSHOT_VOLUME_ID } from '../../ec2/model.js';
import { WHY } from '../why.js';
import type { Lesson } from './lesson.js';
import { aliceKey, launch, noteBytes, noteOnDisk, NOTE_SECTOR, writeNote, ALICE_KEY } from './setup.js';

const names = (rs: { eventName: string }[]) => rs.map((r) => r.eventName).join(',');

export const snapshotContext: Lesson = {
  name: 'snapshot-context',
  summary: 'a snapshot keeps the volume\'s data key and context; a copy gets its own',
  async run(c) {
    const { app, s, alice } = c;
    const ec2 = app.ec2();
    const kms = app.kms();
    await s.step('A snapshot keeps the volume\'s data key and its context', WHY.snapshotContext());
    const keyArn = aliceKey(c);
    const { instanceId, volumeId } = launch(c, ALICE_KEY);
    const note = noteBytes('snapshot-context');
    await writeNote(c, volumeId, note);
    s.setup(`Alice's ${instanceId} with ${volumeId} under ${ALICE_KEY}; sector ${NOTE_SECTOR} written`, s.newRecords());
    const snapshotId = ec2.createSnapshot(alice, { VolumeId: volumeId, Description: 'walkthrough' }).SnapshotId as string;
    const made = s.newRecords();
    s.records(made);
    s.check('CreateSnapshot alone: no new data key, no grant, no KMS call at all', names(made) === 'CreateSnapshot');
    const snap = ec2.snapshot(snapshotId);
    const vol = ec2.volume(volumeId);
    s.check(`${snapshotId} is completed, under the volume's KMS key, its encrypted data key the volume's byte for byte`,
      snap.state === 'completed' && snap.progress === 100 && snap.kmsKeyArn === keyArn && snap.encryptedDataKey !== null && snap.encryptedDataKey.equals(vol.encryptedDataKey!));
    const onDisk = noteOnDisk(c, snapshotId);
    s.check(`the snapshot's image holds the volume's ciphertext of sector ${NOTE_SECTOR} (same key, same tweak), not its plaintext`,
      onDisk.equals(noteOnDisk(c, volumeId)) && !onDisk.equals(note));

    s.say(`Alice may use ${ALICE_KEY} herself: she opens the snapshot's data key, with the snapshot's ID as context, then with the volume's:`);
    await s.expectError(`Decrypt with {"aws:ebs:id": "${snapshotId}"}`, 'InvalidCiphertextException', () =>
      kms.call(alice, 'Decrypt', { CiphertextBlob: snap.encryptedDataKey!, EncryptionContext: { 'aws:ebs:id': snapshotId } }));
    const key = asBuffer(kms.call(alice, 'Decrypt', { CiphertextBlob: snap.encryptedDataKey!, EncryptionContext: { 'aws:ebs:id': volumeId } }).Plaintext as Uint8Array);
    try {
      s.check(`with {"aws:ebs:id": "${volumeId}"} it opens, and OpenSSL decrypts the snapshot's sector ${NOTE_SECTOR} with it to what was written`,
        decryptSectorWithOpenssl(key, NOTE_SECTOR, onDisk).equals(note));
    } finally {
      key.fill(0);
    }
    s.records(s.newRecords(), false);

    s.say('A copy of the snapshot, under the same key: EC2 binds the same data key to the copy\'s own ID.');
    const copyId = ec2.copySnapshot(alice, { SourceSnapshotId: snapshotId }).SnapshotId as string;
    const copied = s.newRecords();
    s.records(copied);
    const re = copied[1]?.requestParameters as { sourceEncryptionContext?: Record<string, string>; destinationEncryptionContext?: Record<string, string> } | undefined;
    s.check(`CopySnapshot, then ReEncrypt (EC2 for Alice) from {"aws:ebs:id": "${volumeId}"} to {"aws:ebs:id": "${copyId}"}`,
      names(copied) === 'CopySnapshot,ReEncrypt' && re?.sourceEncryptionContext?.['aws:ebs:id'] === volumeId && re.destinationEncryptionContext?.['aws:ebs:id'] === copyId);
    const copy = ((ec2.describeSnapshots(alice, [copyId]).Snapshots as Record<string, unknown>[])[0] ?? {});
    s.newRecords(); // DescribeSnapshots: a read, not part of the lesson
    s.check(`the copy names AWS's placeholder VolumeId ${COPIED_SNAPSHOT_VOLUME_ID}, and shares the image's ciphertext`,
      copy.VolumeId === COPIED_SNAPSHOT_VOLUME_ID && copy.State === 'completed' && noteOnDisk(c, copyId).equals(onDisk));
  },
};
