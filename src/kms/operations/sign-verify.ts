// Sign and Verify: a signature made, or checked, with the private or public half of an asymmetric
// SIGN_VERIFY key. The message never reaches the trail (secret member); the signature is a blob,
// never logged either. https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html
import type { CallContext } from '../../core/call-context.js';
import { KMSInvalidSignatureException } from '../../errors/index.js';
import { kmsOperation, type KmsCall } from '../operation.js';
import { signMessage, verifySignature, type SigningRequest } from '../signing.js';
import { checkSigningRequest, type MessageType, type SigningAlgorithm } from '../signing-rules.js';
import { requireUsage, usableKey } from '../usable-key.js';
import { GRANT_TOKENS, KEY_ID, MESSAGE_TYPE, SIGNED_MESSAGE, SIGNING_ALGORITHM } from './members.js';

const ext = { keyStates: ['Enabled'], grantable: true, crossAccount: true } as const;

/** The key, authorized and checked, with the request it is to serve and the material of its one version. */
function signingKey(ctx: CallContext, call: KmsCall, p: { KeyId: string; SigningAlgorithm: SigningAlgorithm; MessageType?: MessageType; Message: Uint8Array }) {
  const messageType = p.MessageType ?? 'RAW';
  const key = usableKey(ctx, call, p.KeyId, { signingAlgorithm: p.SigningAlgorithm, messageType });
  requireUsage(key, 'SIGN_VERIFY', call.operation);
  checkSigningRequest(key.keySpec, p.SigningAlgorithm, messageType, p.Message.length);
  const request: SigningRequest = { spec: key.keySpec, algorithm: p.SigningAlgorithm, messageType, message: p.Message };
  // Asymmetric keys never rotate: their material is version 1.
  return { key, request, material: call.env.keys.material(key, key.currentVersion)! };
}

export const Sign = kmsOperation({
  name: 'Sign',
  description: 'Sign a message or digest with an asymmetric SIGN_VERIFY key',
  readOnly: true,
  ext,
  input: { KeyId: KEY_ID, Message: SIGNED_MESSAGE, MessageType: MESSAGE_TYPE, GrantTokens: GRANT_TOKENS, SigningAlgorithm: SIGNING_ALGORITHM },
  run(ctx, input, call) {
    const { key, request, material } = signingKey(ctx, call, input);
    return { response: { KeyId: key.arn, Signature: signMessage(material, request), SigningAlgorithm: input.SigningAlgorithm } };
  },
});

export const Verify = kmsOperation({
  name: 'Verify',
  description: "Check a signature with an asymmetric SIGN_VERIFY key (KMSInvalidSignatureException if it does not verify)",
  readOnly: true,
  ext,
  input: {
    KeyId: KEY_ID,
    Message: SIGNED_MESSAGE,
    MessageType: MESSAGE_TYPE,
    Signature: { kind: 'blob', required: true, min: 1, max: 6144 },
    SigningAlgorithm: SIGNING_ALGORITHM,
    GrantTokens: GRANT_TOKENS,
  },
  run(ctx, input, call) {
    const { key, request, material } = signingKey(ctx, call, input);
    // AWS never answers SignatureValid false: a signature that does not verify is an error.
    if (!verifySignature(material, request, input.Signature)) throw new KMSInvalidSignatureException('');
    return { response: { KeyId: key.arn, SignatureValid: true, SigningAlgorithm: input.SigningAlgorithm } };
  },
});
