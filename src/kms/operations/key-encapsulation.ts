// Encapsulate and Decapsulate: FIPS 203 ML-KEM with an ML_KEM_512/768/1024 key (usage
// ENCAPSULATE_DECAPSULATE), its key pair derived from the stored seed (d || z). The shared
// secrets are secrets: CloudTrail records keyId and encapsulationAlgorithm only.
import type { CallContext } from '../../core/call-context.js';
import { InvalidCiphertextException } from '../../errors/index.js';
import { ML_KEM, postQuantumKeys } from '../key-material.js';
import type { KmsKey } from '../keys.js';
import { kmsOperation, type KmsCall } from '../operation.js';
import { requireUsage, usableKey } from '../usable-key.js';
import { GRANT_TOKENS, KEY_ID } from './members.js';

const ENCAPSULATION_ALGORITHM = { kind: 'string', required: true, enum: ['ML_KEM'] } as const;
const ext = { keyStates: ['Enabled'], grantable: true, crossAccount: true } as const;

/** The ML-KEM key the request names, with its parameter set and key pair. */
function kemKey(ctx: CallContext, call: KmsCall, keyId: string) {
  const key: KmsKey = requireUsage(usableKey(ctx, call, keyId), 'ENCAPSULATE_DECAPSULATE', call.operation);
  const spec = key.keySpec as keyof typeof ML_KEM;
  return { key, kem: ML_KEM[spec], pair: postQuantumKeys(spec, call.env.keys.material(key, key.currentVersion)!) };
}

export const Encapsulate = kmsOperation({
  name: 'Encapsulate',
  description: 'A fresh 32-byte shared secret and its ML-KEM encapsulation under an ML-KEM key',
  readOnly: true,
  ext,
  input: { KeyId: KEY_ID, EncapsulationAlgorithm: ENCAPSULATION_ALGORITHM, GrantTokens: GRANT_TOKENS },
  run(ctx, p, call) {
    const { key, kem, pair } = kemKey(ctx, call, p.KeyId);
    const { cipherText, sharedSecret } = kem.encapsulate(pair.publicKey);
    return { response: { KeyId: key.arn, SharedSecret: sharedSecret, SharedSecretCiphertextBlob: cipherText, EncapsulationAlgorithm: p.EncapsulationAlgorithm } };
  },
});

export const Decapsulate = kmsOperation({
  name: 'Decapsulate',
  description: 'Recover the shared secret of an ML-KEM encapsulation (SharedSecretCiphertextBlob)',
  readOnly: true,
  ext,
  input: {
    KeyId: KEY_ID,
    SharedSecretCiphertextBlob: { kind: 'blob', required: true, min: 1, max: 6144 },
    EncapsulationAlgorithm: ENCAPSULATION_ALGORITHM,
    GrantTokens: GRANT_TOKENS,
  },
  run(ctx, p, call) {
    const { key, kem, pair } = kemKey(ctx, call, p.KeyId);
    // Only a ciphertext of the wrong length is refused (with AWS's empty message); any other is
    // answered with FIPS 203's implicit rejection, a pseudo-random secret.
    if (p.SharedSecretCiphertextBlob.length !== kem.lengths.cipherText) throw new InvalidCiphertextException('');
    const sharedSecret = kem.decapsulate(p.SharedSecretCiphertextBlob, pair.secretKey);
    return { response: { KeyId: key.arn, SharedSecret: sharedSecret, EncapsulationAlgorithm: p.EncapsulationAlgorithm } };
  },
});
