// Multi-Region keys in the store. A set of related keys (a primary and its replicas) shares one
// key ID, `mrk-` and 32 hex digits, across Regions; each key of the set is still a key of its own
// Region with its own row, policy, tags, grants, aliases and key state. Key IDs are otherwise
// unique in the home, and every table names a key by its `key_id`: so a multi-Region key's rows are
// stored under a storage ID that adds the Region (`mrk-…/eu-west-1`), and only the store sees it.
//
// What the keys of a set share (API reference, ReplicateKey: "the same key ID and key material…
// key spec, key usage, key material origin, and automatic key rotation status") is copied from the
// key that changed to the others, in the same transaction: every version of the material (each
// copy wrapped under the root key for its own key ARN, as KeyStore wraps it) and the rotation columns.
import { randomBytes } from 'node:crypto';
import type { Db } from '../store/database.js';
import type { RootKey } from '../store/root-key.js';

export const MULTI_REGION_KEY_ID = /^mrk-[0-9a-f]{32}$/;

export function isMultiRegionKeyId(keyId: string): boolean {
  return MULTI_REGION_KEY_ID.test(keyId);
}

/** A new multi-Region key ID: `mrk-` and 128 random bits in hex, as AWS's look. */
export function newMultiRegionKeyId(): string {
  return `mrk-${randomBytes(16).toString('hex')}`;
}

/** The `key_id` a key's rows are stored under in `region` (a single-Region key's is its key ID). */
export function storageKeyId(keyId: string, region: string): string {
  return isMultiRegionKeyId(keyId) ? `${keyId}/${region}` : keyId;
}

/** The key ID a stored `key_id` stands for. */
export function publicKeyId(storageId: string): string {
  const slash = storageId.indexOf('/');
  return slash < 0 ? storageId : storageId.slice(0, slash);
}

/** DescribeKey's MultiRegionConfiguration of a multi-Region key (multi-region-metadata.ts builds it). */
export interface MultiRegionConfiguration {
  MultiRegionKeyType: 'PRIMARY' | 'REPLICA';
  PrimaryKey: { Arn: string; Region: string };
  ReplicaKeys: { Arn: string; Region: string }[];
}

/** Columns the keys of a set share: the material's current version and automatic rotation. */
const SHARED_COLUMNS = ['current_version', 'rotation_enabled', 'rotation_period_days', 'next_rotation_at'] as const;

export interface SetRow {
  key_id: string;
  region: string;
  arn: string;
  key_state: string;
  deletion_date: string | null;
  pending_window_days: number | null;
  [column: string]: unknown;
}

/** Every stored key of the set `keyId` names (in Region order), whatever their dates say. */
export function rowsOfSet(db: Db, keyId: string): SetRow[] {
  return db.prepare('SELECT * FROM kms_keys WHERE key_id >= ? AND key_id < ? ORDER BY region').all(`${keyId}/`, `${keyId}0`) as SetRow[];
}

/** The Region of the set's primary key (undefined: not a multi-Region key, or none stored). */
export function primaryRegionOf(db: Db, keyId: string): string | undefined {
  if (!isMultiRegionKeyId(keyId)) return undefined;
  return db.prepare('SELECT primary_region FROM kms_multi_region_keys WHERE key_id = ?').pluck().get(keyId) as string | undefined;
}

export function setPrimaryRegion(db: Db, keyId: string, accountId: string, region: string): void {
  db.prepare(
    `INSERT INTO kms_multi_region_keys (key_id, account_id, primary_region) VALUES (?, ?, ?)
     ON CONFLICT (key_id) DO UPDATE SET primary_region = excluded.primary_region`,
  ).run(keyId, accountId, region);
}

/** The label the root key wraps a version under: it must match KeyStore's (material, insertVersion). */
const wrapLabel = (arn: string, version: number) => `${arn}#${version}`;

/**
 * Copies what the set shares from the key stored in `fromRegion` to its related keys: the shared
 * columns, and each version of the material a related key lacks. Call inside a write transaction,
 * after the change (a rotation, a change of rotation, a new replica). A single-Region key: nothing.
 */
export function syncRelatedKeys(db: Db, rootKey: RootKey, keyId: string, fromRegion: string): void {
  if (!isMultiRegionKeyId(keyId)) return;
  const rows = rowsOfSet(db, keyId);
  const from = rows.find((r) => r.region === fromRegion);
  if (!from) return;
  const versionColumns = columnsOf(db, 'kms_key_versions');
  const versionsOf = db.prepare('SELECT * FROM kms_key_versions WHERE key_id = ? ORDER BY version');
  const insertVersion = db.prepare(`INSERT INTO kms_key_versions (${versionColumns.join(', ')}) VALUES (${versionColumns.map(() => '?').join(', ')})`);
  const updateShared = db.prepare(`UPDATE kms_keys SET ${SHARED_COLUMNS.map((c) => `${c} = ?`).join(', ')} WHERE key_id = ?`);
  const sourceVersions = versionsOf.all(from.key_id) as Record<string, unknown>[];
  for (const to of rows) {
    if (to.key_id === from.key_id) continue;
    updateShared.run(...SHARED_COLUMNS.map((c) => from[c] as string | number | null), to.key_id);
    const has = new Set((versionsOf.all(to.key_id) as { version: number }[]).map((v) => v.version));
    for (const v of sourceVersions) {
      const version = v.version as number;
      if (has.has(version)) continue;
      const material = rootKey.unwrap(v.wrapped_material as Buffer, wrapLabel(from.arn, version));
      const wrapped = rootKey.wrap(material, wrapLabel(to.arn, version));
      material.fill(0);
      insertVersion.run(...versionColumns.map((c) => (c === 'key_id' ? to.key_id : c === 'wrapped_material' ? wrapped : v[c])));
    }
  }
}

/**
 * Inserts a replica of the key stored as `from` in `region`: a copy of its row (every column, so
 * what other features add to a key is copied too) with the replica's own identity, description and
 * state; then its material (syncRelatedKeys). Call inside a write transaction.
 */
export function insertReplicaRow(db: Db, rootKey: RootKey, from: SetRow, region: string, arn: string, description: string, createdAt: Date): string {
  const keyId = publicKeyId(from.key_id);
  const storageId = storageKeyId(keyId, region);
  const own: Record<string, unknown> = {
    key_id: storageId, region, arn, description, key_state: 'Enabled', created_at: createdAt.toISOString(), deletion_date: null, pending_window_days: null,
  };
  const columns = columnsOf(db, 'kms_keys');
  db.prepare(`INSERT INTO kms_keys (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`).run(
    ...columns.map((c) => (c in own ? own[c] : from[c])),
  );
  syncRelatedKeys(db, rootKey, keyId, from.region);
  return storageId;
}

/**
 * After a key of a set is deleted: a primary waiting for its replicas (PendingReplicaDeletion)
 * starts its own waiting period when the last one is gone (API reference, ScheduleKeyDeletion);
 * a set with no key left is forgotten. Call inside the deleting transaction.
 */
export function afterSetKeyDeleted(db: Db, keyId: string, now: Date): void {
  if (!isMultiRegionKeyId(keyId)) return;
  const rows = rowsOfSet(db, keyId);
  if (rows.length === 0) {
    db.prepare('DELETE FROM kms_multi_region_keys WHERE key_id = ?').run(keyId);
    return;
  }
  const primary = rows.find((r) => r.region === primaryRegionOf(db, keyId));
  if (rows.length === 1 && primary?.key_state === 'PendingReplicaDeletion') {
    const days = primary.pending_window_days ?? 30;
    db.prepare("UPDATE kms_keys SET key_state = 'PendingDeletion', deletion_date = ? WHERE key_id = ?").run(
      new Date(now.getTime() + days * 86400_000).toISOString(),
      primary.key_id,
    );
  }
}

function columnsOf(db: Db, table: string): string[] {
  return (db.prepare(`SELECT name FROM pragma_table_info('${table}')`).pluck().all() as string[]);
}
