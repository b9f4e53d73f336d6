// Imported key material (Origin EXTERNAL): which materials a key has had, which are imported now,
// when they expire, and the key state that follows (PendingImport while the key lacks any of the
// materials permanently associated with it). The rules are the ImportKeyMaterial API reference's:
// the first material becomes current and permanently associated; a symmetric key may take new
// material (ImportType NEW_KEY_MATERIAL) that waits, PENDING_ROTATION, until RotateKeyOnDemand
// makes it current; reimporting must bring the same material (EXISTING_KEY_MATERIAL).
// The wrapped bytes live in kms_key_versions like generated material (KeyStore.putMaterial).
import type { Db } from '../store/database.js';
import { immediate } from '../store/database.js';
import { ReadCache } from '../store/read-cache.js';
import { IncorrectKeyMaterialException, KMSInvalidStateException, NotFoundException } from '../errors/index.js';
import { generatedKeyMaterialId, importedKeyMaterialId } from './key-material-id.js';
import type { ImportedMaterialFacts, KeyStore, KmsKey } from './keys.js';
import type { RootKey } from '../store/root-key.js';
import { importParameters, openImportToken, type WrappingAlgorithm, type WrappingKeySpec } from './import-wrapping.js';

export type ImportState = 'IMPORTED' | 'PENDING_IMPORT';
export type ExpirationModel = 'KEY_MATERIAL_EXPIRES' | 'KEY_MATERIAL_DOES_NOT_EXPIRE';
export type ImportType = 'NEW_KEY_MATERIAL' | 'EXISTING_KEY_MATERIAL';

export interface ImportedMaterial {
  version: number;
  keyMaterialId: string;
  description?: string;
  importState: ImportState;
  expirationModel?: ExpirationModel;
  validTo?: Date;
  /** When RotateKeyOnDemand made it current (never for the first material). */
  rotatedAt?: Date;
}

export interface ImportRequest {
  /** The unwrapped material, in the form the key's spec stores (import-wrapping.ts checked it). */
  material: Buffer;
  importType?: ImportType;
  keyMaterialId?: string;
  description?: string;
  expirationModel: ExpirationModel;
  validTo?: Date;
}

interface MaterialRow {
  version: number;
  key_material_id: string;
  description: string | null;
  import_state: ImportState;
  expiration_model: ExpirationModel | null;
  valid_to: string | null;
  rotated_at: string | null;
}

const toMaterial = (r: MaterialRow): ImportedMaterial => ({
  version: r.version,
  keyMaterialId: r.key_material_id,
  ...(r.description !== null ? { description: r.description } : {}),
  importState: r.import_state,
  ...(r.expiration_model ? { expirationModel: r.expiration_model } : {}),
  ...(r.valid_to ? { validTo: new Date(r.valid_to) } : {}),
  ...(r.rotated_at ? { rotatedAt: new Date(r.rotated_at) } : {}),
});

/** Material above the key's current version waits for RotateKeyOnDemand: not permanently associated. */
const isPendingRotation = (m: { version: number }, currentVersion: number) => m.version > currentVersion;

export class ImportedMaterialStore {
  private readonly cache: ReadCache<ImportedMaterial[]>;
  private readonly dueCache: ReadCache<number | undefined>;
  private readonly rowsOf;
  private readonly nextExpiry;

  constructor(
    private readonly db: Db,
    private readonly keys: KeyStore,
    /** Wraps the import tokens' wrapping private keys: the only place they exist outside memory. */
    private readonly rootKey: RootKey,
  ) {
    this.cache = new ReadCache(db);
    this.dueCache = new ReadCache(db);
    this.rowsOf = db.prepare('SELECT * FROM kms_imported_materials WHERE key_id = ? ORDER BY version');
    this.nextExpiry = db.prepare(
      `SELECT min(m.valid_to) AS t FROM kms_imported_materials m JOIN kms_keys k ON k.key_id = m.key_id
       WHERE k.account_id = ? AND k.region = ? AND m.import_state = 'IMPORTED' AND m.valid_to IS NOT NULL`,
    );
  }

  /** GetParametersForImport: a fresh wrapping key pair, and the token that binds its private half to the key. */
  importParameters(key: KmsKey, algorithm: WrappingAlgorithm, spec: WrappingKeySpec) {
    return importParameters(this.rootKey, key.arn, algorithm, spec);
  }

  /** The wrapping private key and algorithm of an import token given back for `key` (InvalidImportTokenException, ExpiredImportTokenException). */
  openImportToken(token: Uint8Array, key: KmsKey) {
    return openImportToken(this.rootKey, token, key.arn);
  }

  /** Every material the key has had, oldest first (cached until the next write). */
  materials(keyId: string): ImportedMaterial[] {
    return this.cache.get(keyId, () => (this.rowsOf.all(keyId) as MaterialRow[]).map(toMaterial));
  }

  /** The identifier of one version of a key's material (Decrypt's KeyMaterialId, ListKeyRotations). */
  materialIdAt(key: KmsKey, version: number): string | undefined {
    if (key.origin !== 'EXTERNAL') return generatedKeyMaterialId(key.arn, version);
    return this.materials(key.keyId).find((m) => m.version === version)?.keyMaterialId;
  }

  /** What DescribeKey shows of an EXTERNAL key's material: nothing before its first import. */
  facts(key: KmsKey): ImportedMaterialFacts {
    if (key.origin !== 'EXTERNAL') return {};
    const all = this.materials(key.keyId);
    const current = all.find((m) => m.version === key.currentVersion);
    if (!current) return {};
    // "The earliest time at which any imported key material permanently associated with this KMS key expires."
    const expiring = all.filter((m) => !isPendingRotation(m, key.currentVersion) && m.importState === 'IMPORTED' && m.validTo);
    const validTo = expiring.length ? new Date(Math.min(...expiring.map((m) => m.validTo!.getTime()))) : undefined;
    return {
      ...(validTo ? { ValidTo: validTo } : {}),
      ExpirationModel: validTo ? 'KEY_MATERIAL_EXPIRES' : (current.expirationModel ?? 'KEY_MATERIAL_DOES_NOT_EXPIRE'),
      CurrentKeyMaterialId: current.keyMaterialId,
    };
  }

  /** Imports (or reimports) material by the ImportKeyMaterial rules; returns its KeyMaterialId. */
  import(key: KmsKey, req: ImportRequest): string {
    const id = importedKeyMaterialId(key.keyId, req.material);
    return immediate(this.db, () => {
      const { current_version: currentVersion } = this.db.prepare('SELECT current_version FROM kms_keys WHERE key_id = ?').get(key.keyId) as { current_version: number };
      const all = (this.rowsOf.all(key.keyId) as MaterialRow[]).map(toMaterial);
      const same = all.find((m) => m.keyMaterialId === id);
      const importType = req.importType ?? (all.length ? 'EXISTING_KEY_MATERIAL' : 'NEW_KEY_MATERIAL');
      const expiry = { model: req.expirationModel, validTo: req.validTo?.toISOString() ?? null };
      if (importType === 'NEW_KEY_MATERIAL') {
        if (same) {
          throw new IncorrectKeyMaterialException(`The key material is already associated with ${key.arn}. To reimport it, use ImportType EXISTING_KEY_MATERIAL.`);
        }
        if (all.some((m) => isPendingRotation(m, currentVersion))) {
          throw new KMSInvalidStateException(`${key.arn} already has key material pending rotation. Rotate the key (RotateKeyOnDemand) or delete that key material first.`);
        }
        const version = all.length ? Math.max(...all.map((m) => m.version)) + 1 : 1;
        this.db
          .prepare("INSERT INTO kms_imported_materials (key_id, version, key_material_id, description, import_state, expiration_model, valid_to) VALUES (?, ?, ?, ?, 'IMPORTED', ?, ?)")
          .run(key.keyId, version, id, req.description ?? null, expiry.model, expiry.validTo);
        this.keys.putMaterial(key.keyId, version, req.material);
        // The first material becomes current and permanently associated with the key.
        if (!all.length) this.keys.setImportState(key.keyId, 'PendingImport', version);
      } else {
        if (req.keyMaterialId !== undefined && !all.some((m) => m.keyMaterialId === req.keyMaterialId)) {
          throw new IncorrectKeyMaterialException(`Key material ${req.keyMaterialId} is not associated with ${key.arn}.`);
        }
        if (!same || (req.keyMaterialId !== undefined && req.keyMaterialId !== id)) {
          throw new IncorrectKeyMaterialException(`The key material does not match the key material previously imported into ${key.arn}.`);
        }
        this.db
          .prepare("UPDATE kms_imported_materials SET import_state = 'IMPORTED', expiration_model = ?, valid_to = ?, description = coalesce(?, description) WHERE key_id = ? AND version = ?")
          .run(expiry.model, expiry.validTo, req.description ?? null, key.keyId, same.version);
        this.keys.putMaterial(key.keyId, same.version, req.material);
      }
      this.settle(key.keyId);
      return id;
    });
  }

  /**
   * DeleteImportedKeyMaterial: the named material (default: the current one) is deleted; the key
   * goes to PendingImport unless it is pending deletion. Material pending rotation was never
   * permanently associated: it goes entirely. Returns the deleted material's ID, if there was one.
   */
  delete(key: KmsKey, keyMaterialId?: string): string | undefined {
    return immediate(this.db, () => {
      const { current_version: currentVersion } = this.db.prepare('SELECT current_version FROM kms_keys WHERE key_id = ?').get(key.keyId) as { current_version: number };
      const all = (this.rowsOf.all(key.keyId) as MaterialRow[]).map(toMaterial);
      const target = keyMaterialId !== undefined ? all.find((m) => m.keyMaterialId === keyMaterialId) : all.find((m) => m.version === currentVersion);
      if (!target) {
        if (keyMaterialId !== undefined) throw new NotFoundException(`Key material ${keyMaterialId} is not associated with ${key.arn}.`);
        return undefined; // no material yet: "No effect"
      }
      this.remove(key.keyId, target, currentVersion);
      return target.keyMaterialId;
    });
  }

  /** RotateKeyOnDemand on a symmetric EXTERNAL key: the material pending rotation becomes current. */
  /** How many on-demand rotations have made imported material current (the quota counts them). */
  onDemandRotations(key: KmsKey): number {
    return this.materials(key.keyId).filter((m) => m.rotatedAt !== undefined).length;
  }

  rotate(key: KmsKey, now = new Date()): string {
    return immediate(this.db, () => {
      const { current_version: currentVersion } = this.db.prepare('SELECT current_version FROM kms_keys WHERE key_id = ?').get(key.keyId) as { current_version: number };
      const pending = (this.rowsOf.all(key.keyId) as MaterialRow[]).map(toMaterial).find((m) => isPendingRotation(m, currentVersion));
      if (!pending) {
        throw new KMSInvalidStateException(`${key.arn} has no key material in the PENDING_ROTATION state. Import new key material (ImportType NEW_KEY_MATERIAL) before rotating.`);
      }
      this.db.prepare('UPDATE kms_imported_materials SET rotated_at = ? WHERE key_id = ? AND version = ?').run(now.toISOString(), key.keyId, pending.version);
      this.keys.setImportState(key.keyId, key.keyState, pending.version);
      this.settle(key.keyId);
      return pending.keyMaterialId;
    });
  }

  /**
   * A key's state from its materials: PendingImport while it has no material or lacks one that is
   * permanently associated; Enabled again once all are back. A key pending deletion stays so.
   */
  settle(keyId: string): void {
    immediate(this.db, () => {
      const key = this.db.prepare('SELECT key_state, current_version FROM kms_keys WHERE key_id = ?').get(keyId) as { key_state: string; current_version: number } | undefined;
      if (!key || key.key_state === 'PendingDeletion') return;
      const lacking =
        key.current_version === 0 ||
        (this.rowsOf.all(keyId) as MaterialRow[]).some((m) => !isPendingRotation(m, key.current_version) && m.import_state === 'PENDING_IMPORT');
      if (lacking && key.key_state !== 'PendingImport') this.keys.setImportState(keyId, 'PendingImport');
      if (!lacking && key.key_state === 'PendingImport') this.keys.setImportState(keyId, 'Enabled');
    });
  }

  // ---- expiry: work that comes due with time (kms/due-work.ts) -------------------------

  /** The earliest moment some imported material of this account and Region expires. Cached until the next write. */
  nextDueAt(): number | undefined {
    return this.dueCache.get('next', () => {
      const row = this.nextExpiry.get(this.keys.accountId, this.keys.region) as { t: string | null };
      return row.t === null ? undefined : Date.parse(row.t);
    });
  }

  /** Imported materials whose ValidTo has passed by `now`. */
  due(now = new Date()): { keyId: string; version: number }[] {
    return this.db
      .prepare(
        `SELECT m.key_id AS keyId, m.version FROM kms_imported_materials m JOIN kms_keys k ON k.key_id = m.key_id
         WHERE k.account_id = ? AND k.region = ? AND m.import_state = 'IMPORTED' AND m.valid_to <= ? ORDER BY m.valid_to`,
      )
      .all(this.keys.accountId, this.keys.region, now.toISOString()) as { keyId: string; version: number }[];
  }

  /** Deletes one expired material; its KeyMaterialId, or undefined if it is no longer due (another process did it). */
  expireIfDue(keyId: string, version: number, now = new Date()): string | undefined {
    return immediate(this.db, () => {
      const row = this.db.prepare('SELECT * FROM kms_imported_materials WHERE key_id = ? AND version = ?').get(keyId, version) as MaterialRow | undefined;
      if (!row || row.import_state !== 'IMPORTED' || row.valid_to === null || new Date(row.valid_to) > now) return undefined;
      const { current_version: currentVersion } = this.db.prepare('SELECT current_version FROM kms_keys WHERE key_id = ?').get(keyId) as { current_version: number };
      this.remove(keyId, toMaterial(row), currentVersion);
      return row.key_material_id;
    });
  }

  /** Deletes a material's bytes: it stays listed (PENDING_IMPORT) if permanently associated, else it goes. */
  private remove(keyId: string, m: ImportedMaterial, currentVersion: number): void {
    this.keys.dropMaterial(keyId, m.version);
    if (isPendingRotation(m, currentVersion)) {
      this.db.prepare('DELETE FROM kms_imported_materials WHERE key_id = ? AND version = ?').run(keyId, m.version);
    } else {
      this.db.prepare("UPDATE kms_imported_materials SET import_state = 'PENDING_IMPORT', valid_to = NULL WHERE key_id = ? AND version = ?").run(keyId, m.version);
    }
    this.settle(keyId);
  }
}
