// ReEncrypt: decrypt and encrypt again under another key or context, without the plaintext
// leaving KMS. Authorized as two actions: ReEncryptFrom on the source key, ReEncryptTo on the destination.
import { kmsOperation } from '../operation.js';
import { usableKey } from '../usable-key.js';
import { ENCRYPTION_ALGORITHM, ENCRYPTION_CONTEXT, GRANT_TOKENS, KEY_ID, OPTIONAL_KEY_ID } from './members.js';
import { blobKeyId, keyMaterialIdOf, seal, symmetricAlgorithm, unseal } from './sealing.js';

export const ReEncrypt = kmsOperation({
  name: 'ReEncrypt',
  description: 'Decrypt and encrypt again under another key or context',
  readOnly: true,
  ext: { keyStates: ['Enabled'], actions: ['ReEncryptFrom', 'ReEncryptTo'], grantable: true, crossAccount: true },
  input: {
    CiphertextBlob: { kind: 'blob', required: true, min: 1, max: 6144, secret: true },
    DestinationKeyId: KEY_ID,
    SourceEncryptionContext: ENCRYPTION_CONTEXT,
    DestinationEncryptionContext: ENCRYPTION_CONTEXT,
    SourceEncryptionAlgorithm: ENCRYPTION_ALGORITHM,
    DestinationEncryptionAlgorithm: ENCRYPTION_ALGORITHM,
    GrantTokens: GRANT_TOKENS,
    SourceKeyId: OPTIONAL_KEY_ID,
  },
  run(ctx, input, call) {
    const destContext = input.DestinationEncryptionContext ?? {};
    const srcAlg = symmetricAlgorithm(input.SourceEncryptionAlgorithm);
    const dstAlg = symmetricAlgorithm(input.DestinationEncryptionAlgorithm);
    // kms:ReEncryptOnSameKey: the destination as named, resolved without side effects (an AWS managed
    // key not yet created is not the source); errors about it come from its own usableKey below.
    const sameAs = (sourceKeyId: string) => {
      try {
        const d = call.env.keys.find(input.DestinationKeyId, true, true);
        return 'keyId' in d && d.keyId === sourceKeyId;
      } catch {
        return false;
      }
    };
    const sourceKeyId = blobKeyId(input.CiphertextBlob);
    const sameKey = sourceKeyId !== undefined && sameAs(sourceKeyId);
    const source = unseal(ctx, call, input.CiphertextBlob, input.SourceEncryptionContext ?? {}, input.SourceKeyId, 'ReEncryptFrom', {
      encryptionAlgorithm: srcAlg,
      reEncryptOnSameKey: sameKey,
    });
    try {
      const dest = usableKey(ctx, call, input.DestinationKeyId, { action: 'ReEncryptTo', context: destContext, encryptionAlgorithm: dstAlg, reEncryptOnSameKey: sameKey });
      return {
        response: {
          CiphertextBlob: seal(call, dest, source.plaintext, destContext),
          SourceKeyId: source.key.arn,
          KeyId: dest.arn,
          SourceEncryptionAlgorithm: srcAlg,
          DestinationEncryptionAlgorithm: dstAlg,
          ...materialIds(keyMaterialIdOf(call, source.key, source.version).KeyMaterialId, keyMaterialIdOf(call, dest).KeyMaterialId),
        },
      };
    } finally {
      source.plaintext.fill(0);
    }
  },
});

/** ReEncrypt names the material that opened the blob and the one that sealed the new one. */
function materialIds(source: string | undefined, destination: string | undefined) {
  return { ...(source ? { SourceKeyMaterialId: source } : {}), ...(destination ? { DestinationKeyMaterialId: destination } : {}) };
}
