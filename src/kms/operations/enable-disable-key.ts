// EnableKey and DisableKey: a disabled key refuses cryptographic use (DisabledException).
import { kmsOperation } from '../operation.js';
import { customerManagedKey } from './managed-key.js';
import { KEY_ID_OR_ARN } from './members.js';

const ext = { keyStates: ['Enabled', 'Disabled'], grantable: false } as const;

export const EnableKey = kmsOperation({
  name: 'EnableKey',
  description: 'Enable a key',
  readOnly: false,
  ext,
  input: { KeyId: KEY_ID_OR_ARN },
  run(ctx, input, call) {
    call.env.keys.enable(customerManagedKey(ctx, call, input.KeyId).keyId);
    return { response: {} };
  },
});

export const DisableKey = kmsOperation({
  name: 'DisableKey',
  description: 'Disable a key (cryptographic use fails with DisabledException)',
  readOnly: false,
  ext,
  input: { KeyId: KEY_ID_OR_ARN },
  run(ctx, input, call) {
    call.env.keys.disable(customerManagedKey(ctx, call, input.KeyId).keyId);
    return { response: {} };
  },
});
