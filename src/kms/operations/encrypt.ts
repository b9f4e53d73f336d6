// Encrypt: up to 4 KiB under a key. The plaintext never reaches the trail (secret member).
import { kmsOperation } from '../operation.js';
import { requireSymmetric, usableKey } from '../usable-key.js';
import { ENCRYPTION_ALGORITHM, ENCRYPTION_CONTEXT, GRANT_TOKENS, KEY_ID } from './members.js';
import { seal, symmetricAlgorithm } from './sealing.js';

export const Encrypt = kmsOperation({
  name: 'Encrypt',
  description: 'Encrypt up to 4 KiB under a key',
  readOnly: true,
  ext: { keyStates: ['Enabled'], grantable: true, crossAccount: true },
  input: {
    KeyId: KEY_ID,
    Plaintext: { kind: 'blob', required: true, min: 1, max: 4096, secret: true },
    EncryptionContext: ENCRYPTION_CONTEXT,
    EncryptionAlgorithm: ENCRYPTION_ALGORITHM,
    GrantTokens: GRANT_TOKENS,
  },
  run(ctx, input, call) {
    const context = input.EncryptionContext ?? {};
    const alg = symmetricAlgorithm(input.EncryptionAlgorithm);
    const key = requireSymmetric(usableKey(ctx, call, input.KeyId, { context, encryptionAlgorithm: alg }), 'Encrypt');
    return { response: { CiphertextBlob: seal(call, key, input.Plaintext, context), KeyId: key.arn, EncryptionAlgorithm: alg } };
  },
});
