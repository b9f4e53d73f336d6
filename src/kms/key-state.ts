// Key states, and the errors AWS answers when an operation's key is in a state it does not
// allow. Which operation allows which state is declared with the operation (its keyStates).
import { DisabledException, KMSInvalidStateException } from '../errors/index.js';

export type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion' | 'PendingReplicaDeletion';

export const KEY_STATES: readonly KeyState[] = ['Enabled', 'Disabled', 'PendingDeletion', 'PendingReplicaDeletion'];

export function assertStateAllows(state: KeyState, allowed: readonly KeyState[], keyArn: string): void {
  if (allowed.includes(state)) return;
  // A multi-Region primary key scheduled for deletion while it has replicas: the key-state table
  // treats it as PendingDeletion (the operations that allow one allow the other).
  if (state === 'PendingReplicaDeletion' && allowed.includes('PendingDeletion')) return;
  if (state === 'PendingReplicaDeletion') throw new KMSInvalidStateException(`${keyArn} is pending replica deletion.`);
  if (state === 'Disabled') throw new DisabledException(`${keyArn} is disabled.`);
  if (state === 'PendingDeletion') throw new KMSInvalidStateException(`${keyArn} is pending deletion.`);
  throw new KMSInvalidStateException(`${keyArn} is ${state}.`);
}
