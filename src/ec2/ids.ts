// EC2 resource IDs as AWS forms them today: a prefix and 17 hex digits.
import { createHash, randomBytes } from 'node:crypto';

const hex17 = () => randomBytes(9).toString('hex').slice(0, 17);
export const newInstanceId = () => `i-${hex17()}`;
export const newVolumeId = () => `vol-${hex17()}`;
export const newReservationId = () => `r-${hex17()}`;
export const newSnapshotId = () => `snap-${hex17()}`;

/** The instance host's private address: the sourceIPAddress of its Decrypt calls (the seed's 172.x). */
export function hostAddressOf(instanceId: string): string {
  const h = createHash('sha256').update(instanceId).digest();
  return `172.31.${h[0]}.${(h[1]! % 254) + 1}`;
}
