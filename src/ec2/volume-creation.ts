// A new volume (CreateVolume, a launch's block device mapping): checked and stored `creating`,
// then given its data key and image (copies.ts's model for one from a snapshot).
import type { CallContext } from '../core/call-context.js';
import { AwsError, IncorrectState, InvalidParameterDependency, InvalidParameterValue } from '../errors/index.js';
import { copyUnderKey } from './copies.js';
import type { EbsParts } from './ebs-parts.js';
import type { WrappedDataKey } from './ebs-keys.js';
import { makeImage, requireRoomForImage, reserveImage, writeEmptyImage } from './image-jobs.js';
import { newVolumeId } from './ids.js';
import type { Volume } from './model.js';
import type { CreateVolumeRequest } from './operations/index.js';
import { KMS_KEY_NEEDS_ENCRYPTED, targetKeyId, wrappedKeyOf, type SnapshotOperations } from './snapshots.js';

const GIB = 1024 ** 3;

/** A volume stored `creating`; `make` gives it its data key and image and returns KMS's refusal, if any. */
export interface NewVolume {
  volume: Volume;
  make(): AwsError | undefined;
}

/**
 * A new volume, checked and stored `creating` with its image's writer lock held (image-jobs.ts);
 * `make` gives it its data key and image (copies.ts for one from a snapshot), releases the lock
 * and returns KMS's refusal, if any, the volume then being `error`.
 */
export function acceptVolume(p: EbsParts, snapshots: SnapshotOperations, ctx: CallContext, req: CreateVolumeRequest, deleteOnTermination: boolean): NewVolume {
  if (req.KmsKeyId !== undefined && req.Encrypted !== true) throw new InvalidParameterDependency(KMS_KEY_NEEDS_ENCRYPTED);
  const usable = req.SnapshotId ? snapshots.requireUsable(req.SnapshotId) : undefined;
  const snap = usable?.snapshot;
  if (snap && snap.state !== 'completed') throw new IncorrectState(`Snapshot '${snap.snapshotId}' is in the '${snap.state}' state; a volume is created only from a completed snapshot.`);
  const size = req.Size ?? snap?.volumeSize;
  if (size === undefined || !Number.isInteger(size) || size < 1 || size > 16384) throw new InvalidParameterValue(`Volume size must be an integer between 1 and 16384 GiB; got ${size}`);
  if (snap && size < snap.volumeSize) throw new InvalidParameterValue(`Volume of ${size}GiB is too small; minimum is ${snap.volumeSize}GiB`);
  // Encryption by default encrypts every new volume: Encrypted=false cannot opt out ("you cannot
  // disable it for individual volumes", the EBS user guide), it is taken as not set. A volume
  // from an encrypted snapshot is always encrypted.
  const encrypted = Boolean(req.Encrypted || snap?.encrypted || p.defaults.enabled());
  // A volume lives in an Availability Zone of the Region called (ebsim's zones: the Region's name and a letter).
  const zone = req.AvailabilityZone ?? `${p.region}a`;
  if (!isZoneOf(p.region, zone)) throw new InvalidParameterValue(`Value (${zone}) for parameter availabilityZone is invalid. It is not an Availability Zone of ${p.region}, the Region called.`);
  const volumeId = newVolumeId();
  const volume: Volume = {
    volumeId, sizeGiB: size, volumeType: req.VolumeType ?? 'gp2', availabilityZone: zone, state: 'creating',
    encrypted, kmsKeyArn: null, encryptedDataKey: null, snapshotId: snap?.snapshotId ?? null, sectorSize: 4096, createdAt: new Date(),
    instanceId: null, device: null, attachTime: null, deleteOnTermination, grantId: null, stateMessage: null,
  };
  const image = p.imagePath(volumeId);
  requireRoomForImage(image, size * GIB);
  const lock = reserveImage(image);
  try {
    p.store.insertVolume(volume);
  } catch (err) {
    lock.release();
    throw err;
  }
  const setKey = (k: WrappedDataKey) => p.store.updateVolume(volumeId, { kms_key_arn: k.keyArn, encrypted_data_key: k.blob });
  // Without a KmsKeyId, the account's default key for EBS encryption in this Region.
  const defaultKeyId = p.defaults.keyForNewVolume();
  const make = () => {
    try {
      return makeImage(p.store, ctx, volumeId, 'volume', (onProgress) => {
        if (snap) {
          copyUnderKey(
            p.keys, ctx,
            { imagePath: p.imagePath(snap.snapshotId), key: wrappedKeyOf(snap) },
            { id: volumeId, imagePath: image, sizeBytes: size * GIB },
            encrypted ? { encrypted: true, keyId: targetKeyId(req.KmsKeyId, usable!.shared, defaultKeyId), defaultKeyId } : { encrypted: false },
            setKey,
            onProgress,
          );
          return;
        }
        // The seed's first KMS call: EC2, for the caller, asks for a 64-byte data key bound to the volume.
        if (encrypted) setKey(p.keys.generate(ctx, req.KmsKeyId ?? defaultKeyId, volumeId));
        writeEmptyImage(image, size * GIB);
      });
    } finally {
      lock.release();
    }
  };
  return { volume, make };
}


/** Whether `zone` names an Availability Zone of `region` (its name and one letter, as us-east-1a). */
export function isZoneOf(region: string, zone: string): boolean {
  return zone.length === region.length + 1 && zone.startsWith(region) && /[a-z]$/.test(zone);
}
