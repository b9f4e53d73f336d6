// Cryptographic operations: Encrypt, Decrypt, ReEncrypt, GenerateDataKey(WithoutPlaintext), GenerateRandom.
// Plaintexts and blobs never reach the trail: requestParameters carry only names and contexts.
import { randomBytesFromPool } from './random-pool.js';
import { IncorrectKeyException, InvalidCiphertextException, ValidationException } from '../errors/index.js';
import type { CallContext } from '../core/call-context.js';
import { openBlob, parseBlobHeader, sealBlob } from './blob.js';
import { validateContext, type EncryptionContext } from './context.js';
import type { KmsKey } from './keys.js';
import { blob, int, oneOf, requiredStr, str, strList, type Params, KEY_ID_PARAM } from './params.js';
import { ENCRYPTION_ALGORITHMS, type CallState, type KmsEnv, type Operation } from './operation.js';
import { checkKey, usableKey } from './usable-key.js';
import { authorizeAccountAction } from './authorize.js';


function algorithm(p: Params, name: string): 'SYMMETRIC_DEFAULT' {
  const a = oneOf(p, name, ENCRYPTION_ALGORITHMS) ?? 'SYMMETRIC_DEFAULT';
  if (a !== 'SYMMETRIC_DEFAULT') {
    throw new ValidationException(`The encryption algorithm ${a} is not valid for a symmetric encryption KMS key. Use SYMMETRIC_DEFAULT.`);
  }
  return a;
}

function grantTokens(p: Params): void {
  strList(p, 'GrantTokens', { max: 10 });
}

function seal(env: KmsEnv, key: KmsKey, plaintext: Uint8Array, ctx: EncryptionContext): Buffer {
  const material = env.keys.material(key, key.currentVersion)!;
  return sealBlob(material, { keyId: key.keyId, version: key.currentVersion }, plaintext, ctx);
}

/** Finds, authorizes and opens a blob: the key and version come from the blob itself. */
function unseal(env: KmsEnv, ctx: CallContext, blobBytes: Uint8Array, context: EncryptionContext, keyIdParam: string | undefined, action: string, operation: string, state: CallState) {
  const header = parseBlobHeader(blobBytes);
  const key = env.keys.get(header.keyId);
  if (!key) throw new InvalidCiphertextException('The ciphertext refers to a KMS key that does not exist in this account and Region.');
  if (keyIdParam !== undefined) {
    const named = env.keys.resolve(keyIdParam);
    if (named.keyId !== key.keyId) {
      state.keys.push(named);
      throw new IncorrectKeyException('The key ID in the request does not identify a KMS key that can perform this operation.');
    }
  }
  const usable = checkKey(env, ctx, key, { action, operation, context }, state);
  const material = env.keys.material(usable, header.version);
  if (!material) throw new InvalidCiphertextException('');
  return { key: usable, plaintext: openBlob(material, blobBytes, context) };
}

function dataKeyLength(p: Params): number {
  const n = int(p, 'NumberOfBytes', { min: 1, max: 1024 });
  const spec = oneOf(p, 'KeySpec', ['AES_256', 'AES_128']);
  if ((n === undefined) === (spec === undefined)) {
    throw new ValidationException('Please specify either number of bytes or key spec.');
  }
  return n ?? (spec === 'AES_128' ? 16 : 32);
}

function generate(withPlaintext: boolean): Operation {
  const name = withPlaintext ? 'GenerateDataKey' : 'GenerateDataKeyWithoutPlaintext';
  return {
    readOnly: true,
    params: ['KeyId', 'EncryptionContext', 'NumberOfBytes', 'KeySpec', 'GrantTokens'],
    run(env, ctx, p, state) {
      const keyId = requiredStr(p, 'KeyId', KEY_ID_PARAM);
      const context = validateContext(p.EncryptionContext);
      const length = dataKeyLength(p);
      grantTokens(p);
      const key = usableKey(env, ctx, keyId, { action: name, operation: name, context }, state);
      const plaintext = randomBytesFromPool(length);
      const response: Record<string, unknown> = { CiphertextBlob: seal(env, key, plaintext, context) };
      if (withPlaintext) response.Plaintext = plaintext;
      else plaintext.fill(0);
      response.KeyId = key.arn;
      return { response };
    },
  };
}

export const cryptoOperations: Record<string, Operation> = {
  Encrypt: {
    readOnly: true,
    params: ['KeyId', 'Plaintext', 'EncryptionContext', 'GrantTokens', 'EncryptionAlgorithm'],
    run(env, ctx, p, state) {
      const keyId = requiredStr(p, 'KeyId', KEY_ID_PARAM);
      const plaintext = blob(p, 'Plaintext', { required: true, min: 1, max: 4096 })!;
      const context = validateContext(p.EncryptionContext);
      const alg = algorithm(p, 'EncryptionAlgorithm');
      grantTokens(p);
      const key = usableKey(env, ctx, keyId, { action: 'Encrypt', operation: 'Encrypt', context }, state);
      return { response: { CiphertextBlob: seal(env, key, plaintext, context), KeyId: key.arn, EncryptionAlgorithm: alg } };
    },
  },

  Decrypt: {
    readOnly: true,
    params: ['CiphertextBlob', 'EncryptionContext', 'GrantTokens', 'KeyId', 'EncryptionAlgorithm'],
    run(env, ctx, p, state) {
      const blobBytes = blob(p, 'CiphertextBlob', { required: true, min: 1, max: 6144 })!;
      const context = validateContext(p.EncryptionContext);
      const keyIdParam = str(p, 'KeyId', KEY_ID_PARAM);
      const alg = algorithm(p, 'EncryptionAlgorithm');
      grantTokens(p);
      const { key, plaintext } = unseal(env, ctx, blobBytes, context, keyIdParam, 'Decrypt', 'Decrypt', state);
      return { response: { KeyId: key.arn, Plaintext: plaintext, EncryptionAlgorithm: alg } };
    },
  },

  ReEncrypt: {
    readOnly: true,
    params: ['CiphertextBlob', 'SourceEncryptionContext', 'SourceKeyId', 'DestinationKeyId', 'DestinationEncryptionContext', 'SourceEncryptionAlgorithm', 'DestinationEncryptionAlgorithm', 'GrantTokens'],
    run(env, ctx, p, state) {
      const blobBytes = blob(p, 'CiphertextBlob', { required: true, min: 1, max: 6144 })!;
      const destId = requiredStr(p, 'DestinationKeyId', KEY_ID_PARAM);
      const sourceContext = validateContext(p.SourceEncryptionContext, 'sourceEncryptionContext');
      const destContext = validateContext(p.DestinationEncryptionContext, 'destinationEncryptionContext');
      const srcAlg = algorithm(p, 'SourceEncryptionAlgorithm');
      const dstAlg = algorithm(p, 'DestinationEncryptionAlgorithm');
      grantTokens(p);
      const source = unseal(env, ctx, blobBytes, sourceContext, str(p, 'SourceKeyId', KEY_ID_PARAM), 'ReEncryptFrom', 'ReEncrypt', state);
      try {
        const dest = usableKey(env, ctx, destId, { action: 'ReEncryptTo', operation: 'ReEncrypt', context: destContext }, state);
        return {
          response: {
            CiphertextBlob: seal(env, dest, source.plaintext, destContext),
            SourceKeyId: source.key.arn,
            KeyId: dest.arn,
            SourceEncryptionAlgorithm: srcAlg,
            DestinationEncryptionAlgorithm: dstAlg,
          },
        };
      } finally {
        source.plaintext.fill(0);
      }
    },
  },

  GenerateDataKey: generate(true),
  GenerateDataKeyWithoutPlaintext: generate(false),

  GenerateRandom: {
    readOnly: true,
    params: ['NumberOfBytes', 'CustomKeyStoreId', 'Recipient'],
    run(env, ctx, p) {
      const n = int(p, 'NumberOfBytes', { min: 1, max: 1024 });
      if (n === undefined) throw new ValidationException('1 validation error detected: Value null at \'numberOfBytes\' failed to satisfy constraint: Member must not be null');
      authorizeAccountAction(ctx, env.keys.accountId, 'GenerateRandom');
      return { response: { Plaintext: randomBytesFromPool(n) } };
    },
  },
};
