// What the console page shows: keys, aliases, grants, instances, volumes with their mount state,
// and the trail. Metadata only: never key material, blobs or plaintext data keys.
import type { Ebsim } from '../app/ebsim.js';
import { keyMetadata } from '../kms/keys.js';
import { volumeStatus } from '../device/index.js';
import { allRecords, buildDiagram, callerName, toSvg } from '../trail/index.js';

export async function consoleState(app: Ebsim, trailLimit = 200): Promise<Record<string, unknown>> {
  const account = app.iam.account();
  if (!account) return { initialized: false };
  app.trail.flush();
  const kms = app.kms();
  const ec2 = app.ec2();
  const mounts = new Map((await volumeStatus(app.paths.run).catch(() => [])).map((s) => [s.volumeId, s]));
  const keys = kms.keys.list();
  const keyArn = new Map(keys.map((k) => [k.keyId, k.arn]));
  const records = allRecords(app.db);
  const recent = records.slice(-trailLimit);
  return {
    initialized: true,
    account,
    keys: keys.map((k) => {
      const m = keyMetadata(k);
      return { KeyId: m.KeyId, Arn: m.Arn, KeyState: m.KeyState, KeyManager: m.KeyManager, Description: m.Description, RotationEnabled: k.rotationEnabled, KeyVersions: k.currentVersion };
    }),
    aliases: kms.keys.listAliases(),
    grants: kms.grants.all().map((g) => ({
      GrantId: g.grantId, KeyArn: keyArn.get(g.keyId) ?? g.keyId, GranteePrincipal: g.granteePrincipal, Operations: g.operations,
      Constraints: g.constraints ?? null, State: g.state, CreationDate: g.createdAt,
    })),
    instances: ec2.describeInstancesQuietly(),
    volumes: ec2.volumesQuietly().map((v) => {
      const m = mounts.get(v.volumeId);
      return {
        VolumeId: v.volumeId, SizeGiB: v.sizeGiB, State: v.state, Encrypted: v.encrypted, KmsKeyId: v.kmsKeyArn, InstanceId: v.instanceId, Device: v.device,
        Mount: m ? { Mountpoint: m.state.mountpoint, LoopDevice: m.state.loopDevice, Healthy: m.healthy } : null,
      };
    }),
    trail: {
      total: records.length,
      denied: records.filter((r) => r.errorCode).length,
      events: recent.map((r) => ({ eventID: r.eventID, eventTime: r.eventTime, eventName: r.eventName, eventSource: r.eventSource, caller: callerName(r), errorCode: r.errorCode ?? null })).reverse(),
      diagramSvg: toSvg(buildDiagram(recent.slice(-60))),
    },
  };
}
