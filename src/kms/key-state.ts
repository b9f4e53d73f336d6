// Which operations a key state allows: the KMS developer guide's key-state table, in one place.
import { DisabledException, KMSInvalidStateException } from '../errors/index.js';

export type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';

/** Operations allowed on a Disabled key (everything else fails with DisabledException). */
const ALLOWED_WHEN_DISABLED = new Set([
  'DescribeKey', 'EnableKey', 'DisableKey', 'ScheduleKeyDeletion', 'CreateAlias', 'UpdateAlias', 'DeleteAlias',
  'ListAliases', 'CreateGrant', 'ListGrants', 'RetireGrant', 'RevokeGrant', 'GetKeyRotationStatus', 'ListRetirableGrants', 'CancelKeyDeletion',
]);

/** Operations allowed while PendingDeletion (everything else fails with KMSInvalidStateException). */
const ALLOWED_WHEN_PENDING_DELETION = new Set([
  'DescribeKey', 'CancelKeyDeletion', 'DeleteAlias', 'ListAliases', 'ListGrants', 'RetireGrant', 'RevokeGrant', 'ListRetirableGrants',
]);

export function assertStateAllows(state: KeyState, operation: string, keyArn: string): void {
  if (state === 'Disabled' && !ALLOWED_WHEN_DISABLED.has(operation)) throw new DisabledException(`${keyArn} is disabled.`);
  if (state === 'PendingDeletion' && !ALLOWED_WHEN_PENDING_DELETION.has(operation)) {
    throw new KMSInvalidStateException(`${keyArn} is pending deletion.`);
  }
}
