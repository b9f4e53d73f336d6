// Sign, Verify and GenerateMac through the whole service (authorization, key state, trail record)
// against the bare library call that does the same cryptography, measured in the same run:
// @noble/curves' ECDSA P-256 with a SHA-256 digest, @noble/post-quantum's ML-DSA-65, and
// @noble/hashes' HMAC-SHA-256. The issue's target is at least 0.5x of the bare call.
import { randomBytes } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import type { CallContext } from '../../src/core/call-context.js';
import type { KmsService } from '../../src/kms/index.js';
import type { BenchRow } from '../harness.js';

export interface TimedRun {
  /** Calls per second of `fn`, the clock stopped only once the trail has every record. */
  (fn: () => void): number;
}

/** Rows for the asymmetric and MAC operations; `recorded` measures as the suite's other rows do. */
export function asymmetricRows(kms: KmsService, alice: CallContext, recorded: TimedRun, bare: TimedRun, rounds: number): BenchRow[] {
  const message = randomBytes(256);
  // MACs are cheap: at 256 B the call's own work (authorization, trail record) dominates, at
  // AWS's largest message (4 KiB) the HMAC does. Both are shown.
  const large = randomBytes(4096);
  const create = (KeySpec: string, KeyUsage: string) => (kms.call(alice, 'CreateKey', { KeySpec, KeyUsage }).KeyMetadata as { KeyId: string }).KeyId;
  const ecc = create('ECC_NIST_P256', 'SIGN_VERIFY');
  const mlDsa = create('ML_DSA_65', 'SIGN_VERIFY');
  const mac = create('HMAC_256', 'GENERATE_VERIFY_MAC');

  // The bare calls' keys are the library's own; ebsim's are inside KMS.
  const eccSecret = p256.utils.randomSecretKey();
  const eccPublic = p256.getPublicKey(eccSecret);
  const dsa = ml_dsa65.keygen(randomBytes(32));
  const hmacKey = randomBytes(32);

  const sign = (KeyId: string, SigningAlgorithm: string) => () => kms.call(alice, 'Sign', { KeyId, Message: message, MessageType: 'RAW', SigningAlgorithm });
  const eccSig = sign(ecc, 'ECDSA_SHA_256')().Signature as Uint8Array;
  const dsaSig = sign(mlDsa, 'ML_DSA_SHAKE_256')().Signature as Uint8Array;
  const verify = (KeyId: string, SigningAlgorithm: string, Signature: Uint8Array) => () =>
    kms.call(alice, 'Verify', { KeyId, Message: message, MessageType: 'RAW', SigningAlgorithm, Signature });
  const bareEccSig = p256.sign(sha256(message), eccSecret, { prehash: false, format: 'der', lowS: false, extraEntropy: true });
  const bareDsaSig = ml_dsa65.sign(message, dsa.secretKey);
  // Cross-checks before timing: each bare call verifies what it made; ebsim's Verify accepts its own.
  if (!p256.verify(bareEccSig, sha256(message), eccPublic, { prehash: false, format: 'der', lowS: false })) throw new Error('bare ECDSA check failed');
  if (!ml_dsa65.verify(bareDsaSig, message, dsa.publicKey)) throw new Error('bare ML-DSA check failed');
  if (verify(ecc, 'ECDSA_SHA_256', eccSig)().SignatureValid !== true || verify(mlDsa, 'ML_DSA_SHAKE_256', dsaSig)().SignatureValid !== true) throw new Error('Verify check failed');
  const macValue = kms.call(alice, 'GenerateMac', { KeyId: mac, Message: message, MacAlgorithm: 'HMAC_SHA_256' }).Mac as Uint8Array;
  // The MAC is HMAC-SHA-256 over the message: it verifies, and a bit flipped does not.
  const verifyMac = (Mac: Uint8Array) => {
    try {
      return kms.call(alice, 'VerifyMac', { KeyId: mac, Message: message, MacAlgorithm: 'HMAC_SHA_256', Mac }).MacValid === true;
    } catch {
      return false;
    }
  };
  const flipped = Buffer.from(macValue);
  flipped[0]! ^= 1;
  if (macValue.length !== 32 || !verifyMac(macValue) || verifyMac(flipped)) throw new Error('GenerateMac check failed');

  const targets: [string, () => unknown, () => unknown][] = [
    ['Sign ECC_NIST_P256 (ECDSA_SHA_256, 256 B)', sign(ecc, 'ECDSA_SHA_256'), () => p256.sign(sha256(message), eccSecret, { prehash: false, format: 'der', lowS: false, extraEntropy: true })],
    ['Verify ECC_NIST_P256', verify(ecc, 'ECDSA_SHA_256', eccSig), () => p256.verify(bareEccSig, sha256(message), eccPublic, { prehash: false, format: 'der', lowS: false })],
    ['Sign ML_DSA_65 (ML_DSA_SHAKE_256, 256 B)', sign(mlDsa, 'ML_DSA_SHAKE_256'), () => ml_dsa65.sign(message, dsa.secretKey)],
    ['Verify ML_DSA_65', verify(mlDsa, 'ML_DSA_SHAKE_256', dsaSig), () => ml_dsa65.verify(bareDsaSig, message, dsa.publicKey)],
    ['GenerateMac HMAC_256 (256 B)', () => kms.call(alice, 'GenerateMac', { KeyId: mac, Message: message, MacAlgorithm: 'HMAC_SHA_256' }), () => hmac(sha256, hmacKey, message)],
    ['GenerateMac HMAC_256 (4 KiB)', () => kms.call(alice, 'GenerateMac', { KeyId: mac, Message: large, MacAlgorithm: 'HMAC_SHA_256' }), () => hmac(sha256, hmacKey, large)],
  ];
  return targets.map(([operation, viaKms, library]) => {
    // Rounds interleaved, best of each: both sides see the same machine.
    let kmsBest = 0;
    let bareBest = 0;
    for (let round = 0; round < rounds; round++) {
      kmsBest = Math.max(kmsBest, recorded(viaKms));
      bareBest = Math.max(bareBest, bare(library));
    }
    return { operation, 'ops/s': Math.round(kmsBest), 'bare library ops/s': Math.round(bareBest), 'x bare call': kmsBest / bareBest };
  });
}
