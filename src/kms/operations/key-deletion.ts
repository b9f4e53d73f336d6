// ScheduleKeyDeletion and CancelKeyDeletion. The deletion itself is the service's own work
// when the waiting period ends (kms/due-work.ts), recorded as a DeleteKey service event.
import { KMSInvalidStateException } from '../../errors/index.js';
import { kmsOperation } from '../operation.js';
import { customerManagedKey } from './managed-key.js';
import { KEY_ID_OR_ARN } from './members.js';

export const ScheduleKeyDeletion = kmsOperation({
  name: 'ScheduleKeyDeletion',
  description: 'Delete a key after 7-30 days (state PendingDeletion)',
  readOnly: false,
  ext: { keyStates: ['Enabled', 'Disabled', 'PendingImport'], grantable: false },
  // The model allows 1-365; the service accepts 7-30, in the model's wording.
  input: { KeyId: KEY_ID_OR_ARN, PendingWindowInDays: { kind: 'integer', min: 7, max: 30, doc: 'waiting period in days (default 30)' } },
  run(ctx, input, call) {
    const days = input.PendingWindowInDays ?? 30;
    const key = customerManagedKey(ctx, call, input.KeyId, { pendingWindowInDays: input.PendingWindowInDays });
    const deletionDate = new Date(Date.now() + days * 86400_000);
    const state = call.env.keys.scheduleDeletion(key.keyId, deletionDate, days);
    // A multi-Region primary key with replicas has no deletion date until its last replica is deleted.
    if (state === 'PendingReplicaDeletion') {
      return {
        response: { KeyId: key.arn, KeyState: state, PendingWindowInDays: days },
        responseElements: { keyId: key.arn, keyState: state, pendingWindowInDays: days },
      };
    }
    return {
      response: { KeyId: key.arn, DeletionDate: deletionDate, KeyState: state, PendingWindowInDays: days },
      responseElements: { keyId: key.arn, deletionDate: deletionDate.toISOString(), keyState: state, pendingWindowInDays: days },
    };
  },
});

export const CancelKeyDeletion = kmsOperation({
  name: 'CancelKeyDeletion',
  description: 'Cancel a scheduled deletion (the key stays Disabled)',
  readOnly: false,
  ext: { keyStates: ['Enabled', 'Disabled', 'PendingDeletion', 'PendingImport'], grantable: false },
  input: { KeyId: KEY_ID_OR_ARN },
  run(ctx, input, call) {
    const key = customerManagedKey(ctx, call, input.KeyId);
    if (key.keyState !== 'PendingDeletion' && key.keyState !== 'PendingReplicaDeletion') throw new KMSInvalidStateException(`${key.arn} is not pending deletion.`);
    call.env.keys.cancelDeletion(key.keyId);
    // A key that lacks imported material goes back to PendingImport, not Disabled.
    if (key.origin === 'EXTERNAL') call.env.imports.settle(key.keyId);
    return { response: { KeyId: key.arn }, responseElements: { keyId: key.arn } };
  },
});
