// `X-Amz-Target: TrentService.<Operation>` → KmsService.call. Only decoding happens here, with
// the wire types derived from the KMS declarations: the service validates, authorizes, runs and
// records the call, exactly as for the CLI.
import { serviceMembers } from '../api/index.js';
import type { CallContext } from '../core/call-context.js';
import { KMS_SERVICE, type KmsService } from '../kms/index.js';
import { decodeBody } from './json-protocol.js';
import { shapesOf } from './shapes.js';

export const KMS_TARGET_PREFIX = 'TrentService.';

/**
 * The wire types of every request member the KMS operations declare (a member name has one shape
 * across AWS's KMS operations, so one table serves them all: a member sent to the wrong operation
 * is still decoded, and refused by name by the service).
 */
export const KMS_SHAPES = shapesOf(serviceMembers(KMS_SERVICE));

export function handleKms(kms: KmsService, ctx: CallContext, operation: string, body: Uint8Array): Record<string, unknown> {
  const params = decodeBody(body, KMS_SHAPES);
  return kms.call(ctx, operation, params);
}
