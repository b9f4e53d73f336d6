// No statement ebsim prepares reads a table that grows with use from end to end, unless it is on
// the short list below with its reason. Found the hard way: the trail retention's min(seq) and
// max(seq) in one query scanned trail_events every minute of `ebsim serve`. A broad workload runs
// in one process (KMS with grants, aliases, tags and rotations; IAM; EC2 launch, attach, stop,
// snapshots and copies without a mount; LookupEvents; the retention), every distinct statement
// prepared is collected from better-sqlite3's prepare and put through SQLite's planner on the
// connection that prepared it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { makeHome, type TestHome } from '../helpers/home.js';
import type { CallContext } from '../../src/core/call-context.js';
import { consoleEvent, consoleState } from '../../src/console/state.js';
import { createTrailRetention, NODE_DEPS, setRetention } from '../../src/trail/retention.js';

/** Tables that grow with use (records, grants, keys, resources, principals), state and trail files. */
const GROWING = new Set([
  'trail_events', 'trail_postings', 'trail_deliveries', 'kms_key_last_usage',
  'kms_keys', 'kms_key_versions', 'kms_aliases', 'kms_grants', 'kms_key_policies', 'kms_key_tags', 'kms_imported_materials', 'kms_multi_region_keys',
  'ec2_instances', 'ec2_volumes', 'ec2_snapshots', 'ec2_image_details', 'ec2_instance_state_reasons', 'ec2_snapshot_permissions', 'ec2_snapshot_tombstones', 'ec2_copy_grants',
  'principals', 'access_keys', 'sts_session_policies', 'iam_roles', 'iam_inline_policies', 'iam_policies', 'iam_policy_versions', 'iam_attachments',
]);

/**
 * Scans allowed, each with why: a statement is named by a fragment of its text that no other
 * statement has, and the table it may scan.
 */
const ALLOWED: { sql: string; table: string; why: string }[] = [
  { sql: 'SELECT count(*) AS n FROM kms_key_versions', table: 'kms_key_versions', why: 'opening a home whose root key file is missing (init): once, to refuse a home whose keys it could not unwrap' },
  { sql: 'WHERE i.account_id = ? AND i.region = ? ORDER BY i.launch_time', table: 'ec2_instances', why: "DescribeInstances without IDs and the console: every instance of the Region is answered. The scan reads every account's and Region's rows: an index on (account_id, region) cannot be in the schema, which runs before the migration that gives homes from before Regions their region column (left)" },
  { sql: "WHERE v.account_id = ? AND v.region = ? AND v.state <> 'deleted' ORDER BY v.created_at", table: 'ec2_volumes', why: "DescribeVolumes without IDs, the host's and console's views: every volume of the Region is answered. The scan reads every account's and Region's rows, deleted volumes too: an index on (account_id, region) cannot be in the schema, which runs before the migration that gives homes from before Regions their region column (left)" },
  { sql: 'WHERE s.account_id = ? AND s.region = ? ORDER BY s.start_time', table: 'ec2_snapshots', why: 'DescribeSnapshots without IDs: every snapshot of the Region is answered' },
  { sql: 'FROM trail_deliveries ORDER BY id LIMIT 1', table: 'trail_deliveries', why: "the first row in rowid order (the scan stops there) of a table that holds only the deliveries under way" },
  { sql: 'INDEXED BY trail_postings_open WHERE closed = 0', table: 'trail_postings', why: 'the open chunks: one per term and scope, however many records; read when the retention drops records' },
  // The console page, polled once a second while it is open, lists every key, alias, grant,
  // instance and volume of the account and Region: it reads them all anyway.
  { sql: 'SELECT region FROM kms_keys WHERE account_id = ? UNION', table: 'ec2_instances', why: "the console's Regions to offer, beside its list of every instance" },
  { sql: 'SELECT region FROM kms_keys WHERE account_id = ? UNION', table: 'ec2_volumes', why: "the console's Regions to offer, beside its list of every volume" },
  { sql: 'SELECT record FROM trail_events ORDER BY seq DESC LIMIT ?', table: 'trail_events', why: "the console's newest records: from the end of the rowid order, the scan stops at the LIMIT" },
];

interface Seen {
  plan: string[];
  /** Growing tables a min() or max() reads row by row (the planner calls that a SEARCH, see unbrokenMinMax). */
  minMaxScans: string[];
  error?: string;
}

const seen = new Map<string, Seen>();
const originalPrepare = Database.prototype.prepare;
let collecting = false;

/** The table each name in a plan stands for (aliases: `kms_grants g`). */
function namesOf(sql: string): Map<string, string> {
  const names = new Map<string, string>();
  const keywords = /^(WHERE|JOIN|LEFT|INNER|CROSS|ON|INDEXED|ORDER|GROUP|LIMIT|UNION|USING|NATURAL|SET|VALUES|WINDOW|AS)$/i;
  for (const m of sql.matchAll(/\b(?:FROM|JOIN|UPDATE|INTO)\s+(?:(?:main|trail)\.)?(\w+)(?:\s+(?:AS\s+)?(\w+))?/gi)) {
    const table = m[1]!;
    names.set(table, table);
    if (m[2] && !keywords.test(m[2])) names.set(m[2], table);
  }
  return names;
}

/**
 * The growing tables the statement's plan reads whole: a SCAN (by table or by an index of it), or
 * a bare `SEARCH t` (no index named) of a min() or max() that reads every row (`minMax`).
 */
function scansOf(sql: string, plan: string[], minMax: string[]): string[] {
  const names = namesOf(sql);
  const out: string[] = [];
  for (const d of plan) {
    const m = /^SCAN (\w+)/.exec(d) ?? /^SEARCH (\w+)$/.exec(d);
    if (!m) continue;
    const table = names.get(m[1]!) ?? m[1]!;
    if (GROWING.has(table) && (d.startsWith('SCAN') || minMax.includes(table))) out.push(table);
  }
  return out;
}

interface Op {
  addr: number;
  opcode: string;
  p1: number;
  p2: number;
  p3: number;
  p4: unknown;
}

/**
 * The tables a min() or max() of the statement reads whole. EXPLAIN QUERY PLAN says `SEARCH t`
 * for min(x) alone of a table, whether SQLite reads one end of an index on x (its bytecode steps
 * once and jumps out of the loop: AggStep, Goto) or, x having no index, every row (AggStep, then
 * Next: the loop goes on). The bytecode tells them apart; the cursor's root page names the table.
 */
function unbrokenMinMax(db: Database.Database, sql: string): string[] {
  const ops = originalPrepare.call(db, `EXPLAIN ${sql}`).all(...Array<number>((sql.match(/\?/g) ?? []).length).fill(1)) as Op[];
  const tables: string[] = [];
  ops.forEach((op, i) => {
    const prev = ops[i - 1];
    if ((op.opcode !== 'Next' && op.opcode !== 'Prev') || prev?.opcode !== 'AggStep' || !/^(min|max)\(/.test(String(prev.p4))) return;
    const open = ops.find((o) => o.opcode === 'OpenRead' && o.p1 === op.p1);
    if (!open) return;
    const schema = (originalPrepare.call(db, 'SELECT name FROM pragma_database_list WHERE seq = ?').pluck().get(open.p3) as string | undefined) ?? 'main';
    const table = originalPrepare.call(db, `SELECT tbl_name FROM "${schema}".sqlite_master WHERE rootpage = ?`).pluck().get(open.p2) as string | undefined;
    if (table && GROWING.has(table)) tables.push(table);
  });
  return tables;
}

let h: TestHome;

beforeAll(() => {
  // Every statement prepared from here on, planned at once on its own connection (the retention's
  // is closed by the end of the test).
  Database.prototype.prepare = function (this: Database.Database, sql: string) {
    const stmt = originalPrepare.call(this, sql);
    if (collecting && !seen.has(sql) && /^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|REPLACE)\b/i.test(sql)) {
      collecting = false;
      try {
        const explain = originalPrepare.call(this, `EXPLAIN QUERY PLAN ${sql}`);
        const params = (sql.match(/\?/g) ?? []).length;
        // Numbers, not NULLs: SQLite plans with the values bound (STAT4), and `= NULL` matches nothing.
        const plan = (explain.all(...Array<number>(params).fill(1)) as { detail: string }[]).map((r) => r.detail);
        seen.set(sql, { plan, minMaxScans: unbrokenMinMax(this, sql) });
      } catch (err) {
        seen.set(sql, { plan: [], minMaxScans: [], error: (err as Error).message });
      } finally {
        collecting = true;
      }
    }
    return stmt;
  } as typeof Database.prototype.prepare;
  collecting = true;
  h = makeHome('ebsim-query-plans-');
});

afterAll(() => {
  collecting = false;
  Database.prototype.prepare = originalPrepare;
  h?.cleanup();
});

describe('the query plans of a broad workload', () => {
  it('runs KMS, IAM, EC2, LookupEvents, the console and the retention', async () => {
    const alice: CallContext = h.app.as('Alice');
    const kms = h.app.kms();
    const k = (op: string, params: Record<string, unknown> = {}, ctx = alice) => kms.call(ctx, op, params);

    // IAM: a role KMS grants name, a user with a policy, a session.
    h.app.iam.createRole(alice, 'App');
    h.app.iam.createUser(alice, 'Bob');
    h.app.iam.attachUserPolicy(alice, 'Bob', 'arn:aws:iam::aws:policy/AdministratorAccess');
    h.app.iam.createAccessKey(alice, 'Bob');
    h.app.iam.listUsers(alice);
    h.app.iam.listRoles(alice);
    h.app.iam.getCallerIdentity(alice);
    const role = h.app.as('role/App/worker');
    const bob = h.app.as('Bob');

    // KMS: keys, aliases, tags, policies, rotation, grants and the calls they authorize.
    const key = (k('CreateKey', { Description: 'plans', Tags: [{ TagKey: 't', TagValue: 'v' }] }).KeyMetadata as { KeyId: string; Arn: string });
    k('CreateAlias', { AliasName: 'alias/plans', TargetKeyId: key.KeyId });
    k('DescribeKey', { KeyId: 'alias/plans' });
    k('DescribeKey', { KeyId: key.Arn });
    const blob = k('Encrypt', { KeyId: 'alias/plans', Plaintext: Buffer.from('x'), EncryptionContext: { a: 'b' } }).CiphertextBlob;
    k('Decrypt', { CiphertextBlob: blob, EncryptionContext: { a: 'b' } });
    k('GenerateDataKey', { KeyId: key.KeyId, KeySpec: 'AES_256' });
    k('GenerateDataKeyWithoutPlaintext', { KeyId: key.KeyId, NumberOfBytes: 32 });
    k('ReEncrypt', { CiphertextBlob: blob, SourceEncryptionContext: { a: 'b' }, DestinationKeyId: key.KeyId });
    k('TagResource', { KeyId: key.KeyId, Tags: [{ TagKey: 'u', TagValue: 'w' }] });
    k('ListResourceTags', { KeyId: key.KeyId });
    k('UntagResource', { KeyId: key.KeyId, TagKeys: ['u'] });
    const policy = k('GetKeyPolicy', { KeyId: key.KeyId }).Policy as string;
    k('PutKeyPolicy', { KeyId: key.KeyId, PolicyName: 'default', Policy: policy });
    k('EnableKeyRotation', { KeyId: key.KeyId });
    k('GetKeyRotationStatus', { KeyId: key.KeyId });
    k('RotateKeyOnDemand', { KeyId: key.KeyId });
    k('ListKeyRotations', { KeyId: key.KeyId });
    k('UpdateKeyDescription', { KeyId: key.KeyId, Description: 'plans 2' });
    k('DisableKey', { KeyId: key.KeyId });
    k('EnableKey', { KeyId: key.KeyId });
    k('ListKeys');
    k('ListAliases');
    k('ListAliases', { KeyId: key.KeyId });
    k('GetKeyLastUsage', { KeyId: key.KeyId });
    const grant = k('CreateGrant', { KeyId: key.KeyId, GranteePrincipal: 'arn:aws:iam::123456789012:role/App', RetiringPrincipal: 'arn:aws:iam::123456789012:user/Alice', Operations: ['Decrypt', 'Encrypt'], Name: 'g1' });
    k('CreateGrant', { KeyId: key.KeyId, GranteePrincipal: 'arn:aws:iam::123456789012:role/App', Operations: ['Decrypt'], Name: 'g1' });
    k('Encrypt', { KeyId: key.Arn, Plaintext: Buffer.from('y'), GrantTokens: [grant.GrantToken] }, role);
    k('Decrypt', { CiphertextBlob: blob, EncryptionContext: { a: 'b' } }, role);
    k('ListGrants', { KeyId: key.KeyId });
    k('ListGrants', { KeyId: key.KeyId, GranteePrincipal: 'arn:aws:iam::123456789012:role/App' });
    k('ListGrants', { KeyId: key.KeyId, GrantId: grant.GrantId });
    k('ListRetirableGrants', { RetiringPrincipal: 'arn:aws:iam::123456789012:user/Alice' });
    k('RetireGrant', { KeyId: key.Arn, GrantId: grant.GrantId });
    const g2 = k('CreateGrant', { KeyId: key.KeyId, GranteePrincipal: 'arn:aws:iam::123456789012:role/App', Operations: ['Decrypt'] });
    k('RevokeGrant', { KeyId: key.KeyId, GrantId: g2.GrantId });
    k('Encrypt', { KeyId: key.KeyId, Plaintext: Buffer.from('z') }, bob);
    const doomed = (k('CreateKey', {}).KeyMetadata as { KeyId: string });
    k('CreateAlias', { AliasName: 'alias/doomed', TargetKeyId: doomed.KeyId });
    k('UpdateAlias', { AliasName: 'alias/doomed', TargetKeyId: key.KeyId });
    k('DeleteAlias', { AliasName: 'alias/doomed' });
    k('ScheduleKeyDeletion', { KeyId: doomed.KeyId, PendingWindowInDays: 7 });
    k('CancelKeyDeletion', { KeyId: doomed.KeyId });
    k('ScheduleKeyDeletion', { KeyId: doomed.KeyId, PendingWindowInDays: 7 });
    const mrk = (k('CreateKey', { MultiRegion: true }).KeyMetadata as { KeyId: string });
    k('ReplicateKey', { KeyId: mrk.KeyId, ReplicaRegion: 'eu-west-1' });
    k('DescribeKey', { KeyId: mrk.KeyId });
    const external = (k('CreateKey', { Origin: 'EXTERNAL' }).KeyMetadata as { KeyId: string });
    k('GetParametersForImport', { KeyId: external.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' });
    k('DescribeKey', { KeyId: external.KeyId });

    // EC2 without a mount: volumes, an instance with an encrypted volume, attach, stop, snapshots, copies.
    const ec2 = h.app.ec2();
    const vol = ec2.createVolume(alice, { Size: 1, Encrypted: true, KmsKeyId: key.Arn }) as { VolumeId: string };
    ec2.describeVolumes(alice);
    ec2.describeVolumes(alice, [vol.VolumeId]);
    const run = ec2.runInstances(alice, { ImageId: 'ami-0123abcd', InstanceType: 't3.micro', ClientToken: 'plans', BlockDeviceMappings: [{ DeviceName: '/dev/sdb', Ebs: { VolumeSize: 1, Encrypted: true } }] } as never);
    const instanceId = (run.Instances as { InstanceId: string }[])[0]!.InstanceId;
    ec2.describeInstances(alice);
    ec2.describeInstances(alice, [instanceId]);
    ec2.attachVolume(alice, { VolumeId: vol.VolumeId, InstanceId: instanceId, Device: '/dev/sdf' } as never);
    ec2.detachVolume(alice, { VolumeId: vol.VolumeId } as never);
    const snap = ec2.createSnapshot(alice, { VolumeId: vol.VolumeId }) as { SnapshotId: string };
    ec2.describeSnapshots(alice);
    ec2.describeSnapshots(alice, [snap.SnapshotId]);
    ec2.call(alice, 'ModifySnapshotAttribute', { SnapshotId: snap.SnapshotId, Attribute: 'createVolumePermission', OperationType: 'add', UserIds: ['111122223333'] });
    ec2.call(alice, 'DescribeSnapshotAttribute', { SnapshotId: snap.SnapshotId, Attribute: 'createVolumePermission' });
    const copy = ec2.copySnapshot(alice, { SourceSnapshotId: snap.SnapshotId, SourceRegion: 'us-east-1', Encrypted: true, KmsKeyId: key.Arn } as never) as { SnapshotId: string };
    const restored = ec2.createVolume(alice, { Size: 1, SnapshotId: copy.SnapshotId }) as { VolumeId: string };
    ec2.stopInstances(alice, { InstanceIds: [instanceId] } as never);
    ec2.startInstances(alice, [instanceId]);
    ec2.rebootInstances(alice, [instanceId]);
    ec2.call(alice, 'GetEbsEncryptionByDefault');
    ec2.call(alice, 'EnableEbsEncryptionByDefault');
    ec2.call(alice, 'GetEbsDefaultKmsKeyId');
    ec2.deleteSnapshot(alice, { SnapshotId: copy.SnapshotId });
    ec2.deleteVolume(alice, { VolumeId: restored.VolumeId });
    ec2.terminateInstances(alice, [instanceId]);
    ec2.deleteVolume(alice, { VolumeId: vol.VolumeId });

    // LookupEvents, by each attribute and by time, after the writer has caught up.
    h.app.trail.flush();
    const ct = h.app.cloudtrail();
    const look = (params: Record<string, unknown>) => ct.call(alice, 'LookupEvents', params);
    look({});
    look({ MaxResults: 2 });
    for (const [AttributeKey, AttributeValue] of [
      ['EventName', 'Encrypt'], ['EventSource', 'kms.amazonaws.com'], ['Username', 'Alice'], ['ReadOnly', 'true'],
      ['ResourceName', key.Arn], ['ResourceType', 'AWS::KMS::Key'], ['AccessKeyId', 'AKIAEXAMPLE'], ['EventId', '00000000-0000-4000-8000-000000000000'],
    ]) look({ LookupAttributes: [{ AttributeKey, AttributeValue }] });
    look({ StartTime: Date.now() / 1000 - 3600, EndTime: Date.now() / 1000 + 3600 });
    look({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'Decrypt' }], StartTime: Date.now() / 1000 - 3600 });

    // The console page's poll (once a second while it is open).
    await consoleState(h.app);
    consoleEvent(h.app, '00000000-0000-4000-8000-000000000000');

    // The retention, on its own connection to the trail's file (as its worker has), with records due.
    setRetention(h.app.db, { maxRecords: 10 });
    h.app.trail.flush();
    const trailDb = new Database(h.app.paths.trail);
    try {
      createTrailRetention(trailDb, join(h.dir, 'delivered-plans'), NODE_DEPS).run(Date.now());
    } finally {
      trailDb.close();
    }
    collecting = false;
    // QUERY_PLANS_DUMP=FILE writes every statement with its plan, for an audit by eye.
    if (process.env.QUERY_PLANS_DUMP) writeFileSync(process.env.QUERY_PLANS_DUMP, [...seen].map(([q, p]) => `${q.replace(/\s+/g, ' ')}\n  ${p.plan.join('; ')}`).join('\n'));
    expect(seen.size).toBeGreaterThan(100);
    expect([...seen].filter(([, s]) => s.error)).toEqual([]);
  });

  it('no statement scans a growing table, but those allowed with a reason', () => {
    const scans: string[] = [];
    const allowedUsed = new Set<number>();
    for (const [sql, s] of seen) {
      for (const table of new Set(scansOf(sql, s.plan, s.minMaxScans))) {
        const i = ALLOWED.findIndex((a) => a.table === table && sql.includes(a.sql));
        if (i >= 0) allowedUsed.add(i);
        else scans.push(`SCAN ${table}: ${sql.replace(/\s+/g, ' ')}\n    plan: ${s.plan.join('; ')}`);
      }
    }
    expect(scans.join('\n')).toBe('');
    // Each exception still names a statement that runs and scans (else it is dead and must go).
    expect(ALLOWED.filter((_, i) => !allowedUsed.has(i)).map((a) => a.sql)).toEqual([]);
  });
});
