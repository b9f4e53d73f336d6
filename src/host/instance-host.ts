// The instance's host: what runs on the machine an instance lives on. It attaches a volume when
// asked, decrypts the volume's data key as the instance's role, starts and stops the device daemon
// that serves the decrypted device (mount/unmount), and serves in-process access. The CLI and the
// walkthrough call it; neither repeats these steps.
//
// Mount-table operations (unmount, status, cleanup) work on the state directory alone: the
// control plane (database, KMS) is opened only by the steps that need it, so they still work when
// the disk holding the home is full or the database is damaged.
import type { CallContext } from '../core/call-context.js';
import { UserError } from '../errors/index.js';
import type { DetachVolumeRequest, Ec2Service, StopInstancesRequest } from '../ec2/service.js';
import type { Volume } from '../ec2/model.js';
import type { IamDirectory } from '../iam/directory.js';
import { decryptVolumeKey, hostCallContext, type DataKeyDecrypter } from './data-key.js';
import { freeDeviceName, mountStatus, startMount, stopMount, cleanupMounts, type MountedVolume, type UnmountOptions, type VolumeFormat, type VolumeStatus } from './mounts.js';
import { exportTo, prefill, readRange, refuseImageTarget, withVolumeDevice, writeRange, type Progress } from './in-process.js';
import type { ExportResult } from '../device/export.js';
import type { BlockDevice } from '../device/block-device.js';

const GIB = 1024 ** 3;

/** EC2, KMS and IAM of one account of the home in one Region. */
export interface Plane {
  ec2: Ec2Service;
  keys: DataKeyDecrypter;
  /** The account's IAM: the host's role (aws:ec2-infrastructure) is the account's. */
  iam: IamDirectory;
}

/** What the host needs of the control plane, opened on first use: the home's first account in its own Region, */
export interface ControlPlane extends Plane {
  /** any account of the home in any Region (absent: the host serves the first account's own Region only), */
  at?: (accountId: string, region: string) => Plane;
  /** and where an instance, volume or snapshot ID lives, whichever account of the home holds it. */
  placeOf?: (id: string) => { accountId: string; region: string } | undefined;
}

/** Who asks (the CLI's `--as`/`--account`), resolved when the host acts for it. */
export type Caller = CallContext | (() => CallContext);

function callerOf(caller: Caller): CallContext {
  return typeof caller === 'function' ? caller() : caller;
}

export interface HostMountOptions {
  volumeId: string;
  /** Attach the volume to this instance first if it is not attached. */
  instanceId?: string;
  mountpoint: string;
  format: VolumeFormat;
  foreground?: boolean;
}

export interface HostMount extends MountedVolume {
  instanceId: string;
}

export class InstanceHost {
  private plane: ControlPlane | undefined;

  /**
   * @param stateDir where mount state, pidfiles, logs and FUSE dirs live ($EBSIM_HOME/run)
   * @param openControlPlane opens EC2, IAM and KMS (the database) when a step needs them
   * @param home the home ($EBSIM_HOME), whose files no export may overwrite
   */
  constructor(
    readonly stateDir: string,
    private readonly openControlPlane: () => ControlPlane,
    readonly home: string,
  ) {}

  private get cp(): ControlPlane {
    return (this.plane ??= this.openControlPlane());
  }

  /**
   * EC2 of the caller's account in the Region called: a call the host makes for a caller goes
   * there, so another account's or another Region's resources are not found by it.
   */
  private ec2Called(caller: CallContext): Ec2Service {
    const cp = this.cp;
    if (cp.at) return cp.at(caller.principal.accountId, caller.region).ec2;
    if (caller.principal.accountId !== cp.ec2.accountId || caller.region !== cp.ec2.region) {
      throw new UserError(`this host serves account ${cp.ec2.accountId} in ${cp.ec2.region} only, not ${caller.principal.accountId} in ${caller.region}`);
    }
    return cp.ec2;
  }

  /**
   * The account and Region that hold the volume or instance `id` (the host serves every account
   * of the home, each volume where it is); the first account's own Region if none does: it
   * answers not found.
   */
  private planeOf(id: string): Plane {
    const cp = this.cp;
    const place = cp.placeOf?.(id);
    return place && cp.at && (place.accountId !== cp.ec2.accountId || place.region !== cp.ec2.region) ? cp.at(place.accountId, place.region) : cp;
  }

  // ---- the volume as the host sees it --------------------------------------------------------

  /** The volume's record, read without a DescribeVolumes trail record (the host reads its own state). */
  volume(volumeId: string): Volume {
    return this.planeOf(volumeId).ec2.volume(volumeId);
  }

  imagePath(volumeId: string): string {
    return this.cp.ec2.imagePath(volumeId);
  }

  sizeBytes(volumeId: string): number {
    return this.volume(volumeId).sizeGiB * GIB;
  }

  /** The call context of the instance's host: the role aws:ec2-infrastructure, session INSTANCE-ID. */
  callContext(instanceId: string): CallContext {
    const { iam, ec2 } = this.planeOf(instanceId);
    return hostCallContext(iam, ec2.region, instanceId);
  }

  /**
   * Attaches the volume to `instanceId` (as `caller`, at the instance's first free device name)
   * unless it is attached already; refuses a volume attached to another instance. The AttachVolume
   * call goes to the volume's Region, whichever the caller named (the host serves the volume where
   * it is), in the caller's account.
   */
  attach(caller: Caller, volumeId: string, instanceId?: string): Volume {
    const { who, ec2 } = this.callerAt(caller, volumeId);
    const v = ec2.volume(volumeId);
    if (instanceId && v.instanceId && v.instanceId !== instanceId) throw new UserError(`${volumeId} is attached to ${v.instanceId}, not ${instanceId}`);
    if (v.instanceId) return v;
    if (!instanceId) throw new UserError(`${volumeId} is not attached to an instance: pass --instance INSTANCE-ID (or run ebsim ec2 attach-volume)`);
    // The instance's free device names, read without a DescribeVolumes record: the user asked to mount.
    const device = freeDeviceName(ec2.volumesOfQuietly(instanceId).map((x) => x.device));
    if (!device) throw new UserError(`${instanceId} has no free device name left for ${volumeId}: detach a volume from it first`);
    ec2.attachVolume(who, { VolumeId: volumeId, InstanceId: instanceId, Device: device });
    return ec2.volume(volumeId);
  }

  /**
   * The volume as `caller` sees it (`ebsim volume inspect`, `verify`, the size checks of read and
   * write): in the caller's own account, in the Region that holds it; NotFound for another's.
   */
  volumeFor(caller: Caller, volumeId: string): Volume {
    return this.callerAt(caller, volumeId).ec2.volume(volumeId);
  }

  /**
   * The caller, calling the Region that holds `volumeId`, and EC2 of the caller's own account
   * there: another account's volume is not found by it, as at AWS, attached or not.
   */
  private callerAt(caller: Caller, volumeId: string): { who: CallContext; ec2: Ec2Service } {
    const who = { ...callerOf(caller), region: this.planeOf(volumeId).ec2.region };
    return { who, ec2: this.ec2Called(who) };
  }

  /**
   * The volume's plaintext data key, decrypted as its instance's role; null for an unencrypted
   * volume. Zero it after use. Only a running instance has a host to serve its volumes.
   */
  dataKey(volume: Volume): Uint8Array | null {
    const { ec2, keys, iam } = this.planeOf(volume.volumeId);
    if (volume.instanceId) {
      const { state } = ec2.instance(volume.instanceId);
      if (state !== 'running') throw new UserError(`${volume.volumeId} is attached to ${volume.instanceId}, which is ${state}: its host serves no volume until it runs (ebsim ec2 start-instances --instance-ids ${volume.instanceId})`);
    }
    return volume.encrypted ? decryptVolumeKey(keys, iam, ec2.region, volume) : null;
  }

  // ---- the instance's lifecycle on its host -----------------------------------------------------

  /**
   * StopInstances as the host carries out `--force`: EC2 records the stop and leaves the
   * instances whose volumes are still mounted `stopping`; the host unmounts those volumes (the
   * device daemon flushes and exits, and its copy of the data key goes with it), then EC2
   * finishes the stop. Without Force it is EC2's call alone (refused while a volume is mounted).
   */
  async stopInstances(caller: CallContext, req: StopInstancesRequest): Promise<Record<string, unknown>> {
    const ec2 = this.ec2Called(caller);
    const response = ec2.stopInstances(caller, req);
    if (!req.Force) return response;
    const stopping = new Set(req.InstanceIds.filter((id) => ec2.instance(id).state === 'stopping'));
    if (stopping.size) {
      const mounted = new Set((await this.status()).volumes.map((v) => v.volumeId));
      for (const v of ec2.volumesQuietly()) {
        if (v.instanceId && stopping.has(v.instanceId) && mounted.has(v.volumeId)) await this.unmount(v.volumeId);
      }
      ec2.completeStops();
    }
    return response;
  }

  /**
   * DetachVolume as the host carries out `--force`: a mounted volume is unmounted first (the
   * device daemon flushes and exits), then EC2 detaches it. Without Force it is EC2's call alone
   * (refused while the volume is open on the host).
   */
  async detachVolume(caller: CallContext, req: DetachVolumeRequest): Promise<Record<string, unknown>> {
    const ec2 = this.ec2Called(caller);
    // Only the caller's own volume in the Region called is unmounted: any other is not found by the call.
    const own = ec2.regionOf(req.VolumeId) === ec2.region;
    if (req.Force && own && (await this.status()).volumes.some((v) => v.volumeId === req.VolumeId)) await this.unmount(req.VolumeId);
    return ec2.detachVolume(caller, req);
  }

  // ---- mounts (the device daemon) -------------------------------------------------------------

  /** Attaches if asked, decrypts the data key, starts the device daemon and mounts the file system. */
  async mount(caller: Caller, opts: HostMountOptions): Promise<HostMount> {
    const v = this.attach(caller, opts.volumeId, opts.instanceId);
    const m = await startMount({
      volumeId: v.volumeId, imagePath: this.imagePath(v.volumeId), sizeBytes: v.sizeGiB * GIB, key: this.dataKey(v),
      mountpoint: opts.mountpoint, stateDir: this.stateDir, format: opts.format, foreground: opts.foreground,
    });
    return { ...m, instanceId: v.instanceId! };
  }

  unmount(volumeId: string, opts: UnmountOptions = {}): Promise<void> {
    return stopMount(volumeId, this.stateDir, opts);
  }

  status(opts: { cleanup?: boolean } = {}): Promise<{ volumes: VolumeStatus[]; cleanedUp: string[] }> {
    return mountStatus(this.stateDir, opts);
  }

  /** Clears mounts, loop devices and daemons a crash left behind; returns the volumes cleaned. */
  cleanup(): Promise<string[]> {
    return cleanupMounts(this.stateDir);
  }

  // ---- in-process access ----------------------------------------------------------------------

  /** Runs `fn` over the volume's block device in this process, under the image's writer lock. */
  // async: a refused attach is a rejection, as every other failure of these calls is.
  async withDevice<T>(caller: Caller, volumeId: string, instanceId: string | undefined, fn: (dev: BlockDevice) => Promise<T>): Promise<T> {
    const v = this.attach(caller, volumeId, instanceId);
    return withVolumeDevice({ volumeId: v.volumeId, imagePath: this.imagePath(v.volumeId), sizeBytes: v.sizeGiB * GIB }, () => this.dataKey(v), fn);
  }

  read(caller: Caller, volumeId: string, offset: number, length: number, instanceId?: string): Promise<Buffer> {
    return this.withDevice(caller, volumeId, instanceId, (dev) => readRange(dev, offset, length));
  }

  write(caller: Caller, volumeId: string, offset: number, data: Uint8Array, instanceId?: string): Promise<number> {
    return this.withDevice(caller, volumeId, instanceId, (dev) => writeRange(dev, offset, data));
  }

  /** Decrypts the whole volume to `out` (a plain sparse image, or a device or FIFO written in order), reading only the image's data extents. */
  // async: a refused target is a rejection, as every other failure of these calls is.
  async export(caller: Caller, volumeId: string, out: string, opts: { instanceId?: string; onProgress?: Progress } = {}): Promise<ExportResult> {
    const image = this.imagePath(volumeId);
    refuseImageTarget(this.home, image, out);
    return this.withDevice(caller, volumeId, opts.instanceId, (dev) => exportTo(dev, image, out, opts.onProgress));
  }

  /** Writes encrypted zeros into every never-written sector (see src/device/prefill.ts). */
  prefill(caller: Caller, volumeId: string, opts: { instanceId?: string; onProgress?: Progress } = {}): Promise<{ sectorsFilled: number }> {
    const image = this.imagePath(volumeId);
    return this.withDevice(caller, volumeId, opts.instanceId, (dev) => prefill(dev, image, opts.onProgress));
  }
}
