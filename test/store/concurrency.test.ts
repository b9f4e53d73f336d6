// Many processes share one home: 20 concurrent `ebsim kms create-key` leave exactly 20 keys.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statSync } from 'node:fs';
import { makeHome, type TestHome } from '../helpers/home.js';
import { runEbsim } from '../helpers/cli.js';

let h: TestHome;
beforeAll(() => {
  h = makeHome();
});
afterAll(() => h.cleanup());

describe('state store shared by processes', () => {
  it('20 concurrent create-key processes: 20 keys, no "database is locked"', async () => {
    const before = h.app.kms().keys.list().length;
    const runs = await Promise.all(Array.from({ length: 20 }, (_, i) => runEbsim(['kms', 'create-key', '--description', `proc-${i}`, '--home', h.dir])));
    for (const r of runs) {
      expect(r.stderr).not.toMatch(/locked|busy/i);
      expect(r.code).toBe(0);
    }
    const ids = runs.map((r) => (JSON.parse(r.stdout) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId);
    expect(new Set(ids).size).toBe(20);
    expect(h.app.kms().keys.list().length - before).toBe(20);
    // Every process's CreateKey record reached the trail.
    const n = h.app.db.prepare("SELECT count(*) AS n FROM trail_events WHERE event_name = 'CreateKey'").get() as { n: number };
    expect(n.n).toBe(20);
  }, 120_000);

  it('the home is private: directory 0700, database, root key and credentials 0600', () => {
    expect(statSync(h.dir).mode & 0o777).toBe(0o700);
    for (const f of ['ebsim.db', 'root.key', 'credentials']) expect(statSync(`${h.dir}/${f}`).mode & 0o777).toBe(0o600);
  });

  it('the database alone reveals no key: wrapped material is not the material', () => {
    const rows = h.app.db.prepare('SELECT wrapped_material FROM kms_key_versions').all() as { wrapped_material: Buffer }[];
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r.wrapped_material.length).toBe(1 + 12 + 32 + 16);
  });

  it('acknowledged changes are durable: a new connection (another process) sees them at once', async () => {
    const k = h.app.kms().call(h.app.as(), 'CreateKey', {}).KeyMetadata as { KeyId: string };
    h.app.kms().call(h.app.as(), 'DisableKey', { KeyId: k.KeyId });
    const r = await runEbsim(['kms', 'describe-key', '--key-id', k.KeyId, '--home', h.dir]);
    expect((JSON.parse(r.stdout) as { KeyMetadata: { KeyState: string } }).KeyMetadata.KeyState).toBe('Disabled');
  });
});
