// Encrypt: up to 4 KiB under a symmetric key (a sealed blob), or up to the RSAES-OAEP limit under
// an RSA ENCRYPT_DECRYPT key (the bare RSA ciphertext). The plaintext never reaches the trail
// (secret member).
import { kmsOperation } from '../operation.js';
import { usableKey } from '../usable-key.js';
import { ENCRYPTION_ALGORITHM, ENCRYPTION_CONTEXT, GRANT_TOKENS, KEY_ID } from './members.js';
import { encryptUnder } from './sealing.js';

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
    const alg = input.EncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT';
    const key = usableKey(ctx, call, input.KeyId, { context, encryptionAlgorithm: alg });
    return { response: { CiphertextBlob: encryptUnder(call, key, input.Plaintext, context, alg), KeyId: key.arn, EncryptionAlgorithm: alg } };
  },
});
