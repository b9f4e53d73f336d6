// UpdateKeyDescription: a customer managed key's description, as DescribeKey shows it.
// https://docs.aws.amazon.com/kms/latest/APIReference/API_UpdateKeyDescription.html
import { kmsOperation } from '../operation.js';
import { customerManagedKey } from './managed-key.js';
import { KEY_ID_OR_ARN } from './members.js';

export const UpdateKeyDescription = kmsOperation({
  name: 'UpdateKeyDescription',
  description: "Replace a customer managed key's description",
  readOnly: false,
  // The key-state table: Enabled, Disabled and PendingImport; a key pending deletion, KMSInvalidStateException.
  ext: { keyStates: ['Enabled', 'Disabled', 'PendingImport'], grantable: false },
  input: { KeyId: KEY_ID_OR_ARN, Description: { kind: 'string', required: true, min: 0, max: 8192, doc: 'the new description (may be empty)' } },
  run(ctx, input, call) {
    // An AWS managed key's policy allows no one kms:UpdateKeyDescription: AccessDeniedException.
    const key = customerManagedKey(ctx, call, input.KeyId);
    call.env.keys.updateDescription(key.keyId, input.Description);
    return { response: {} };
  },
});
