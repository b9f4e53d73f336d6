// GenerateRandom: random bytes, an account-level action.
import { ValidationException } from '../../errors/index.js';
import { authorizeAccountAction } from '../authorize.js';
import { kmsOperation } from '../operation.js';
import { randomBytesFromPool } from '../random-pool.js';
import { RECIPIENT, refuseRecipient } from '../recipient.js';

export const GenerateRandom = kmsOperation({
  name: 'GenerateRandom',
  description: 'Random bytes',
  readOnly: true,
  ext: { grantable: false },
  input: {
    NumberOfBytes: { kind: 'integer', min: 1, max: 1024 },
    CustomKeyStoreId: { kind: 'string', min: 1, max: 64 },
    Recipient: RECIPIENT,
  },
  run(ctx, input, call) {
    // Optional in the model, required by the service, in its own words.
    if (input.NumberOfBytes === undefined) throw new ValidationException('NumberOfBytes is required.'); // AWS's recorded answer
    authorizeAccountAction(call.env, ctx, 'GenerateRandom');
    // AWS would return the bytes encrypted to the enclave and no Plaintext: never answer in the clear.
    refuseRecipient(input.Recipient, call.operation);
    return { response: { Plaintext: randomBytesFromPool(input.NumberOfBytes) } };
  },
});
