// Work KMS does by itself when its time comes, before the next call is served: deleting keys
// whose waiting period ended, rotating keys whose automatic rotation is due, and deleting
// imported key material whose ValidTo has passed. Recorded as AWS records it, as service events
// (DeleteKey, RotateKey, DeleteExpiredKeyMaterial). Reads never do this work.
import type { Recorder } from '../api/index.js';
import type { KeyStore, KmsKey } from './keys.js';
import type { ImportedMaterialStore } from './imported-material.js';

const EVENT_SOURCE = 'kms.amazonaws.com';

export function runDueWork(keys: KeyStore, imports: ImportedMaterialStore, recorder: Recorder, now = new Date()): void {
  const expiry = imports.nextDueAt();
  if (expiry !== undefined && expiry <= now.getTime()) expireKeyMaterial(keys, imports, recorder, now);
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

/** "When the key material expires, KMS deletes the key material": the key goes to PendingImport. */
function expireKeyMaterial(keys: KeyStore, imports: ImportedMaterialStore, recorder: Recorder, now: Date): void {
  for (const { keyId, version } of imports.due(now)) {
    const key = keys.getInHome(keyId, now);
    const keyMaterialId = imports.expireIfDue(keyId, version, now);
    if (key && keyMaterialId) recorder.serviceEvent({ ...event(key, 'DeleteExpiredKeyMaterial'), serviceEventDetails: { keyId, keyMaterialId } });
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
