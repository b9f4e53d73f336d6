// What the console page shows: keys, aliases, grants, instances, volumes with their mount state,
// and the trail. Metadata only: never key material, blobs or plaintext data keys.
import type { Ebsim } from '../app/ebsim.js';
import { volumeStatus } from '../device/index.js';
import { buildDiagram, callerName, toSvg, type TrailRecord } from '../trail/index.js';

const counters = new WeakMap<Ebsim, { seq: number; total: number; denied: number }>();

export async function consoleState(app: Ebsim, trailLimit = 200): Promise<Record<string, unknown>> {
  const account = app.iam.account();
  if (!account) return { initialized: false };
  app.trail.flush(false);
  const kms = app.kms().inventory();
  const ec2 = app.ec2();
  const mounts = new Map((await volumeStatus(app.paths.run).catch(() => [])).map((s) => [s.volumeId, s]));
  // The trail may hold millions of rows: counts advance over the rows added since the last poll,
  // and only the newest records are parsed.
  const c = counters.get(app) ?? { seq: 0, total: 0, denied: 0 };
  const added = app.db
    .prepare(`SELECT count(*) AS n, coalesce(sum(instr(record, '"errorCode":') > 0), 0) AS denied, max(seq) AS last FROM trail_events WHERE seq > ?`)
    .get(c.seq) as { n: number; denied: number; last: number | null };
  if (added.last !== null) counters.set(app, { seq: added.last, total: c.total + added.n, denied: c.denied + added.denied });
  const { total, denied } = counters.get(app) ?? c;
  const recent = (app.db.prepare('SELECT record FROM trail_events ORDER BY seq DESC LIMIT ?').all(trailLimit) as { record: string }[])
    .map((r) => JSON.parse(r.record) as TrailRecord)
    .reverse();
  return {
    initialized: true,
    account,
    keys: kms.keys,
    aliases: kms.aliases,
    grants: kms.grants,
    instances: ec2.describeInstancesQuietly(),
    volumes: ec2.volumesQuietly().map((v) => {
      const m = mounts.get(v.volumeId);
      return {
        VolumeId: v.volumeId, SizeGiB: v.sizeGiB, State: v.state, Encrypted: v.encrypted, KmsKeyId: v.kmsKeyArn, InstanceId: v.instanceId, Device: v.device,
        Mount: m ? { Mountpoint: m.state.mountpoint, LoopDevice: m.state.loopDevice, Healthy: m.healthy } : null,
      };
    }),
    trail: {
      total,
      denied,
      events: recent.map((r) => ({ eventID: r.eventID, eventTime: r.eventTime, eventName: r.eventName, eventSource: r.eventSource, caller: callerName(r), errorCode: r.errorCode ?? null })).reverse(),
      diagramSvg: toSvg(buildDiagram(recent.slice(-60))),
    },
  };
}
