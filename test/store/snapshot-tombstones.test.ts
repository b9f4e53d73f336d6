// DeleteSnapshot leaves a tombstone (ec2_snapshot_tombstones), in its own transaction: the orphan
// cleanup removes an image only for an ID the database says was deleted. A home made before the
// table existed opens, gets it, and tombstones its next deletes.
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { initHome, openEbsim } from '../../src/app/ebsim.js';

const dir = fs.mkdtempSync(join(tmpdir(), 'ebsim-h25-tombstones-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('snapshot tombstones', () => {
  it('a home without the table opens, and DeleteSnapshot tombstones the snapshot', () => {
    initHome(dir);
    let app = openEbsim(dir);
    app.close();
    const raw = new Database(join(dir, 'ebsim.db'));
    raw.exec('DROP TABLE ec2_snapshot_tombstones'); // as a home made before it
    raw.close();
    app = openEbsim(dir);
    try {
      const alice = app.as('Alice');
      const ec2 = app.ec2();
      const vol = ec2.createVolume(alice, { Size: 1 }).VolumeId as string;
      const snap = (ec2.createSnapshot(alice, { VolumeId: vol }) as { SnapshotId: string }).SnapshotId;
      expect(app.db.prepare('SELECT count(*) FROM ec2_snapshot_tombstones').pluck().get()).toBe(0);
      ec2.deleteSnapshot(alice, { SnapshotId: snap });
      expect(app.db.prepare('SELECT snapshot_id FROM ec2_snapshot_tombstones').pluck().all()).toEqual([snap]);
      expect(fs.existsSync(ec2.imagePath(snap))).toBe(false);
    } finally {
      app.close();
    }
  });
});
