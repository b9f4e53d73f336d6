// A home made before EC2 had Regions (no region column on ec2_instances, ec2_volumes and
// ec2_snapshots) opens with every row kept as it was and placed in its account's own Region, the
// only Region EC2 had then. Two homes: one built from the old schema itself (test/fixtures), rows
// written as the old ebsim wrote them; and a working home (keys, data written through the host, a
// snapshot) whose EC2 tables are rebuilt with the old schema's statements, whose data must still
// decrypt after the migration.
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/database.js';
import { initHome, openEbsim } from '../../src/app/ebsim.js';
import { makeHome, errorCode } from '../helpers/home.js';
import { runInstance, writeThroughHost } from '../helpers/ebs.js';
import { spawn } from 'node:child_process';
import { assertBuilt, REPO } from '../helpers/cli.js';

const OLD_SCHEMA = fs.readFileSync(new URL('../fixtures/schema-before-ec2-regions.sql', import.meta.url), 'utf8');
const EC2_TABLES = ['ec2_instances', 'ec2_volumes', 'ec2_snapshots'] as const;
const FIRST = '123456789012';
const SECOND = '210987654321';
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** The old schema's CREATE TABLE statement for `table`. */
function oldCreate(table: string): string {
  const m = new RegExp(`CREATE TABLE IF NOT EXISTS ${table} \\([\\s\\S]*?\\n\\);`).exec(OLD_SCHEMA);
  if (!m) throw new Error(`${table} is not in the old schema`);
  return m[0];
}

const columnsOf = (db: Database.Database, table: string) => (db.prepare('SELECT name FROM pragma_table_info(?)').all(table) as { name: string }[]).map((c) => c.name);
/** A state database made by the old schema, with the two accounts in their own Regions. */
function oldHome(prefix: string, firstRegion: string, secondRegion: string) {
  const dir = fs.mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  const path = join(dir, 'ebsim.db');
  const old = new Database(path);
  old.exec(OLD_SCHEMA);
  const now = '2026-11-01T10:00:00.000Z';
  old.prepare('INSERT INTO accounts VALUES (?, ?, ?)').run(FIRST, firstRegion, now);
  old.prepare('INSERT INTO accounts VALUES (?, ?, ?)').run(SECOND, secondRegion, now);
  return { dir, path, old, now };
}

const rowsOf = (db: Database.Database, table: string) => db.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all() as Record<string, unknown>[];

describe('a state database made by the old schema', () => {
  const { dir, path, old, now } = oldHome('ebsim-h4-migration-', 'us-east-1', 'eu-west-2');
  // As the old ebsim wrote them: positional inserts for instances and snapshots.
  const instance = old.prepare('INSERT INTO ec2_instances VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  instance.run('i-0000000000000000a', FIRST, 'r-0000000000000000a', 'ami-0123abcd', 't3.micro', 'running', 'us-east-1a', now, 'token-a', '/dev/xvda');
  instance.run('i-0000000000000000b', SECOND, 'r-0000000000000000b', 'ami-0123abcd', 't3.micro', 'stopped', 'eu-west-2a', now, null, '/dev/xvda');
  const volume = old.prepare(
    `INSERT INTO ec2_volumes (volume_id, account_id, size_gib, volume_type, availability_zone, state, encrypted, kms_key_arn, encrypted_data_key, snapshot_id, sector_size, created_at, delete_on_termination)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  volume.run('vol-0000000000000000a', FIRST, 8, 'gp2', 'us-east-1a', 'in-use', 1, `arn:aws:kms:us-east-1:${FIRST}:key/k1`, Buffer.from([1, 2, 3, 0, 255]), null, 4096, now, 1);
  volume.run('vol-0000000000000000b', SECOND, 2, 'gp3', 'eu-west-2a', 'available', 0, null, null, 'snap-0000000000000000a', 4096, now, 0);
  old.prepare("UPDATE ec2_volumes SET instance_id = 'i-0000000000000000a', device = '/dev/xvda', attach_time = ?, grant_id = 'g1', formatted = 1 WHERE volume_id = 'vol-0000000000000000a'").run(now);
  const snapshot = old.prepare('INSERT INTO ec2_snapshots VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  snapshot.run('snap-0000000000000000a', FIRST, 'vol-0000000000000000a', 8, 'completed', 1, `arn:aws:kms:us-east-1:${FIRST}:key/k1`, Buffer.from([9, 8, 7]), 'before Regions', now);
  snapshot.run('snap-0000000000000000b', SECOND, 'vol-ffffffff', 2, 'error', 0, null, null, '', now);
  old.prepare('INSERT INTO ec2_image_details VALUES (?, ?, ?, ?, ?)').run('snap-0000000000000000b', 'snap-0000000000000000a', 'snap-0000000000000000b', 40, 'interrupted');
  old.prepare('INSERT INTO ec2_instance_state_reasons VALUES (?, ?, ?, ?)').run('i-0000000000000000b', 'Client.UserInitiatedShutdown', 'Client.UserInitiatedShutdown: User initiated shutdown', 'User initiated');
  old.prepare('INSERT INTO ec2_snapshot_permissions VALUES (?, ?)').run('snap-0000000000000000a', SECOND);
  const before = Object.fromEntries(EC2_TABLES.map((t) => [t, rowsOf(old, t)]));
  const otherTables = ['ec2_image_details', 'ec2_instance_state_reasons', 'ec2_snapshot_permissions', 'accounts'];
  const othersBefore = Object.fromEntries(otherTables.map((t) => [t, rowsOf(old, t)]));
  old.close();

  it('had no region column (the fixture is the old schema)', () => {
    const db = new Database(path, { readonly: true });
    try {
      for (const t of EC2_TABLES) expect(columnsOf(db, t)).not.toContain('region');
    } finally {
      db.close();
    }
  });

  it('opens with each row in its account\'s own Region, every other column as it was', () => {
    const db = openDatabase(path, join(dir, 'trail.db'));
    try {
      const regionOf: Record<string, string> = { [FIRST]: 'us-east-1', [SECOND]: 'eu-west-2' };
      for (const t of EC2_TABLES) {
        expect(columnsOf(db, t)).toContain('region');
        const after = rowsOf(db, t);
        expect(after).toHaveLength(before[t]!.length);
        after.forEach((row, i) => {
          const { region, ...rest } = row;
          expect(rest, `${t} row ${i}`).toEqual(before[t]![i]);
          expect(region).toBe(regionOf[row.account_id as string]);
        });
      }
      for (const t of otherTables) expect(rowsOf(db, t)).toEqual(othersBefore[t]);
    } finally {
      db.close();
    }
  });

  it('a second open changes nothing (the migration ran once)', () => {
    const db = openDatabase(path, join(dir, 'trail.db'));
    try {
      db.prepare("UPDATE ec2_volumes SET region = 'ap-south-1' WHERE volume_id = 'vol-0000000000000000b'").run();
    } finally {
      db.close();
    }
    const again = openDatabase(path, join(dir, 'trail.db'));
    try {
      expect(again.prepare("SELECT region FROM ec2_volumes WHERE volume_id = 'vol-0000000000000000b'").pluck().get()).toBe('ap-south-1');
    } finally {
      again.close();
    }
  });
});

describe('a working home whose EC2 tables have the old schema', () => {
  const h = makeHome('ebsim-h4-migrated-home-');
  initHome(h.dir, SECOND, 'eu-west-2');
  const alice = h.app.as('Alice');
  const bob = h.app.as('Alice', undefined, SECOND);
  let instanceId: string;
  let volumeId: string;
  let snapshotId: string;
  let secondVolume: string;
  afterAll(() => h.cleanup());

  it('is made with data, then its EC2 tables are rebuilt with the old statements (no region)', async () => {
    const key = h.app.kms().call(alice, 'CreateKey', { Description: 'before Regions' }).KeyMetadata as { Arn: string };
    instanceId = runInstance(h, alice);
    volumeId = h.app.ec2().createVolume(alice, { Size: 1, Encrypted: true, KmsKeyId: key.Arn }).VolumeId as string;
    await writeThroughHost(h, alice, volumeId, instanceId, [[0, Buffer.from('written before Regions')], [5 * 4096, Buffer.from('sector five')]]);
    snapshotId = h.app.ec2().createSnapshot(alice, { VolumeId: volumeId }).SnapshotId as string;
    secondVolume = h.app.ec2(SECOND).createVolume(bob, { Size: 1, Encrypted: true }).VolumeId as string;
    h.app.close();
    const db = new Database(join(h.dir, 'ebsim.db'));
    try {
      // As the old ebsim made them: other tables' REFERENCES keep naming the table, not its renamed copy.
      db.pragma('foreign_keys = OFF');
      db.pragma('legacy_alter_table = ON');
      for (const t of EC2_TABLES) {
        const keep = columnsOf(db, t).filter((c) => c !== 'region').join(', ');
        db.exec(`ALTER TABLE ${t} RENAME TO ${t}_new; ${oldCreate(t)} INSERT INTO ${t} (${keep}) SELECT ${keep} FROM ${t}_new; DROP TABLE ${t}_new;`);
        expect(columnsOf(db, t)).not.toContain('region');
      }
    } finally {
      db.close();
    }
  });

  it('opens: each account\'s resources in its own Region, none in another', () => {
    const app = openEbsim(h.dir);
    try {
      const ids = (r: Record<string, unknown>, list: string, key: string) => (r[list] as Record<string, string>[]).map((x) => x[key]);
      expect(ids(app.ec2().describeVolumes(alice), 'Volumes', 'VolumeId')).toContain(volumeId);
      expect(ids(app.ec2().describeSnapshots(alice), 'Snapshots', 'SnapshotId')).toEqual([snapshotId]);
      expect(app.ec2().instance(instanceId).state).toBe('running');
      expect(ids(app.ec2(SECOND).describeVolumes(bob), 'Volumes', 'VolumeId')).toEqual([secondVolume]);
      expect(app.ec2(SECOND).volume(secondVolume).availabilityZone).toBe('eu-west-2a');
      const west = h.app.as('Alice', undefined, undefined, 'eu-west-2');
      expect(app.ec2(undefined, 'eu-west-2').describeVolumes(west).Volumes).toEqual([]);
      expect(errorCode(() => app.ec2(undefined, 'eu-west-2').describeVolumes(west, [volumeId]))).toBe('InvalidVolume.NotFound');
    } finally {
      app.close();
    }
  });

  it('its data still decrypts: the volume through the host, and a volume restored from its snapshot', async () => {
    const app = openEbsim(h.dir);
    try {
      const read = async (id: string) => (await app.host().read(alice, id, 0, 22, instanceId)).toString();
      expect(await read(volumeId)).toBe('written before Regions');
      app.ec2().detachVolume(alice, { VolumeId: volumeId });
      const restored = app.ec2().createVolume(alice, { SnapshotId: snapshotId }).VolumeId as string;
      expect(app.ec2().volume(restored).state).toBe('available');
      expect(await read(restored)).toBe('written before Regions');
      expect((await app.host().read(alice, restored, 5 * 4096, 11)).toString()).toBe('sector five');
    } finally {
      app.close();
    }
  });
});

describe('an old home opened by several processes at once (ebsim serve --workers, CLI calls)', () => {
  it('each opens it; the column is added once, every row kept in its account\'s Region', async () => {
    assertBuilt();
    const { dir, path, old, now } = oldHome('ebsim-r4-migration-race-', 'ap-southeast-2', 'sa-east-1');
    const snapshot = old.prepare('INSERT INTO ec2_snapshots VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    for (let i = 0; i < 200; i++) snapshot.run(`snap-${String(i).padStart(17, '0')}`, i % 2 ? SECOND : FIRST, 'vol-1', 1, 'completed', 0, null, null, `n${i}`, now);
    const before = rowsOf(old, 'ec2_snapshots');
    old.close();
    const child = `
      import { openDatabase } from ${JSON.stringify(`${REPO}dist/src/store/database.js`)};
      const db = openDatabase(${JSON.stringify(path)}, ${JSON.stringify(join(dir, 'trail.db'))});
      process.stdout.write(String(db.prepare("SELECT count(*) FROM ec2_snapshots WHERE region <> ''").pluck().get()));
      db.close();`;
    const run = () =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const p = spawn(process.execPath, ['--input-type=module', '-e', child], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        p.stdout.on('data', (d) => (out += d));
        p.stderr.on('data', (d) => (err += d));
        p.on('exit', (code) => resolve({ code, out, err }));
      });
    const runs = await Promise.all(Array.from({ length: 6 }, run));
    for (const r of runs) expect([r.code, r.out, r.err]).toEqual([0, '200', '']);
    const db = new Database(path, { readonly: true });
    try {
      expect(columnsOf(db, 'ec2_snapshots').filter((c) => c === 'region')).toEqual(['region']);
      const after = rowsOf(db, 'ec2_snapshots');
      expect(after.map(({ region, ...rest }) => rest)).toEqual(before);
      expect(after.map((r) => r.region)).toEqual(after.map((r) => (r.account_id === FIRST ? 'ap-southeast-2' : 'sa-east-1')));
    } finally {
      db.close();
    }
  }, 60_000);
});
