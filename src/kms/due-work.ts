// Work KMS does by itself when its time comes, before the next call is served: deleting keys
// whose waiting period ended, and rotating keys whose automatic rotation is due. Recorded as
// AWS records it, as service events (DeleteKey, RotateKey). Reads never do this work.
import type { Recorder } from '../api/index.js';
import type { KeyStore, KmsKey } from './keys.js';

const EVENT_SOURCE = 'kms.amazonaws.com';

export function runDueWork(keys: KeyStore, recorder: Recorder, now = new Date()): void {
  const next = keys.nextDueAt();
  if (next === undefined || next > now.getTime()) return;
  const { deletions, rotations } = keys.due(now);
  for (const key of deletions) {
    // Another process may have done it first: only the one that did records it.
    if (keys.deleteIfDue(key.keyId, now)) {
      recorder.serviceEvent({ ...event(key, 'DeleteKey'), responseElements: { keyId: key.arn } });
    }
  }
  for (const key of rotations) {
    if (keys.rotateIfDue(key.keyId, now)) {
      recorder.serviceEvent({ ...event(key, 'RotateKey'), serviceEventDetails: { rotationType: 'AUTOMATIC', keyId: key.keyId } });
    }
  }
}

function event(key: KmsKey, eventName: string) {
  return {
    eventSource: EVENT_SOURCE,
    eventName,
    accountId: key.accountId,
    region: key.region,
    resources: [{ accountId: key.accountId, type: 'AWS::KMS::Key', ARN: key.arn }],
  };
}
