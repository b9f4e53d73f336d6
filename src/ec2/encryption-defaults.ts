// EBS encryption by default, per account and Region (the EBS user guide's "Encryption by
// default" and "Default KMS key for EBS encryption"): whether every new volume is encrypted, and
// the KMS key a volume is encrypted under when the request names none.
import type { Db } from '../store/database.js';
import { immediate } from '../store/database.js';

/** The AWS managed key EBS uses until a default key is chosen (KMS creates it on first use). */
export const EBS_MANAGED_KEY_ALIAS = 'alias/aws/ebs';

interface DefaultsRow {
  enabled: number;
  kms_key_id: string | null;
}

export class EbsEncryptionDefaults {
  constructor(
    private readonly db: Db,
    private readonly accountId: string,
    private readonly region: string,
  ) {}

  private row(): DefaultsRow | undefined {
    return this.db.prepare('SELECT enabled, kms_key_id FROM ec2_ebs_encryption_defaults WHERE account_id = ? AND region = ?').get(this.accountId, this.region) as DefaultsRow | undefined;
  }

  /** Whether new volumes (CreateVolume, RunInstances) are always encrypted in this account and Region. */
  enabled(): boolean {
    return this.row()?.enabled === 1;
  }

  /** The default key as GetEbsDefaultKmsKeyId answers: the chosen key's ARN, or alias/aws/ebs's ARN. */
  defaultKeyArn(): string {
    return this.row()?.kms_key_id ?? this.arnOf(EBS_MANAGED_KEY_ALIAS);
  }

  /**
   * The KeyId EC2 asks GenerateDataKeyWithoutPlaintext for when a volume is encrypted without a
   * KmsKeyId: the chosen default key, or `alias/aws/ebs` as the seed's record names it.
   */
  keyForNewVolume(): string {
    return this.row()?.kms_key_id ?? EBS_MANAGED_KEY_ALIAS;
  }

  setEnabled(enabled: boolean): void {
    this.upsert('enabled', enabled ? 1 : 0);
  }

  /** Makes `keyId` (key ID, key ARN, alias name or alias ARN) the default key; null: back to alias/aws/ebs. */
  setDefaultKey(keyId: string | null): string {
    this.upsert('kms_key_id', keyId === null ? null : this.arnOf(keyId));
    return this.defaultKeyArn();
  }

  /**
   * A key identifier in ARN form, without asking KMS: AWS checks the key only when a volume uses
   * it ("authenticates the KMS key asynchronously"), so an unknown key is accepted here and fails
   * at the next encrypted volume.
   */
  arnOf(keyId: string): string {
    if (keyId.startsWith('arn:')) return keyId;
    const prefix = `arn:aws:kms:${this.region}:${this.accountId}`;
    return keyId.startsWith('alias/') ? `${prefix}:${keyId}` : `${prefix}:key/${keyId}`;
  }

  private upsert(column: 'enabled' | 'kms_key_id', value: number | string | null): void {
    immediate(this.db, () =>
      this.db
        .prepare(
          `INSERT INTO ec2_ebs_encryption_defaults (account_id, region, ${column}, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (account_id, region) DO UPDATE SET ${column} = excluded.${column}, updated_at = excluded.updated_at`,
        )
        .run(this.accountId, this.region, value, new Date().toISOString()),
    );
  }
}
