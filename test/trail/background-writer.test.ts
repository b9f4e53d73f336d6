// The worker-thread trail writer keeps the trail's guarantees: durable appends are committed
// when append returns; read-only ones by the end of the flush window or at close.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { makeHome, type TestHome } from '../helpers/home.js';

let h: TestHome;
beforeAll(() => {
  h = makeHome();
  h.app.trail.useBackgroundWriter();
});
afterAll(() => h.cleanup());

const countFromAnotherConnection = (name: string) => {
  const other = new Database(h.app.paths.trail, { readonly: true });
  try {
    return (other.prepare('SELECT count(*) AS n FROM trail_events WHERE event_name = ?').get(name) as { n: number }).n;
  } finally {
    other.close();
  }
};

describe('background trail writer', () => {
  it('a state change is in the database when the call returns', () => {
    h.app.kms().call(h.app.as(), 'CreateKey', {});
    expect(countFromAnotherConnection('CreateKey')).toBe(1);
  });

  it('read-only records are committed within the flush window, every one of them', async () => {
    const kms = h.app.kms();
    const key = (kms.call(h.app.as(), 'CreateKey', {}).KeyMetadata as { KeyId: string }).KeyId;
    for (let i = 0; i < 5000; i++) kms.call(h.app.as(), 'GenerateRandom', { NumberOfBytes: 8 });
    kms.call(h.app.as(), 'DescribeKey', { KeyId: key });
    await new Promise((r) => setTimeout(r, 300));
    expect(countFromAnotherConnection('GenerateRandom')).toBe(5000);
    expect(countFromAnotherConnection('DescribeKey')).toBe(1);
  });
});

describe('the worker\'s columns', () => {
  it('are exactly rowOf() of the main thread, for users and assumed roles, allowed and denied', async () => {
    const { rowOf } = await import('../../src/trail/trail.js');
    const kms = h.app.kms();
    h.app.iam.createRole(h.app.as(), 'Columns');
    kms.call(h.app.as(), 'GenerateRandom', { NumberOfBytes: 4 });
    expect(() => kms.call(h.app.as('role/Columns/s1'), 'CreateKey', {})).toThrow();
    h.app.trail.flush();
    const rows = h.app.db.prepare("SELECT event_id, event_time, event_source, event_name, username, access_key_id, read_only, resource_names, record FROM trail_events WHERE event_name IN ('GenerateRandom', 'CreateKey') ORDER BY seq DESC LIMIT 2").raw().all() as unknown[][];
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(rowOf(JSON.parse(row[8] as string))).toEqual(row);
    expect(rows.map((r) => r[4])).toEqual(['s1', 'Alice']);
  });
});
