// DeriveSharedSecret: ECDH (NIST SP 800-56A's cofactor Diffie-Hellman primitive) between a
// KEY_AGREEMENT key's private key and a peer's public key on the same curve. The answer is the
// raw shared secret, the x coordinate of the shared point (AWS applies no KDF), computed with
// @noble/curves. The peer key is a DER SubjectPublicKeyInfo, parsed and checked by OpenSSL.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { ValidationException } from '../../errors/index.js';
import { EC_CURVES, privateKeyObject } from '../key-material.js';
import type { KeySpec } from '../key-specs.js';
import { kmsOperation } from '../operation.js';
import { RECIPIENT, refuseRecipient } from '../recipient.js';
import { requireUsage, usableKey } from '../usable-key.js';
import { GRANT_TOKENS, KEY_ID } from './members.js';

/** The curves KEY_AGREEMENT keys use (SM2, the other one AWS allows, exists only in China). */
const ECDH: Partial<Record<KeySpec, typeof p256>> = { ECC_NIST_P256: p256, ECC_NIST_P384: p384, ECC_NIST_P521: p521 };

/** Private scalars by key material buffer (KeyStore keeps one per key version). */
const scalars = new WeakMap<Buffer, Uint8Array>();
function privateScalar(material: Buffer): Uint8Array {
  let d = scalars.get(material);
  if (!d) scalars.set(material, (d = Buffer.from(privateKeyObject(material).export({ format: 'jwk' }).d!, 'base64url')));
  return d;
}

/**
 * The peer's public point (SEC 1 uncompressed), or ValidationException for a key that is not a
 * DER SubjectPublicKeyInfo of an EC point on the key's curve. AWS's message for either case is
 * not documented; ebsim's is empty, as AWS answers an unparseable PublicKey.
 */
function peerPoint(spki: Uint8Array, spec: KeySpec): Uint8Array {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch {
    throw new ValidationException('');
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== EC_CURVES[spec]) throw new ValidationException('');
  const { x, y } = key.export({ format: 'jwk' });
  return Buffer.concat([Buffer.from([4]), Buffer.from(x!, 'base64url'), Buffer.from(y!, 'base64url')]);
}

export const DeriveSharedSecret = kmsOperation({
  name: 'DeriveSharedSecret',
  description: "ECDH: the raw shared secret of a KEY_AGREEMENT key and a peer's public key (DER SubjectPublicKeyInfo)",
  readOnly: true,
  ext: { keyStates: ['Enabled'], grantable: true, crossAccount: true },
  input: {
    KeyId: KEY_ID,
    KeyAgreementAlgorithm: { kind: 'string', required: true, enum: ['ECDH'] },
    PublicKey: { kind: 'blob', required: true, min: 1, max: 8192, doc: "the peer's public key: DER SubjectPublicKeyInfo, base64 or fileb://PATH" },
    GrantTokens: GRANT_TOKENS,
    Recipient: RECIPIENT,
  },
  run(ctx, p, call) {
    const key = requireUsage(usableKey(ctx, call, p.KeyId, { keyAgreementAlgorithm: p.KeyAgreementAlgorithm }), 'KEY_AGREEMENT', call.operation);
    refuseRecipient(p.Recipient, call.operation);
    const curve = ECDH[key.keySpec]!;
    const point = peerPoint(p.PublicKey, key.keySpec);
    const material = call.env.keys.material(key, key.currentVersion)!;
    // The compressed shared point is 02|03 || x: its x coordinate is the raw secret.
    const sharedSecret = curve.getSharedSecret(privateScalar(material), point, true).subarray(1);
    return { response: { KeyId: key.arn, SharedSecret: sharedSecret, KeyAgreementAlgorithm: p.KeyAgreementAlgorithm, KeyOrigin: key.origin } };
  },
});
