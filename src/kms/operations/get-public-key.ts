// GetPublicKey: the public half of an asymmetric key, as DER SubjectPublicKeyInfo (RFC 5280), with
// what a caller needs to use it correctly outside KMS: spec, usage and algorithms.
// https://docs.aws.amazon.com/kms/latest/APIReference/API_GetPublicKey.html
import { UnsupportedOperationException } from '../../errors/index.js';
import { publicKeyDer } from '../key-material.js';
import { algorithmsOf, isAsymmetric } from '../key-specs.js';
import { CUSTOMER_MASTER_KEY_SPECS } from '../keys.js';
import { kmsOperation } from '../operation.js';
import { usableKey } from '../usable-key.js';
import { GRANT_TOKENS, KEY_ID } from './members.js';

export const GetPublicKey = kmsOperation({
  name: 'GetPublicKey',
  description: "An asymmetric key's public key (DER SubjectPublicKeyInfo), spec, usage and algorithms",
  readOnly: true,
  // The key-state table: Enabled only (a disabled key's public key is not given out).
  ext: { keyStates: ['Enabled'], grantable: true, crossAccount: true },
  input: { KeyId: KEY_ID, GrantTokens: GRANT_TOKENS },
  run(ctx, input, call) {
    const key = usableKey(ctx, call, input.KeyId);
    if (!isAsymmetric(key.keySpec)) throw new UnsupportedOperationException(`${key.arn} key spec ${key.keySpec} does not support GetPublicKey: it has no public key.`);
    const material = call.env.keys.material(key, key.currentVersion)!;
    return {
      response: {
        KeyId: key.arn,
        PublicKey: publicKeyDer(key.keySpec, material),
        ...(CUSTOMER_MASTER_KEY_SPECS.has(key.keySpec) ? { CustomerMasterKeySpec: key.keySpec } : {}),
        KeySpec: key.keySpec,
        KeyUsage: key.keyUsage,
        ...algorithmsOf(key.keySpec, key.keyUsage),
      },
    };
  },
});
