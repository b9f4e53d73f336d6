// Decrypt: a symmetric blob names its key and material version; an RSA ciphertext names nothing,
// so KeyId and EncryptionAlgorithm say how to decrypt it.
import { kmsOperation } from '../operation.js';
import { ENCRYPTION_ALGORITHM, ENCRYPTION_CONTEXT, GRANT_TOKENS, OPTIONAL_KEY_ID } from './members.js';
import { decryptAny, keyMaterialIdOf } from './sealing.js';
import { RECIPIENT, refuseRecipient } from '../recipient.js';

export const Decrypt = kmsOperation({
  name: 'Decrypt',
  description: 'Decrypt a ciphertext blob (the key is named inside it; an RSA ciphertext needs --key-id and --encryption-algorithm)',
  readOnly: true,
  ext: { keyStates: ['Enabled'], grantable: true, crossAccount: true },
  input: {
    CiphertextBlob: { kind: 'blob', required: true, min: 1, max: 6144, secret: true },
    EncryptionContext: ENCRYPTION_CONTEXT,
    KeyId: OPTIONAL_KEY_ID,
    EncryptionAlgorithm: ENCRYPTION_ALGORITHM,
    GrantTokens: GRANT_TOKENS,
    Recipient: RECIPIENT,
  },
  run(ctx, input, call) {
    const algorithm = input.EncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT';
    const { key, version, plaintext } = decryptAny(ctx, call, { blob: input.CiphertextBlob, context: input.EncryptionContext ?? {}, keyIdParam: input.KeyId, algorithm, action: 'Decrypt' });
    // After the ciphertext is opened: a bad one is refused as such first, as it would be for an enclave.
    refuseRecipient(input.Recipient, call.operation, plaintext);
    return { response: { KeyId: key.arn, Plaintext: plaintext, EncryptionAlgorithm: algorithm, ...keyMaterialIdOf(call, key, version) } };
  },
});
