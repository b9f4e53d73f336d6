// GetKeyLastUsage: the key's last successful cryptographic operation (kms/last-usage.ts), its
// time and the CloudTrail eventID and requestID of its record. Key ID or key ARN only; the key's
// own account only ("Cross-account use: No"); every key state.
// https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyLastUsage.html
import { kmsOperation } from '../operation.js';
import { usableKey } from '../usable-key.js';
import { KEY_ID_OR_ARN } from './members.js';

export const GetKeyLastUsage = kmsOperation({
  name: 'GetKeyLastUsage',
  description: "A key's last successful cryptographic use: operation, time, CloudTrail event ID",
  readOnly: true,
  ext: { keyStates: ['Enabled', 'Disabled', 'PendingDeletion', 'PendingImport'], grantable: false },
  input: { KeyId: KEY_ID_OR_ARN },
  run(ctx, input, call) {
    const key = usableKey(ctx, call, input.KeyId, { allowAlias: false });
    const use = call.env.usage.lastUse(key.arn);
    const started = call.env.usage.trackingStartDate();
    return {
      response: {
        KeyId: key.keyId,
        // "If the key has not been used since tracking began, this response element is an empty object."
        KeyLastUsage: use ? { Operation: use.operation, Timestamp: new Date(use.at), CloudTrailEventId: use.eventId, KmsRequestId: use.requestId } : {},
        // "the date KMS began recording cryptographic activity for this key, or the date the KMS key was created, whichever is later"
        TrackingStartDate: key.createdAt > started ? key.createdAt : started,
        KeyCreationDate: key.createdAt,
      },
    };
  },
});
