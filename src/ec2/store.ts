// EC2 rows in the shared SQLite store, of one account in one Region: EC2 answers for a resource
// only in the Region that holds it (another Region's IDs are not found there, as on AWS).
import type { Db } from '../store/database.js';
import { immediate } from '../store/database.js';
import type { Principal } from '../core/call-context.js';
import type { CopyGrant, CopyGrantJournal, LeftoverGrant } from './ebs-keys.js';
import type { Instance, InstanceStateName, Snapshot, StateReason, Volume } from './model.js';

/** An instance with why it is in its state (a row of ec2_instance_state_reasons, if any). */
const INSTANCE_SELECT = `SELECT i.*, r.code AS reason_code, r.message AS reason_message, r.transition_reason
  FROM ec2_instances i LEFT JOIN ec2_instance_state_reasons r ON r.instance_id = i.instance_id`;

/** Why an instance changed state: AWS's StateReason (null: none) and StateTransitionReason. */
export interface StateWhy {
  reason: StateReason | null;
  transition: string;
}

interface VolumeRow {
  volume_id: string; size_gib: number; volume_type: string; availability_zone: string; state: Volume['state'];
  encrypted: number; kms_key_arn: string | null; encrypted_data_key: Buffer | null; snapshot_id: string | null;
  sector_size: number; created_at: string; instance_id: string | null; device: string | null; attach_time: string | null;
  delete_on_termination: number; grant_id: string | null; state_message?: string | null;
}

const VOLUME_SELECT = 'SELECT v.*, d.state_message FROM ec2_volumes v LEFT JOIN ec2_image_details d ON d.resource_id = v.volume_id';
const SNAPSHOT_SELECT = 'SELECT s.*, d.source_id, d.context_id, d.progress, d.state_message FROM ec2_snapshots s LEFT JOIN ec2_image_details d ON d.resource_id = s.snapshot_id';

export class Ec2Store implements CopyGrantJournal {
  constructor(
    private readonly db: Db,
    private readonly accountId: string,
    readonly region: string,
  ) {}

  insertInstance(i: Instance): void {
    immediate(this.db, () =>
      this.db
        .prepare(
          `INSERT INTO ec2_instances (instance_id, account_id, region, reservation_id, image_id, instance_type, state, availability_zone, launch_time, client_token, root_device_name)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(i.instanceId, this.accountId, this.region, i.reservationId, i.imageId, i.instanceType, i.state, i.availabilityZone, i.launchTime.toISOString(), i.clientToken, i.rootDeviceName),
    );
  }

  instance(id: string): Instance | undefined {
    const r = this.db.prepare(`${INSTANCE_SELECT} WHERE i.instance_id = ? AND i.account_id = ? AND i.region = ?`).get(id, this.accountId, this.region) as Record<string, string> | undefined;
    return r && toInstance(r);
  }

  /** The instance an earlier RunInstances with this client token launched, in this account and Region (terminated ones too). */
  instanceByClientToken(token: string): Instance | undefined {
    const r = this.db.prepare(`${INSTANCE_SELECT} WHERE i.client_token = ? AND i.account_id = ? AND i.region = ? ORDER BY i.launch_time LIMIT 1`).get(token, this.accountId, this.region) as Record<string, string> | undefined;
    return r && toInstance(r);
  }

  instances(): Instance[] {
    return (this.db.prepare(`${INSTANCE_SELECT} WHERE i.account_id = ? AND i.region = ? ORDER BY i.launch_time`).all(this.accountId, this.region) as Record<string, string>[]).map(toInstance);
  }

  instancesIn(state: InstanceStateName): Instance[] {
    return (this.db.prepare(`${INSTANCE_SELECT} WHERE i.account_id = ? AND i.region = ? AND i.state = ? ORDER BY i.launch_time`).all(this.accountId, this.region, state) as Record<string, string>[]).map(toInstance);
  }

  /** The instance's new state; with `why`, its StateReason and StateTransitionReason too (else they stay). */
  setInstanceState(id: string, state: InstanceStateName, why?: StateWhy): void {
    immediate(this.db, () => {
      this.db.prepare('UPDATE ec2_instances SET state = ? WHERE instance_id = ?').run(state, id);
      if (!why) return;
      this.db
        .prepare(
          `INSERT INTO ec2_instance_state_reasons (instance_id, code, message, transition_reason) VALUES (?, ?, ?, ?)
           ON CONFLICT (instance_id) DO UPDATE SET code = excluded.code, message = excluded.message, transition_reason = excluded.transition_reason`,
        )
        .run(id, why.reason?.code ?? null, why.reason?.message ?? null, why.transition);
    });
  }

  insertVolume(v: Volume): void {
    immediate(this.db, () =>
      this.db
        .prepare(
          `INSERT INTO ec2_volumes (volume_id, account_id, region, size_gib, volume_type, availability_zone, state, encrypted, kms_key_arn, encrypted_data_key, snapshot_id, sector_size, created_at, delete_on_termination)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(v.volumeId, this.accountId, this.region, v.sizeGiB, v.volumeType, v.availabilityZone, v.state, v.encrypted ? 1 : 0, v.kmsKeyArn, v.encryptedDataKey, v.snapshotId, v.sectorSize, v.createdAt.toISOString(), v.deleteOnTermination ? 1 : 0),
    );
  }

  volume(id: string): Volume | undefined {
    const r = this.db.prepare(`${VOLUME_SELECT} WHERE v.volume_id = ? AND v.account_id = ? AND v.region = ?`).get(id, this.accountId, this.region) as VolumeRow | undefined;
    return r && toVolume(r);
  }

  volumes(): Volume[] {
    return (this.db.prepare(`${VOLUME_SELECT} WHERE v.account_id = ? AND v.region = ? AND v.state <> 'deleted' ORDER BY v.created_at`).all(this.accountId, this.region) as VolumeRow[]).map(toVolume);
  }

  /** The volumes attached to (or being attached to) the instance, oldest first: by index, not from every volume of the Region. */
  volumesOf(instanceId: string): Volume[] {
    return (this.db.prepare(`${VOLUME_SELECT} WHERE v.instance_id = ? AND v.account_id = ? AND v.region = ? AND v.state <> 'deleted' ORDER BY v.created_at`).all(instanceId, this.accountId, this.region) as VolumeRow[]).map(toVolume);
  }

  volumesIn(state: Volume['state']): Volume[] {
    return (this.db.prepare(`${VOLUME_SELECT} WHERE v.account_id = ? AND v.region = ? AND v.state = ? ORDER BY v.created_at`).all(this.accountId, this.region, state) as VolumeRow[]).map(toVolume);
  }

  /** A volume's new state; `error` with why (kept for the CLI's note; not in AWS's Volume shape). */
  setVolumeState(id: string, state: Volume['state'], message: string | null = null): void {
    immediate(this.db, () => {
      this.db.prepare('UPDATE ec2_volumes SET state = ? WHERE volume_id = ?').run(state, id);
      if (state === 'error') this.upsertDetails(id, { state_message: message });
    });
  }

  updateVolume(id: string, fields: Partial<Record<keyof VolumeRow, string | number | Buffer | null>>): void {
    const cols = Object.keys(fields);
    immediate(this.db, () => this.db.prepare(`UPDATE ec2_volumes SET ${cols.map((c) => `${c} = ?`).join(', ')} WHERE volume_id = ?`).run(...Object.values(fields), id));
  }

  insertSnapshot(s: Snapshot): void {
    immediate(this.db, () => {
      this.db
        .prepare(
          `INSERT INTO ec2_snapshots (snapshot_id, account_id, region, volume_id, volume_size, state, encrypted, kms_key_arn, encrypted_data_key, description, start_time)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(s.snapshotId, this.accountId, this.region, s.volumeId, s.volumeSize, s.state, s.encrypted ? 1 : 0, s.kmsKeyArn, s.encryptedDataKey, s.description, s.startTime.toISOString());
      this.upsertDetails(s.snapshotId, { source_id: s.sourceId, context_id: s.contextId, progress: s.progress, state_message: s.stateMessage });
    });
  }

  snapshot(id: string): Snapshot | undefined {
    const r = this.db.prepare(`${SNAPSHOT_SELECT} WHERE s.snapshot_id = ? AND s.account_id = ? AND s.region = ?`).get(id, this.accountId, this.region) as Record<string, unknown> | undefined;
    return r && toSnapshot(r);
  }

  snapshots(): Snapshot[] {
    return (this.db.prepare(`${SNAPSHOT_SELECT} WHERE s.account_id = ? AND s.region = ? ORDER BY s.start_time`).all(this.accountId, this.region) as Record<string, unknown>[]).map(toSnapshot);
  }

  snapshotsIn(state: Snapshot['state']): Snapshot[] {
    return (this.db.prepare(`${SNAPSHOT_SELECT} WHERE s.account_id = ? AND s.region = ? AND s.state = ? ORDER BY s.start_time`).all(this.accountId, this.region, state) as Record<string, unknown>[]).map(toSnapshot);
  }

  /** The snapshot's data key once EC2 has it (a copy's comes after the CopySnapshot record). */
  setSnapshotKey(id: string, kmsKeyArn: string, encryptedDataKey: Buffer): void {
    immediate(this.db, () => this.db.prepare('UPDATE ec2_snapshots SET kms_key_arn = ?, encrypted_data_key = ? WHERE snapshot_id = ?').run(kmsKeyArn, encryptedDataKey, id));
  }

  setProgress(id: string, percent: number): void {
    immediate(this.db, () => this.upsertDetails(id, { progress: percent }));
  }

  /** `completed` (100%) or `error` with AWS's StateMessage. */
  finishSnapshot(id: string, state: 'completed' | 'error', message: string | null = null): void {
    immediate(this.db, () => {
      this.db.prepare('UPDATE ec2_snapshots SET state = ? WHERE snapshot_id = ?').run(state, id);
      this.upsertDetails(id, state === 'completed' ? { progress: 100, state_message: null } : { state_message: message });
    });
  }

  /**
   * A snapshot of another account of the home, in this Region, that this account may use: its
   * createVolumePermission names this account or the group "all".
   */
  sharedSnapshot(id: string): Snapshot | undefined {
    const r = this.db
      .prepare(`${SNAPSHOT_SELECT} WHERE s.snapshot_id = ? AND s.account_id <> ? AND s.region = ? AND EXISTS (SELECT 1 FROM ec2_snapshot_permissions p WHERE p.snapshot_id = s.snapshot_id AND p.grantee IN (?, 'all'))`)
      .get(id, this.accountId, this.region, this.accountId) as Record<string, unknown> | undefined;
    return r && toSnapshot(r);
  }

  /** The snapshot's createVolumePermission: account IDs, and "all" for the public group, in order. */
  snapshotPermissions(id: string): string[] {
    return (this.db.prepare('SELECT grantee FROM ec2_snapshot_permissions WHERE snapshot_id = ? ORDER BY grantee').all(id) as { grantee: string }[]).map((r) => r.grantee);
  }

  /** Adds (`add`) or removes the grantees from the snapshot's createVolumePermission, in one transaction. */
  changeSnapshotPermissions(id: string, grantees: readonly string[], add: boolean): void {
    immediate(this.db, () => {
      const stmt = add
        ? this.db.prepare('INSERT OR IGNORE INTO ec2_snapshot_permissions (snapshot_id, grantee) VALUES (?, ?)')
        : this.db.prepare('DELETE FROM ec2_snapshot_permissions WHERE snapshot_id = ? AND grantee = ?');
      for (const g of grantees) stmt.run(id, g);
    });
  }

  clearSnapshotPermissions(id: string): void {
    immediate(this.db, () => this.db.prepare('DELETE FROM ec2_snapshot_permissions WHERE snapshot_id = ?').run(id));
  }

  /**
   * The copies (snapshots `pending`) and volumes (`creating`) made from the snapshot, in any
   * account or Region of the home: a cross-Region copy reads it from another Region. Some may have
   * lost their maker (settled by the next call in their own Region, image-jobs.ts).
   */
  usersOfSnapshot(id: string): string[] {
    return this.db
      .prepare(
        `SELECT s.snapshot_id FROM ec2_snapshots s JOIN ec2_image_details d ON d.resource_id = s.snapshot_id WHERE s.state = 'pending' AND d.source_id = ?
         UNION ALL SELECT volume_id FROM ec2_volumes WHERE state = 'creating' AND snapshot_id = ?`,
      )
      .pluck()
      .all(id, id) as string[];
  }

  /** The account and Region that hold instance, volume or snapshot `id`, whichever account of the home it is (IDs are unique in the home). */
  static placeOf(db: Db, id: string): { accountId: string; region: string } | undefined {
    return db
      .prepare(
        `SELECT account_id AS accountId, region FROM ec2_volumes WHERE volume_id = ? AND state <> 'deleted'
         UNION ALL SELECT account_id, region FROM ec2_instances WHERE instance_id = ?
         UNION ALL SELECT account_id, region FROM ec2_snapshots WHERE snapshot_id = ? LIMIT 1`,
      )
      .get(id, id, id) as { accountId: string; region: string } | undefined;
  }

  /**
   * Whether `id` is a volume or snapshot of the home known to be deleted (a volume row 'deleted', a
   * snapshot's tombstone) and not live: its image may go. An ID the database has never heard of is
   * not gone (the database may be older than the images).
   */
  isDeletedAnywhere(id: string): boolean {
    const deleted = this.db
      .prepare(
        `SELECT 1 FROM ec2_volumes WHERE volume_id = ? AND state = 'deleted'
         UNION ALL SELECT 1 FROM ec2_snapshot_tombstones WHERE snapshot_id = ? LIMIT 1`,
      )
      .get(id, id);
    // placeOf finds a volume not deleted or a snapshot anywhere in the home: never true of a
    // deleted one today; kept so that a row brought back can never lose its image.
    return deleted !== undefined && Ec2Store.placeOf(this.db, id) === undefined;
  }

  /** The Region that holds this account's instance, volume or snapshot `id`, if any (IDs are unique in the home). */
  regionOf(id: string): string | undefined {
    return this.db
      .prepare(
        `SELECT region FROM ec2_volumes WHERE volume_id = ? AND account_id = ? AND state <> 'deleted'
         UNION ALL SELECT region FROM ec2_instances WHERE instance_id = ? AND account_id = ?
         UNION ALL SELECT region FROM ec2_snapshots WHERE snapshot_id = ? AND account_id = ? LIMIT 1`,
      )
      .pluck()
      .get(id, this.accountId, id, this.accountId, id, this.accountId) as string | undefined;
  }

  deleteSnapshot(id: string): void {
    immediate(this.db, () => {
      this.db.prepare('DELETE FROM ec2_snapshot_permissions WHERE snapshot_id = ?').run(id);
      this.db.prepare('DELETE FROM ec2_snapshots WHERE snapshot_id = ?').run(id);
      this.db.prepare('DELETE FROM ec2_image_details WHERE resource_id = ?').run(id);
      this.db.prepare('INSERT OR IGNORE INTO ec2_snapshot_tombstones (snapshot_id, deleted_at) VALUES (?, ?)').run(id, new Date().toISOString());
    });
  }

  /** A grant EC2 made for the worker of a copy of this account (ec2_copy_grants), until it is retired. */
  noteCopyGrant(workerId: string, caller: Principal, g: CopyGrant): void {
    immediate(this.db, () =>
      this.db
        .prepare('INSERT INTO ec2_copy_grants (grant_id, resource_id, account_id, region, key_arn, caller) VALUES (?, ?, ?, ?, ?, ?)')
        .run(g.grantId, workerId, this.accountId, g.region, g.keyArn, JSON.stringify(caller)),
    );
  }

  dropCopyGrant(grantId: string): void {
    immediate(this.db, () => this.db.prepare('DELETE FROM ec2_copy_grants WHERE grant_id = ?').run(grantId));
  }

  /** The grants noted for the copy making `workerId` and not retired yet, oldest first. */
  copyGrantsOf(workerId: string): LeftoverGrant[] {
    const rows = this.db
      .prepare('SELECT grant_id, region, key_arn, caller FROM ec2_copy_grants WHERE resource_id = ? AND account_id = ? ORDER BY rowid')
      .all(workerId, this.accountId) as { grant_id: string; region: string; key_arn: string; caller: string | null }[];
    return rows.map((r) => ({ grantId: r.grant_id, region: r.region, keyArn: r.key_arn, workerId, caller: r.caller === null ? null : (JSON.parse(r.caller) as Principal) }));
  }

  private upsertDetails(id: string, fields: Partial<Record<'source_id' | 'context_id' | 'progress' | 'state_message', string | number | null>>): void {
    const cols = Object.keys(fields);
    this.db
      .prepare(
        `INSERT INTO ec2_image_details (resource_id, ${cols.join(', ')}) VALUES (?, ${cols.map(() => '?').join(', ')})
         ON CONFLICT (resource_id) DO UPDATE SET ${cols.map((c) => `${c} = excluded.${c}`).join(', ')}`,
      )
      .run(id, ...Object.values(fields));
  }
}

function toInstance(r: Record<string, string>): Instance {
  return {
    instanceId: r.instance_id!, reservationId: r.reservation_id!, imageId: r.image_id!, instanceType: r.instance_type!,
    state: r.state as Instance['state'], availabilityZone: r.availability_zone!, launchTime: new Date(r.launch_time!),
    clientToken: r.client_token ?? null, rootDeviceName: r.root_device_name!,
    stateReason: r.reason_code ? { code: r.reason_code, message: r.reason_message ?? '' } : null,
    stateTransitionReason: r.transition_reason ?? '',
  };
}

function toVolume(r: VolumeRow): Volume {
  return {
    volumeId: r.volume_id, sizeGiB: r.size_gib, volumeType: r.volume_type, availabilityZone: r.availability_zone, state: r.state,
    encrypted: r.encrypted === 1, kmsKeyArn: r.kms_key_arn, encryptedDataKey: r.encrypted_data_key, snapshotId: r.snapshot_id,
    sectorSize: r.sector_size, createdAt: new Date(r.created_at), instanceId: r.instance_id, device: r.device,
    attachTime: r.attach_time ? new Date(r.attach_time) : null, deleteOnTermination: r.delete_on_termination === 1, grantId: r.grant_id,
    stateMessage: r.state === 'error' ? (r.state_message ?? null) : null,
  };
}

function toSnapshot(r: Record<string, unknown>): Snapshot {
  return {
    snapshotId: r.snapshot_id as string, volumeId: r.volume_id as string, volumeSize: r.volume_size as number, state: r.state as Snapshot['state'],
    encrypted: r.encrypted === 1, kmsKeyArn: (r.kms_key_arn as string) ?? null, encryptedDataKey: (r.encrypted_data_key as Buffer) ?? null,
    description: r.description as string, startTime: new Date(r.start_time as string),
    progress: (r.progress as number | null) ?? 100,
    stateMessage: (r.state_message as string | null) ?? null,
    // A snapshot of an older ebsim (no row) had its data key re-encrypted to its own ID.
    contextId: (r.context_id as string | null) ?? (r.snapshot_id as string),
    sourceId: (r.source_id as string | null) ?? null,
    ownerId: r.account_id as string,
  };
}
