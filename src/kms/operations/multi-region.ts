// ReplicateKey and UpdatePrimaryRegion: the operations on a set of multi-Region keys
// (kms/multi-region.ts). Both act in two Regions of the caller's account: the Region called (the
// primary key's) and the one named in the request, whose stores come from `env.inRegion`.
// https://docs.aws.amazon.com/kms/latest/APIReference/API_ReplicateKey.html
// https://docs.aws.amazon.com/kms/latest/APIReference/API_UpdatePrimaryRegion.html
import type { CallContext } from '../../core/call-context.js';
import { isCommercialRegion } from '../../core/regions.js';
import { AlreadyExistsException, UnsupportedOperationException, ValidationException } from '../../errors/index.js';
import { authorize, authorizeAccountAction } from '../authorize.js';
import { runDueWork } from '../due-work.js';
import { assertStateAllows } from '../key-state.js';
import { keyArnOf, type KeyStore, type KmsKey } from '../keys.js';
import { describedMetadata, isPrimaryKey } from '../multi-region-metadata.js';
import { isMultiRegionKeyId } from '../multi-region.js';
import { kmsOperation } from '../operation.js';
import { requestTags } from '../tags.js';
import { camelMetadata } from './metadata.js';
import { acceptPolicy } from './key-policy.js';
import { customerManagedKey } from './managed-key.js';
import { BYPASS_LOCKOUT_CHECK, KEY_ID_OR_ARN, POLICY, TAGS } from './members.js';

/** AWS's RegionType: "us-east-1", "ap-southeast-2". */
const REGION = { kind: 'string', required: true, min: 1, max: 32, pattern: /^([a-z]+-){2,3}\d+$/ } as const;

/**
 * Only a set's primary key is replicated, and only it changes the primary Region (API reference:
 * "Specify the key ID or key ARN of a multi-Region primary key"). AWS's messages for the two
 * refusals are not documented: ebsim's wording (docs/known-differences.md).
 */
export function requirePrimaryKey(keys: KeyStore, key: KmsKey): void {
  if (!isMultiRegionKeyId(key.keyId)) throw new UnsupportedOperationException(`${key.arn} is not a multi-Region key.`);
  if (!isPrimaryKey(keys, key)) throw new UnsupportedOperationException(`${key.arn} is not a multi-Region primary key.`);
}

/**
 * Automatic and on-demand rotation are set on a set's primary key and apply to all its keys ("To
 * enable or disable automatic rotation of a set of related multi-Region keys, set the property on
 * the primary key"): a replica refuses them, in ebsim's words (docs/known-differences.md).
 */
export function refuseReplicaKey(keys: KeyStore, key: KmsKey): void {
  if (!isMultiRegionKeyId(key.keyId) || isPrimaryKey(keys, key)) return;
  const primaryRegion = keys.primaryRegionOf(key.keyId)!;
  throw new UnsupportedOperationException(`${key.arn} is a multi-Region replica key: rotate its primary key ${keyArnOf(primaryRegion, key.accountId, key.keyId)} instead.`);
}

/** A Region named in a request: one of AWS's commercial Regions (the partition of every key here). */
function requestedRegion(region: string, member: string): string {
  if (!isCommercialRegion(region)) throw new ValidationException(`${member} ${region} is not a Region of the aws partition in which KMS is available.`);
  return region;
}

export const ReplicateKey = kmsOperation({
  name: 'ReplicateKey',
  description: 'Replicate a multi-Region primary key into another Region (same key ID and key material)',
  readOnly: false,
  // DisabledException and KMSInvalidStateException are among ReplicateKey's errors: only an Enabled primary key is replicated.
  ext: { keyStates: ['Enabled'], grantable: false },
  input: {
    KeyId: KEY_ID_OR_ARN,
    ReplicaRegion: { ...REGION, doc: 'the Region of the new replica key' },
    Policy: POLICY,
    BypassPolicyLockoutSafetyCheck: BYPASS_LOCKOUT_CHECK,
    Description: { kind: 'string', min: 0, max: 8192 },
    Tags: TAGS,
  },
  run(ctx, input, call) {
    const { keys } = call.env;
    const primary = customerManagedKey(ctx, call, input.KeyId, { allowAlias: false, replicaRegion: input.ReplicaRegion });
    requirePrimaryKey(keys, primary);
    if (primary.origin !== 'AWS_KMS') throw new UnsupportedOperationException('ebsim does not yet replicate multi-Region keys with imported key material.');
    const region = requestedRegion(input.ReplicaRegion, 'ReplicaRegion');
    const there = call.env.inRegion(region);
    // "kms:CreateKey in an IAM policy in the replica Region"; with Tags, kms:TagResource too.
    const inReplicaRegion: CallContext = { ...ctx, region };
    const tags = requestTags(input.Tags);
    const tagFacts = tags.size ? { requestTags: tags, tagKeys: [...tags.keys()] } : {};
    authorizeAccountAction(there, inReplicaRegion, 'CreateKey', {
      keySpec: primary.keySpec, keyUsage: primary.keyUsage, origin: primary.origin, multiRegion: true, bypassPolicyLockoutSafetyCheck: input.BypassPolicyLockoutSafetyCheck, ...tagFacts,
    });
    if (tags.size) authorizeAccountAction(there, inReplicaRegion, 'TagResource', tagFacts);
    const arn = keyArnOf(region, primary.accountId, primary.keyId);
    if (input.Policy !== undefined) {
      acceptPolicy(there, inReplicaRegion, { keyId: primary.keyId, arn, accountId: primary.accountId, region }, input.Policy, input.BypassPolicyLockoutSafetyCheck);
    }
    // A replica there whose waiting period has ended is deleted first, as that Region would have done.
    runDueWork(there.keys, there.imports, call.env.recorder);
    keys.replicate(primary, region, {
      description: input.Description ?? '',
      policy: input.Policy,
      tags,
      exists: () => {
        throw new AlreadyExistsException(`The multi-Region key ${arn} already exists.`);
      },
    });
    const replica = there.keys.get(primary.keyId)!;
    // "A ReplicateKey request results in a ReplicateKey operation and a CreateKey operation": the
    // latter in the replica's Region, where it made the key.
    call.env.recorder.serviceEvent({
      eventSource: 'kms.amazonaws.com',
      eventName: 'CreateKey',
      accountId: replica.accountId,
      region,
      resources: [{ accountId: replica.accountId, type: 'AWS::KMS::Key', ARN: replica.arn }],
      responseElements: { keyMetadata: camelMetadata(describedMetadata(there.keys, replica)) },
    });
    const metadata = describedMetadata(there.keys, replica);
    const policy = there.policies.text(replica, () => there.keys.aliasNamesOf(replica.keyId));
    const replicaTags = [...there.tags.tagsOf(replica.keyId)].map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
    return {
      response: { ReplicaKeyMetadata: metadata, ReplicaPolicy: policy, ReplicaTags: replicaTags },
      responseElements: { replicaKeyMetadata: camelMetadata(metadata), replicaPolicy: policy, replicaTags: replicaTags.map((t) => ({ tagKey: t.TagKey, tagValue: t.TagValue })) },
    };
  },
});

export const UpdatePrimaryRegion = kmsOperation({
  name: 'UpdatePrimaryRegion',
  description: 'Make the replica key in another Region the primary key of its multi-Region set',
  readOnly: false,
  // DisabledException is among its errors: both keys must be Enabled.
  ext: { keyStates: ['Enabled'], grantable: false },
  input: { KeyId: KEY_ID_OR_ARN, PrimaryRegion: { ...REGION, doc: 'the Region of the replica key that becomes the primary key' } },
  run(ctx, input, call) {
    const { keys } = call.env;
    const primary = customerManagedKey(ctx, call, input.KeyId, { allowAlias: false, primaryRegion: input.PrimaryRegion });
    requirePrimaryKey(keys, primary);
    const region = requestedRegion(input.PrimaryRegion, 'PrimaryRegion');
    // AWS does not document its answer for the Region of the primary key itself: nothing to change.
    if (region === primary.region) throw new UnsupportedOperationException(`${primary.arn} is already the primary key in ${region}.`);
    const there = call.env.inRegion(region);
    // "There must be an existing replica key in this Region": the key of the set there, or AWS's NotFoundException for it.
    const replica = there.keys.resolve(keyArnOf(region, primary.accountId, primary.keyId), false);
    // "kms:UpdatePrimaryRegion on the current replica key (in the replica key's Region)", by its own key policy.
    call.resources.push({ ARN: replica.arn, accountId: replica.accountId });
    authorize(there, { ...ctx, region }, replica, 'UpdatePrimaryRegion', { keyIdParam: replica.arn, primaryRegion: region });
    assertStateAllows(replica.keyState, call.env.facts.keyStatesOf(call.operation), replica.arn);
    keys.setPrimaryRegion(primary.keyId, region);
    return { response: {} };
  },
});
