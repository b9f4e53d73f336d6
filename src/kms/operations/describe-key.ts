// DescribeKey: a key's metadata (a multi-Region key's with its set).
import { describedMetadata } from '../multi-region-metadata.js';
import { kmsOperation } from '../operation.js';
import { usableKey } from '../usable-key.js';
import { GRANT_TOKENS, KEY_ID } from './members.js';

export const DescribeKey = kmsOperation({
  name: 'DescribeKey',
  description: "Show a key's metadata",
  readOnly: true,
  ext: { keyStates: ['Enabled', 'Disabled', 'PendingDeletion'], grantable: true, crossAccount: true },
  input: { KeyId: KEY_ID, GrantTokens: GRANT_TOKENS },
  run(ctx, input, call) {
    const key = usableKey(ctx, call, input.KeyId);
    return { response: { KeyMetadata: describedMetadata(call.env.keys, key) } };
  },
});
