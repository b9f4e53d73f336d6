// Looking is not touching: GETs of the console page and its state write neither the state
// database nor the trail, even when a key's deletion date has passed (the deletion is KMS's
// own due work, done before its next call, not a side effect of a read).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { initHome, openEbsim, type Ebsim } from '../../src/app/ebsim.js';
import { startServer, type RunningServer } from '../../src/server/server.js';

let home: string;
let server: RunningServer;
let cli: Ebsim;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'ebsim-console-nowrite-'));
  initHome(home);
  cli = openEbsim(home);
  server = await startServer({ home, port: 0, log: false });
});

afterAll(async () => {
  await server?.close();
  cli?.close();
  rmSync(home, { recursive: true, force: true });
});

/** Commits by other connections since the observer last asked (SQLite's data_version). */
const version = (db: Database.Database) => db.pragma('data_version', { simple: true }) as number;

describe('console reads', () => {
  it('GET / and GET /console/api/state commit nothing, with a key past its deletion date in the store', async () => {
    const alice = cli.as('Alice');
    const kms = cli.kms();
    const gone = (kms.call(alice, 'CreateKey', { Description: 'past its date' }).KeyMetadata as { KeyId: string }).KeyId;
    kms.call(alice, 'CreateKey', { Description: 'still here' });
    kms.call(alice, 'ScheduleKeyDeletion', { KeyId: gone, PendingWindowInDays: 7 });
    cli.db.prepare('UPDATE kms_keys SET deletion_date = ? WHERE key_id = ?').run(new Date(Date.now() - 1000).toISOString(), gone);
    cli.trail.flush();

    const state = new Database(cli.paths.database, { readonly: true });
    const trail = new Database(cli.paths.trail, { readonly: true });
    try {
      const before = { state: version(state), trail: version(trail) };
      const page = await fetch(server.url + '/');
      expect(page.status).toBe(200);
      await page.text();
      for (let i = 0; i < 3; i++) {
        const s = (await (await fetch(server.url + '/console/api/state')).json()) as { keys: { KeyId: string; Description: string }[] };
        expect(s.keys.map((k) => k.Description)).toContain('still here');
        expect(s.keys.map((k) => k.KeyId)).not.toContain(gone);
      }
      expect({ state: version(state), trail: version(trail) }).toEqual(before);
      expect(cli.db.prepare('SELECT count(*) AS n FROM kms_keys WHERE key_id = ?').get(gone)).toEqual({ n: 1 });

      // The next KMS call does the due deletion (a write, and a DeleteKey service event).
      kms.call(alice, 'ListKeys', {});
      expect(version(state)).not.toBe(before.state);
      expect(cli.db.prepare('SELECT count(*) AS n FROM kms_keys WHERE key_id = ?').get(gone)).toEqual({ n: 0 });
    } finally {
      state.close();
      trail.close();
    }
  });
});
