// How a snapshot's copy (CopySnapshot) or a volume restored from a snapshot (CreateVolume) gets
// its data key and its image, ebsim's model of "How EBS encryption works" and "Copy an Amazon EBS
// snapshot" (docs/known-differences.md, EC2/EBS):
// - not encrypted (an unencrypted source, nothing asks for encryption): a sparse copy, no KMS call;
// - encrypted under the source's own KMS key: the source's data key bound to the new ID
//   (ReEncrypt), and a sparse copy of the image: the same data key encrypts the same sectors;
// - under another KMS key, or an unencrypted source made encrypted: a new data key
//   (GenerateDataKeyWithoutPlaintext under the target key), grants to EC2's infrastructure for
//   the keys it needs, their Decrypt, and a full copy whose every written sector is decrypted
//   with the source's data key and encrypted with the new one (the sector number stays the tweak);
// - from another Region (CopySnapshot's SourceRegion): KMS keys are Regional, so always the last
//   case: the new data key under a key of the target's Region, the source's data key decrypted in
//   the source's Region through a grant made there.
import type { CallContext } from '../core/call-context.js';
import type { CopyProgress } from '../device/image-store.js';
import type { EbsDataKeys, WrappedDataKey } from './ebs-keys.js';
import { writeImageCopy } from './image-jobs.js';

export interface CopySource {
  imagePath: string;
  /** null: unencrypted. */
  key: WrappedDataKey | null;
  /** The EBS keys of the source's Region, when it is not the target's (a cross-Region copy). */
  keys?: EbsDataKeys;
}

export interface CopyTarget {
  id: string;
  imagePath: string;
  /** The target's size (default: the source's); never smaller. */
  sizeBytes?: number;
}

/** What the request asks of the target's encryption, already resolved against encryption by default. */
export type TargetEncryption =
  | { encrypted: false }
  | {
      encrypted: true;
      /** The KmsKeyId of the request; undefined: the source's key, or `defaultKeyId` for an unencrypted source. */
      keyId?: string;
      defaultKeyId: string;
    };

export type CopyKind = 'plain' | 'same-key' | 'reencrypt';

/**
 * Makes the target's data key (told to `onKey` as soon as EC2 has it, to be stored before the
 * image is written) and its image. KMS refusals are thrown as they come, after what they undo.
 */
export function copyUnderKey(
  keys: EbsDataKeys,
  ctx: CallContext,
  source: CopySource,
  target: CopyTarget,
  want: TargetEncryption,
  onKey: (k: WrappedDataKey) => void,
  onProgress: CopyProgress,
): CopyKind {
  const image = { sizeBytes: target.sizeBytes, onProgress };
  if (!want.encrypted) {
    if (source.key) throw new TypeError('an encrypted source cannot be copied unencrypted');
    writeImageCopy(source.imagePath, target.imagePath, image);
    return 'plain';
  }
  const sourceKeys = source.keys ?? keys;
  if (source.key && sourceKeys.region === keys.region && isSameKey(keys, ctx, source.key, want.keyId)) {
    onKey(keys.rebind(ctx, source.key, target.id));
    writeImageCopy(source.imagePath, target.imagePath, image);
    return 'same-key';
  }
  const made = keys.generate(ctx, want.keyId ?? want.defaultKeyId, target.id);
  onKey(made);
  const lent = keys.unwrapForCopy(ctx, target.id, source.key ? [{ key: source.key, in: sourceKeys }, { key: made, in: keys }] : [{ key: made, in: keys }]);
  try {
    const from = source.key ? lent.plaintexts[0]! : null;
    const to = lent.plaintexts[source.key ? 1 : 0]!;
    writeImageCopy(source.imagePath, target.imagePath, { ...image, keys: { from, to } });
  } finally {
    lent.release();
  }
  return 'reencrypt';
}

/** Whether `keyId` (absent: the source's key) names the source's KMS key; asks KMS (DescribeKey) unless it is the source key's ARN. */
function isSameKey(keys: EbsDataKeys, ctx: CallContext, source: WrappedDataKey, keyId: string | undefined): boolean {
  if (keyId === undefined || keyId === source.keyArn) return true;
  return keys.keyArn(ctx, keyId) === source.keyArn;
}
