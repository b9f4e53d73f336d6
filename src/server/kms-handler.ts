// `X-Amz-Target: TrentService.<Operation>` → KmsService.call. Only decoding happens here: the
// service validates, authorizes, runs and records the call, exactly as for the CLI.
import type { CallContext } from '../core/call-context.js';
import type { KmsService } from '../kms/service.js';
import { decodeBody } from './json-protocol.js';
import type { Shape } from './shapes.js';

export const KMS_TARGET_PREFIX = 'TrentService.';

const CONTEXT: Shape = { map: 'string' };
const members = (shape: Shape, names: string[]) => names.map((n) => [n, shape] as const);

/**
 * The wire types of every request member the KMS operations accept, from AWS's KMS model (a
 * member name has one shape across all operations). Types only: bounds are the domain's.
 */
export const KMS_SHAPES: ReadonlyMap<string, Shape> = new Map<string, Shape>([
  ...members('string', [
    'KeyId', 'AliasName', 'TargetKeyId', 'Marker', 'GrantId', 'GranteePrincipal', 'RetiringPrincipal', 'GrantToken', 'Name',
    'Description', 'KeyUsage', 'KeySpec', 'CustomerMasterKeySpec', 'Origin', 'Policy', 'CustomKeyStoreId', 'EncryptionAlgorithm',
    'SourceKeyId', 'DestinationKeyId', 'SourceEncryptionAlgorithm', 'DestinationEncryptionAlgorithm',
  ]),
  ...members('integer', ['Limit', 'NumberOfBytes', 'PendingWindowInDays', 'RotationPeriodInDays']),
  ...members('boolean', ['MultiRegion', 'BypassPolicyLockoutSafetyCheck']),
  ...members('blob', ['Plaintext', 'CiphertextBlob']),
  ...members({ list: 'string' }, ['GrantTokens', 'Operations']),
  ...members(CONTEXT, ['EncryptionContext', 'SourceEncryptionContext', 'DestinationEncryptionContext']),
  ['Constraints', { structure: { EncryptionContextSubset: CONTEXT, EncryptionContextEquals: CONTEXT } }],
  ['Tags', { list: { structure: { TagKey: 'string', TagValue: 'string' } } }],
  ['Recipient', { structure: { KeyEncryptionAlgorithm: 'string', AttestationDocument: 'blob' } }],
]);

export function handleKms(kms: KmsService, ctx: CallContext, operation: string, body: Uint8Array): Record<string, unknown> {
  const params = decodeBody(body, KMS_SHAPES);
  return kms.call(ctx, operation, params);
}
