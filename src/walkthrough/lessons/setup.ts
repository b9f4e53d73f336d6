// What the lessons share: Alice's own key (alias/alice, whose default key policy lets her use it,
// so she can open a data key herself), an instance with an encrypted /dev/sdb under it, and a
// sector of known bytes written through the host.
import { readImageSector } from '../proofs.js';
import { XTS_SECTOR_BYTES } from '../openssl-xts.js';
import type { LessonContext } from './lesson.js';

export const ALICE_KEY = 'alias/alice';

/** The sector the lessons write and read back (any sector of a 1 GiB volume would do). */
export const NOTE_SECTOR = 1000;

/** One sector of text naming the lesson, so a decrypted sector is recognisably the one written. */
export function noteBytes(lesson: string): Buffer {
  return Buffer.from(`written by the walkthrough's ${lesson} lesson, before the snapshot\n`.repeat(80).slice(0, XTS_SECTOR_BYTES - 1) + '\n');
}

/** alias/alice's key ARN, creating the key and the alias on first use. */
export function aliceKey(c: LessonContext): string {
  const kms = c.app.kms();
  const known = kms.inventory().aliases.find((a) => a.AliasName === ALICE_KEY);
  if (known) return kms.inventory().keys.find((k) => k.KeyId === known.TargetKeyId)!.Arn;
  const meta = kms.call(c.alice, 'CreateKey', { Description: 'walkthrough lessons' }).KeyMetadata as { KeyId: string; Arn: string };
  kms.call(c.alice, 'CreateAlias', { AliasName: ALICE_KEY, TargetKeyId: meta.KeyId });
  return meta.Arn;
}

/** Alice launches an instance whose 1 GiB /dev/sdb is encrypted under `keyId`. */
export function launch(c: LessonContext, keyId: string): { instanceId: string; volumeId: string } {
  const r = c.app.ec2().runInstances(c.alice, {
    ImageId: 'ami-0123abcd', InstanceType: 't3.micro',
    BlockDeviceMappings: [{ DeviceName: '/dev/sdb', Ebs: { VolumeSize: 1, Encrypted: true, KmsKeyId: keyId, DeleteOnTermination: true } }],
  });
  const inst = (r.Instances as { InstanceId: string; BlockDeviceMappings: { DeviceName: string; Ebs: { VolumeId: string } }[] }[])[0]!;
  return { instanceId: inst.InstanceId, volumeId: inst.BlockDeviceMappings.find((m) => m.DeviceName === '/dev/sdb')!.Ebs.VolumeId };
}

/** Writes `note` at NOTE_SECTOR through the host (in this process: the host decrypts the data key as the instance's role). */
export async function writeNote(c: LessonContext, volumeId: string, note: Buffer): Promise<void> {
  await c.app.host().write(c.alice, volumeId, NOTE_SECTOR * XTS_SECTOR_BYTES, note);
}

/** The note's sector as it is on disk in a volume's or snapshot's image. */
export function noteOnDisk(c: LessonContext, id: string): Buffer {
  return readImageSector(c.app.ec2().imagePath(id), NOTE_SECTOR);
}
