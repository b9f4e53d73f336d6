// GenerateMac and VerifyMac: the raw HMAC of RFC 2104 under an HMAC key's material, with the hash
// its spec names (HMAC_256 keys take HMAC_SHA_256 only). The message and the MAC are secrets:
// CloudTrail records only keyId and macAlgorithm.
import { timingSafeEqual } from 'node:crypto';
import { hmac } from '@noble/hashes/hmac.js';
import { sha224, sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import type { CallContext } from '../../core/call-context.js';
import { InvalidKeyUsageException, KMSInvalidMacException } from '../../errors/index.js';
import { algorithmsOf } from '../key-specs.js';
import type { KmsKey } from '../keys.js';
import { kmsOperation, type KmsCall } from '../operation.js';
import { requireUsage, usableKey } from '../usable-key.js';
import { GRANT_TOKENS, KEY_ID } from './members.js';

const HASHES = { HMAC_SHA_224: sha224, HMAC_SHA_256: sha256, HMAC_SHA_384: sha384, HMAC_SHA_512: sha512 } as const;
type MacAlgorithm = keyof typeof HASHES;

const MESSAGE = { kind: 'blob', required: true, min: 1, max: 4096, secret: true } as const;
const MAC_ALGORITHM = { kind: 'string', required: true, enum: ['HMAC_SHA_224', 'HMAC_SHA_256', 'HMAC_SHA_384', 'HMAC_SHA_512'] } as const;
const ext = { keyStates: ['Enabled'], grantable: true, crossAccount: true } as const;

/**
 * The HMAC key the request names, checked as AWS checks it: usage GENERATE_VERIFY_MAC
 * ("…key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac."), then an algorithm of
 * its spec ("Algorithm HMAC_SHA_384 is incompatible with key spec HMAC_256.").
 */
function macKey(ctx: CallContext, call: KmsCall, keyId: string, alg: MacAlgorithm): KmsKey {
  const key = requireUsage(usableKey(ctx, call, keyId, { macAlgorithm: alg }), 'GENERATE_VERIFY_MAC', call.operation);
  if (!algorithmsOf(key.keySpec, key.keyUsage).MacAlgorithms?.includes(alg)) {
    throw new InvalidKeyUsageException(`Algorithm ${alg} is incompatible with key spec ${key.keySpec}.`);
  }
  return key;
}

/** HMAC keys are not rotated: their one key material is the current version's. */
function macOf(call: KmsCall, key: KmsKey, alg: MacAlgorithm, message: Uint8Array): Uint8Array {
  return hmac(HASHES[alg], call.env.keys.material(key, key.currentVersion)!, message);
}

export const GenerateMac = kmsOperation({
  name: 'GenerateMac',
  description: 'The HMAC of a message (up to 4 KiB) under an HMAC key',
  readOnly: true,
  ext,
  input: { Message: MESSAGE, KeyId: KEY_ID, MacAlgorithm: MAC_ALGORITHM, GrantTokens: GRANT_TOKENS },
  run(ctx, p, call) {
    const key = macKey(ctx, call, p.KeyId, p.MacAlgorithm);
    return { response: { Mac: macOf(call, key, p.MacAlgorithm, p.Message), MacAlgorithm: p.MacAlgorithm, KeyId: key.arn } };
  },
});

export const VerifyMac = kmsOperation({
  name: 'VerifyMac',
  description: 'Check an HMAC: MacValid true, or KMSInvalidMacException',
  readOnly: true,
  ext,
  input: {
    Message: MESSAGE,
    KeyId: KEY_ID,
    MacAlgorithm: MAC_ALGORITHM,
    Mac: { kind: 'blob', required: true, min: 1, max: 6144, secret: true },
    GrantTokens: GRANT_TOKENS,
  },
  run(ctx, p, call) {
    const key = macKey(ctx, call, p.KeyId, p.MacAlgorithm);
    const expected = macOf(call, key, p.MacAlgorithm, p.Message);
    // AWS's exception carries no message (as InvalidCiphertextException's).
    if (expected.length !== p.Mac.length || !timingSafeEqual(expected, p.Mac)) throw new KMSInvalidMacException('');
    return { response: { KeyId: key.arn, MacValid: true, MacAlgorithm: p.MacAlgorithm } };
  },
});
