// GenerateDataKey (plaintext and encrypted copy) and GenerateDataKeyWithoutPlaintext (encrypted
// copy only: what EC2 asks for an encrypted EBS volume).
import { ValidationException } from '../../errors/index.js';
import type { CallContext } from '../../core/call-context.js';
import type { EncryptionContext } from '../context.js';
import { kmsOperation, type KmsCall } from '../operation.js';
import { randomBytesFromPool } from '../random-pool.js';
import { requireSymmetric, usableKey } from '../usable-key.js';
import { RECIPIENT, refuseRecipient } from '../recipient.js';
import { ENCRYPTION_CONTEXT, GRANT_TOKENS, KEY_ID } from './members.js';
import { keyMaterialIdOf, seal } from './sealing.js';

const input = {
  KeyId: KEY_ID,
  EncryptionContext: ENCRYPTION_CONTEXT,
  NumberOfBytes: { kind: 'integer', min: 1, max: 1024 },
  KeySpec: { kind: 'string', enum: ['AES_256', 'AES_128'] },
  GrantTokens: GRANT_TOKENS,
} as const;

const ext = { keyStates: ['Enabled'], grantable: true, crossAccount: true } as const;

function dataKeyLength(n: number | undefined, spec: 'AES_256' | 'AES_128' | undefined): number {
  if ((n === undefined) === (spec === undefined)) throw new ValidationException('Please specify either number of bytes or key spec.');
  return n ?? (spec === 'AES_128' ? 16 : 32);
}

/** A fresh data key of the requested length, and its copy sealed under the key the request names. */
function newDataKey(ctx: CallContext, call: KmsCall, p: { KeyId: string; NumberOfBytes?: number; KeySpec?: 'AES_256' | 'AES_128'; EncryptionContext?: EncryptionContext; Recipient?: object }) {
  const context = p.EncryptionContext ?? {};
  const length = dataKeyLength(p.NumberOfBytes, p.KeySpec);
  const key = requireSymmetric(usableKey(ctx, call, p.KeyId, { context, encryptionAlgorithm: 'SYMMETRIC_DEFAULT' }), call.operation);
  // After the key's checks, before any secret exists (as the data key pair operations do).
  refuseRecipient(p.Recipient, call.operation);
  const plaintext = randomBytesFromPool(length);
  return { key, plaintext, blob: seal(call, key, plaintext, context) };
}

export const GenerateDataKey = kmsOperation({
  name: 'GenerateDataKey',
  description: 'A data key: plaintext and encrypted copy',
  readOnly: true,
  ext,
  input: { ...input, Recipient: RECIPIENT },
  run(ctx, p, call) {
    const { key, plaintext, blob } = newDataKey(ctx, call, p);
    return { response: { CiphertextBlob: blob, Plaintext: plaintext, KeyId: key.arn, ...keyMaterialIdOf(call, key) } };
  },
});

export const GenerateDataKeyWithoutPlaintext = kmsOperation({
  name: 'GenerateDataKeyWithoutPlaintext',
  description: 'A data key, encrypted copy only (what EC2 asks for an EBS volume)',
  readOnly: true,
  ext,
  input,
  run(ctx, p, call) {
    const { key, plaintext, blob } = newDataKey(ctx, call, p);
    plaintext.fill(0);
    return { response: { CiphertextBlob: blob, KeyId: key.arn, ...keyMaterialIdOf(call, key) } };
  },
});
