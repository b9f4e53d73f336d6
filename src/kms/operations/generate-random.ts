// GenerateRandom: random bytes, an account-level action.
import { ValidationException } from '../../errors/index.js';
import { authorizeAccountAction } from '../authorize.js';
import { kmsOperation } from '../operation.js';
import { randomBytesFromPool } from '../random-pool.js';

export const GenerateRandom = kmsOperation({
  name: 'GenerateRandom',
  description: 'Random bytes',
  readOnly: true,
  ext: { grantable: false },
  input: {
    NumberOfBytes: { kind: 'integer', min: 1, max: 1024 },
    CustomKeyStoreId: { kind: 'string', min: 1, max: 64 },
    Recipient: {
      kind: 'structure',
      members: { KeyEncryptionAlgorithm: { kind: 'string', enum: ['RSAES_OAEP_SHA_256'] }, AttestationDocument: { kind: 'blob', min: 1, max: 262144 } },
      doc: 'JSON {"KeyEncryptionAlgorithm","AttestationDocument"} (ignored: ebsim has no enclaves)',
    },
  },
  run(ctx, input, call) {
    // Optional in the model, required by the service, in its own words.
    if (input.NumberOfBytes === undefined) throw new ValidationException('NumberOfBytes is required.'); // AWS's recorded answer
    authorizeAccountAction(call.env, ctx, 'GenerateRandom');
    return { response: { Plaintext: randomBytesFromPool(input.NumberOfBytes) } };
  },
});
