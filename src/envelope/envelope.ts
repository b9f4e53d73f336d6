// The envelope of one volume, link by link: the CMK (state, versions, policy) → the encrypted data
// key (its blob's header) → the grant that lets the instance's role decrypt it → the host (attached,
// mounted, where the plaintext key is) → the backing image. A broken link says what it breaks
// ("mounted: keeps working until unmount; the next mount fails with DisabledException") and which
// trail record broke it. A pure read: no AWS call, so nothing is authorized or recorded, and no key
// material is touched (the console shows the same view).
import { statSync } from 'node:fs';
import type { Ebsim } from '../app/ebsim.js';
import { parseBlobHeader, type KmsInventory } from '../kms/index.js';
import { KeyPolicyStore } from '../kms/key-policy.js';
import { lookupEvents, type TrailRecord } from '../trail/index.js';
import type { Volume } from '../ec2/model.js';
import type { VolumeStatus } from '../device/index.js';
import { summarizePolicy } from './policy-summary.js';

const SECTOR = 4096;
const GIB = 1024 ** 3;

export type LinkName = 'Key' | 'DataKey' | 'Grant' | 'Host' | 'Image';

/** The trail record that broke a link. */
export interface TrailRef {
  EventName: string;
  EventTime: string;
  EventId: string;
  Caller: string;
}

export interface BrokenLink {
  Link: LinkName;
  Problem: string;
  Consequence: string;
  BrokenBy: TrailRef | null;
}

export interface Envelope {
  VolumeId: string;
  State: string;
  SizeGiB: number;
  Encrypted: boolean;
  Key: {
    KeyArn: string;
    KeyId: string;
    Aliases: string[];
    /** 'Deleted' when the key is gone from KMS. */
    KeyState: string;
    KeyManager: string | null;
    KeyVersions: number | null;
    RotationEnabled: boolean | null;
    Policy: string[];
  } | null;
  DataKey: {
    Bytes: number;
    /** From the blob's header: the key and the version of its material that encrypted the data key. */
    KeyId: string;
    KeyVersion: number;
    /** Bound into the blob as authenticated data, not stored in it: Decrypt must present it. */
    EncryptionContext: Record<string, string>;
  } | null;
  Grant: {
    GrantId: string;
    GranteePrincipal: string;
    Operations: string[];
    Constraints: unknown;
    /** live, retired, revoked, or missing (the key and its grants are gone). */
    State: string;
  } | null;
  Host: {
    InstanceId: string | null;
    InstanceState: string | null;
    Device: string | null;
    Mounted: { Mountpoint: string | null; DaemonPid: number | null; Healthy: boolean; Problems: string[] } | null;
    /** Where the plaintext data key is now; null: nowhere. */
    PlaintextKeyIn: string | null;
  };
  Image: {
    Path: string;
    Exists: boolean;
    SizeBytes: number;
    /** Bytes the host's file system allocated: the sectors ever written (the rest are holes, which read as zeros). */
    AllocatedBytes: number;
    WrittenSectors: number;
    HoleSectors: number;
  };
  Healthy: boolean;
  Broken: BrokenLink[];
  /** Facts that are not faults, said where they matter (a grant retired by a stop, a volume not attached). */
  Notes: string[];
}

/** What every volume's envelope reads once: KMS's inventory and the host's mount table. */
export interface EnvelopeContext {
  inventory: KmsInventory;
  mounts: VolumeStatus[];
}

/** `accountId`: an account of the home (default: its first), as `--account` names one. */
export async function envelopeContext(app: Ebsim, accountId?: string, region?: string): Promise<EnvelopeContext> {
  return { inventory: app.kms(accountId, region).inventory(), mounts: (await app.host().status().catch(() => ({ volumes: [] as VolumeStatus[] }))).volumes };
}

export interface ExplainOptions {
  /** The account of the home the volume is in (default: the first). */
  accountId?: string;
  /** KMS's inventory and the mount table, read once for many volumes (the console). */
  context?: EnvelopeContext;
}

/** The envelope of `volumeId` (InvalidVolume.NotFound if the account has no such volume). */
export async function explainVolume(app: Ebsim, volumeId: string, opts: ExplainOptions = {}): Promise<Envelope> {
  // The volume's Region, whichever holds it (the account's own if none does: not found there).
  const region = app.ec2(opts.accountId).regionOf(volumeId);
  const ctx = opts.context ?? (await envelopeContext(app, opts.accountId, region));
  const ec2 = app.ec2(opts.accountId, region);
  const v = ec2.volume(volumeId);
  const status = ctx.mounts.find((s) => s.volumeId === volumeId);
  const mounted = status ? { Mountpoint: status.state.mountpoint, DaemonPid: status.daemonPids[0] ?? status.state.daemonPid, Healthy: status.healthy, Problems: status.problems } : null;
  const instance = v.instanceId ? ec2.instance(v.instanceId) : null;
  const env: Envelope = {
    VolumeId: v.volumeId,
    State: v.state,
    SizeGiB: v.sizeGiB,
    Encrypted: v.encrypted,
    Key: null,
    DataKey: null,
    Grant: null,
    Host: {
      InstanceId: v.instanceId,
      InstanceState: instance?.state ?? null,
      Device: v.device,
      Mounted: mounted,
      PlaintextKeyIn: v.encrypted && mounted?.DaemonPid && status?.daemonAlive ? `the device daemon's memory (pid ${mounted.DaemonPid})` : null,
    },
    Image: imageFacts(ec2.imagePath(v.volumeId), v.sizeGiB * GIB),
    Healthy: true,
    Broken: [],
    Notes: [],
  };
  const isMounted = Boolean(mounted?.Healthy);
  const nextMount = (error: string) => `${isMounted ? 'mounted: keeps working until unmount; ' : ''}the next mount fails with ${error}`;
  const broken = (link: LinkName, problem: string, consequence: string, by: TrailRef | null = null) => env.Broken.push({ Link: link, Problem: problem, Consequence: consequence, BrokenBy: by });

  if (v.encrypted) {
    linkKey(app, ctx.inventory, v, env, broken, nextMount);
    linkGrant(app, ctx.inventory, v, env, broken, nextMount, instance?.state ?? null);
  } else {
    env.Notes.push('not encrypted: no envelope; the image holds the data as written');
  }

  if (!v.instanceId) env.Notes.push('not attached: attach it to an instance to mount it (for an encrypted volume, that creates its grant)');
  else if (instance && instance.state !== 'running')
    broken('Host', `${instance.instanceId} is ${instance.state}`, `its host serves no volume until it runs (StartInstances gives the volume a new grant)`, lastRecord(app, 'StopInstances', instance.instanceId));
  if (mounted && !mounted.Healthy)
    broken('Host', `the mount is unhealthy: ${mounted.Problems.join('; ') || 'the device daemon is gone'}`, `I/O on the mount fails; ebsim volume unmount --force ${v.volumeId} (or ebsim volume cleanup) clears it`);
  if (!env.Image.Exists) broken('Image', 'the backing image is missing', 'the data is gone: there is nothing left to decrypt');
  env.Healthy = env.Broken.length === 0;
  return env;
}

type Broken = (link: LinkName, problem: string, consequence: string, by?: TrailRef | null) => void;

function linkKey(app: Ebsim, inv: KmsInventory, v: Volume, env: Envelope, broken: Broken, nextMount: (error: string) => string): void {
  const arn = v.kmsKeyArn!;
  const keyId = arn.split('/').pop()!;
  const key = inv.keys.find((k) => k.Arn === arn);
  const aliases = inv.aliases.filter((a) => a.TargetKeyId === keyId).map((a) => a.AliasName);
  const [, , , region, account] = arn.split(':') as [string, string, string, string, string];
  env.Key = {
    KeyArn: arn, KeyId: keyId, Aliases: aliases, KeyState: key?.KeyState ?? 'Deleted', KeyManager: key?.KeyManager ?? null,
    KeyVersions: key?.KeyVersions ?? null, RotationEnabled: key?.RotationEnabled ?? null,
    Policy: key ? summarizePolicy(new KeyPolicyStore(app.db, region).text({ keyId, accountId: account, region, keyManager: key.KeyManager as 'AWS' | 'CUSTOMER' }, () => aliases)) : [],
  };
  if (v.encryptedDataKey) {
    const h = parseBlobHeader(v.encryptedDataKey);
    env.DataKey = { Bytes: v.encryptedDataKey.length, KeyId: h.keyId, KeyVersion: h.version, EncryptionContext: { 'aws:ebs:id': v.volumeId } };
    if (h.keyId !== keyId) broken('DataKey', `the encrypted data key names key ${h.keyId}, not the volume's key`, nextMount('IncorrectKeyException'));
  }
  switch (env.Key.KeyState) {
    case 'Enabled':
      return;
    case 'Disabled':
      return broken('Key', 'the key is disabled', nextMount('DisabledException') + ' (until EnableKey)', lastRecord(app, 'DisableKey', keyId));
    case 'PendingDeletion': {
      const by = lastRecordOf(app, 'ScheduleKeyDeletion', keyId);
      const when = (by?.responseElements as { deletionDate?: string } | undefined)?.deletionDate;
      return broken('Key', `the key is pending deletion${when ? ` (on ${when})` : ''}`, `${nextMount('KMSInvalidStateException')}; once deleted, the data is lost for good (CancelKeyDeletion stops it)`, by ? refOf(by) : null);
    }
    case 'PendingImport':
      return broken('Key', 'the key has no key material (its imported material was deleted or expired)', `${nextMount('KMSInvalidStateException')} (until the same material is imported again)`, lastRecord(app, 'DeleteImportedKeyMaterial', keyId));
    case 'Deleted':
      return broken('Key', 'the key is gone from KMS', `${Boolean(env.Host.Mounted?.Healthy) ? 'mounted: keeps working until unmount; then ' : ''}the data key can never be decrypted again: the data is lost`, lastRecord(app, 'ScheduleKeyDeletion', keyId));
    default:
      return broken('Key', `the key is ${env.Key.KeyState}`, nextMount('KMSInvalidStateException'));
  }
}

function linkGrant(app: Ebsim, inv: KmsInventory, v: Volume, env: Envelope, broken: Broken, nextMount: (error: string) => string, instanceState: string | null): void {
  if (!v.grantId) {
    // EC2 retires a volume's grant when its instance stops or ends, and makes a new one at the next start or attach.
    if (v.instanceId && instanceState === 'running') broken('Grant', 'the volume has no grant', nextMount('AccessDeniedException'));
    else if (v.instanceId) env.Notes.push('no grant while the instance is not running (a stop retires it): the next start creates a new one');
    return;
  }
  const g = inv.grants.find((x) => x.GrantId === v.grantId);
  env.Grant = g
    ? { GrantId: g.GrantId, GranteePrincipal: g.GranteePrincipal, Operations: g.Operations, Constraints: g.Constraints, State: g.State }
    : { GrantId: v.grantId, GranteePrincipal: '', Operations: [], Constraints: null, State: 'missing' };
  const state = env.Grant.State;
  if (state === 'live') return;
  if (state === 'revoked') return broken('Grant', 'the grant was revoked', nextMount('AccessDeniedException'), lastRecord(app, 'RevokeGrant', v.grantId));
  if (state === 'retired') return broken('Grant', 'the grant was retired', nextMount('AccessDeniedException'), lastRecord(app, 'RetireGrant', v.grantId));
  broken('Grant', 'the grant is gone (its key was deleted)', nextMount('AccessDeniedException'));
}

function imageFacts(path: string, sizeBytes: number): Envelope['Image'] {
  const st = statSync(path, { throwIfNoEntry: false });
  const allocated = st ? Math.min(st.blocks * 512, sizeBytes) : 0;
  const written = Math.ceil(allocated / SECTOR);
  return { Path: path, Exists: Boolean(st), SizeBytes: sizeBytes, AllocatedBytes: allocated, WrittenSectors: written, HoleSectors: sizeBytes / SECTOR - written };
}

/** The newest successful `eventName` record that mentions `needle` (a key ID, grant ID or instance ID), as a reference. */
function lastRecord(app: Ebsim, eventName: string, needle: string): TrailRef | null {
  const r = lastRecordOf(app, eventName, needle);
  return r ? refOf(r) : null;
}

function lastRecordOf(app: Ebsim, eventName: string, needle: string): TrailRecord | null {
  app.trail.flush(false);
  let token: string | undefined;
  for (let page = 0; page < 200; page++) {
    const res = lookupEvents(app.db, { LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: eventName }], MaxResults: 50, NextToken: token });
    for (const e of res.Events) {
      if (!e.CloudTrailEvent.includes(needle)) continue;
      const r = JSON.parse(e.CloudTrailEvent) as TrailRecord;
      if (!r.errorCode) return r;
    }
    if (!res.NextToken) return null;
    token = res.NextToken;
  }
  return null;
}

function refOf(r: TrailRecord): TrailRef {
  const id = r.userIdentity;
  const who = id.type === 'AssumedRole' ? (String(id.arn).split(':assumed-role/')[1] ?? String(id.arn)) : String(id.userName ?? id.arn);
  return { EventName: r.eventName, EventTime: r.eventTime, EventId: r.eventID, Caller: id.invokedBy === 'AWS Internal' ? `EC2 for ${who}` : who };
}
