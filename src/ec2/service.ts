// The EC2/EBS control plane: instances, encrypted volumes, attach/detach, snapshots. It calls
// KMS exactly as the seed shows: for the caller ("AWS Internal") when it creates data keys and
// grants, and as the instance's infrastructure role when the host decrypts a volume's data key.
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Db } from '../store/database.js';
import type { Trail } from '../trail/trail.js';
import { buildRecord } from '../trail/record.js';
import { onBehalfOf, type CallContext } from '../core/call-context.js';
import { EC2_INFRASTRUCTURE_ROLE, type IamService } from '../iam/service.js';
import type { GrantListEntry, KmsClient } from '../kms/client.js';
import { AwsError, IncorrectState, InvalidInstanceIDNotFound, InvalidParameterValue, InvalidSnapshotNotFound, InvalidVolumeNotFound, VolumeInUse } from '../errors/index.js';
import { createSparseImage } from '../device/block-device.js';
import { ExclusiveLock, imageLockFile, lockHolder } from '../device/lock.js';
import { Ec2Store } from './store.js';
import { hostAddressOf, newInstanceId, newReservationId, newSnapshotId, newVolumeId } from './ids.js';
import { INSTANCE_STATE_CODES, snapshotShape, volumeShape, type Instance, type Snapshot, type Volume } from './model.js';

export const EBS_DEFAULT_KEY = 'alias/aws/ebs';
const GIB = 1024 ** 3;

export interface BlockDeviceMapping {
  DeviceName: string;
  Ebs?: { VolumeSize?: number; Encrypted?: boolean; DeleteOnTermination?: boolean; VolumeType?: string; KmsKeyId?: string; SnapshotId?: string };
}

export interface RunInstancesRequest {
  ImageId: string;
  InstanceType: string;
  BlockDeviceMappings?: BlockDeviceMapping[];
  ClientToken?: string;
}

export interface CreateVolumeRequest {
  Size?: number;
  Encrypted?: boolean;
  KmsKeyId?: string;
  SnapshotId?: string;
  AvailabilityZone?: string;
  VolumeType?: string;
}

export class Ec2Service {
  private readonly store: Ec2Store;

  constructor(
    private readonly db: Db,
    private readonly trail: Trail,
    private readonly iam: IamService,
    private readonly kms: KmsClient,
    private readonly volumesDir: string,
    readonly accountId: string,
    readonly region: string,
  ) {
    this.store = new Ec2Store(db, accountId);
  }

  imagePath(volumeOrSnapshotId: string): string {
    return join(this.volumesDir, `${volumeOrSnapshotId}.img`);
  }

  // ---- instances ---------------------------------------------------------------------

  runInstances(ctx: CallContext, req: RunInstancesRequest): Record<string, unknown> {
    if (!req.ImageId || !/^ami-[0-9a-f]{8,17}$/.test(req.ImageId)) throw new InvalidParameterValue(`Invalid id: "${req.ImageId ?? ''}" (expecting "ami-...")`);
    if (!req.InstanceType) throw new InvalidParameterValue('The request must contain the parameter InstanceType');
    const mappings = req.BlockDeviceMappings ?? [];
    const rootDeviceName = '/dev/xvda';
    if (!mappings.some((m) => m.DeviceName === rootDeviceName)) mappings.unshift({ DeviceName: rootDeviceName, Ebs: { VolumeSize: 8, DeleteOnTermination: true, VolumeType: 'gp2' } });
    const instance: Instance = {
      instanceId: newInstanceId(),
      reservationId: newReservationId(),
      imageId: req.ImageId,
      instanceType: req.InstanceType,
      state: 'pending',
      availabilityZone: `${this.region}a`,
      launchTime: new Date(),
      clientToken: req.ClientToken ?? randomUUID(),
      rootDeviceName,
    };
    const requestId = randomUUID();
    this.store.insertInstance(instance);
    // The RunInstances record comes first, as in the seed; the KMS calls it causes follow.
    this.record(ctx, 'RunInstances', runInstancesParameters(req, mappings, instance.clientToken!), runInstancesResponse(instance, this.accountId), requestId);
    let stateReason: { Code: string; Message: string } | undefined;
    try {
      for (const m of mappings) {
        const ebs = m.Ebs ?? {};
        const volume = this.provisionVolume(ctx, { Size: ebs.VolumeSize ?? 8, Encrypted: ebs.Encrypted, KmsKeyId: ebs.KmsKeyId, SnapshotId: ebs.SnapshotId, VolumeType: ebs.VolumeType, AvailabilityZone: instance.availabilityZone }, ebs.DeleteOnTermination ?? m.DeviceName === rootDeviceName);
        this.attachInternal(ctx, volume, instance, m.DeviceName, requestId);
      }
      this.store.setInstanceState(instance.instanceId, 'running');
    } catch (err) {
      if (!(err instanceof AwsError)) throw err;
      // As on AWS: the launch is accepted, then the instance stops for want of its volume's key.
      stateReason = { Code: 'Client.InvalidKMSKey.InvalidState', Message: `Client.InvalidKMSKey.InvalidState: ${err.code}: ${err.message}` };
      this.terminateInternal(ctx, instance.instanceId);
    }
    const current = this.store.instance(instance.instanceId)!;
    return { Groups: [], Instances: [{ ...this.instanceShape(current), ...(stateReason ? { StateReason: stateReason } : {}) }], OwnerId: this.accountId, ReservationId: instance.reservationId };
  }

  describeInstances(ctx: CallContext, ids: string[] = []): Record<string, unknown> {
    const instances = ids.length ? ids.map((id) => this.requireInstance(id)) : this.store.instances();
    this.record(ctx, 'DescribeInstances', { instancesSet: { items: ids.map((instanceId) => ({ instanceId })) } }, null);
    const byReservation = new Map<string, Instance[]>();
    for (const i of instances) byReservation.set(i.reservationId, [...(byReservation.get(i.reservationId) ?? []), i]);
    return {
      Reservations: [...byReservation].map(([ReservationId, list]) => ({ Groups: [], Instances: list.map((i) => this.instanceShape(i)), OwnerId: this.accountId, ReservationId })),
    };
  }

  terminateInstances(ctx: CallContext, ids: string[]): Record<string, unknown> {
    if (ids.length === 0) throw new InvalidParameterValue('The request must contain the parameter InstanceIds');
    // Every volume is checked before any instance changes: a refusal leaves all of them as they were.
    for (const id of ids) this.requireInstance(id);
    for (const v of this.store.volumes().filter((x) => x.instanceId && ids.includes(x.instanceId))) this.refuseIfOpenOnHost(v, 'terminates the instance of');
    const changes = ids.map((id) => {
      const before = this.requireInstance(id).state;
      this.terminateInternal(ctx, id);
      return { CurrentState: { Code: 48, Name: 'terminated' }, InstanceId: id, PreviousState: { Code: INSTANCE_STATE_CODES[before], Name: before } };
    });
    this.record(ctx, 'TerminateInstances', { instancesSet: { items: ids.map((instanceId) => ({ instanceId })) } }, { instancesSet: { items: changes.map((c) => ({ instanceId: c.InstanceId, currentState: { code: 48, name: 'terminated' } })) } });
    return { TerminatingInstances: changes };
  }

  // ---- volumes -----------------------------------------------------------------------

  createVolume(ctx: CallContext, req: CreateVolumeRequest): Record<string, unknown> {
    const volume = this.provisionVolume(ctx, req, false);
    this.record(ctx, 'CreateVolume', { size: req.Size, zone: volume.availabilityZone, volumeType: volume.volumeType, encrypted: volume.encrypted, ...(req.KmsKeyId ? { kmsKeyId: req.KmsKeyId } : {}), ...(req.SnapshotId ? { snapshotId: req.SnapshotId } : {}) }, { volumeId: volume.volumeId, size: volume.sizeGiB, status: volume.state, encrypted: volume.encrypted });
    return volumeShape(volume);
  }

  describeVolumes(ctx: CallContext, ids: string[] = []): Record<string, unknown> {
    const volumes = ids.length ? ids.map((id) => this.requireVolume(id)) : this.store.volumes();
    this.record(ctx, 'DescribeVolumes', { volumeSet: { items: ids.map((volumeId) => ({ volumeId })) } }, null);
    return { Volumes: volumes.map(volumeShape) };
  }

  attachVolume(ctx: CallContext, req: { VolumeId: string; InstanceId: string; Device: string }): Record<string, unknown> {
    const volume = this.requireVolume(req.VolumeId);
    const instance = this.requireInstance(req.InstanceId);
    if (!req.Device || !/^\/dev\/(sd[b-z]|xvd[a-z])$/.test(req.Device)) throw new InvalidParameterValue(`Value (${req.Device}) for parameter device is invalid. ${req.Device} is not a valid EBS device name.`);
    const requestId = randomUUID();
    this.attachInternal(ctx, volume, instance, req.Device, requestId);
    const v = this.store.volume(volume.volumeId)!;
    this.record(ctx, 'AttachVolume', { volumeId: v.volumeId, instanceId: instance.instanceId, device: req.Device }, { volumeId: v.volumeId, instanceId: instance.instanceId, device: req.Device, status: 'attaching', attachTime: v.attachTime!.getTime() }, requestId);
    return { AttachTime: v.attachTime, Device: v.device, InstanceId: v.instanceId, State: 'attached', VolumeId: v.volumeId };
  }

  detachVolume(ctx: CallContext, req: { VolumeId: string }): Record<string, unknown> {
    const v = this.requireVolume(req.VolumeId);
    if (v.state !== 'in-use' || !v.instanceId) throw new IncorrectState(`Volume '${v.volumeId}' is in the 'available' state.`);
    this.refuseIfOpenOnHost(v, 'detaches');
    // Detach keeps the grant: re-attaching to the same instance needs no new one.
    this.store.updateVolume(v.volumeId, { state: 'available', instance_id: null, device: null, attach_time: null });
    this.record(ctx, 'DetachVolume', { volumeId: v.volumeId }, { volumeId: v.volumeId, instanceId: v.instanceId, device: v.device, status: 'detaching' });
    return { AttachTime: v.attachTime, Device: v.device, InstanceId: v.instanceId, State: 'detaching', VolumeId: v.volumeId };
  }

  deleteVolume(ctx: CallContext, req: { VolumeId: string }): Record<string, unknown> {
    const v = this.requireVolume(req.VolumeId);
    if (v.state === 'in-use') throw new VolumeInUse(`Volume ${v.volumeId} is currently attached to ${v.instanceId}`);
    this.refuseIfOpenOnHost(v, 'deletes');
    this.deleteInternal(ctx, v);
    this.record(ctx, 'DeleteVolume', { volumeId: v.volumeId }, { _return: true });
    return {};
  }

  /**
   * A volume that a device daemon (a mount) or an in-process writer has open: detaching, deleting
   * or terminating would pull the image from under it (on AWS the OS is shut down or the detach
   * waits, 'busy', for the unmount). ebsim refuses instead; see docs/known-differences.md.
   */
  private refuseIfOpenOnHost(v: Volume, action: string): void {
    const file = imageLockFile(this.imagePath(v.volumeId));
    if (!existsSync(file)) return;
    const lock = ExclusiveLock.tryAcquire(file);
    if (lock) return lock.release();
    const pid = lockHolder(file);
    throw new IncorrectState(`The volume '${v.volumeId}' is open on its host${pid ? ` (pid ${pid})` : ''}; ebsim ${action} only a volume nothing has open: unmount it first (ebsim volume unmount ${v.volumeId}).`);
  }

  // ---- snapshots ---------------------------------------------------------------------

  createSnapshot(ctx: CallContext, req: { VolumeId: string; Description?: string }): Record<string, unknown> {
    const v = this.requireVolume(req.VolumeId);
    // A copy taken while a device daemon or an in-process writer has the image open could hold
    // half-written sectors: take the image's writer lock for the copy (see src/device/lock.ts).
    const image = this.imagePath(v.volumeId);
    const lock = ExclusiveLock.tryAcquire(imageLockFile(image));
    if (!lock) {
      const pid = lockHolder(imageLockFile(image));
      throw new IncorrectState(`The volume '${v.volumeId}' is open for writing on its host${pid ? ` (pid ${pid})` : ''}; ebsim snapshots only a volume nothing is writing to: unmount it first (ebsim volume unmount ${v.volumeId}).`);
    }
    const snapshotId = newSnapshotId();
    try {
      const blob = v.encrypted ? this.rewrapDataKey(ctx, v.encryptedDataKey!, v.volumeId, v.kmsKeyArn!, snapshotId) : null;
      copySparse(image, this.imagePath(snapshotId));
      return this.recordSnapshot(ctx, v, snapshotId, blob, req.Description);
    } finally {
      lock.release();
    }
  }

  private recordSnapshot(ctx: CallContext, v: Volume, snapshotId: string, blob: { keyArn: string; blob: Buffer } | null, description: string | undefined): Record<string, unknown> {
    const snap: Snapshot = { snapshotId, volumeId: v.volumeId, volumeSize: v.sizeGiB, state: 'completed', encrypted: v.encrypted, kmsKeyArn: blob?.keyArn ?? null, encryptedDataKey: blob?.blob ?? null, description: description ?? '', startTime: new Date() };
    this.store.insertSnapshot(snap);
    this.record(ctx, 'CreateSnapshot', { volumeId: v.volumeId, description: snap.description }, { snapshotId, volumeId: v.volumeId, status: 'pending', volumeSize: v.sizeGiB, encrypted: v.encrypted });
    return snapshotShape(snap, this.accountId);
  }

  describeSnapshots(ctx: CallContext, ids: string[] = []): Record<string, unknown> {
    const snaps = ids.length ? ids.map((id) => this.requireSnapshot(id)) : this.store.snapshots();
    this.record(ctx, 'DescribeSnapshots', { snapshotSet: { items: ids.map((snapshotId) => ({ snapshotId })) } }, null);
    return { Snapshots: snaps.map((s) => snapshotShape(s, this.accountId)) };
  }

  /** Copies a snapshot; with --kms-key-id its data key is re-encrypted (ReEncrypt) under another CMK. The data itself is untouched. */
  copySnapshot(ctx: CallContext, req: { SourceSnapshotId: string; KmsKeyId?: string; Description?: string }): Record<string, unknown> {
    const src = this.requireSnapshot(req.SourceSnapshotId);
    if (req.KmsKeyId && !src.encrypted) throw new InvalidParameterValue('ebsim cannot encrypt an unencrypted snapshot while copying it.');
    const snapshotId = newSnapshotId();
    const blob = src.encrypted ? this.rewrapDataKey(ctx, src.encryptedDataKey!, src.snapshotId, req.KmsKeyId ?? src.kmsKeyArn!, snapshotId) : null;
    copySparse(this.imagePath(src.snapshotId), this.imagePath(snapshotId));
    const snap: Snapshot = { ...src, snapshotId, kmsKeyArn: blob?.keyArn ?? null, encryptedDataKey: blob?.blob ?? null, description: req.Description ?? `Copied from ${src.snapshotId}`, startTime: new Date() };
    this.store.insertSnapshot(snap);
    this.record(ctx, 'CopySnapshot', { sourceSnapshotId: src.snapshotId, ...(req.KmsKeyId ? { kmsKeyId: req.KmsKeyId } : {}) }, { snapshotId });
    return { SnapshotId: snapshotId };
  }

  /** For the console: current state without a DescribeInstances/DescribeVolumes record. */
  describeInstancesQuietly(): Record<string, unknown>[] {
    return this.store.instances().map((i) => ({ InstanceId: i.instanceId, State: i.state, InstanceType: i.instanceType, LaunchTime: i.launchTime.toISOString() }));
  }

  volumesQuietly(): Volume[] {
    return this.store.volumes();
  }

  // ---- the host's view ---------------------------------------------------------------

  volume(volumeId: string): Volume {
    return this.requireVolume(volumeId);
  }

  instance(instanceId: string): Instance {
    return this.requireInstance(instanceId);
  }

  /** The instance's host calling KMS: the assumed role aws:ec2-infrastructure/INSTANCE-ID, from its private address. */
  hostContext(instanceId: string): CallContext {
    return { principal: this.iam.sessionPrincipal(EC2_INFRASTRUCTURE_ROLE, instanceId, ''), region: this.region, sourceIPAddress: hostAddressOf(instanceId) };
  }

  /** Decrypts a volume's data key as the host of the instance it is attached to. The caller must zero it after use. */
  decryptDataKey(volume: Volume): Buffer {
    if (!volume.encrypted) throw new InvalidParameterValue(`${volume.volumeId} is not encrypted`);
    if (!volume.instanceId) throw new IncorrectState(`Volume '${volume.volumeId}' is not attached to an instance: attach it first (ebsim ec2 attach-volume, or volume mount --instance)`);
    const { Plaintext } = this.kms.decrypt(this.hostContext(volume.instanceId), { CiphertextBlob: volume.encryptedDataKey!, EncryptionContext: ebsContext(volume.volumeId) });
    return asBuffer(Plaintext);
  }

  // ---- internals ---------------------------------------------------------------------

  private provisionVolume(ctx: CallContext, req: CreateVolumeRequest, deleteOnTermination: boolean): Volume {
    const snap = req.SnapshotId ? this.requireSnapshot(req.SnapshotId) : undefined;
    const size = req.Size ?? snap?.volumeSize;
    if (size === undefined || !Number.isInteger(size) || size < 1 || size > 16384) throw new InvalidParameterValue(`Volume size must be an integer between 1 and 16384 GiB; got ${size}`);
    if (snap && size < snap.volumeSize) throw new InvalidParameterValue(`Volume of ${size}GiB is too small; minimum is ${snap.volumeSize}GiB`);
    const encrypted = Boolean(req.Encrypted || req.KmsKeyId || snap?.encrypted);
    if (snap && !snap.encrypted && encrypted) throw new InvalidParameterValue('ebsim cannot create an encrypted volume from an unencrypted snapshot.');
    const volumeId = newVolumeId();
    let kmsKeyArn: string | null = null;
    let blob: Buffer | null = null;
    if (snap?.encrypted) {
      const r = this.rewrapDataKey(ctx, snap.encryptedDataKey!, snap.snapshotId, req.KmsKeyId ?? snap.kmsKeyArn!, volumeId);
      kmsKeyArn = r.keyArn;
      blob = r.blob;
    } else if (encrypted) {
      // The seed's first KMS call: EC2, for the caller, asks for a 64-byte data key bound to the volume.
      const r = this.kms.generateDataKeyWithoutPlaintext(onBehalfOf(ctx, 'ec2'), { KeyId: req.KmsKeyId ?? EBS_DEFAULT_KEY, NumberOfBytes: 64, EncryptionContext: ebsContext(volumeId) });
      kmsKeyArn = r.KeyId;
      blob = asBuffer(r.CiphertextBlob);
    }
    if (snap) copySparse(this.imagePath(snap.snapshotId), this.imagePath(volumeId), size * GIB);
    else createSparseImage(this.imagePath(volumeId), size * GIB);
    const volume: Volume = {
      volumeId, sizeGiB: size, volumeType: req.VolumeType ?? 'gp2', availabilityZone: req.AvailabilityZone ?? `${this.region}a`, state: 'available',
      encrypted, kmsKeyArn, encryptedDataKey: blob, snapshotId: snap?.snapshotId ?? null, sectorSize: 4096, createdAt: new Date(),
      instanceId: null, device: null, attachTime: null, deleteOnTermination, grantId: null,
    };
    this.store.insertVolume(volume);
    return volume;
  }

  private attachInternal(ctx: CallContext, volume: Volume, instance: Instance, device: string, requestId: string): void {
    if (instance.state === 'terminated' || instance.state === 'shutting-down') throw new IncorrectState(`Instance '${instance.instanceId}' is not 'running'.`);
    const v = this.store.volume(volume.volumeId)!;
    if (v.state === 'in-use') throw new VolumeInUse(`${v.volumeId} is already attached to an instance`);
    if (this.store.volumes().some((x) => x.instanceId === instance.instanceId && x.device === device)) {
      throw new InvalidParameterValue(`Attachment point ${device} is already in use`);
    }
    let grantId = v.grantId;
    if (v.encrypted) {
      const grantee = `${this.accountId}:${EC2_INFRASTRUCTURE_ROLE}:${instance.instanceId}`;
      const live = this.liveGrant(ctx, v, requestId);
      if (live && live.GranteePrincipal !== grantee) {
        // Moving to another instance: the previous instance's role loses access to this volume.
        this.retireGrant(ctx, v, live);
      }
      if (!live || live.GranteePrincipal !== grantee) {
        // The seed's second call: a grant to the instance's infrastructure role, scoped to this volume's context.
        const g = this.kms.createGrant(onBehalfOf(ctx, 'ec2', requestId), {
          KeyId: v.kmsKeyArn!,
          GranteePrincipal: grantee,
          Operations: ['Decrypt'],
          Constraints: { EncryptionContextSubset: ebsContext(v.volumeId) },
        });
        grantId = g.GrantId;
      }
      this.store.updateVolume(v.volumeId, { grant_id: grantId });
      // The seed's third call: the host decrypts the data key to serve the volume.
      this.decryptDataKey({ ...v, instanceId: instance.instanceId }).fill(0);
    }
    this.store.updateVolume(v.volumeId, { state: 'in-use', instance_id: instance.instanceId, device, attach_time: new Date().toISOString() });
  }

  private terminateInternal(ctx: CallContext, instanceId: string): void {
    this.store.setInstanceState(instanceId, 'terminated');
    for (const v of this.store.volumes().filter((x) => x.instanceId === instanceId)) {
      this.store.updateVolume(v.volumeId, { state: 'available', instance_id: null, device: null, attach_time: null });
      const fresh = this.store.volume(v.volumeId)!;
      if (fresh.deleteOnTermination) this.deleteInternal(ctx, fresh);
      else this.retireGrant(ctx, fresh);
    }
  }

  private deleteInternal(ctx: CallContext, v: Volume): void {
    this.retireGrant(ctx, v);
    this.store.updateVolume(v.volumeId, { state: 'deleted' });
    rmSync(this.imagePath(v.volumeId), { force: true });
  }

  /**
   * The volume's grant, if it is still live: a user may have revoked it, or its key may be gone.
   * EC2 asks KMS (ListGrants, for the caller) rather than reading KMS's store, so the question is
   * authorized and recorded like any other.
   */
  private liveGrant(ctx: CallContext, v: Volume, requestId?: string): GrantListEntry | undefined {
    if (!v.grantId || !v.kmsKeyArn) return undefined;
    try {
      return this.kms.listGrants(onBehalfOf(ctx, 'ec2', requestId), { KeyId: v.kmsKeyArn, GrantId: v.grantId }).Grants[0];
    } catch (err) {
      if (!(err instanceof AwsError)) throw err;
      return undefined; // a key that no longer exists has no grants
    }
  }

  /** Terminate and delete retire the volume's grant (a RetireGrant record, EC2 for the caller). */
  private retireGrant(ctx: CallContext, v: Volume, live = this.liveGrant(ctx, v)): void {
    if (live) {
      try {
        this.kms.retireGrant(onBehalfOf(ctx, 'ec2'), { KeyId: v.kmsKeyArn!, GrantId: live.GrantId });
      } catch (err) {
        if (!(err instanceof AwsError)) throw err; // the failure is in the trail; the volume lets go of the grant all the same
      }
    }
    this.store.updateVolume(v.volumeId, { grant_id: null });
  }

  private rewrapDataKey(ctx: CallContext, blob: Buffer, fromId: string, toKey: string, toId: string): { blob: Buffer; keyArn: string } {
    const r = this.kms.reEncrypt(onBehalfOf(ctx, 'ec2'), {
      CiphertextBlob: blob,
      SourceEncryptionContext: ebsContext(fromId),
      DestinationKeyId: toKey,
      DestinationEncryptionContext: ebsContext(toId),
    });
    return { blob: asBuffer(r.CiphertextBlob), keyArn: r.KeyId };
  }

  private instanceShape(i: Instance): Record<string, unknown> {
    const volumes = this.store.volumes().filter((v) => v.instanceId === i.instanceId);
    return {
      AmiLaunchIndex: 0,
      ImageId: i.imageId,
      InstanceId: i.instanceId,
      InstanceType: i.instanceType,
      LaunchTime: i.launchTime,
      Placement: { AvailabilityZone: i.availabilityZone, Tenancy: 'default' },
      PrivateIpAddress: hostAddressOf(i.instanceId),
      State: { Code: INSTANCE_STATE_CODES[i.state], Name: i.state },
      Architecture: 'x86_64',
      BlockDeviceMappings: volumes.map((v) => ({ DeviceName: v.device, Ebs: { AttachTime: v.attachTime, DeleteOnTermination: v.deleteOnTermination, Status: 'attached', VolumeId: v.volumeId } })),
      ClientToken: i.clientToken,
      RootDeviceName: i.rootDeviceName,
      RootDeviceType: 'ebs',
      VirtualizationType: 'hvm',
      Hypervisor: 'xen',
    };
  }

  private requireVolume(id: string): Volume {
    const v = this.store.volume(id);
    if (!v || v.state === 'deleted') throw new InvalidVolumeNotFound(`The volume '${id}' does not exist.`);
    return v;
  }

  private requireInstance(id: string): Instance {
    const i = this.store.instance(id);
    if (!i) throw new InvalidInstanceIDNotFound(`The instance ID '${id}' does not exist`);
    return i;
  }

  private requireSnapshot(id: string): Snapshot {
    const s = this.store.snapshot(id);
    if (!s) throw new InvalidSnapshotNotFound(`The snapshot '${id}' does not exist.`);
    return s;
  }

  private record(ctx: CallContext, eventName: string, requestParameters: unknown, responseElements: unknown, requestId?: string): void {
    this.trail.append(buildRecord({ ...ctx, requestId }, { eventSource: 'ec2.amazonaws.com', eventName, requestParameters, responseElements }), true);
  }
}

/** The encryption context EBS binds every data key to. */
function ebsContext(volumeOrSnapshotId: string): Record<string, string> {
  return { 'aws:ebs:id': volumeOrSnapshotId };
}

/** A view of the same bytes (no copy), so zeroing the Buffer zeroes the key. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function copySparse(from: string, to: string, sizeBytes?: number): void {
  if (!existsSync(from)) throw new IncorrectState(`backing image ${from} is missing`);
  execFileSync('cp', ['--sparse=always', from, to]);
  if (sizeBytes !== undefined) execFileSync('truncate', ['-s', String(sizeBytes), to]);
}

function runInstancesParameters(req: RunInstancesRequest, mappings: BlockDeviceMapping[], clientToken: string): Record<string, unknown> {
  return {
    instancesSet: { items: [{ imageId: req.ImageId, minCount: 1, maxCount: 1 }] },
    instanceType: req.InstanceType,
    blockDeviceMapping: {
      items: mappings.map((m) => ({
        deviceName: m.DeviceName,
        ebs: { volumeSize: m.Ebs?.VolumeSize ?? 8, deleteOnTermination: m.Ebs?.DeleteOnTermination ?? m.DeviceName === '/dev/xvda', volumeType: m.Ebs?.VolumeType ?? 'gp2', ...(m.Ebs?.Encrypted ? { encrypted: true } : {}) },
      })),
    },
    monitoring: { enabled: false },
    disableApiTermination: false,
    instanceInitiatedShutdownBehavior: 'stop',
    clientToken,
    ebsOptimized: false,
  };
}

function runInstancesResponse(i: Instance, accountId: string): Record<string, unknown> {
  return {
    reservationId: i.reservationId,
    ownerId: accountId,
    groupSet: {},
    instancesSet: {
      items: [{
        instanceId: i.instanceId, imageId: i.imageId, instanceState: { code: 0, name: 'pending' }, amiLaunchIndex: 0, productCodes: {},
        instanceType: i.instanceType, launchTime: i.launchTime.getTime(), placement: { availabilityZone: i.availabilityZone, tenancy: 'default' },
        monitoring: { state: 'disabled' }, stateReason: { code: 'pending', message: 'pending' }, architecture: 'x86_64', rootDeviceType: 'ebs',
        rootDeviceName: i.rootDeviceName, blockDeviceMapping: {}, virtualizationType: 'hvm', hypervisor: 'xen', clientToken: i.clientToken,
        groupSet: {}, networkInterfaceSet: {}, ebsOptimized: false,
      }],
    },
  };
}
