// ReEncrypt: decrypt and encrypt again under another key or context, without the plaintext
// leaving KMS; either side may be an RSA ENCRYPT_DECRYPT key (SourceKeyId and the algorithms then
// say how). Authorized as two actions: ReEncryptFrom on the source key, ReEncryptTo on the destination.
import { kmsOperation } from '../operation.js';
import { usableKey } from '../usable-key.js';
import { ENCRYPTION_ALGORITHM, ENCRYPTION_CONTEXT, GRANT_TOKENS, KEY_ID, OPTIONAL_KEY_ID } from './members.js';
import { blobKeyId, decryptAny, encryptUnder, keyMaterialIdOf } from './sealing.js';

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
    const srcAlg = input.SourceEncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT';
    const dstAlg = input.DestinationEncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT';
    // kms:ReEncryptOnSameKey: keys as named, resolved without side effects (an AWS managed key
    // not yet created is no key); errors about them come from their own usableKey below.
    const idOf = (keyIdParam: string | undefined) => {
      try {
        const k = keyIdParam === undefined ? undefined : call.env.keys.find(keyIdParam, true, true);
        return k && 'keyId' in k ? k.keyId : undefined;
      } catch {
        return undefined;
      }
    };
    // The source: the key a symmetric blob names, or (asymmetric ciphertexts name none) SourceKeyId.
    const sourceKeyId = srcAlg === 'SYMMETRIC_DEFAULT' ? blobKeyId(input.CiphertextBlob) : idOf(input.SourceKeyId);
    const sameKey = sourceKeyId !== undefined && sourceKeyId === idOf(input.DestinationKeyId);
    const source = decryptAny(
      ctx,
      call,
      { blob: input.CiphertextBlob, context: input.SourceEncryptionContext ?? {}, keyIdParam: input.SourceKeyId, algorithm: srcAlg, action: 'ReEncryptFrom' },
      { reEncryptOnSameKey: sameKey },
    );
    try {
      const dest = usableKey(ctx, call, input.DestinationKeyId, { action: 'ReEncryptTo', context: destContext, encryptionAlgorithm: dstAlg, reEncryptOnSameKey: sameKey });
      return {
        response: {
          CiphertextBlob: encryptUnder(call, dest, source.plaintext, destContext, dstAlg),
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
