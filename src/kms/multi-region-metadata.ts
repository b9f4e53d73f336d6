// A key's metadata as DescribeKey shows it, with a multi-Region key's set: its type, its primary
// key and its replica keys (every key of the set but the primary, the described key included, as
// the API reference's ReplicateKey example shows them).
import { keyArnOf, keyMetadata, type ImportedMaterialFacts, type KeyStore, type KmsKey } from './keys.js';
import { isMultiRegionKeyId, type MultiRegionConfiguration } from './multi-region.js';

/** The set of a multi-Region key as seen from `key`; undefined for a single-Region key. */
export function multiRegionConfiguration(keys: KeyStore, key: KmsKey): MultiRegionConfiguration | undefined {
  if (!isMultiRegionKeyId(key.keyId)) return undefined;
  const primaryRegion = keys.primaryRegionOf(key.keyId) ?? key.region;
  return {
    MultiRegionKeyType: key.region === primaryRegion ? 'PRIMARY' : 'REPLICA',
    PrimaryKey: { Arn: keyArnOf(primaryRegion, key.accountId, key.keyId), Region: primaryRegion },
    ReplicaKeys: keys
      .relatedKeys(key)
      .filter((k) => k.region !== primaryRegion)
      .map((k) => ({ Arn: k.arn, Region: k.region })),
  };
}

/** KeyMetadata of `key` (a key of `keys`' Region or another account's there), with its multi-Region set and what its imported material adds. */
export function describedMetadata(keys: KeyStore, key: KmsKey, imported?: ImportedMaterialFacts): Record<string, unknown> {
  return keyMetadata(key, { multiRegion: multiRegionConfiguration(keys, key), imported });
}

/** Whether `key` is the primary key of a multi-Region set. */
export function isPrimaryKey(keys: KeyStore, key: KmsKey): boolean {
  return isMultiRegionKeyId(key.keyId) && (keys.primaryRegionOf(key.keyId) ?? key.region) === key.region;
}
