// Many processes share one home: 20 concurrent `ebsim kms create-key` leave exactly 20 keys.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statSync } from 'node:fs';
import { makeHome, type TestHome } from '../helpers/home.js';
import { openEbsim } from '../../src/app/ebsim.js';
import { CROSS_PROCESS_STALENESS_MS } from '../../src/store/read-cache.js';
import { runEbsim } from '../helpers/cli.js';

let h: TestHome;
beforeAll(() => {
  h = makeHome();
});
afterAll(() => h.cleanup());

describe('state store shared by processes', () => {
  it('20 concurrent create-key processes: 20 keys, no "database is locked"', async () => {
    const before = h.app.kms().inventory().keys.length;
    const runs = await Promise.all(Array.from({ length: 20 }, (_, i) => runEbsim(['kms', 'create-key', '--description', `proc-${i}`, '--home', h.dir])));
    for (const r of runs) {
      expect(r.stderr).not.toMatch(/locked|busy/i);
      expect(r.code).toBe(0);
    }
    const ids = runs.map((r) => (JSON.parse(r.stdout) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId);
    expect(new Set(ids).size).toBe(20);
    expect(h.app.kms().inventory().keys.length - before).toBe(20);
    // Every process's CreateKey record reached the trail.
    const n = h.app.db.prepare("SELECT count(*) AS n FROM trail_events WHERE event_name = 'CreateKey'").get() as { n: number };
    expect(n.n).toBe(20);
  }, 120_000);

  it('the home is private: directory 0700, databases, root key and credentials 0600', () => {
    expect(statSync(h.dir).mode & 0o777).toBe(0o700);
    for (const f of ['ebsim.db', 'trail.db', 'root.key', 'credentials']) expect(statSync(`${h.dir}/${f}`).mode & 0o777).toBe(0o600);
  });

  it('the database alone reveals no key: wrapped material is not the material', () => {
    const rows = h.app.db.prepare('SELECT wrapped_material FROM kms_key_versions').all() as { wrapped_material: Buffer }[];
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r.wrapped_material.length).toBe(1 + 12 + 32 + 16);
  });

  it('a long-running process sees another connection\'s key change within the staleness window, while trail writes leave its cache alone', async () => {
    const other = openEbsim(h.dir);
    try {
      const kms = h.app.kms();
      const k = (kms.call(h.app.as(), 'CreateKey', {}).KeyMetadata as { KeyId: string }).KeyId;
      kms.call(h.app.as(), 'Encrypt', { KeyId: k, Plaintext: Buffer.from('x') }); // cached now
      other.kms().call(other.as(), 'DisableKey', { KeyId: k });
      await new Promise((r) => setTimeout(r, CROSS_PROCESS_STALENESS_MS + 5));
      expect(() => kms.call(h.app.as(), 'Encrypt', { KeyId: k, Plaintext: Buffer.from('x') })).toThrow(`is disabled.`);
      // Another connection's trail inserts go to trail.db: the state database's data_version stays put.
      const version = () => h.app.db.prepare('PRAGMA main.data_version').pluck().get() as number;
      const before = version();
      other.kms().call(other.as(), 'GenerateRandom', { NumberOfBytes: 4 });
      other.trail.flush();
      expect(version()).toBe(before);
    } finally {
      other.close();
    }
  });

  it('acknowledged changes are durable: a new connection (another process) sees them at once', async () => {
    const k = h.app.kms().call(h.app.as(), 'CreateKey', {}).KeyMetadata as { KeyId: string };
    h.app.kms().call(h.app.as(), 'DisableKey', { KeyId: k.KeyId });
    const r = await runEbsim(['kms', 'describe-key', '--key-id', k.KeyId, '--home', h.dir]);
    expect((JSON.parse(r.stdout) as { KeyMetadata: { KeyState: string } }).KeyMetadata.KeyState).toBe('Disabled');
  });
});
