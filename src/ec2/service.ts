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
import { AwsError, IdempotentParameterMismatch, IncorrectInstanceState, IncorrectState, InvalidParameterDependency, InvalidInstanceIDNotFound, InvalidParameterValue, InvalidVolumeNotFound, InvalidVolumeZoneMismatch, VolumeInUse } from '../errors/index.js';
import { deleteImage, growImage } from '../device/image-store.js';
import { ExclusiveLock, imageLockFile, lockHolder } from '../device/lock.js';
import { Ec2Store, type StateWhy } from './store.js';
import { asBuffer, ebsContext, ebsRetiringPrincipal, EbsDataKeys } from './ebs-keys.js';
import type { EbsParts } from './ebs-parts.js';
import { KMS_KEY_NEEDS_ENCRYPTED, SnapshotOperations } from './snapshots.js';
import { acceptVolume, isZoneOf } from './volume-creation.js';
import { SnapshotSharing } from './snapshot-sharing.js';
import { afterCommit, removeOrphanImages, requireRoomForImage, settleInterruptedCopies } from './image-jobs.js';
import { EbsEncryptionDefaults, EBS_MANAGED_KEY_ALIAS } from './encryption-defaults.js';
import {
  LAUNCH_INTERNAL_ERROR, USER_INITIATED_SHUTDOWN, assertRebootable, assertStartable, assertStoppable, kmsFailureReason, stateChangeRecord, stateChangeShape, userInitiated, type StateChange,
} from './instance-states.js';
import { hostAddressOf, newInstanceId, newReservationId } from './ids.js';
import { INSTANCE_STATE_CODES, volumeShape, type Instance, type Snapshot, type Volume } from './model.js';
import {
  EC2_SERVICE, runInstancesParameters,
  type AttachVolumeRequest, type CopySnapshotRequest, type CreateVolumeRequest, type DetachVolumeRequest, type Ec2Actions, type ModifyVolumeRequest, type RunInstancesRequest, type StopInstancesRequest,
} from './operations/index.js';

export type { AttachVolumeRequest, BlockDeviceMapping, CopySnapshotRequest, CreateVolumeRequest, DetachVolumeRequest, ModifyVolumeRequest, RunInstancesRequest, StopInstancesRequest } from './operations/index.js';

export const EBS_DEFAULT_KEY = EBS_MANAGED_KEY_ALIAS;
const GIB = 1024 ** 3;
/** The XML namespace EC2's newer actions carry in their CloudTrail responseElements. */
const EC2_XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

export class Ec2Service {
  private readonly store: Ec2Store;
  private readonly defaults: EbsEncryptionDefaults;
  private readonly invoker: Invoker<Ec2Actions, undefined>;
  private readonly parts: EbsParts;
  private readonly snapshots: SnapshotOperations;
  private readonly sharing: SnapshotSharing;

  constructor(
    db: Db,
    trail: Trail,
    private readonly iam: IamService,
    private readonly kms: KmsClient,
    private readonly volumesDir: string,
    readonly accountId: string,
    readonly region: string,
    /** The same account's EC2 in another Region (the app's, made on first use): a cross-Region copy reads its source there. */
    inRegion: (region: string) => Ec2Service = () => {
      throw new Error('this Ec2Service has no other Regions');
    },
  ) {
    this.store = new Ec2Store(db, accountId, region);
    this.defaults = new EbsEncryptionDefaults(db, accountId, region);
    this.parts = {
      store: this.store, keys: new EbsDataKeys(kms, iam, accountId, region, this.store), defaults: this.defaults, accountId, region, imagePath: (id) => this.imagePath(id),
      inRegion: (r) => (r === region ? this.parts : inRegion(r).parts),
    };
    this.snapshots = new SnapshotOperations(this.parts);
    this.sharing = new SnapshotSharing(this.parts, this.snapshots);
    const actions: Ec2Actions = {
      runInstances: (ctx, req) => this.launch(ctx, req),
      describeInstances: (_ctx, ids) => this.describeInstancesOutcome(ids),
      terminateInstances: (ctx, ids) => this.terminate(ctx, ids),
      stopInstances: (ctx, req) => this.stop(ctx, req),
      startInstances: (ctx, ids) => this.start(ctx, ids),
      rebootInstances: (_ctx, ids) => this.reboot(ids),
      createVolume: (ctx, req) => this.createVolumeOutcome(ctx, req),
      describeVolumes: (_ctx, ids) => this.describeVolumesOutcome(ids),
      attachVolume: (ctx, req) => this.attach(ctx, req),
      detachVolume: (ctx, req) => this.detach(ctx, req),
      modifyVolume: (ctx, req) => this.modify(ctx, req),
      deleteVolume: (ctx, req) => this.delete(ctx, req),
      createSnapshot: (ctx, req) => this.snapshots.create(ctx, req),
      describeSnapshots: (_ctx, ids) => this.snapshots.describe(ids),
      copySnapshot: (ctx, req) => this.snapshots.copy(ctx, req),
      deleteSnapshot: (_ctx, req) => this.snapshots.delete(req),
      modifySnapshotAttribute: (ctx, req) => this.sharing.modify(ctx, req),
      describeSnapshotAttribute: (_ctx, req) => this.sharing.describe(req),
      resetSnapshotAttribute: (_ctx, req) => this.sharing.reset(req),
      ...this.encryptionDefaultActions(),
    };
    // A forced stop waits for the host to let go of the instance's volumes; each call first
    // finishes the stops whose volumes are closed now (see completeStops).
    this.invoker = new Invoker({ service: EC2_SERVICE, env: actions, recorder: new Recorder(trail), db, principals: iam, runDueWork: () => this.runDueWork() });
  }

  /**
   * One EC2 call, from any entry point: validated, run and recorded once, success or failure. The
   * calls EC2 makes to KMS for it (CreateGrant) share its request ID, as in the seed.
   */
  call(ctx: CallContext, operation: string, params: Record<string, unknown> = {}): Record<string, unknown> {
    // EC2 is Regional: a call goes to one Region's endpoint, and is recorded there.
    if (ctx.region !== this.region) throw new Error(`a call to ${ctx.region} reached EC2 of ${this.region}: use app.ec2(account, region)`);
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

  stopInstances(ctx: CallContext, req: StopInstancesRequest): Record<string, unknown> {
    return this.call(ctx, 'StopInstances', { ...req });
  }

  startInstances(ctx: CallContext, ids: string[]): Record<string, unknown> {
    return this.call(ctx, 'StartInstances', { InstanceIds: ids });
  }

  rebootInstances(ctx: CallContext, ids: string[]): Record<string, unknown> {
    return this.call(ctx, 'RebootInstances', { InstanceIds: ids });
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

  detachVolume(ctx: CallContext, req: DetachVolumeRequest): Record<string, unknown> {
    return this.call(ctx, 'DetachVolume', { ...req });
  }

  modifyVolume(ctx: CallContext, req: ModifyVolumeRequest): Record<string, unknown> {
    return this.call(ctx, 'ModifyVolume', { ...req });
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

  deleteSnapshot(ctx: CallContext, req: { SnapshotId: string }): Record<string, unknown> {
    return this.call(ctx, 'DeleteSnapshot', { ...req });
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
    for (const m of mappings) if (m.Ebs?.KmsKeyId !== undefined && m.Ebs.Encrypted !== true) throw new InvalidParameterDependency(KMS_KEY_NEEDS_ENCRYPTED);
    const zone = req.Placement?.AvailabilityZone ?? `${this.region}a`;
    if (!isZoneOf(this.region, zone)) throw new InvalidParameterValue(`Invalid availability zone: [${zone}]`);
    // The same client token again ("Ensuring idempotency in Amazon EC2 API requests"): the earlier
    // launch's reservation as it is now, nothing launched; with other arguments, refused.
    const earlier = req.ClientToken === undefined ? undefined : this.store.instanceByClientToken(req.ClientToken);
    if (earlier) {
      if (earlier.imageId !== req.ImageId || earlier.instanceType !== req.InstanceType || earlier.availabilityZone !== zone) {
        throw new IdempotentParameterMismatch('Arguments on this idempotent request are inconsistent with arguments used in previous request(s).');
      }
      return {
        response: { Groups: [], Instances: [this.instanceShape(earlier)], OwnerId: this.accountId, ReservationId: earlier.reservationId },
        responseElements: runInstancesResponse(earlier, this.accountId),
      };
    }
    const rootDeviceName = '/dev/xvda';
    if (!mappings.some((m) => m.DeviceName === rootDeviceName)) mappings.unshift({ DeviceName: rootDeviceName, Ebs: { VolumeSize: 8, DeleteOnTermination: true, VolumeType: 'gp2' } });
    const instance: Instance = {
      instanceId: newInstanceId(),
      reservationId: newReservationId(),
      imageId: req.ImageId,
      instanceType: req.InstanceType,
      state: 'pending',
      availabilityZone: zone,
      launchTime: new Date(),
      clientToken: req.ClientToken ?? randomUUID(),
      rootDeviceName,
      stateReason: null,
      stateTransitionReason: '',
    };
    this.store.insertInstance(instance);
    const shape = () => ({ Groups: [], Instances: [this.instanceShape(this.store.instance(instance.instanceId)!)], OwnerId: this.accountId, ReservationId: instance.reservationId });
    const launch = (): Record<string, unknown> => {
      // The volume made and not yet attached, if any: a failure then takes it with the launch
      // (an attached one goes as terminateInternal decides, by its DeleteOnTermination).
      let making: string | undefined;
      try {
        for (const m of mappings) {
          const ebs = m.Ebs ?? {};
          const created = acceptVolume(this.parts, this.snapshots, ctx, { Size: ebs.VolumeSize ?? 8, Encrypted: ebs.Encrypted, KmsKeyId: ebs.KmsKeyId, SnapshotId: ebs.SnapshotId, VolumeType: ebs.VolumeType, AvailabilityZone: instance.availabilityZone }, ebs.DeleteOnTermination ?? m.DeviceName === rootDeviceName);
          making = created.volume.volumeId;
          const refused = created.make();
          if (refused) {
            // The launch's volumes go with the instance (AWS keeps no volume of a failed launch).
            this.store.updateVolume(created.volume.volumeId, { state: 'deleted' });
            throw refused;
          }
          this.attachInternal(ctx, this.store.volume(created.volume.volumeId)!, instance, m.DeviceName, ctx.requestId);
          making = undefined;
        }
        this.store.setInstanceState(instance.instanceId, 'running');
      } catch (err) {
        if (!(err instanceof AwsError)) {
          // The host failed (its disk full): the launch ends as a failed launch does, its volumes
          // with it, rather than leave the instance pending for good. The disk may refuse this
          // too; the first error is the one to report.
          try {
            if (making) {
              this.store.updateVolume(making, { state: 'deleted' });
              const image = this.imagePath(making); // made, then the attach failed: it goes with its row
              afterCommit(`removing ${image}`, () => deleteImage(image));
            }
            this.terminateInternal(ctx, instance.instanceId, { reason: LAUNCH_INTERNAL_ERROR, transition: '' });
          } catch {
            // reported below
          }
          throw err;
        }
        // As on AWS: the launch is accepted, then the instance ends for want of its volume's key;
        // its StateReason says why (the failed KMS call is in the trail).
        this.terminateInternal(ctx, instance.instanceId, { reason: kmsFailureReason(err), transition: '' });
      }
      return shape();
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
    for (const v of [...new Set(ids)].flatMap((id) => this.store.volumesOf(id)).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())) this.refuseIfOpenOnHost(v, 'terminates the instance of');
    const now = new Date();
    const changes = ids.map((id) => {
      const before = this.requireInstance(id).state;
      this.store.setInstanceState(id, 'terminated', { reason: USER_INITIATED_SHUTDOWN, transition: userInitiated(now) });
      return { CurrentState: { Code: 48, Name: 'terminated' }, InstanceId: id, PreviousState: { Code: INSTANCE_STATE_CODES[before], Name: before } };
    });
    const response = { TerminatingInstances: changes };
    return {
      response,
      responseElements: { instancesSet: { items: changes.map((c) => ({ instanceId: c.InstanceId, currentState: { code: 48, name: 'terminated' } })) } },
      // After the record, as AWS's calls follow the call that causes them: the volumes' grants retired, DeleteOnTermination's volumes deleted.
      continuation: () => {
        for (const id of ids) this.releaseVolumesOf(ctx, id);
        return response;
      },
    };
  }

  /**
   * StopInstances: the instance stops and EC2 retires its volumes' grants (after the record, as
   * AWS's calls follow the call that causes them). The host lets go of the data keys: ebsim's host
   * holds a key only while a volume is mounted (or open in-process), so a stop is refused while
   * one is, unless Force: then the instance stays `stopping` until the host has closed them (the
   * ebsim CLI unmounts them first; see InstanceHost.stopInstances and completeStops).
   */
  private stop(ctx: CallContext, req: StopInstancesRequest): Outcome {
    const instances = req.InstanceIds.map((id) => this.requireInstance(id));
    instances.forEach(assertStoppable);
    // Every instance is checked before any changes: a refusal leaves all of them as they were.
    const open = new Map(instances.map((i) => [i.instanceId, this.openVolumesOf(i)]));
    if (!req.Force) {
      for (const i of instances) {
        const first = open.get(i.instanceId)![0];
        if (first) throw new IncorrectInstanceState(
          `The instance '${i.instanceId}' has ${first.volumeId} open on its host${first.pid ? ` (pid ${first.pid})` : ''}; ebsim stops an instance only once nothing has its volumes open (on AWS the OS shuts down first): unmount it (ebsim volume unmount ${first.volumeId}), or stop with --force, which unmounts the instance's volumes first.`,
        );
      }
    }
    const now = new Date();
    const changes: StateChange[] = instances.map((i) => {
      if (i.state === 'stopping' || i.state === 'stopped') return { instanceId: i.instanceId, previous: i.state, current: i.state };
      const next = open.get(i.instanceId)!.length ? 'stopping' : 'stopped';
      this.store.setInstanceState(i.instanceId, next, { reason: USER_INITIATED_SHUTDOWN, transition: userInitiated(now) });
      return { instanceId: i.instanceId, previous: i.state, current: 'stopping' };
    });
    const response = { StoppingInstances: changes.map(stateChangeShape) };
    return {
      response,
      responseElements: { instancesSet: { items: changes.map(stateChangeRecord) } },
      continuation: () => {
        for (const c of changes.filter((x) => x.previous !== x.current)) this.retireGrantsOf(ctx, c.instanceId);
        return response;
      },
    };
  }

  /** Before every EC2 call: forced stops whose volumes are closed, and copies whose makers died. */
  private runDueWork(): void {
    this.completeStops();
    settleInterruptedCopies(this.parts);
  }

  /**
   * Finishes forced stops: an instance `stopping` whose volumes nothing has open any more is
   * `stopped`. Run before every EC2 call, and by the host once it has unmounted them.
   */
  completeStops(): void {
    for (const i of this.store.instancesIn('stopping')) {
      if (this.openVolumesOf(i).length === 0) this.store.setInstanceState(i.instanceId, 'stopped');
    }
  }

  /**
   * StartInstances: the call is answered `pending` and recorded; then, for each encrypted volume,
   * EC2 gives the instance's role a grant (CreateGrant for the caller, when it has no live one)
   * and the host decrypts the data key as that role. If KMS refuses either, the instance goes
   * back to `stopped` with AWS's StateReason, the refused call in the trail.
   */
  private start(ctx: CallContext, ids: string[]): Outcome {
    const instances = ids.map((id) => this.requireInstance(id));
    instances.forEach(assertStartable);
    const changes: StateChange[] = instances.map((i) => ({ instanceId: i.instanceId, previous: i.state, current: i.state === 'stopped' ? 'pending' : i.state }));
    for (const c of changes.filter((x) => x.previous === 'stopped')) this.store.setInstanceState(c.instanceId, 'pending', { reason: null, transition: '' });
    const response = { StartingInstances: changes.map(stateChangeShape) };
    return {
      response,
      responseElements: { instancesSet: { items: changes.map(stateChangeRecord) } },
      continuation: () => {
        for (const c of changes.filter((x) => x.previous === 'stopped')) this.boot(ctx, c.instanceId);
        return response;
      },
    };
  }

  /** The start's work on the host: every encrypted volume's key, then running; or stopped with the reason. */
  private boot(ctx: CallContext, instanceId: string): void {
    try {
      for (const v of this.store.volumesOf(instanceId).filter((x) => x.encrypted)) this.giveHostTheKey(ctx, v, instanceId, ctx.requestId);
      this.store.setInstanceState(instanceId, 'running', { reason: null, transition: '' });
    } catch (err) {
      if (!(err instanceof AwsError)) throw err;
      this.store.setInstanceState(instanceId, 'stopped', { reason: kmsFailureReason(err), transition: '' });
    }
  }

  /** RebootInstances: the instance stays running on its host, which keeps its data keys: no KMS call. */
  private reboot(ids: string[]): Outcome {
    const instances = ids.map((id) => this.requireInstance(id));
    instances.forEach(assertRebootable);
    return { response: {}, responseElements: { _return: true } };
  }

  // ---- volumes -----------------------------------------------------------------------

  /**
   * CreateVolume: answered and recorded `creating` (the KMS developer guide's "Amazon EC2 example
   * one": the CreateVolume record, then the GenerateDataKeyWithoutPlaintext it causes); then the
   * volume gets its data key and image and is `available`, or `error` if KMS refused.
   */
  private createVolumeOutcome(ctx: CallContext, req: CreateVolumeRequest): Outcome {
    const created = acceptVolume(this.parts, this.snapshots, ctx, req, false);
    const v = created.volume;
    return {
      response: volumeShape(v),
      requestParameters: { size: req.Size, zone: v.availabilityZone, volumeType: v.volumeType, encrypted: v.encrypted, ...(req.KmsKeyId ? { kmsKeyId: req.KmsKeyId } : {}), ...(req.SnapshotId ? { snapshotId: req.SnapshotId } : {}) },
      responseElements: { volumeId: v.volumeId, size: v.sizeGiB, zone: v.availabilityZone, status: 'creating', createTime: v.createdAt.getTime(), volumeType: v.volumeType, encrypted: v.encrypted, ...(v.snapshotId ? { snapshotId: v.snapshotId } : {}) },
      continuation: () => {
        created.make();
        // AWS's answer: the volume as it is being created, with the key it is created under.
        return { ...volumeShape(this.store.volume(v.volumeId)!), State: 'creating' };
      },
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

  /**
   * ModifyVolume, growing only: the image grows (the new sectors are holes, read as zeros) and the
   * data key stays, so no KMS call. AWS answers `modifying` and optimizes for a while; ebsim is
   * done at once. A mounted volume keeps its old size until it is mounted again.
   */
  private modify(ctx: CallContext, req: ModifyVolumeRequest): Outcome {
    const v = this.requireVolume(req.VolumeId);
    if (v.state !== 'available' && v.state !== 'in-use') throw new IncorrectState(`Volume '${v.volumeId}' is in the '${v.state}' state.`);
    const size = req.Size;
    if (size === undefined) throw new InvalidParameterValue('ebsim models only growing a volume: give Size (--size GiB).');
    if (!Number.isInteger(size) || size < 1 || size > 16384) throw new InvalidParameterValue(`Volume size must be an integer between 1 and 16384 GiB; got ${size}`);
    if (size < v.sizeGiB) throw new InvalidParameterValue('New size cannot be smaller than existing size');
    if (size === v.sizeGiB) throw new InvalidParameterValue(`The volume is already ${size} GiB: ebsim models only growing it.`);
    requireRoomForImage(this.imagePath(v.volumeId), size * GIB);
    growImage(this.imagePath(v.volumeId), size * GIB);
    this.store.updateVolume(v.volumeId, { size_gib: size });
    const modification = {
      VolumeId: v.volumeId, ModificationState: 'modifying', TargetSize: size, TargetVolumeType: v.volumeType, OriginalSize: v.sizeGiB, OriginalVolumeType: v.volumeType, Progress: 0, StartTime: new Date(),
    };
    return {
      response: { VolumeModification: modification },
      responseElements: {
        ModifyVolumeResponse: {
          xmlns: EC2_XMLNS, requestId: ctx.requestId,
          volumeModification: { volumeId: v.volumeId, modificationState: 'modifying', targetSize: size, targetVolumeType: v.volumeType, originalSize: v.sizeGiB, originalVolumeType: v.volumeType, progress: 0, startTime: modification.StartTime.getTime() },
        },
      },
    };
  }

  /**
   * DetachVolume: the instance's role no longer needs the volume's data key, so EC2 retires the
   * grant (after the DetachVolume record, as a stop does); attaching again makes a new one.
   */
  private detach(ctx: CallContext, req: DetachVolumeRequest): Outcome {
    const v = this.requireVolume(req.VolumeId);
    if (v.state !== 'in-use' || !v.instanceId) throw new IncorrectState(`Volume '${v.volumeId}' is in the 'available' state.`);
    this.refuseIfOpenOnHost(v, 'detaches');
    this.store.updateVolume(v.volumeId, { state: 'available', instance_id: null, device: null, attach_time: null });
    const response = { AttachTime: v.attachTime, Device: v.device, InstanceId: v.instanceId, State: 'detaching', VolumeId: v.volumeId };
    return {
      response,
      responseElements: { volumeId: v.volumeId, instanceId: v.instanceId, device: v.device, status: 'detaching' },
      continuation: () => {
        this.retireGrant(ctx, this.store.volume(v.volumeId)!);
        return response;
      },
    };
  }

  private delete(ctx: CallContext, req: { VolumeId: string }): Outcome {
    const v = this.requireVolume(req.VolumeId);
    if (v.state === 'in-use') throw new VolumeInUse(`Volume ${v.volumeId} is currently attached to ${v.instanceId}`);
    this.refuseIfOpenOnHost(v, 'deletes');
    // The record first, then the calls it causes (a grant left by a revoked detach, say).
    return { response: {}, responseElements: { _return: true }, continuation: () => (this.deleteInternal(ctx, this.store.volume(v.volumeId)!), {}) };
  }

  /**
   * A volume that a device daemon (a mount) or an in-process writer has open: detaching, deleting
   * or terminating would pull the image from under it (on AWS the OS is shut down or the detach
   * waits, 'busy', for the unmount). ebsim refuses instead; see docs/known-differences.md.
   */
  private refuseIfOpenOnHost(v: Volume, action: string): void {
    const open = this.openOnHost(v);
    if (!open) return;
    throw new IncorrectState(`The volume '${v.volumeId}' is open on its host${open.pid ? ` (pid ${open.pid})` : ''}; ebsim ${action} only a volume nothing has open: unmount it first (ebsim volume unmount ${v.volumeId}).`);
  }

  /** Whether a device daemon (a mount) or an in-process user holds the volume's image writer lock, and its pid. */
  private openOnHost(v: Volume): { volumeId: string; pid: number | null } | null {
    const file = imageLockFile(this.imagePath(v.volumeId));
    if (!existsSync(file)) return null;
    const lock = ExclusiveLock.tryAcquire(file);
    if (lock) {
      lock.release();
      return null;
    }
    return { volumeId: v.volumeId, pid: lockHolder(file) };
  }

  /** The instance's attached volumes that its host has open. */
  private openVolumesOf(i: Instance): { volumeId: string; pid: number | null }[] {
    return this.store.volumesOf(i.instanceId).flatMap((v) => this.openOnHost(v) ?? []);
  }

  /** For the console: current state without a DescribeInstances/DescribeVolumes record. */
  describeInstancesQuietly(): Record<string, unknown>[] {
    return this.store.instances().map((i) => ({ InstanceId: i.instanceId, State: i.state, InstanceType: i.instanceType, LaunchTime: i.launchTime.toISOString() }));
  }

  volumesQuietly(): Volume[] {
    return this.store.volumes();
  }

  /** An instance's volumes, without a DescribeVolumes record (the host's mount). */
  volumesOfQuietly(instanceId: string): Volume[] {
    return this.store.volumesOf(instanceId);
  }

  // ---- encryption by default -----------------------------------------------------------

  /** The six account-attribute operations; responses as AWS's, records in EC2's wrapped form for newer actions. */
  private encryptionDefaultActions(): Pick<Ec2Actions,
    'enableEbsEncryptionByDefault' | 'disableEbsEncryptionByDefault' | 'getEbsEncryptionByDefault' | 'getEbsDefaultKmsKeyId' | 'modifyEbsDefaultKmsKeyId' | 'resetEbsDefaultKmsKeyId'> {
    const wrapped = (ctx: CallContext, name: string, fields: Record<string, unknown>) => ({ [`${name}Response`]: { xmlns: EC2_XMLNS, requestId: ctx.requestId, ...fields } });
    const setEnabled = (ctx: CallContext, name: string, enabled: boolean): Outcome => {
      this.defaults.setEnabled(enabled);
      return { response: { EbsEncryptionByDefault: enabled }, responseElements: wrapped(ctx, name, { ebsEncryptionByDefault: enabled }) };
    };
    const setKey = (ctx: CallContext, name: string, keyId: string | null): Outcome => {
      const arn = this.defaults.setDefaultKey(keyId);
      return { response: { KmsKeyId: arn }, responseElements: wrapped(ctx, name, { kmsKeyId: arn }) };
    };
    return {
      enableEbsEncryptionByDefault: (ctx) => setEnabled(ctx, 'EnableEbsEncryptionByDefault', true),
      disableEbsEncryptionByDefault: (ctx) => setEnabled(ctx, 'DisableEbsEncryptionByDefault', false),
      getEbsEncryptionByDefault: () => ({ response: { EbsEncryptionByDefault: this.defaults.enabled() } }),
      getEbsDefaultKmsKeyId: () => ({ response: { KmsKeyId: this.defaults.defaultKeyArn() } }),
      modifyEbsDefaultKmsKeyId: (ctx, keyId) => {
        if (!keyId.trim()) throw new InvalidParameterValue('Value () for parameter kmsKeyId is invalid. Parameter may not be empty.');
        return setKey(ctx, 'ModifyEbsDefaultKmsKeyId', keyId);
      },
      resetEbsDefaultKmsKeyId: (ctx) => setKey(ctx, 'ResetEbsDefaultKmsKeyId', null),
    };
  }

  // ---- the host's view ---------------------------------------------------------------

  volume(volumeId: string): Volume {
    return this.requireVolume(volumeId);
  }

  /** The Region that holds this account's instance, volume or snapshot `id` (its IDs are unique in the home), if any. */
  regionOf(id: string): string | undefined {
    return this.store.regionOf(id);
  }

  /** A snapshot's record, read without a DescribeSnapshots trail record. */
  snapshot(snapshotId: string): Snapshot {
    return this.snapshots.require(snapshotId);
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

  private attachInternal(ctx: CallContext, volume: Volume, instance: Instance, device: string, requestId: string | undefined): void {
    if (instance.state !== 'pending' && instance.state !== 'running' && instance.state !== 'stopped') throw new IncorrectState(`Instance '${instance.instanceId}' is not 'running'.`);
    const v = this.store.volume(volume.volumeId)!;
    if (v.state === 'in-use') throw new VolumeInUse(`${v.volumeId} is already attached to an instance`);
    if (v.availabilityZone !== instance.availabilityZone) throw new InvalidVolumeZoneMismatch(`The volume '${v.volumeId}' is not in the same availability zone as instance '${instance.instanceId}'`);
    if (v.state !== 'available') throw new IncorrectState(`Volume '${v.volumeId}' is in the '${v.state}' state.`);
    if (this.store.volumesOf(instance.instanceId).some((x) => x.device === device)) {
      throw new InvalidParameterValue(`Attachment point ${device} is already in use`);
    }
    // A stopped instance has no host to serve the volume: its grant and Decrypt come at start.
    if (v.encrypted && instance.state !== 'stopped') this.giveHostTheKey(ctx, v, instance.instanceId, requestId);
    this.store.updateVolume(v.volumeId, { state: 'in-use', instance_id: instance.instanceId, device, attach_time: new Date().toISOString() });
  }

  /**
   * The instance's host gets the volume's data key: a grant to the instance's infrastructure role
   * unless a live one is there (the seed's second call, EC2 for the caller, sharing the request
   * ID), then the host's Decrypt as that role (the seed's third call). The key is zeroed at once:
   * ebsim's host holds it only while it serves the volume (a mount, in-process access).
   */
  private giveHostTheKey(ctx: CallContext, v: Volume, instanceId: string, requestId: string | undefined): void {
    const grantee = `${this.accountId}:${EC2_INFRASTRUCTURE_ROLE}:${instanceId}`;
    const live = this.liveGrant(ctx, v, requestId);
    // Moving to another instance, or a grant the caller may not see: the previous grantee loses access.
    if (live && (live === 'unknown' || live.GranteePrincipal !== grantee)) this.retireGrant(ctx, v, live);
    let grantId = live !== 'unknown' && live?.GranteePrincipal === grantee ? live.GrantId : undefined;
    if (!grantId) {
      grantId = this.kms.createGrant(onBehalfOf(ctx, 'ec2', requestId), {
        KeyId: v.kmsKeyArn!,
        GranteePrincipal: grantee,
        RetiringPrincipal: ebsRetiringPrincipal(this.accountId),
        Operations: ['Decrypt'],
        Constraints: { EncryptionContextSubset: ebsContext(v.volumeId) },
      }).GrantId;
    }
    this.store.updateVolume(v.volumeId, { grant_id: grantId });
    this.decryptDataKey({ ...v, instanceId }).fill(0);
  }

  /** A stop retires the grants of the instance's volumes: the next start needs new ones (and kms:CreateGrant). */
  private retireGrantsOf(ctx: CallContext, instanceId: string): void {
    for (const v of this.store.volumesOf(instanceId).filter((x) => x.grantId)) this.retireGrant(ctx, v);
  }

  private terminateInternal(ctx: CallContext, instanceId: string, why: StateWhy): void {
    this.store.setInstanceState(instanceId, 'terminated', why);
    this.releaseVolumesOf(ctx, instanceId);
  }

  /** A terminated instance's volumes: detached, their grants retired, those with DeleteOnTermination deleted. */
  private releaseVolumesOf(ctx: CallContext, instanceId: string): void {
    for (const v of this.store.volumesOf(instanceId)) {
      this.store.updateVolume(v.volumeId, { state: 'available', instance_id: null, device: null, attach_time: null });
      const fresh = this.store.volume(v.volumeId)!;
      if (fresh.deleteOnTermination) this.deleteInternal(ctx, fresh);
      else this.retireGrant(ctx, fresh);
    }
  }

  private deleteInternal(ctx: CallContext, v: Volume): void {
    this.retireGrant(ctx, v);
    this.store.updateVolume(v.volumeId, { state: 'deleted' });
    // Committed and recorded: what follows never fails the call (afterCommit).
    afterCommit(`removing ${this.imagePath(v.volumeId)}`, () => deleteImage(this.imagePath(v.volumeId)));
    removeOrphanImages(this.parts); // of deletes killed between their row and their image
  }

  /**
   * The volume's grant, if it is still live: a user may have revoked it, or its key may be gone.
   * EC2 asks KMS (ListGrants, for the caller) rather than reading KMS's store, so the question is
   * authorized and recorded like any other. `unknown`: the caller may not list grants (AWS's
   * documented EBS permissions do not include kms:ListGrants), so the grant may be live.
   */
  private liveGrant(ctx: CallContext, v: Volume, requestId?: string): GrantListEntry | 'unknown' | undefined {
    if (!v.grantId || !v.kmsKeyArn) return undefined;
    try {
      return this.kms.listGrants(onBehalfOf(ctx, 'ec2', requestId), { KeyId: v.kmsKeyArn, GrantId: v.grantId }).Grants[0];
    } catch (err) {
      if (!(err instanceof AwsError)) throw err;
      return err.code === 'AccessDeniedException' ? 'unknown' : undefined; // a key that no longer exists has no grants
    }
  }

  /**
   * Detach, stop, terminate and delete retire the volume's grant: ListGrants, then RetireGrant,
   * EC2 for the caller, sharing the call's request ID (as CreateGrant shares RunInstances'). A grant
   * the caller could not list is retired by its ID all the same.
   */
  private retireGrant(ctx: CallContext, v: Volume, live = this.liveGrant(ctx, v, ctx.requestId)): void {
    if (live) {
      try {
        this.kms.retireGrant(onBehalfOf(ctx, 'ec2', ctx.requestId), { KeyId: v.kmsKeyArn!, GrantId: live === 'unknown' ? v.grantId! : live.GrantId });
      } catch (err) {
        if (!(err instanceof AwsError)) throw err; // the failure is in the trail; the volume lets go of the grant all the same
      }
    }
    this.store.updateVolume(v.volumeId, { grant_id: null });
  }

  private instanceShape(i: Instance): Record<string, unknown> {
    const volumes = this.store.volumesOf(i.instanceId);
    return {
      AmiLaunchIndex: 0,
      ImageId: i.imageId,
      InstanceId: i.instanceId,
      InstanceType: i.instanceType,
      LaunchTime: i.launchTime,
      Placement: { AvailabilityZone: i.availabilityZone, Tenancy: 'default' },
      PrivateIpAddress: hostAddressOf(i.instanceId),
      State: { Code: INSTANCE_STATE_CODES[i.state], Name: i.state },
      StateTransitionReason: i.stateTransitionReason,
      ...(i.stateReason ? { StateReason: { Code: i.stateReason.code, Message: i.stateReason.message } } : {}),
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
}

function runInstancesResponse(i: Instance, accountId: string): Record<string, unknown> {
  return {
    reservationId: i.reservationId,
    ownerId: accountId,
    groupSet: {},
    instancesSet: {
      items: [{
        instanceId: i.instanceId, imageId: i.imageId, instanceState: { code: INSTANCE_STATE_CODES[i.state], name: i.state }, amiLaunchIndex: 0, productCodes: {},
        instanceType: i.instanceType, launchTime: i.launchTime.getTime(), placement: { availabilityZone: i.availabilityZone, tenancy: 'default' },
        monitoring: { state: 'disabled' }, stateReason: { code: 'pending', message: 'pending' }, architecture: 'x86_64', rootDeviceType: 'ebs',
        rootDeviceName: i.rootDeviceName, blockDeviceMapping: {}, virtualizationType: 'hvm', hypervisor: 'xen', clientToken: i.clientToken,
        groupSet: {}, networkInterfaceSet: {}, ebsOptimized: false,
      }],
    },
  };
}
