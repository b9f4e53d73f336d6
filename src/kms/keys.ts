// CMKs in the store: metadata rows, wrapped key-material versions, aliases, and the one
// place that turns a KeyId parameter (key ID, key ARN, alias name or alias ARN) into a key.
// A store belongs to one account and Region; it also finds keys of the home's other accounts in
// its Region, but only by key ARN or alias ARN, and only for operations that AWS allows across
// accounts (a bare key ID or alias name always means the caller's own account). A multi-Region
// key's rows are stored under `mrk-…/REGION` (multi-region.ts): `sid` maps a key ID to its rows here.
import { randomUUID } from 'node:crypto';
import type { Db } from '../store/database.js';
import { immediate } from '../store/database.js';
import type { RootKey } from '../store/root-key.js';
import { ReadCache } from '../store/read-cache.js';
import { AwsError, NotFoundException, InvalidArnException } from '../errors/index.js';
import type { KeyState } from './key-state.js';
import { isAwsManagedAlias } from './aws-managed-aliases.js';
import { writeKeyPolicy } from './key-policy.js';
import { writeKeyTags } from './tags.js';
import { algorithmsOf, type KeySpec, type KeyUsage } from './key-specs.js';
import { newKeyMaterial } from './key-material.js';
import {
  afterSetKeyDeleted, insertReplicaRow, isMultiRegionKeyId, primaryRegionOf, publicKeyId, rowsOfSet, setPrimaryRegion, storageKeyId, syncRelatedKeys,
  type MultiRegionConfiguration,
} from './multi-region.js';
import { generatedKeyMaterialId } from './key-material-id.js';

export type KeyManager = 'CUSTOMER' | 'AWS';
export type KeyOrigin = 'AWS_KMS' | 'EXTERNAL';

export interface KmsKey {
  keyId: string;
  accountId: string;
  region: string;
  arn: string;
  description: string;
  keyUsage: KeyUsage;
  keySpec: KeySpec;
  keyState: KeyState;
  keyManager: KeyManager;
  origin: KeyOrigin;
  createdAt: Date;
  deletionDate?: Date;
  pendingWindowDays?: number;
  rotationEnabled: boolean;
  rotationPeriodDays?: number;
  nextRotationAt?: Date;
  currentVersion: number;
}

/** A place in ListKeys' order: a stored key's creation time and stored ID, as its row has them. */
export interface KeyCursor {
  createdAt: string;
  keyId: string;
}

interface KeyRow {
  key_id: string;
  account_id: string;
  region: string;
  arn: string;
  description: string;
  key_usage: KeyUsage;
  key_spec: KeySpec;
  key_state: KeyState;
  key_manager: KeyManager;
  origin: KeyOrigin;
  created_at: string;
  deletion_date: string | null;
  pending_window_days: number | null;
  rotation_enabled: number;
  rotation_period_days: number | null;
  next_rotation_at: string | null;
  current_version: number;
}

export interface KmsAlias {
  AliasName: string;
  AliasArn: string;
  TargetKeyId: string;
  CreationDate: Date;
  LastUpdatedDate: Date;
}

export const keyArnOf = (region: string, account: string, keyId: string) => `arn:aws:kms:${region}:${account}:key/${keyId}`;
export const aliasArnOf = (region: string, account: string, alias: string) => `arn:aws:kms:${region}:${account}:${alias}`;

const KEY_ID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;
/** Unwrapped key material per "keyId/version": kept in process memory only, never on disk. */
type MaterialCache = Map<string, Buffer>;

export class KeyStore {
  private readonly materials: MaterialCache = new Map();
  private readonly byId;
  private readonly byIdInRegion;
  private readonly aliasTarget;
  private readonly cache: ReadCache<{ target_key_id: string } | undefined>;
  private readonly keyCache: ReadCache<KmsKey | undefined>;
  private readonly dueCache: ReadCache<number | undefined>;
  private readonly aliasNamesCache: ReadCache<readonly string[]>;
  private readonly aliasNamesOfKey;
  private readonly nextDue;

  constructor(
    private readonly db: Db,
    private readonly rootKey: RootKey,
    readonly accountId: string,
    readonly region: string,
  ) {
    this.byId = db.prepare('SELECT * FROM kms_keys WHERE key_id = ? AND account_id = ? AND region = ?');
    this.byIdInRegion = db.prepare('SELECT * FROM kms_keys WHERE key_id = ? AND region = ?');
    this.aliasTarget = db.prepare('SELECT target_key_id FROM kms_aliases WHERE account_id = ? AND region = ? AND alias_name = ?');
    this.cache = new ReadCache(db);
    this.keyCache = new ReadCache(db);
    this.dueCache = new ReadCache(db);
    this.aliasNamesCache = new ReadCache(db);
    // An alias names a key of its own account: the key ID alone finds them (a key of another account too).
    this.aliasNamesOfKey = db.prepare('SELECT alias_name FROM kms_aliases WHERE target_key_id = ? ORDER BY alias_name').pluck();
    this.nextDue = db.prepare(
      `SELECT min(t) AS t FROM (
         SELECT min(deletion_date) AS t FROM kms_keys WHERE account_id = ? AND region = ? AND key_state = 'PendingDeletion'
         UNION ALL
         SELECT min(next_rotation_at) FROM kms_keys WHERE account_id = ? AND region = ? AND key_state = 'Enabled' AND rotation_enabled = 1)`,
    );
  }

  private aliasRow(aliasName: string, accountId = this.accountId): { target_key_id: string } | undefined {
    return this.cache.get(`${accountId}:${aliasName}`, () => this.aliasTarget.get(accountId, this.region, aliasName) as { target_key_id: string } | undefined) as
      | { target_key_id: string }
      | undefined;
  }

  keyArn(keyId: string): string {
    return keyArnOf(this.region, this.accountId, keyId);
  }

  /** The `key_id` the rows of the key `keyId` have in this Region. */
  private sid(keyId: string): string {
    return storageKeyId(keyId, this.region);
  }

  /**
   * Creates a key. `keyId` may be chosen beforehand (CreateKey checks a given policy against the
   * key's ARN first); `policy` is stored as given, else the key has the default for its kind.
   */
  create(opts: {
    description: string;
    keyManager: KeyManager;
    keySpec?: KeySpec;
    keyUsage?: KeyUsage;
    aliasName?: string;
    keyId?: string;
    policy?: string;
    tags?: ReadonlyMap<string, string>;
    /** EXTERNAL: a key for imported material, made without any (PendingImport, version 0 until the first import). */
    origin?: KeyOrigin;
  }): KmsKey {
    const keyId = opts.keyId ?? randomUUID();
    const arn = this.keyArn(keyId);
    const now = new Date().toISOString();
    const keySpec = opts.keySpec ?? 'SYMMETRIC_DEFAULT';
    const external = opts.origin === 'EXTERNAL';
    const material = external ? undefined : newKeyMaterial(keySpec);
    immediate(this.db, () => {
      this.db
        .prepare(
          `INSERT INTO kms_keys (key_id, account_id, region, arn, description, key_usage, key_spec, key_state, key_manager, origin, created_at, rotation_enabled, rotation_period_days, next_rotation_at, current_version)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        // AWS managed keys rotate every year, always.
        .run(this.sid(keyId), this.accountId, this.region, arn, opts.description, opts.keyUsage ?? 'ENCRYPT_DECRYPT', keySpec, external ? 'PendingImport' : 'Enabled', opts.keyManager,
          external ? 'EXTERNAL' : 'AWS_KMS', now, opts.keyManager === 'AWS' ? 1 : 0,
          opts.keyManager === 'AWS' ? 365 : null, opts.keyManager === 'AWS' ? new Date(Date.now() + 365 * 86400_000).toISOString() : null, external ? 0 : 1);
      if (material) this.insertVersion(keyId, 1, material, null);
      if (opts.aliasName) {
        this.db.prepare('INSERT INTO kms_aliases VALUES (?, ?, ?, ?, ?, ?)').run(this.accountId, this.region, opts.aliasName, this.sid(keyId), now, now);
      }
      if (opts.policy !== undefined) writeKeyPolicy(this.db, this.sid(keyId), opts.policy, new Date(now));
      if (opts.tags?.size) writeKeyTags(this.db, this.sid(keyId), opts.tags);
      // A new multi-Region key is the primary key of its set (CreateKey MultiRegion).
      if (isMultiRegionKeyId(keyId)) setPrimaryRegion(this.db, keyId, this.accountId, this.region);
    });
    material?.fill(0);
    return this.get(keyId)!;
  }

  /**
   * The AWS managed key behind one of AWS's aliases, created on first use as AWS does. Callers
   * decide first that the call is allowed (usable-key.ts): creating is not a side effect of asking.
   * Two processes may race here: the alias row decides, the loser's key is never referenced.
   */
  awsManagedKey(aliasName: string): KmsKey {
    if (!isAwsManagedAlias(aliasName)) throw this.aliasNotFound(aliasName);
    const existing = this.aliasRow(aliasName);
    if (existing) return this.get(publicKeyId(existing.target_key_id))!;
    const service = aliasName.slice('alias/aws/'.length);
    return immediate(this.db, () => {
      const again = this.aliasTarget.get(this.accountId, this.region, aliasName) as { target_key_id: string } | undefined;
      if (again) return this.get(publicKeyId(again.target_key_id))!;
      return this.create({
        // The EBS text is the seed's; AWS words the others per service, which ebsim does not model.
        description: service === 'ebs' ? 'Default key that protects my EBS volumes when no other key is defined' : `Default key that protects my ${service} resources when no other key is defined`,
        keyManager: 'AWS',
        aliasName,
      });
    });
  }

  /**
   * The key, if it exists for callers. A key whose waiting period has ended no longer does, even
   * before the due lifecycle work (`dueWork`) removes it: reads never write.
   */
  get(keyId: string, now = new Date()): KmsKey | undefined {
    return this.getOf(keyId, this.accountId, now);
  }

  /**
   * A key of any account of the home in this Region, by its ID alone: a ciphertext blob names
   * only its key ID, and a grant its key's (Decrypt across accounts needs no KeyId, as at AWS).
   */
  getInHome(keyId: string, now = new Date()): KmsKey | undefined {
    const key = this.stored(keyId);
    return key && !isDeletedBy(key, now) ? key : undefined;
  }

  private getOf(keyId: string, accountId: string, now = new Date()): KmsKey | undefined {
    const key = this.getInHome(keyId, now);
    return key?.accountId === accountId ? key : undefined;
  }

  /** The stored row of any account in this Region (key IDs are unique in a Region of the home), whatever its dates say. */
  private stored(keyId: string): KmsKey | undefined {
    return this.keyCache.get(keyId, () => {
      const row = this.byIdInRegion.get(this.sid(keyId), this.region) as KeyRow | undefined;
      return row && toKey(row);
    });
  }

  /** A new key ID (for a key whose ARN must be known before it is created). */
  newKeyId(): string {
    return randomUUID();
  }

  /** Resolves a KeyId parameter to an existing key (never creating one). */
  resolve(keyIdParam: string, allowAlias = true, crossAccount = false): KmsKey {
    const ref = this.find(keyIdParam, allowAlias, crossAccount);
    if ('uncreatedAlias' in ref) throw this.aliasNotFound(ref.uncreatedAlias);
    return ref;
  }

  /**
   * What a KeyId parameter names: an existing key, or one of AWS's managed-key aliases whose key
   * is not created yet. `allowAlias` is false for operations AWS documents as taking only a key
   * ID or key ARN (CreateGrant, ListGrants, RevokeGrant…). `crossAccount`: the operation may use a
   * key of another account of the home, named by its key ARN or alias ARN (AWS: "To specify a KMS
   * key in a different AWS account, you must use the key ARN or alias ARN").
   */
  find(keyIdParam: string, allowAlias = true, crossAccount = false): KmsKey | { uncreatedAlias: string } {
    let keyId: string;
    let owner = this.accountId;
    if (keyIdParam.startsWith('alias/') || /^arn:aws:kms:[^:]*:\d*:alias\//.test(keyIdParam)) {
      if (!allowAlias) throw new InvalidArnException('Key Aliases are not supported for this operation.');
      const aliasName = keyIdParam.startsWith('arn:') ? keyIdParam.slice(keyIdParam.indexOf(':alias/') + 1) : keyIdParam;
      if (keyIdParam.startsWith('arn:')) owner = this.arnOwner(keyIdParam, crossAccount);
      const row = this.aliasRow(aliasName, owner);
      if (!row) {
        // AWS creates a managed key on first use by its own account only.
        if (isAwsManagedAlias(aliasName) && owner === this.accountId) return { uncreatedAlias: aliasName };
        throw this.aliasNotFound(aliasName, owner);
      }
      keyId = publicKeyId(row.target_key_id);
    } else if (keyIdParam.startsWith('arn:')) {
      const m = /^arn:aws:kms:([^:]+):(\d{12}):key\/(.+)$/.exec(keyIdParam);
      if (!m) throw new NotFoundException(`Invalid arn ${keyIdParam}`);
      owner = this.arnOwner(keyIdParam, crossAccount);
      keyId = m[3]!;
    } else {
      keyId = keyIdParam;
    }
    const key = KEY_ID.test(keyId) ? this.getOf(keyId, owner) : undefined;
    if (!key) {
      if (!KEY_ID.test(keyId)) throw new NotFoundException(`Invalid keyId '${keyIdParam}'`);
      throw new NotFoundException(`Key '${keyArnOf(this.region, owner, keyId)}' does not exist`);
    }
    return key;
  }

  private aliasNotFound(aliasName: string, accountId = this.accountId): AwsError {
    return new NotFoundException(`Alias ${aliasArnOf(this.region, accountId, aliasName)} is not found.`);
  }

  /**
   * The account an ARN names: this store's, or (crossAccount) any. An ARN of another Region names
   * nothing here, and AWS says which Region it named ("Invalid arn us-west-2").
   */
  private arnOwner(arn: string, crossAccount: boolean): string {
    const [, , , region, account] = arn.split(':');
    if (region !== this.region) throw new NotFoundException(`Invalid arn ${region}`);
    if (account !== this.accountId && !crossAccount) throw new NotFoundException(`Key '${arn}' does not exist`);
    return account!;
  }

  /**
   * The keys of the account and Region after `after` in (created_at, key_id) order, at most
   * `limit` of them, deleted ones left out, and the cursor of the last if more follow: one index
   * range a page (ListKeys), where an offset into `list()` read every key for every page.
   */
  page(after: KeyCursor | undefined, limit: number, now = new Date()): { keys: KmsKey[]; next?: KeyCursor } {
    const rows = this.db.prepare('SELECT * FROM kms_keys WHERE account_id = ? AND region = ? AND (created_at, key_id) > (?, ?) ORDER BY created_at, key_id LIMIT ?');
    const keys: KmsKey[] = [];
    let cursor: KeyCursor = after ?? { createdAt: '', keyId: '' };
    let last: KeyCursor | undefined;
    for (;;) {
      // One more than the page, to know whether another follows; again while deleted keys thinned it.
      const batch = rows.all(this.accountId, this.region, cursor.createdAt, cursor.keyId, limit + 1) as KeyRow[];
      for (const row of batch) {
        const key = toKey(row);
        if (isDeletedBy(key, now)) continue;
        if (keys.length === limit) return { keys, next: last };
        keys.push(key);
        last = { createdAt: row.created_at, keyId: row.key_id };
      }
      if (batch.length <= limit) return { keys };
      const end = batch[batch.length - 1]!;
      cursor = { createdAt: end.created_at, keyId: end.key_id };
    }
  }

  list(now = new Date()): KmsKey[] {
    return (this.db.prepare('SELECT * FROM kms_keys WHERE account_id = ? AND region = ? ORDER BY created_at, key_id').all(this.accountId, this.region) as KeyRow[])
      .map(toKey)
      .filter((k) => !isDeletedBy(k, now));
  }

  // ---- state changes -----------------------------------------------------------------

  enable(keyId: string): void {
    this.set(keyId, { key_state: 'Enabled' });
  }

  disable(keyId: string): void {
    this.set(keyId, { key_state: 'Disabled' });
  }

  /**
   * Schedules a key's deletion; returns its new state. A multi-Region primary key that still has
   * replicas waits for them: PendingReplicaDeletion, its waiting period not yet begun (multi-region.ts).
   */
  scheduleDeletion(keyId: string, deletionDate: Date, pendingWindowDays: number): KeyState {
    return immediate(this.db, () => {
      // Replicas whose waiting period has ended are gone for every caller, even before due work removes their rows.
      const liveReplicas = rowsOfSet(this.db, keyId).filter(
        (r) => r.region !== this.region && !(r.key_state === 'PendingDeletion' && r.deletion_date !== null && Date.parse(r.deletion_date) <= Date.now()),
      );
      if (this.primaryRegionOf(keyId) === this.region && liveReplicas.length > 0) {
        this.set(keyId, { key_state: 'PendingReplicaDeletion', deletion_date: null, pending_window_days: pendingWindowDays });
        return 'PendingReplicaDeletion';
      }
      this.set(keyId, { key_state: 'PendingDeletion', deletion_date: deletionDate.toISOString(), pending_window_days: pendingWindowDays });
      return 'PendingDeletion';
    });
  }

  /** AWS leaves a key whose deletion was cancelled Disabled, not Enabled. */
  cancelDeletion(keyId: string): void {
    this.set(keyId, { key_state: 'Disabled', deletion_date: null, pending_window_days: null });
  }

  enableRotation(keyId: string, periodDays: number, nextRotation: Date): void {
    this.setShared(keyId, { rotation_enabled: 1, rotation_period_days: periodDays, next_rotation_at: nextRotation.toISOString() });
  }

  disableRotation(keyId: string): void {
    this.setShared(keyId, { rotation_enabled: 0, next_rotation_at: null });
  }

  updateDescription(keyId: string, description: string): void {
    this.set(keyId, { description });
  }

  private set(keyId: string, fields: Partial<Record<keyof KeyRow, string | number | null>>): void {
    const cols = Object.keys(fields);
    immediate(this.db, () =>
      this.db.prepare(`UPDATE kms_keys SET ${cols.map((c) => `${c} = ?`).join(', ')} WHERE key_id = ?`).run(...Object.values(fields), this.sid(keyId)),
    );
  }

  /** Changes a property the keys of a multi-Region set share (automatic rotation): on every key of the set. */
  private setShared(keyId: string, fields: Partial<Record<keyof KeyRow, string | number | null>>): void {
    immediate(this.db, () => {
      this.set(keyId, fields);
      syncRelatedKeys(this.db, this.rootKey, keyId, this.region);
    });
  }

  // ---- lifecycle work that comes due with time -----------------------------------------

  /** The earliest moment some key's deletion or automatic rotation is due (undefined: none scheduled). Cached until the next write. */
  nextDueAt(): number | undefined {
    return this.dueCache.get('next', () => {
      const row = this.nextDue.get(this.accountId, this.region, this.accountId, this.region) as { t: string | null };
      return row.t === null ? undefined : Date.parse(row.t);
    });
  }

  /** Keys whose waiting period ended by `now`, and keys whose automatic rotation is due. */
  due(now = new Date()): { deletions: KmsKey[]; rotations: KmsKey[] } {
    const iso = now.toISOString();
    const rows = (sql: string) => (this.db.prepare(sql).all(this.accountId, this.region, iso) as KeyRow[]).map(toKey);
    return {
      deletions: rows("SELECT * FROM kms_keys WHERE account_id = ? AND region = ? AND key_state = 'PendingDeletion' AND deletion_date <= ? ORDER BY deletion_date"),
      rotations: rows("SELECT * FROM kms_keys WHERE account_id = ? AND region = ? AND key_state = 'Enabled' AND rotation_enabled = 1 AND next_rotation_at <= ? ORDER BY next_rotation_at"),
    };
  }

  /** Deletes a key whose waiting period has ended, with its aliases, grants and material. False if it is no longer due (another process did it). */
  deleteIfDue(keyId: string, now = new Date()): boolean {
    const deleted = immediate(this.db, () => {
      const sid = this.sid(keyId);
      const row = this.byId.get(sid, this.accountId, this.region) as KeyRow | undefined;
      if (!row || !isDeletedBy(toKey(row), now)) return false;
      this.db.prepare('DELETE FROM kms_aliases WHERE target_key_id = ?').run(sid);
      this.db.prepare('DELETE FROM kms_grants WHERE key_id = ?').run(sid);
      this.db.prepare('DELETE FROM kms_key_policies WHERE key_id = ?').run(sid);
      this.db.prepare('DELETE FROM kms_key_tags WHERE key_id = ?').run(sid);
      this.db.prepare('DELETE FROM kms_key_versions WHERE key_id = ?').run(sid);
      this.db.prepare('DELETE FROM kms_imported_materials WHERE key_id = ?').run(sid);
      this.db.prepare('DELETE FROM kms_keys WHERE key_id = ?').run(sid);
      // The primary's own waiting period starts when its last replica's ended, not when this process noticed.
      afterSetKeyDeleted(this.db, keyId, row.deletion_date ? new Date(row.deletion_date) : now);
      return true;
    });
    for (const k of this.materials.keys()) if (k.startsWith(`${keyId}/`)) this.materials.delete(k);
    return deleted;
  }

  /** Rotates a key whose automatic rotation is due. False if it is no longer due (another process did it). */
  rotateIfDue(keyId: string, now = new Date()): boolean {
    return immediate(this.db, () => {
      const row = this.byId.get(this.sid(keyId), this.accountId, this.region) as KeyRow | undefined;
      const key = row && toKey(row);
      if (!key || key.keyState !== 'Enabled' || !key.rotationEnabled || !key.nextRotationAt || key.nextRotationAt > now) return false;
      this.rotate(key, 'AUTOMATIC');
      return true;
    });
  }

  /** Adds a new version of key material; new ciphertexts use it, old ones still decrypt. */
  rotate(key: KmsKey, rotationType: 'AUTOMATIC' | 'ON_DEMAND'): number {
    return immediate(this.db, () => {
      const current = (this.db.prepare('SELECT current_version FROM kms_keys WHERE key_id = ?').get(this.sid(key.keyId)) as { current_version: number }).current_version;
      const next = current + 1;
      const material = newKeyMaterial(key.keySpec);
      this.insertVersion(key.keyId, next, material, rotationType);
      material.fill(0);
      const nextRotation = key.rotationEnabled && key.rotationPeriodDays ? new Date(Date.now() + key.rotationPeriodDays * 86400_000).toISOString() : null;
      this.db.prepare('UPDATE kms_keys SET current_version = ?, next_rotation_at = COALESCE(?, next_rotation_at) WHERE key_id = ?').run(next, nextRotation, this.sid(key.keyId));
      // The keys of a multi-Region set share their material: the new version goes to each of them.
      syncRelatedKeys(this.db, this.rootKey, key.keyId, this.region);
      return next;
    });
  }

  /** Unwrapped material of one version (cached in memory: the simulated HSM's working set). */
  material(key: KmsKey, version: number): Buffer | undefined {
    // No blob is sealed under a version beyond the current one (imported material pending
    // rotation): refusing it keeps such material out of every process's cache until it is current.
    if (version > key.currentVersion) return undefined;
    const cacheKey = `${key.keyId}/${version}`;
    let m = this.materials.get(cacheKey);
    if (!m) {
      const row = this.db.prepare('SELECT wrapped_material FROM kms_key_versions WHERE key_id = ? AND version = ?').get(storageKeyId(key.keyId, key.region), version) as
        | { wrapped_material: Buffer }
        | undefined;
      if (!row) return undefined;
      m = this.rootKey.unwrap(row.wrapped_material, `${key.arn}#${version}`);
      this.materials.set(cacheKey, m);
    }
    return m;
  }

  rotations(keyId: string): { version: number; createdAt: Date; rotationType: string | null }[] {
    return (this.db.prepare('SELECT version, created_at, rotation_type FROM kms_key_versions WHERE key_id = ? ORDER BY version').all(this.sid(keyId)) as {
      version: number;
      created_at: string;
      rotation_type: string | null;
    }[]).map((r) => ({ version: r.version, createdAt: new Date(r.created_at), rotationType: r.rotation_type }));
  }

  // ---- multi-Region keys (multi-region.ts) --------------------------------------------

  /** The keys of `key`'s multi-Region set in every Region, `key` included, oldest first; none for a single-Region key. */
  relatedKeys(key: Pick<KmsKey, 'keyId'>, now = new Date()): KmsKey[] {
    if (!isMultiRegionKeyId(key.keyId)) return [];
    return rowsOfSet(this.db, key.keyId)
      .map((r) => toKey(r as unknown as KeyRow))
      .filter((k) => !isDeletedBy(k, now))
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.region.localeCompare(b.region));
  }

  /** The Region of the primary key of `keyId`'s set (undefined: a single-Region key). */
  primaryRegionOf(keyId: string): string | undefined {
    return primaryRegionOf(this.db, keyId);
  }

  /** Makes the key in `region` the primary key of `keyId`'s set (UpdatePrimaryRegion). */
  setPrimaryRegion(keyId: string, region: string): void {
    immediate(this.db, () => setPrimaryRegion(this.db, keyId, this.accountId, region));
  }

  /**
   * Creates the replica of `primary` (a key of this store) in `region`: the same key ID, material
   * and shared properties, its own description, policy and tags. `exists` (which throws) is called
   * if the set already has a key in `region`; the check is made inside the write lock.
   */
  replicate(primary: KmsKey, region: string, opts: { description: string; policy?: string; tags?: ReadonlyMap<string, string>; exists: () => never }): void {
    immediate(this.db, () => {
      const rows = rowsOfSet(this.db, primary.keyId);
      if (rows.some((r) => r.region === region)) opts.exists();
      const from = rows.find((r) => r.region === this.region)!;
      const sid = insertReplicaRow(this.db, this.rootKey, from, region, keyArnOf(region, this.accountId, primary.keyId), opts.description, new Date());
      if (opts.policy !== undefined) writeKeyPolicy(this.db, sid, opts.policy);
      if (opts.tags?.size) writeKeyTags(this.db, sid, opts.tags);
    });
  }

  // ---- imported key material (kms/imported-material.ts decides; these only store) -----------

  /** Stores (or replaces) one version's material, wrapped under the root key as generated material is. */
  putMaterial(keyId: string, version: number, material: Uint8Array): void {
    const wrapped = this.rootKey.wrap(material, `${this.keyArn(keyId)}#${version}`);
    immediate(this.db, () =>
      this.db.prepare('INSERT OR REPLACE INTO kms_key_versions VALUES (?, ?, ?, ?, NULL)').run(keyId, version, wrapped, new Date().toISOString()),
    );
    this.materials.delete(`${keyId}/${version}`);
  }

  /** Deletes one version's material (deleted or expired imported material). */
  dropMaterial(keyId: string, version: number): void {
    immediate(this.db, () => this.db.prepare('DELETE FROM kms_key_versions WHERE key_id = ? AND version = ?').run(keyId, version));
    this.materials.get(`${keyId}/${version}`)?.fill(0);
    this.materials.delete(`${keyId}/${version}`);
  }

  /** The state and current version imported material leaves a key in. */
  setImportState(keyId: string, keyState: KeyState, currentVersion?: number): void {
    this.set(keyId, currentVersion === undefined ? { key_state: keyState } : { key_state: keyState, current_version: currentVersion });
  }

  // ---- aliases -----------------------------------------------------------------------

  aliasTargetOf(aliasName: string): string | undefined {
    return this.aliasRow(aliasName)?.target_key_id;
  }

  /** Inserts the alias, or calls `exists` (which throws) if the name is taken. */
  createAlias(aliasName: string, keyId: string, exists: () => never): void {
    immediate(this.db, () => {
      // Inside the write lock, ask the database itself: the cache may lag another process by 2 ms.
      if (this.aliasTarget.get(this.accountId, this.region, aliasName)) exists();
      const now = new Date().toISOString();
      this.db.prepare('INSERT INTO kms_aliases VALUES (?, ?, ?, ?, ?, ?)').run(this.accountId, this.region, aliasName, this.sid(keyId), now, now);
    });
  }

  retargetAlias(aliasName: string, keyId: string): void {
    immediate(this.db, () =>
      this.db
        .prepare('UPDATE kms_aliases SET target_key_id = ?, updated_at = ? WHERE account_id = ? AND region = ? AND alias_name = ?')
        .run(this.sid(keyId), new Date().toISOString(), this.accountId, this.region, aliasName),
    );
  }

  deleteAlias(aliasName: string): void {
    immediate(this.db, () =>
      this.db.prepare('DELETE FROM kms_aliases WHERE account_id = ? AND region = ? AND alias_name = ?').run(this.accountId, this.region, aliasName),
    );
  }

  /** The names of a key's aliases (kms:ResourceAliases, an AWS managed key's policy): cached until the next write. */
  aliasNamesOf(keyId: string): readonly string[] {
    return this.aliasNamesCache.get(keyId, () => this.aliasNamesOfKey.all(this.sid(keyId)) as string[]);
  }

  listAliases(keyId?: string): KmsAlias[] {
    const rows = this.db
      .prepare(`SELECT * FROM kms_aliases WHERE account_id = ? AND region = ? ${keyId ? 'AND target_key_id = ?' : ''} ORDER BY alias_name`)
      .all(...[this.accountId, this.region, ...(keyId ? [this.sid(keyId)] : [])]) as {
      alias_name: string;
      target_key_id: string;
      created_at: string;
      updated_at: string;
    }[];
    return rows.map((r) => ({
      AliasName: r.alias_name,
      AliasArn: aliasArnOf(this.region, this.accountId, r.alias_name),
      TargetKeyId: publicKeyId(r.target_key_id),
      CreationDate: new Date(r.created_at),
      LastUpdatedDate: new Date(r.updated_at),
    }));
  }

  private insertVersion(keyId: string, version: number, material: Buffer, rotationType: string | null): void {
    const wrapped = this.rootKey.wrap(material, `${this.keyArn(keyId)}#${version}`);
    this.db.prepare('INSERT INTO kms_key_versions VALUES (?, ?, ?, ?, ?)').run(this.sid(keyId), version, wrapped, new Date().toISOString(), rotationType);
  }
}

/** A key whose waiting period has ended no longer exists for any caller. */
function isDeletedBy(key: KmsKey, now: Date): boolean {
  return key.keyState === 'PendingDeletion' && key.deletionDate !== undefined && key.deletionDate <= now;
}

function toKey(r: KeyRow): KmsKey {
  return {
    keyId: publicKeyId(r.key_id),
    accountId: r.account_id,
    region: r.region,
    arn: r.arn,
    description: r.description,
    keyUsage: r.key_usage,
    keySpec: r.key_spec,
    keyState: r.key_state,
    keyManager: r.key_manager,
    origin: r.origin,
    createdAt: new Date(r.created_at),
    deletionDate: r.deletion_date ? new Date(r.deletion_date) : undefined,
    pendingWindowDays: r.pending_window_days ?? undefined,
    rotationEnabled: r.rotation_enabled === 1,
    rotationPeriodDays: r.rotation_period_days ?? undefined,
    nextRotationAt: r.next_rotation_at ? new Date(r.next_rotation_at) : undefined,
    currentVersion: r.current_version,
  };
}

/** The specs the deprecated CustomerMasterKeySpec names (those it had when KeySpec replaced it): DescribeKey and GetPublicKey show it for these only. */
export const CUSTOMER_MASTER_KEY_SPECS: ReadonlySet<string> = new Set<string>([
  'RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1', 'SYMMETRIC_DEFAULT', 'HMAC_224', 'HMAC_256', 'HMAC_384', 'HMAC_512', 'SM2',
]);

/** What KeyMetadata shows of a key's imported material (kms/imported-material.ts). */
export interface ImportedMaterialFacts {
  ValidTo?: Date;
  ExpirationModel?: string;
  CurrentKeyMaterialId?: string;
}

/**
 * KeyMetadata as DescribeKey returns it: a multi-Region key's with its set (multi-region-metadata.ts),
 * a key with Origin EXTERNAL with what its imported material adds.
 */
export function keyMetadata(k: KmsKey, extras: { multiRegion?: MultiRegionConfiguration; imported?: ImportedMaterialFacts } = {}): Record<string, unknown> {
  const { multiRegion, imported = {} } = extras;
  const m: Record<string, unknown> = {
    AWSAccountId: k.accountId,
    KeyId: k.keyId,
    Arn: k.arn,
    CreationDate: k.createdAt,
    Enabled: k.keyState === 'Enabled',
    Description: k.description,
    KeyUsage: k.keyUsage,
    KeyState: k.keyState,
  };
  if (k.deletionDate) m.DeletionDate = k.deletionDate;
  if (imported.ValidTo) m.ValidTo = imported.ValidTo;
  Object.assign(m, {
    Origin: k.origin,
    ...(imported.ExpirationModel ? { ExpirationModel: imported.ExpirationModel } : {}),
    KeyManager: k.keyManager,
    // The deprecated member names only the specs it had when it was replaced.
    ...(CUSTOMER_MASTER_KEY_SPECS.has(k.keySpec) ? { CustomerMasterKeySpec: k.keySpec } : {}),
    KeySpec: k.keySpec,
    ...algorithmsOf(k.keySpec, k.keyUsage),
    MultiRegion: isMultiRegionKeyId(k.keyId),
    ...(multiRegion ? { MultiRegionConfiguration: multiRegion } : {}),
  });
  if (k.pendingWindowDays) m.PendingDeletionWindowInDays = k.pendingWindowDays;
  // "present for symmetric encryption keys with AWS_KMS or EXTERNAL origin"
  const current = k.origin === 'EXTERNAL' ? imported.CurrentKeyMaterialId : generatedKeyMaterialId(k.arn, k.currentVersion);
  if (k.keySpec === 'SYMMETRIC_DEFAULT' && current) m.CurrentKeyMaterialId = current;
  return m;
}
