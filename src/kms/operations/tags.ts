// TagResource, UntagResource and ListResourceTags: a customer managed key's tags (kms/tags.ts has
// the rules and the store). Tags decide access where a policy asks (aws:ResourceTag/…, and for
// these calls aws:RequestTag/… and aws:TagKeys: kms/authorize.ts).
// https://docs.aws.amazon.com/kms/latest/APIReference/API_TagResource.html
import { kmsOperation } from '../operation.js';
import { paginate } from '../paginate.js';
import { checkTagKey, requestTags } from '../tags.js';
import { usableKey } from '../usable-key.js';
import { customerManagedKey } from './managed-key.js';
import { KEY_ID_OR_ARN, LIMIT, MARKER, TAG_KEY, TAGS } from './members.js';

/**
 * The key-state table of the KMS Developer Guide (key-state.html): TagResource and UntagResource
 * on Enabled, Disabled and PendingImport keys, not on a key pending deletion
 * (KMSInvalidStateException); ListResourceTags in every state.
 */
const changeStates = ['Enabled', 'Disabled', 'PendingImport'] as const;

export const TagResource = kmsOperation({
  name: 'TagResource',
  description: "Add tags to a customer managed key, or replace a tag's value",
  readOnly: false,
  ext: { keyStates: changeStates, grantable: false },
  input: { KeyId: KEY_ID_OR_ARN, Tags: { ...TAGS, required: true } },
  run(ctx, input, call) {
    const tags = requestTags(input.Tags);
    // An AWS managed key's policy allows no one kms:TagResource: AccessDeniedException.
    const key = customerManagedKey(ctx, call, input.KeyId, { requestTags: tags, tagKeys: [...tags.keys()] });
    call.env.tags.tag(key.keyId, tags);
    return { response: {} };
  },
});

export const UntagResource = kmsOperation({
  name: 'UntagResource',
  description: 'Remove tags from a customer managed key (a tag key it does not have is ignored)',
  readOnly: false,
  ext: { keyStates: changeStates, grantable: false },
  input: { KeyId: KEY_ID_OR_ARN, TagKeys: { kind: 'list', member: TAG_KEY, required: true, doc: 'tag keys, space-separated' } },
  run(ctx, input, call) {
    input.TagKeys.forEach(checkTagKey);
    const key = customerManagedKey(ctx, call, input.KeyId, { tagKeys: input.TagKeys });
    call.env.tags.untag(key.keyId, input.TagKeys);
    // As the KMS Developer Guide's UntagResource record (since December 2022): the key's ARN, though the response has none.
    return { response: {}, responseElements: { keyId: key.arn } };
  },
});

export const ListResourceTags = kmsOperation({
  name: 'ListResourceTags',
  description: "List a key's tags",
  readOnly: true,
  ext: { keyStates: ['Enabled', 'Disabled', 'PendingDeletion', 'PendingImport'], grantable: false },
  // "If you include a value, it must be between 1 and 50, inclusive. If you do not include a value, it defaults to 50."
  input: { KeyId: KEY_ID_OR_ARN, Limit: { ...LIMIT, max: 50 }, Marker: MARKER },
  run(ctx, input, call) {
    const key = usableKey(ctx, call, input.KeyId);
    const all = [...call.env.tags.tagsOf(key.keyId)].map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
    const page = paginate(all, { Limit: input.Limit ?? 50, Marker: input.Marker });
    return { response: { Tags: page.items, ...page.tail } };
  },
});
