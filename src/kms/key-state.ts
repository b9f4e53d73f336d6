// Key states, and the errors AWS answers when an operation's key is in a state it does not
// allow. Which operation allows which state is declared with the operation (its keyStates).
// PendingImport: a key with imported material (Origin EXTERNAL) that has none, or lacks some.
import { DisabledException, KMSInvalidStateException } from '../errors/index.js';

export type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion' | 'PendingReplicaDeletion' | 'PendingImport';

export const KEY_STATES: readonly KeyState[] = ['Enabled', 'Disabled', 'PendingDeletion', 'PendingReplicaDeletion', 'PendingImport'];

/** The key-state table's messages ("<key ARN> is pending import."). */
const IN_WORDS: Record<KeyState, string> = {
  Enabled: 'enabled', Disabled: 'disabled', PendingDeletion: 'pending deletion', PendingReplicaDeletion: 'pending replica deletion', PendingImport: 'pending import',
};

export function assertStateAllows(state: KeyState, allowed: readonly KeyState[], keyArn: string): void {
  if (allowed.includes(state)) return;
  // A multi-Region primary key scheduled for deletion while it has replicas: the key-state table
  // treats it as PendingDeletion (the operations that allow one allow the other).
  if (state === 'PendingReplicaDeletion' && allowed.includes('PendingDeletion')) return;
  if (state === 'PendingReplicaDeletion') throw new KMSInvalidStateException(`${keyArn} is pending replica deletion.`);
  if (state === 'Disabled') throw new DisabledException(`${keyArn} is disabled.`);
  throw new KMSInvalidStateException(`${keyArn} is ${IN_WORDS[state] ?? state}.`);
}
