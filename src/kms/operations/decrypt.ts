// Decrypt: the key and its material version are named inside the ciphertext blob.
import { kmsOperation } from '../operation.js';
import { ENCRYPTION_ALGORITHM, ENCRYPTION_CONTEXT, GRANT_TOKENS, OPTIONAL_KEY_ID } from './members.js';
import { keyMaterialIdOf, symmetricAlgorithm, unseal } from './sealing.js';

export const Decrypt = kmsOperation({
  name: 'Decrypt',
  description: 'Decrypt a ciphertext blob (the key is named inside it)',
  readOnly: true,
  ext: { keyStates: ['Enabled'], grantable: true, crossAccount: true },
  input: {
    CiphertextBlob: { kind: 'blob', required: true, min: 1, max: 6144, secret: true },
    EncryptionContext: ENCRYPTION_CONTEXT,
    KeyId: OPTIONAL_KEY_ID,
    EncryptionAlgorithm: ENCRYPTION_ALGORITHM,
    GrantTokens: GRANT_TOKENS,
  },
  run(ctx, input, call) {
    const alg = symmetricAlgorithm(input.EncryptionAlgorithm);
    const { key, version, plaintext } = unseal(ctx, call, input.CiphertextBlob, input.EncryptionContext ?? {}, input.KeyId, 'Decrypt', { encryptionAlgorithm: alg });
    return { response: { KeyId: key.arn, Plaintext: plaintext, EncryptionAlgorithm: alg, ...keyMaterialIdOf(call, key, version) } };
  },
});
