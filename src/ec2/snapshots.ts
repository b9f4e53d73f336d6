// The snapshot operations: CreateSnapshot, CopySnapshot, DescribeSnapshots, DeleteSnapshot. A snapshot's image is
// made after the call is recorded (image-jobs.ts): `pending` with AWS's Progress, then `completed`
// or `error`. How a copy gets its data key is copies.ts's model.
import type { Outcome } from '../api/index.js';
import type { CallContext } from '../core/call-context.js';
import { isCommercialRegion } from '../core/regions.js';
import { ExclusiveLock, imageLockFile, lockHolder } from '../device/lock.js';
import { IncorrectState, InvalidParameterDependency, InvalidParameterValue, InvalidSnapshotInUse, InvalidSnapshotNotFound, InvalidVolumeNotFound } from '../errors/index.js';
import { deleteImage } from '../device/image-store.js';
import { copyUnderKey } from './copies.js';
import type { EbsParts } from './ebs-parts.js';
import type { WrappedDataKey } from './ebs-keys.js';
import { afterCommit, makeImage, removeOrphanImages, reserveImage, settleInterruptedCopies, writeImageCopy } from './image-jobs.js';
import { newSnapshotId } from './ids.js';
import { COPIED_SNAPSHOT_VOLUME_ID, snapshotShape, type Snapshot, type Volume } from './model.js';
import type { CopySnapshotRequest } from './operations/index.js';

/** EC2's words when a request names a KMS key without asking for encryption. */
export const KMS_KEY_NEEDS_ENCRYPTED = 'The parameter KmsKeyId requires the parameter Encrypted to be set.';

export class SnapshotOperations {
  constructor(private readonly p: EbsParts) {}

  /**
   * CreateSnapshot: the snapshot shares the volume's data key and its encryption context
   * (`aws:ebs:id` = the volume's ID, the KMS developer guide's "Amazon EBS encryption context"), so
   * no KMS call is made. Answered and recorded `pending`; then the volume's image is copied
   * (sparse: holes stay holes), its Progress on the row, and the snapshot is `completed` once the
   * copy is committed (image-jobs.ts).
   */
  create(ctx: CallContext, req: { VolumeId: string; Description?: string }): Outcome {
    const v = this.requireVolume(req.VolumeId);
    if (v.state !== 'available' && v.state !== 'in-use') throw new IncorrectState(`Volume '${v.volumeId}' is in the '${v.state}' state.`);
    // A copy taken while a device daemon or an in-process writer has the image open could hold
    // half-written sectors: take the image's writer lock for the copy (see src/device/lock.ts).
    const image = this.p.imagePath(v.volumeId);
    const sourceLock = ExclusiveLock.tryAcquire(imageLockFile(image));
    if (!sourceLock) {
      const pid = lockHolder(imageLockFile(image));
      throw new IncorrectState(`The volume '${v.volumeId}' is open for writing on its host${pid ? ` (pid ${pid})` : ''}; ebsim snapshots only a volume nothing is writing to: unmount it first (ebsim volume unmount ${v.volumeId}).`);
    }
    const snapshotId = newSnapshotId();
    let targetLock: ExclusiveLock | undefined;
    const snap: Snapshot = {
      snapshotId, volumeId: v.volumeId, volumeSize: v.sizeGiB, state: 'pending', encrypted: v.encrypted, kmsKeyArn: v.kmsKeyArn, encryptedDataKey: v.encryptedDataKey,
      description: req.Description ?? '', startTime: new Date(), progress: 0, stateMessage: null, contextId: v.volumeId, sourceId: v.volumeId,
    };
    try {
      targetLock = reserveImage(this.p.imagePath(snapshotId));
      this.p.store.insertSnapshot(snap);
    } catch (err) {
      targetLock?.release();
      sourceLock.release();
      throw err;
    }
    // AWS answers a new snapshot with an empty Progress (the AWS CLI's create-snapshot example).
    const response = { ...snapshotShape(snap, this.p.accountId), Progress: '' };
    return {
      response,
      requestParameters: { volumeId: v.volumeId, description: snap.description },
      responseElements: { snapshotId, volumeId: v.volumeId, status: 'pending', startTime: snap.startTime.getTime(), progress: '', ownerId: this.p.accountId, volumeSize: v.sizeGiB, encrypted: v.encrypted },
      continuation: () => {
        try {
          makeImage(this.p.store, ctx, snapshotId, 'snapshot', (onProgress) => writeImageCopy(image, this.p.imagePath(snapshotId), { onProgress }));
        } finally {
          targetLock!.release();
          sourceLock.release();
        }
        return response;
      },
    };
  }

  /**
   * CopySnapshot: the copy's data key is bound to its own ID (the KMS developer guide). Answered
   * and recorded `pending` with AWS's placeholder VolumeId; then, by copies.ts's model: under the
   * source's key, the same data key (ReEncrypt) and a sparse copy; under another key
   * (`KmsKeyId`, which needs `Encrypted`), or from an unencrypted source made encrypted
   * (`Encrypted`, or encryption by default, with the default key), a new data key and every
   * written sector re-encrypted. A KMS refusal leaves the copy in `error` with its StateMessage.
   *
   * Called in the destination Region with `SourceRegion` another ("Copy an Amazon EBS snapshot":
   * the request goes to the destination's endpoint): KMS keys are Regional, so an encrypted copy
   * is under a key of this Region (`KmsKeyId`, else this Region's default key for EBS) with a new
   * data key, the source's data key decrypted in the source's Region.
   */
  copy(ctx: CallContext, req: CopySnapshotRequest): Outcome {
    const sourceRegion = req.SourceRegion ?? this.p.region;
    if (!isCommercialRegion(sourceRegion)) throw new InvalidParameterValue(`Value (${sourceRegion}) for parameter sourceRegion is invalid. It is not a commercial AWS Region (ebsim models those).`);
    // AWS takes DestinationRegion only to presign a copy (the AWS CLI fills it with the Region it
    // sends to); the copy is always made where the request is sent.
    if (req.DestinationRegion !== undefined && req.DestinationRegion !== this.p.region)
      throw new InvalidParameterValue(`Value (${req.DestinationRegion}) for parameter destinationRegion is invalid. The copy is made in the Region the request is sent to (${this.p.region}): call it with --region ${req.DestinationRegion}.`);
    const crossRegion = sourceRegion !== this.p.region;
    const sourceParts = crossRegion ? this.p.inRegion(sourceRegion) : this.p;
    // The source Region's copies whose makers died are settled first, as every call there does
    // (a source committed before its maker died is `completed`, else `error`, never `pending`).
    if (crossRegion) settleInterruptedCopies(sourceParts);
    const sourceKeys = crossRegion ? sourceParts.keys : undefined;
    const { snapshot: src, shared } = (crossRegion ? new SnapshotOperations(sourceParts) : this).requireUsable(req.SourceSnapshotId);
    if (req.KmsKeyId !== undefined && req.Encrypted !== true) throw new InvalidParameterDependency(KMS_KEY_NEEDS_ENCRYPTED);
    if (src.state !== 'completed') throw new IncorrectState(`Snapshot '${src.snapshotId}' is in the '${src.state}' state; only a completed snapshot can be copied.`);
    // Copies of encrypted snapshots stay encrypted; Encrypted=false cannot undo encryption by default.
    const encrypted = src.encrypted || req.Encrypted === true || this.p.defaults.enabled();
    const snapshotId = newSnapshotId();
    const snap: Snapshot = {
      snapshotId, volumeId: COPIED_SNAPSHOT_VOLUME_ID, volumeSize: src.volumeSize, state: 'pending', encrypted, kmsKeyArn: null, encryptedDataKey: null,
      description: req.Description ?? `Copied from ${src.snapshotId}`, startTime: new Date(), progress: 0, stateMessage: null, contextId: snapshotId, sourceId: src.snapshotId,
    };
    const lock = reserveImage(this.p.imagePath(snapshotId));
    try {
      this.p.store.insertSnapshot(snap);
    } catch (err) {
      lock.release();
      throw err;
    }
    const response = { SnapshotId: snapshotId };
    const defaultKeyId = this.p.defaults.keyForNewVolume();
    return {
      response,
      responseElements: { snapshotId },
      continuation: () => {
        try {
          makeImage(this.p.store, ctx, snapshotId, 'snapshot', (onProgress) =>
            copyUnderKey(
              this.p.keys, ctx,
              { imagePath: this.p.imagePath(src.snapshotId), key: wrappedKeyOf(src), keys: sourceKeys },
              { id: snapshotId, imagePath: this.p.imagePath(snapshotId) },
              // Another account's key, or another Region's, is not this copy's to default to.
              encrypted ? { encrypted: true, keyId: targetKeyId(req.KmsKeyId, shared || crossRegion, defaultKeyId), defaultKeyId } : { encrypted: false },
              (k) => this.p.store.setSnapshotKey(snapshotId, k.keyArn, k.blob),
              onProgress,
            ),
          );
        } finally {
          lock.release();
        }
        return response;
      },
    };
  }

  /**
   * DeleteSnapshot: the row, then the image (a crash in between leaves an orphan file, never a
   * snapshot without its image; the next delete removes it: removeOrphanImages). No KMS call: a
   * snapshot holds no grant. A snapshot still being made, or one a copy or a new volume is being
   * made from, is refused.
   */
  delete(req: { SnapshotId: string }): Outcome {
    const s = this.require(req.SnapshotId);
    if (s.state === 'pending') throw new IncorrectState(`Snapshot '${s.snapshotId}' is in the 'pending' state; ebsim deletes a snapshot once it is completed (or error).`);
    // A copy or volume whose maker died (its image lock free) reads the snapshot no more: it is
    // settled as `error` by the next call in its own Region or account, which may not have come yet.
    const user = this.p.store.usersOfSnapshot(s.snapshotId).find((id) => isBeingMade(this.p.imagePath(id)));
    if (user) throw new InvalidSnapshotInUse(`The snapshot ${s.snapshotId} is currently in use by ${user}`);
    this.p.store.deleteSnapshot(s.snapshotId);
    afterCommit(`removing ${this.p.imagePath(s.snapshotId)}`, () => deleteImage(this.p.imagePath(s.snapshotId))); // committed: never fails the call
    removeOrphanImages(this.p);
    return { response: {}, responseElements: { _return: true } };
  }

  describe(ids: string[]): Outcome {
    const snaps = ids.length ? ids.map((id) => this.require(id)) : this.p.store.snapshots();
    return { response: { Snapshots: snaps.map((s) => snapshotShape(s, this.p.accountId)) } };
  }

  /**
   * A snapshot this account may copy or create a volume from: its own, or another account's whose
   * createVolumePermission names this account or "all" (snapshot-sharing.ts). Any other is not
   * found, as on AWS.
   */
  requireUsable(id: string): { snapshot: Snapshot; shared: boolean } {
    const own = this.p.store.snapshot(id);
    if (own) return { snapshot: own, shared: false };
    const shared = this.p.store.sharedSnapshot(id);
    if (shared) return { snapshot: shared, shared: true };
    throw new InvalidSnapshotNotFound(`The snapshot '${id}' does not exist.`);
  }

  require(id: string): Snapshot {
    const s = this.p.store.snapshot(id);
    if (!s) throw new InvalidSnapshotNotFound(`The snapshot '${id}' does not exist.`);
    return s;
  }

  private requireVolume(id: string): Volume {
    const v = this.p.store.volume(id);
    if (!v || v.state === 'deleted') throw new InvalidVolumeNotFound(`The volume '${id}' does not exist.`);
    return v;
  }
}

/**
 * The KMS key a copy or restore is made under: the request's; else, from another account's
 * shared snapshot or from another Region (`foreign`), this account's default key in this Region
 * (the owner's key is not this account's to default to, another Region's cannot be used here:
 * the data is re-encrypted under a key of this account and Region); else the source's own (undefined).
 */
export function targetKeyId(requested: string | undefined, foreign: boolean, defaultKeyId: string): string | undefined {
  return requested ?? (foreign ? defaultKeyId : undefined);
}

/** Whether a process is making the image (holds its writer lock, taken before its row exists: image-jobs.ts). */
function isBeingMade(imagePath: string): boolean {
  const lock = ExclusiveLock.tryAcquire(imageLockFile(imagePath));
  lock?.release();
  return lock === null;
}

/** A snapshot's data key as copies.ts takes it; null when it is not encrypted. */
export function wrappedKeyOf(s: Snapshot): WrappedDataKey | null {
  return s.encrypted && s.encryptedDataKey && s.kmsKeyArn ? { keyArn: s.kmsKeyArn, blob: s.encryptedDataKey, contextId: s.contextId } : null;
}
