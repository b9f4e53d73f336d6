// Rotation: automatic (Enable/DisableKeyRotation; the rotations themselves are the service's own
// work when due, kms/due-work.ts, recorded as RotateKey service events) and on demand.
import { kmsOperation } from '../operation.js';
import { usableKey } from '../usable-key.js';
import { customerManagedKey } from './managed-key.js';
import { KEY_ID } from './members.js';

export const EnableKeyRotation = kmsOperation({
  name: 'EnableKeyRotation',
  description: 'Rotate the key material automatically',
  readOnly: false,
  ext: { keyStates: ['Enabled'], grantable: false },
  input: { KeyId: KEY_ID, RotationPeriodInDays: { kind: 'integer', min: 90, max: 2560, doc: 'days between rotations (default 365)' } },
  run(ctx, input, call) {
    const period = input.RotationPeriodInDays ?? 365;
    const key = customerManagedKey(ctx, call, input.KeyId, { rotationPeriodInDays: input.RotationPeriodInDays });
    call.env.keys.enableRotation(key.keyId, period, new Date(Date.now() + period * 86400_000));
    return { response: {} };
  },
});

export const DisableKeyRotation = kmsOperation({
  name: 'DisableKeyRotation',
  description: 'Stop automatic rotation',
  readOnly: false,
  ext: { keyStates: ['Enabled'], grantable: false },
  input: { KeyId: KEY_ID },
  run(ctx, input, call) {
    call.env.keys.disableRotation(customerManagedKey(ctx, call, input.KeyId).keyId);
    return { response: {} };
  },
});

export const GetKeyRotationStatus = kmsOperation({
  name: 'GetKeyRotationStatus',
  description: 'Is automatic rotation on?',
  readOnly: true,
  ext: { keyStates: ['Enabled', 'Disabled'], grantable: false, crossAccount: true },
  input: { KeyId: KEY_ID },
  run(ctx, input, call) {
    const key = usableKey(ctx, call, input.KeyId);
    const response: Record<string, unknown> = { KeyId: key.arn, KeyRotationEnabled: key.rotationEnabled };
    if (key.rotationEnabled) {
      response.RotationPeriodInDays = key.rotationPeriodDays ?? 365;
      if (key.nextRotationAt) response.NextRotationDate = key.nextRotationAt;
    }
    const onDemand = call.env.keys.rotations(key.keyId).filter((r) => r.rotationType === 'ON_DEMAND').pop();
    if (onDemand) response.OnDemandRotationStartDate = onDemand.createdAt;
    return { response };
  },
});

export const RotateKeyOnDemand = kmsOperation({
  name: 'RotateKeyOnDemand',
  description: 'Rotate the key material now (old ciphertexts still decrypt)',
  readOnly: false,
  ext: { keyStates: ['Enabled'], grantable: false },
  input: { KeyId: KEY_ID },
  run(ctx, input, call) {
    const key = customerManagedKey(ctx, call, input.KeyId);
    call.env.keys.rotate(key, 'ON_DEMAND');
    return { response: { KeyId: key.arn }, responseElements: { keyId: key.arn } };
  },
});
