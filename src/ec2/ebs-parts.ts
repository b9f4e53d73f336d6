// What the EBS modules (snapshots.ts, volume-creation.ts) share of the control plane.
import type { EbsDataKeys } from './ebs-keys.js';
import type { EbsEncryptionDefaults } from './encryption-defaults.js';
import type { Ec2Store } from './store.js';

export interface EbsParts {
  readonly store: Ec2Store;
  readonly keys: EbsDataKeys;
  readonly defaults: EbsEncryptionDefaults;
  readonly accountId: string;
  readonly region: string;
  /** A volume's or snapshot's backing image (one directory for every Region: IDs are unique in the home). */
  imagePath(volumeOrSnapshotId: string): string;
  /** The same account's parts in another Region (a cross-Region copy's source). */
  inRegion(region: string): EbsParts;
}
