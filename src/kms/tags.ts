// A key's tags: the rules a tag must follow, and the store of each key's tags.
//
// Sources: TagResource, UntagResource and Tag in the KMS API Reference (a tag key 1-128 characters,
// a value 0-256, "you cannot have more than one tag on a KMS key with the same tag key", an
// existing key's value is replaced, removing an absent key is not an error, no AWS managed keys),
// "Tags in AWS KMS" (at most 50 tags per key; letters, digits, spaces and _ . : / = + - @; the
// reserved aws: prefix). AWS's words for a refused tag are TagException "Tags beginning with aws:
// are reserved", "Invalid tag", "Duplicate tag keys" and "Too many tags" (as the AWS-validated
// snapshots of LocalStack's KMS tests and CloudTrail records of refused CreateKey calls show them).
// https://docs.aws.amazon.com/kms/latest/APIReference/API_TagResource.html
// https://docs.aws.amazon.com/kms/latest/developerguide/tagging-keys.html
//
// Tags are Maps, never plain objects: "__proto__" or "constructor" as a tag key is just a tag.
import { TagException } from '../errors/index.js';
import type { Db } from '../store/database.js';
import { immediate } from '../store/database.js';
import { ReadCache } from '../store/read-cache.js';
import { storageKeyId } from './multi-region.js';

/** "Tags per KMS key: 50" (KMS quotas). */
export const MAX_TAGS_PER_KEY = 50;

export const TAG_MESSAGES = {
  reserved: 'Tags beginning with aws: are reserved',
  invalid: 'Invalid tag',
  duplicate: 'Duplicate tag keys',
  tooMany: 'Too many tags',
} as const;

/** The characters AWS allows in tag keys and values: Unicode letters, digits, white space, and _ . : / = + - @. */
const TAG_CHARACTERS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

export interface Tag {
  TagKey: string;
  TagValue: string;
}

/** Refuses a tag key AWS refuses (TagException): the aws: prefix in any case, or a character outside the allowed set. */
export function checkTagKey(key: string): void {
  if (key.toLowerCase().startsWith('aws:')) throw new TagException(TAG_MESSAGES.reserved);
  if (!TAG_CHARACTERS.test(key)) throw new TagException(TAG_MESSAGES.invalid);
}

/**
 * The tags of a request (CreateKey, TagResource) as a Map in the order given, each checked; a tag
 * key given twice, or more than 50 tags, is refused. Lengths were checked against the model
 * already (ValidationException).
 */
export function requestTags(tags: readonly Tag[] | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const t of tags ?? []) {
    checkTagKey(t.TagKey);
    if (!TAG_CHARACTERS.test(t.TagValue)) throw new TagException(TAG_MESSAGES.invalid);
    if (out.has(t.TagKey)) throw new TagException(TAG_MESSAGES.duplicate);
    out.set(t.TagKey, t.TagValue);
  }
  if (out.size > MAX_TAGS_PER_KEY) throw new TagException(TAG_MESSAGES.tooMany);
  return out;
}

/** Adds or replaces tags; call inside a write transaction (KeyStore.create) or through KeyTagStore.tag. */
export function writeKeyTags(db: Db, keyId: string, tags: ReadonlyMap<string, string>): void {
  const put = db.prepare('INSERT INTO kms_key_tags (key_id, tag_key, tag_value) VALUES (?, ?, ?) ON CONFLICT (key_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value');
  for (const [k, v] of tags) put.run(keyId, k, v);
}

/** The tags of the keys of one Region. */
export class KeyTagStore {
  private readonly byKey;
  private readonly cache: ReadCache<ReadonlyMap<string, string>>;

  constructor(
    private readonly db: Db,
    private readonly region: string,
  ) {
    this.byKey = db.prepare('SELECT tag_key, tag_value FROM kms_key_tags WHERE key_id = ? ORDER BY tag_key').raw();
    this.cache = new ReadCache(db);
  }

  /** The key's tags by tag key, ordered by key (ListResourceTags; aws:ResourceTag/… on every decision that asks). Cached until the next write. */
  tagsOf(keyId: string): ReadonlyMap<string, string> {
    return this.cache.get(keyId, () => new Map(this.byKey.all(storageKeyId(keyId, this.region)) as [string, string][]));
  }

  /** Adds or replaces tags; refused (TagException) if the key would then have more than 50. */
  tag(keyId: string, tags: ReadonlyMap<string, string>): void {
    immediate(this.db, () => {
      // Inside the write lock, ask the database itself: the cache may lag another process.
      const sid = storageKeyId(keyId, this.region);
      const existing = new Set((this.byKey.all(sid) as [string, string][]).map(([k]) => k));
      let count = existing.size;
      for (const k of tags.keys()) if (!existing.has(k)) count++;
      if (count > MAX_TAGS_PER_KEY) throw new TagException(TAG_MESSAGES.tooMany);
      writeKeyTags(this.db, sid, tags);
    });
  }

  /** Removes the tags with these keys; a key the key does not have is ignored, as AWS ignores it. */
  untag(keyId: string, tagKeys: readonly string[]): void {
    immediate(this.db, () => {
      const del = this.db.prepare('DELETE FROM kms_key_tags WHERE key_id = ? AND tag_key = ?');
      for (const k of tagKeys) del.run(storageKeyId(keyId, this.region), k);
    });
  }
}
