// The EC2/EBS control plane: instances, encrypted volumes, attach/detach, snapshots, carrying out
// the declared operations (operations.ts) on the one invoke path, so every call is recorded once,
// success or failure. It calls KMS exactly as the seed shows: for the caller ("AWS Internal") when
// it creates data keys and grants, and as the instance's infrastructure role when the host
// decrypts a volume's data key.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Db } from '../store/database.js';
import type { Trail } from '../trail/trail.js';
import { Invoker, Recorder, type Outcome } from '../api/index.js';
import { onBehalfOf, type CallContext } from '../core/call-context.js';
import { EC2_INFRASTRUCTURE_ROLE, type IamService } from '../iam/service.js';
import type { GrantListEntry, KmsClient } from '../kms/client.js';
import { AwsError, IncorrectState, InvalidInstanceIDNotFound, InvalidParameterValue, InvalidSnapshotNotFound, InvalidVolumeNotFound, VolumeInUse } from '../errors/index.js';
import { copyImage, createImage, deleteImage } from '../device/image-store.js';
import { ExclusiveLock, imageLockFile, lockHolder } from '../device/lock.js';
import { Ec2Store } from './store.js';
import { hostAddressOf, newInstanceId, newReservationId, newSnapshotId, newVolumeId } from './ids.js';
import { INSTANCE_STATE_CODES, snapshotShape, volumeShape, type Instance, type Snapshot, type Volume } from './model.js';
import {
  EC2_SERVICE, runInstancesParameters,
  type AttachVolumeRequest, type CopySnapshotRequest, type CreateVolumeRequest, type Ec2Actions, type RunInstancesRequest,
} from './operations/index.js';

export type { AttachVolumeRequest, BlockDeviceMapping, CopySnapshotRequest, CreateVolumeRequest, RunInstancesRequest } from './operations/index.js';

export const EBS_DEFAULT_KEY = 'alias/aws/ebs';
const GIB = 1024 ** 3;

export class Ec2Service {
  private readonly store: Ec2Store;
  private readonly invoker: Invoker<Ec2Actions, undefined>;

  constructor(
    db: Db,
    trail: Trail,
    private readonly iam: IamService,
    private readonly kms: KmsClient,
    private readonly volumesDir: string,
    readonly accountId: string,
    readonly region: string,
  ) {
    this.store = new Ec2Store(db, accountId);
    const actions: Ec2Actions = {
      runInstances: (ctx, req) => this.launch(ctx, req),
      describeInstances: (_ctx, ids) => this.describeInstancesOutcome(ids),
      terminateInstances: (ctx, ids) => this.terminate(ctx, ids),
      createVolume: (ctx, req) => this.createVolumeOutcome(ctx, req),
      describeVolumes: (_ctx, ids) => this.describeVolumesOutcome(ids),
      attachVolume: (ctx, req) => this.attach(ctx, req),
      detachVolume: (_ctx, req) => this.detach(req),
      deleteVolume: (ctx, req) => this.delete(ctx, req),
      createSnapshot: (ctx, req) => this.snapshot(ctx, req),
      describeSnapshots: (_ctx, ids) => this.describeSnapshotsOutcome(ids),
      copySnapshot: (ctx, req) => this.copy(ctx, req),
    };
    this.invoker = new Invoker({ service: EC2_SERVICE, env: actions, recorder: new Recorder(trail), db, principals: iam });
  }

  /**
   * One EC2 call, from any entry point: validated, run and recorded once, success or failure. The
   * calls EC2 makes to KMS for it (CreateGrant) share its request ID, as in the seed.
   */
  call(ctx: CallContext, operation: string, params: Record<string, unknown> = {}): Record<string, unknown> {
    return this.invoker.invoke(ctx.requestId ? ctx : { ...ctx, requestId: randomUUID() }, operation, params);
  }

  runInstances(ctx: CallContext, req: RunInstancesRequest): Record<string, unknown> {
    return this.call(ctx, 'RunInstances', { ...req });
  }

  describeInstances(ctx: CallContext, ids: string[] = []): Record<string, unknown> {
    return this.call(ctx, 'DescribeInstances', { InstanceIds: ids });
  }

  terminateInstances(ctx: CallContext, ids: string[]): Record<string, unknown> {
    return this.call(ctx, 'TerminateInstances', { InstanceIds: ids });
  }

  createVolume(ctx: CallContext, req: CreateVolumeRequest): Record<string, unknown> {
    return this.call(ctx, 'CreateVolume', { ...req });
  }

  describeVolumes(ctx: CallContext, ids: string[] = []): Record<string, unknown> {
    return this.call(ctx, 'DescribeVolumes', { VolumeIds: ids });
  }

  attachVolume(ctx: CallContext, req: AttachVolumeRequest): Record<string, unknown> {
    return this.call(ctx, 'AttachVolume', { ...req });
  }

  detachVolume(ctx: CallContext, req: { VolumeId: string }): Record<string, unknown> {
    return this.call(ctx, 'DetachVolume', { ...req });
  }

  deleteVolume(ctx: CallContext, req: { VolumeId: string }): Record<string, unknown> {
    return this.call(ctx, 'DeleteVolume', { ...req });
  }

  createSnapshot(ctx: CallContext, req: { VolumeId: string; Description?: string }): Record<string, unknown> {
    return this.call(ctx, 'CreateSnapshot', { ...req });
  }

  describeSnapshots(ctx: CallContext, ids: string[] = []): Record<string, unknown> {
    return this.call(ctx, 'DescribeSnapshots', { SnapshotIds: ids });
  }

  copySnapshot(ctx: CallContext, req: CopySnapshotRequest): Record<string, unknown> {
    return this.call(ctx, 'CopySnapshot', { ...req });
  }

  imagePath(volumeOrSnapshotId: string): string {
    return join(this.volumesDir, `${volumeOrSnapshotId}.img`);
  }

  // ---- instances ---------------------------------------------------------------------

  /**
   * RunInstances: the instance is accepted (pending) and the call recorded; the launch goes on
   * after, so the KMS calls it causes follow RunInstances in the trail, as in the seed.
   */
  private launch(ctx: CallContext, req: RunInstancesRequest): Outcome {
    if (!req.ImageId || !/^ami-[0-9a-f]{8,17}$/.test(req.ImageId)) throw new InvalidParameterValue(`Invalid id: "${req.ImageId ?? ''}" (expecting "ami-...")`);
    if (!req.InstanceType) throw new InvalidParameterValue('The request must contain the parameter InstanceType');
    const mappings = [...(req.BlockDeviceMappings ?? [])];
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
    this.store.insertInstance(instance);
    const shape = () => ({ Groups: [], Instances: [this.instanceShape(this.store.instance(instance.instanceId)!)], OwnerId: this.accountId, ReservationId: instance.reservationId });
    const launch = (): Record<string, unknown> => {
      let stateReason: { Code: string; Message: string } | undefined;
      try {
        for (const m of mappings) {
          const ebs = m.Ebs ?? {};
          const volume = this.provisionVolume(ctx, { Size: ebs.VolumeSize ?? 8, Encrypted: ebs.Encrypted, KmsKeyId: ebs.KmsKeyId, SnapshotId: ebs.SnapshotId, VolumeType: ebs.VolumeType, AvailabilityZone: instance.availabilityZone }, ebs.DeleteOnTermination ?? m.DeviceName === rootDeviceName);
          this.attachInternal(ctx, volume, instance, m.DeviceName, ctx.requestId);
        }
        this.store.setInstanceState(instance.instanceId, 'running');
      } catch (err) {
        if (!(err instanceof AwsError)) throw err;
        // As on AWS: the launch is accepted, then the instance stops for want of its volume's key.
        stateReason = { Code: 'Client.InvalidKMSKey.InvalidState', Message: `Client.InvalidKMSKey.InvalidState: ${err.code}: ${err.message}` };
        this.terminateInternal(ctx, instance.instanceId);
      }
      const r = shape();
      return stateReason ? { ...r, Instances: [{ ...r.Instances[0], StateReason: stateReason }] } : r;
    };
    return {
      response: shape(),
      requestParameters: runInstancesParameters(req as unknown as Record<string, unknown>, mappings, instance.clientToken!),
      responseElements: runInstancesResponse(instance, this.accountId),
      continuation: launch,
    };
  }

  private describeInstancesOutcome(ids: string[]): Outcome {
    const instances = ids.length ? ids.map((id) => this.requireInstance(id)) : this.store.instances();
    const byReservation = new Map<string, Instance[]>();
    for (const i of instances) byReservation.set(i.reservationId, [...(byReservation.get(i.reservationId) ?? []), i]);
    return {
      response: { Reservations: [...byReservation].map(([ReservationId, list]) => ({ Groups: [], Instances: list.map((i) => this.instanceShape(i)), OwnerId: this.accountId, ReservationId })) },
    };
  }

  private terminate(ctx: CallContext, ids: string[]): Outcome {
    if (ids.length === 0) throw new InvalidParameterValue('The request must contain the parameter InstanceIds');
    // Every volume is checked before any instance changes: a refusal leaves all of them as they were.
    for (const id of ids) this.requireInstance(id);
    for (const v of this.store.volumes().filter((x) => x.instanceId && ids.includes(x.instanceId))) this.refuseIfOpenOnHost(v, 'terminates the instance of');
    const changes = ids.map((id) => {
      const before = this.requireInstance(id).state;
      this.terminateInternal(ctx, id);
      return { CurrentState: { Code: 48, Name: 'terminated' }, InstanceId: id, PreviousState: { Code: INSTANCE_STATE_CODES[before], Name: before } };
    });
    return {
      response: { TerminatingInstances: changes },
      responseElements: { instancesSet: { items: changes.map((c) => ({ instanceId: c.InstanceId, currentState: { code: 48, name: 'terminated' } })) } },
    };
  }

  // ---- volumes -----------------------------------------------------------------------

  private createVolumeOutcome(ctx: CallContext, req: CreateVolumeRequest): Outcome {
    const volume = this.provisionVolume(ctx, req, false);
    return {
      response: volumeShape(volume),
      requestParameters: { size: req.Size, zone: volume.availabilityZone, volumeType: volume.volumeType, encrypted: volume.encrypted, ...(req.KmsKeyId ? { kmsKeyId: req.KmsKeyId } : {}), ...(req.SnapshotId ? { snapshotId: req.SnapshotId } : {}) },
      responseElements: { volumeId: volume.volumeId, size: volume.sizeGiB, status: volume.state, encrypted: volume.encrypted },
    };
  }

  private describeVolumesOutcome(ids: string[]): Outcome {
    const volumes = ids.length ? ids.map((id) => this.requireVolume(id)) : this.store.volumes();
    return { response: { Volumes: volumes.map(volumeShape) } };
  }

  private attach(ctx: CallContext, req: AttachVolumeRequest): Outcome {
    const volume = this.requireVolume(req.VolumeId);
    const instance = this.requireInstance(req.InstanceId);
    if (!req.Device || !/^\/dev\/(sd[b-z]|xvd[a-z])$/.test(req.Device)) throw new InvalidParameterValue(`Value (${req.Device}) for parameter device is invalid. ${req.Device} is not a valid EBS device name.`);
    this.attachInternal(ctx, volume, instance, req.Device, ctx.requestId);
    const v = this.store.volume(volume.volumeId)!;
    return {
      response: { AttachTime: v.attachTime, Device: v.device, InstanceId: v.instanceId, State: 'attached', VolumeId: v.volumeId },
      responseElements: { volumeId: v.volumeId, instanceId: instance.instanceId, device: req.Device, status: 'attaching', attachTime: v.attachTime!.getTime() },
    };
  }

  private detach(req: { VolumeId: string }): Outcome {
    const v = this.requireVolume(req.VolumeId);
    if (v.state !== 'in-use' || !v.instanceId) throw new IncorrectState(`Volume '${v.volumeId}' is in the 'available' state.`);
    this.refuseIfOpenOnHost(v, 'detaches');
    // Detach keeps the grant: re-attaching to the same instance needs no new one.
    this.store.updateVolume(v.volumeId, { state: 'available', instance_id: null, device: null, attach_time: null });
    return {
      response: { AttachTime: v.attachTime, Device: v.device, InstanceId: v.instanceId, State: 'detaching', VolumeId: v.volumeId },
      responseElements: { volumeId: v.volumeId, instanceId: v.instanceId, device: v.device, status: 'detaching' },
    };
  }

  private delete(ctx: CallContext, req: { VolumeId: string }): Outcome {
    const v = this.requireVolume(req.VolumeId);
    if (v.state === 'in-use') throw new VolumeInUse(`Volume ${v.volumeId} is currently attached to ${v.instanceId}`);
    this.refuseIfOpenOnHost(v, 'deletes');
    this.deleteInternal(ctx, v);
    return { response: {}, responseElements: { _return: true } };
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

  private snapshot(ctx: CallContext, req: { VolumeId: string; Description?: string }): Outcome {
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
      return this.recordSnapshot(v, snapshotId, blob, req.Description);
    } finally {
      lock.release();
    }
  }

  private recordSnapshot(v: Volume, snapshotId: string, blob: { keyArn: string; blob: Buffer } | null, description: string | undefined): Outcome {
    const snap: Snapshot = { snapshotId, volumeId: v.volumeId, volumeSize: v.sizeGiB, state: 'completed', encrypted: v.encrypted, kmsKeyArn: blob?.keyArn ?? null, encryptedDataKey: blob?.blob ?? null, description: description ?? '', startTime: new Date() };
    this.store.insertSnapshot(snap);
    return {
      response: snapshotShape(snap, this.accountId),
      requestParameters: { volumeId: v.volumeId, description: snap.description },
      responseElements: { snapshotId, volumeId: v.volumeId, status: 'pending', volumeSize: v.sizeGiB, encrypted: v.encrypted },
    };
  }

  private describeSnapshotsOutcome(ids: string[]): Outcome {
    const snaps = ids.length ? ids.map((id) => this.requireSnapshot(id)) : this.store.snapshots();
    return { response: { Snapshots: snaps.map((s) => snapshotShape(s, this.accountId)) } };
  }

  /** Copies a snapshot; with --kms-key-id its data key is re-encrypted (ReEncrypt) under another CMK. The data itself is untouched. */
  private copy(ctx: CallContext, req: CopySnapshotRequest): Outcome {
    const src = this.requireSnapshot(req.SourceSnapshotId);
    if (req.KmsKeyId && !src.encrypted) throw new InvalidParameterValue('ebsim cannot encrypt an unencrypted snapshot while copying it.');
    const snapshotId = newSnapshotId();
    const blob = src.encrypted ? this.rewrapDataKey(ctx, src.encryptedDataKey!, src.snapshotId, req.KmsKeyId ?? src.kmsKeyArn!, snapshotId) : null;
    copySparse(this.imagePath(src.snapshotId), this.imagePath(snapshotId));
    const snap: Snapshot = { ...src, snapshotId, kmsKeyArn: blob?.keyArn ?? null, encryptedDataKey: blob?.blob ?? null, description: req.Description ?? `Copied from ${src.snapshotId}`, startTime: new Date() };
    this.store.insertSnapshot(snap);
    return { response: { SnapshotId: snapshotId }, responseElements: { snapshotId } };
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
    return { principal: this.iam.sessionPrincipal(`arn:aws:iam::${this.accountId}:role/${EC2_INFRASTRUCTURE_ROLE}`, instanceId, ''), region: this.region, sourceIPAddress: hostAddressOf(instanceId) };
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
    else createImage(this.imagePath(volumeId), size * GIB);
    const volume: Volume = {
      volumeId, sizeGiB: size, volumeType: req.VolumeType ?? 'gp2', availabilityZone: req.AvailabilityZone ?? `${this.region}a`, state: 'available',
      encrypted, kmsKeyArn, encryptedDataKey: blob, snapshotId: snap?.snapshotId ?? null, sectorSize: 4096, createdAt: new Date(),
      instanceId: null, device: null, attachTime: null, deleteOnTermination, grantId: null,
    };
    this.store.insertVolume(volume);
    return volume;
  }

  private attachInternal(ctx: CallContext, volume: Volume, instance: Instance, device: string, requestId: string | undefined): void {
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
    deleteImage(this.imagePath(v.volumeId));
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
  copyImage(from, to, sizeBytes);
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
