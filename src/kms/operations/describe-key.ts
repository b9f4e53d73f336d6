// DescribeKey: a key's metadata (a multi-Region key's with its set, an EXTERNAL key's with its imported material).
import { kmsOperation } from '../operation.js';
import { usableKey } from '../usable-key.js';
import { GRANT_TOKENS, KEY_ID } from './members.js';
import { describedKey } from './metadata.js';

export const DescribeKey = kmsOperation({
  name: 'DescribeKey',
  description: "Show a key's metadata",
  readOnly: true,
  ext: { keyStates: ['Enabled', 'Disabled', 'PendingDeletion', 'PendingImport'], grantable: true, crossAccount: true },
  input: { KeyId: KEY_ID, GrantTokens: GRANT_TOKENS },
  run(ctx, input, call) {
    const key = usableKey(ctx, call, input.KeyId);
    return { response: { KeyMetadata: describedKey(call.env, key) } };
  },
});
