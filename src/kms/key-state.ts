// Key states, and the errors AWS answers when an operation's key is in a state it does not
// allow. Which operation allows which state is declared with the operation (its keyStates).
import { DisabledException, KMSInvalidStateException } from '../errors/index.js';

export type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';

export const KEY_STATES: readonly KeyState[] = ['Enabled', 'Disabled', 'PendingDeletion'];

export function assertStateAllows(state: KeyState, allowed: readonly KeyState[], keyArn: string): void {
  if (allowed.includes(state)) return;
  if (state === 'Disabled') throw new DisabledException(`${keyArn} is disabled.`);
  if (state === 'PendingDeletion') throw new KMSInvalidStateException(`${keyArn} is pending deletion.`);
  throw new KMSInvalidStateException(`${keyArn} is ${state}.`);
}
