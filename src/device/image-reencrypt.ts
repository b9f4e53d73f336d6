// A backing image copied under another data key: every written sector is decrypted with the
// source's key and encrypted with the target's, the sector number staying the XTS tweak (the
// sector cipher of src/xts, as the block device uses it), and holes stay holes. A null key on
// either side is plaintext: encrypting an unencrypted image, or (never asked by EC2) the reverse.
//
// A written sector is a non-zero one: ciphertext is all zeros with probability 2^-32768, and a
// plaintext sector of zeros reads back as zeros from a hole, so leaving it a hole changes nothing
// a reader can see (sector-store.ts).
import { createSectorCipher } from '../xts/index.js';
import { transformImage, type CopyProgress, type CopyResult } from './image-store.js';
import { SECTOR_SIZE } from './sector-store.js';

export interface ReencryptOptions {
  /** The source's 64-byte XTS data key; null: the source holds plaintext. */
  fromKey: Uint8Array | null;
  /** The target's 64-byte XTS data key; null: write plaintext. */
  toKey: Uint8Array | null;
  /** The target's size (default: the source's); never smaller. */
  sizeBytes?: number;
  onProgress?: CopyProgress;
}

/**
 * Writes `to` (which must not exist) as `from` re-encrypted, and syncs it. The caller owns the
 * keys (and zeroes them after); the ciphers made from them here are dropped on return.
 */
export function reencryptImage(from: string, to: string, opts: ReencryptOptions): CopyResult {
  const decipher = opts.fromKey ? createSectorCipher(opts.fromKey, { sectorSize: SECTOR_SIZE }) : null;
  const cipher = opts.toKey ? createSectorCipher(opts.toKey, { sectorSize: SECTOR_SIZE }) : null;
  return transformImage(from, to, {
    sizeBytes: opts.sizeBytes,
    onProgress: opts.onProgress,
    transform: (run, sector) => {
      decipher?.decrypt(run, sector);
      cipher?.encrypt(run, sector);
    },
  });
}
