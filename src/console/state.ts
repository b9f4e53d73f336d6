// What the console page shows: keys, aliases, grants, instances, volumes with their mount state,
// their key and the health of their envelope, warnings for broken links, and the trail. Metadata
// only: never key material, blobs or plaintext data keys.
import type { Ebsim } from '../app/ebsim.js';
import type { Account } from '../iam/directory.js';
import { volumeStatus } from '../device/index.js';
import { envelopeContext, explainVolume, type BrokenLink, type Envelope } from '../envelope/index.js';
import { buildDiagram, callerName, lookupEvents, toSvg, type TrailRecord } from '../trail/index.js';
import { isCommercialRegion } from '../core/regions.js';

/** The envelopes of the last poll, recomputed only when the trail or the mount table changed. */
const envelopes = new WeakMap<Ebsim, { key: string; byVolume: Map<string, Envelope> }>();

async function volumeEnvelopes(app: Ebsim, scope: ConsoleScope, volumeIds: string[], trailSeq: number): Promise<Map<string, Envelope>> {
  const context = await envelopeContext(app, scope.accountId, scope.region);
  const key = JSON.stringify([scope, trailSeq, volumeIds, context.mounts.map((m) => [m.volumeId, m.healthy, m.daemonAlive])]);
  const cached = envelopes.get(app);
  if (cached?.key === key) return cached.byVolume;
  const byVolume = new Map<string, Envelope>();
  for (const id of volumeIds) byVolume.set(id, await explainVolume(app, id, { context, accountId: scope.accountId }));
  envelopes.set(app, { key, byVolume });
  return byVolume;
}

/** A broken link as the console's warnings list it. */
export interface VolumeWarning extends BrokenLink {
  VolumeId: string;
  Mounted: boolean;
}

const counters = new WeakMap<Ebsim, { seq: number; total: number; denied: number }>();

/** Which account of the home, in which Region, the page shows (`?account=ID&region=R`; default: the first account in its own Region). */
export interface ConsoleScope {
  accountId: string;
  region: string;
}

/** An account of the home as the page's selector lists it: its own Region and those it can switch to. */
export interface ScopeChoice {
  accountId: string;
  region: string;
  regions: string[];
}

/**
 * Why a scope asked for cannot be shown: the console answers it as a 404 or 400 with this message,
 * and the home's accounts and Regions, so the page can offer them instead of a dead end.
 */
export class ConsoleScopeError extends Error {
  constructor(
    readonly status: 400 | 404,
    message: string,
    readonly accounts: ScopeChoice[],
  ) {
    super(message);
  }
}

type Asked = { account?: string | null; region?: string | null };

/** The scope a request asks for, checked against the home (with the home's accounts): undefined before `ebsim init`. */
function resolveScope(app: Ebsim, asked: Asked) {
  const accounts = app.iam.accounts();
  if (accounts.length === 0) return undefined;
  const account = asked.account ? accounts.find((a) => a.accountId === asked.account) : accounts[0];
  if (!account) throw new ConsoleScopeError(404, `No account ${asked.account} in this home (its accounts: ${accounts.map((a) => a.accountId).join(', ')}).`, choices(app, accounts));
  const region = asked.region || account.region;
  if (!isCommercialRegion(region)) throw new ConsoleScopeError(400, `${region} is not an AWS commercial Region.`, choices(app, accounts));
  return { scope: { accountId: account.accountId, region } as ConsoleScope, account, accounts };
}

/** Every account of the home with its Regions (and `shown`'s Region for the account shown). */
function choices(app: Ebsim, accounts: Account[], shown?: ConsoleScope): ScopeChoice[] {
  return accounts.map((a) => ({ accountId: a.accountId, region: a.region, regions: regionsOf(app, a.accountId, a.region, a.accountId === shown?.accountId ? shown.region : a.region) }));
}

/** The scope a request asks for, checked against the home: undefined before `ebsim init`. */
export function consoleScope(app: Ebsim, asked: Asked = {}): ConsoleScope | undefined {
  return resolveScope(app, asked)?.scope;
}

/** The Regions where the account has keys, instances or volumes, its own and the one shown: what the page offers to switch to. */
function regionsOf(app: Ebsim, accountId: string, own: string, shown: string): string[] {
  const used = app.db
    .prepare(
      `SELECT region FROM kms_keys WHERE account_id = ? UNION SELECT region FROM ec2_instances WHERE account_id = ?
       UNION SELECT region FROM ec2_volumes WHERE account_id = ? AND state <> 'deleted'`,
    )
    .pluck()
    .all(accountId, accountId, accountId) as string[];
  return [...new Set([own, shown, ...used])].sort();
}

export async function consoleState(app: Ebsim, asked: Asked = {}, trailLimit = 200): Promise<Record<string, unknown>> {
  const resolved = resolveScope(app, asked);
  if (!resolved) return { initialized: false };
  const { scope, account, accounts } = resolved;
  app.trail.flush(false);
  const kms = app.kms(scope.accountId, scope.region).inventory();
  const ec2 = app.ec2(scope.accountId, scope.region);
  const mounts = new Map((await volumeStatus(app.paths.run).catch(() => [])).map((s) => [s.volumeId, s]));
  // The trail may hold millions of rows: counts advance over the rows added since the last poll,
  // and only the newest records are parsed.
  const c = counters.get(app) ?? { seq: 0, total: 0, denied: 0 };
  const added = app.db
    .prepare(`SELECT count(*) AS n, coalesce(sum(instr(record, '"errorCode":') > 0), 0) AS denied, max(seq) AS last FROM trail_events WHERE seq > ?`)
    .get(c.seq) as { n: number; denied: number; last: number | null };
  if (added.last !== null) counters.set(app, { seq: added.last, total: c.total + added.n, denied: c.denied + added.denied });
  const { total, denied } = counters.get(app) ?? c;
  const live = ec2.volumesQuietly().filter((v) => v.state !== 'deleted');
  const env = await volumeEnvelopes(app, scope, live.map((v) => v.volumeId), counters.get(app)?.seq ?? 0);
  const aliasOf = new Map(kms.aliases.map((a) => [a.TargetKeyId, a.AliasName]));
  const warnings: VolumeWarning[] = [...env.values()].flatMap((e) => e.Broken.map((b) => ({ VolumeId: e.VolumeId, Mounted: Boolean(e.Host.Mounted?.Healthy), ...b })));
  const recent = (app.db.prepare('SELECT record FROM trail_events ORDER BY seq DESC LIMIT ?').all(trailLimit) as { record: string }[])
    .map((r) => JSON.parse(r.record) as TrailRecord)
    .reverse();
  return {
    initialized: true,
    account,
    scope,
    accounts: choices(app, accounts, scope),
    keys: kms.keys,
    aliases: kms.aliases,
    grants: kms.grants,
    instances: ec2.describeInstancesQuietly(),
    volumes: live.map((v) => {
      const m = mounts.get(v.volumeId);
      const e = env.get(v.volumeId);
      const keyId = v.kmsKeyArn?.split('/').pop();
      return {
        VolumeId: v.volumeId, SizeGiB: v.sizeGiB, State: v.state, Encrypted: v.encrypted, KmsKeyId: v.kmsKeyArn, InstanceId: v.instanceId, Device: v.device,
        Key: keyId ? { KeyId: keyId, Alias: aliasOf.get(keyId) ?? null, KeyState: e?.Key?.KeyState ?? null } : null,
        Mount: m ? { Mountpoint: m.state.mountpoint, LoopDevice: m.state.loopDevice, Healthy: m.healthy } : null,
        Healthy: e?.Healthy ?? true,
        Broken: e?.Broken.map((b) => b.Problem) ?? [],
      };
    }),
    warnings,
    trail: {
      total,
      denied,
      events: recent.map((r) => ({ eventID: r.eventID, requestID: r.requestID, eventTime: r.eventTime, eventName: r.eventName, eventSource: r.eventSource, caller: callerName(r), errorCode: r.errorCode ?? null })).reverse(),
      diagramSvg: toSvg(buildDiagram(recent.slice(-60))),
    },
  };
}

/** One volume's envelope, for the console's envelope view (GET /console/api/volumes/VOLUME-ID). */
export async function consoleEnvelope(app: Ebsim, volumeId: string, asked: Asked = {}): Promise<Envelope | null> {
  const scope = consoleScope(app, asked);
  if (!scope) return null;
  try {
    return await explainVolume(app, volumeId, { accountId: scope.accountId });
  } catch (err) {
    if ((err as { code?: string }).code === 'InvalidVolume.NotFound') return null;
    throw err;
  }
}

/** One trail record, whole (GET /console/api/events/EVENT-ID): what a timeline row opens. */
export function consoleEvent(app: Ebsim, eventId: string): TrailRecord | null {
  if (!app.iam.account()) return null;
  app.trail.flush(false);
  const [event] = lookupEvents(app.db, { LookupAttributes: [{ AttributeKey: 'EventId', AttributeValue: eventId }], MaxResults: 1 }).Events;
  return event ? (JSON.parse(event.CloudTrailEvent) as TrailRecord) : null;
}
