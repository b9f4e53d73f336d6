// `X-Amz-Target: TrentService.<Operation>` → KmsService.call. Only decoding happens here: the
// service validates, authorizes, runs and records the call, exactly as for the CLI.
import type { CallContext } from '../iam/principal.js';
import type { KmsService } from '../kms/service.js';
import { decodeBody } from './json-protocol.js';

export const KMS_TARGET_PREFIX = 'TrentService.';
/** The KMS members of type blob that can appear in a request (base64 on the wire). */
const BLOB_MEMBERS = ['Plaintext', 'CiphertextBlob'] as const;

export function handleKms(kms: KmsService, ctx: CallContext, operation: string, body: Uint8Array): Record<string, unknown> {
  const params = decodeBody(body, BLOB_MEMBERS);
  return kms.call(ctx, operation, params);
}
