// Lesson: a volume restored from a snapshot under another KMS key gets a new data key, and every
// written sector is decrypted with the old one and encrypted with the new one, by EC2's
// infrastructure through grants it retires when done: the trail shows each KMS call, OpenSSL
// shows the sectors changed and still hold the same plaintext.
import { decryptSectorWithOpenssl } from '../openssl-xts.js';
import { asBuffer } from '../../ec2/ebs-keys.js';
import { callerOf } from '../format.js';
import { WHY } from '../why.js';
import type { Lesson } from './lesson.js';
import { aliceKey, launch, noteBytes, noteOnDisk, NOTE_SECTOR, writeNote, ALICE_KEY } from './setup.js';

const RESTORE_KEY = 'alias/restore';

export const restoreReencrypts: Lesson = {
  name: 'restore-reencrypts',
  summary: 'restoring a snapshot under another key re-encrypts every sector',
  async run(c) {
    const { app, s, alice } = c;
    const ec2 = app.ec2();
    const kms = app.kms();
    await s.step('Restoring under another key re-encrypts the data', WHY.reencrypt(RESTORE_KEY));
    aliceKey(c);
    const target = kms.call(alice, 'CreateKey', { Description: 'walkthrough restores' }).KeyMetadata as { KeyId: string; Arn: string };
    kms.call(alice, 'CreateAlias', { AliasName: RESTORE_KEY, TargetKeyId: target.KeyId });
    const { volumeId } = launch(c, ALICE_KEY);
    const note = noteBytes('restore-reencrypts');
    await writeNote(c, volumeId, note);
    const snapshotId = ec2.createSnapshot(alice, { VolumeId: volumeId }).SnapshotId as string;
    s.setup(`${volumeId} under ${ALICE_KEY}, sector ${NOTE_SECTOR} written, snapshot ${snapshotId}; a second key ${RESTORE_KEY}`, s.newRecords());
    const restored = ec2.createVolume(alice, { SnapshotId: snapshotId, Encrypted: true, KmsKeyId: RESTORE_KEY }).VolumeId as string;
    const recs = s.newRecords();
    s.records(recs);
    const kmsCalls = recs.slice(1);
    const worker = `EC2 ${restored}`;
    s.check('CreateVolume first (answered creating), then the KMS calls it causes, in that order',
      recs[0]?.eventName === 'CreateVolume' && (recs[0].responseElements as { status?: string }).status === 'creating' &&
        kmsCalls.every((r) => r.eventSource === 'kms.amazonaws.com' && !r.errorCode));
    const generated = kmsCalls.find((r) => r.eventName === 'GenerateDataKeyWithoutPlaintext');
    s.check(`a new data key: GenerateDataKeyWithoutPlaintext under ${RESTORE_KEY}, bound to the new volume's ID`,
      generated?.resources?.[0]?.ARN === target.Arn && (generated.requestParameters as { encryptionContext?: Record<string, string> }).encryptionContext?.['aws:ebs:id'] === restored);
    const grants = kmsCalls.filter((r) => r.eventName === 'CreateGrant').map((r) => (r.responseElements as { grantId: string }).grantId);
    const retired = kmsCalls.filter((r) => r.eventName === 'RetireGrant').map((r) => (r.additionalEventData as { grantId?: string } | undefined)?.grantId);
    const decrypts = kmsCalls.filter((r) => r.eventName === 'Decrypt');
    s.check('both data keys opened by EC2\'s infrastructure ("EC2 vol-…": its role\'s session named after the new volume) through a grant on each key, each grant retired when the copy was done',
      grants.length === 2 && decrypts.length === 2 && decrypts.every((r) => callerOf(r) === worker) &&
        JSON.stringify([...retired].sort()) === JSON.stringify([...grants].sort()) &&
        !kms.inventory().grants.some((g) => grants.includes(g.GrantId) && g.State === 'live'));

    // An authorised principal (Alice may use both keys) fetches both data keys to check the disk.
    const old = asBuffer(kms.call(alice, 'Decrypt', { CiphertextBlob: ec2.snapshot(snapshotId).encryptedDataKey!, EncryptionContext: { 'aws:ebs:id': volumeId } }).Plaintext as Uint8Array);
    const fresh = asBuffer(kms.call(alice, 'Decrypt', { CiphertextBlob: ec2.volume(restored).encryptedDataKey!, EncryptionContext: { 'aws:ebs:id': restored } }).Plaintext as Uint8Array);
    s.newRecords();
    try {
      const before = noteOnDisk(c, snapshotId);
      const after = noteOnDisk(c, restored);
      s.say(`Alice fetches both data keys (two Decrypts) to read sector ${NOTE_SECTOR} of both images with OpenSSL:`);
      s.check('the new data key is not the old one, and the new volume\'s blob names the new key', !old.equals(fresh) && ec2.volume(restored).kmsKeyArn === target.Arn);
      s.check(`sector ${NOTE_SECTOR} on disk differs from the snapshot's`, !after.equals(before));
      s.check('OpenSSL decrypts it with the new data key to what was written, and with the old one to noise',
        decryptSectorWithOpenssl(fresh, NOTE_SECTOR, after).equals(note) && !decryptSectorWithOpenssl(old, NOTE_SECTOR, after).equals(note));
    } finally {
      old.fill(0);
      fresh.fill(0);
    }
  },
};
