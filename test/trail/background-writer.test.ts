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

  it('read-only records are committed in the background, every one of them, without a close or flush', async () => {
    const kms = h.app.kms();
    const key = (kms.call(h.app.as(), 'CreateKey', {}).KeyMetadata as { KeyId: string }).KeyId;
    for (let i = 0; i < 5000; i++) kms.call(h.app.as(), 'GenerateRandom', { NumberOfBytes: 8 });
    kms.call(h.app.as(), 'DescribeKey', { KeyId: key });
    // The worker commits a few flush windows later; how many depends on the machine's load (the
    // bench measures the speed), so wait for the count rather than a fixed time.
    const deadline = Date.now() + 10_000;
    while (countFromAnotherConnection('DescribeKey') === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(countFromAnotherConnection('GenerateRandom')).toBe(5000);
    expect(countFromAnotherConnection('DescribeKey')).toBe(1);
  });
});

describe('groupCommit', () => {
  it('holds the durable records of its calls until they have all run, then commits them once, and says which calls made one', () => {
    const kms = h.app.kms();
    const before = countFromAnotherConnection('CreateKey');
    const seenInside: number[] = [];
    const held: number[] = [];
    h.app.trail.groupCommit(() => {
      for (let i = 0; i < 3; i++) {
        kms.call(h.app.as(), 'CreateKey', {});
        seenInside.push(countFromAnotherConnection('CreateKey'));
        held.push(h.app.trail.durableHeld);
      }
      kms.call(h.app.as(), 'GenerateRandom', { NumberOfBytes: 8 }); // read-only: not durable, not counted
      held.push(h.app.trail.durableHeld);
    });
    expect(seenInside).toEqual([before, before, before]);
    expect(held).toEqual([1, 2, 3, 3]);
    expect(countFromAnotherConnection('CreateKey')).toBe(before + 3);
    expect(h.app.trail.durableHeld).toBe(0);
    // Outside a group a durable record is committed when its call returns, as before.
    kms.call(h.app.as(), 'CreateKey', {});
    expect(countFromAnotherConnection('CreateKey')).toBe(before + 4);
  });

  it('commits what its calls appended even when they throw', () => {
    const before = countFromAnotherConnection('CreateKey');
    expect(() =>
      h.app.trail.groupCommit(() => {
        h.app.kms().call(h.app.as(), 'CreateKey', {});
        throw new Error('later call failed');
      }),
    ).toThrow('later call failed');
    expect(countFromAnotherConnection('CreateKey')).toBe(before + 1);
  });
});

describe('groupCommit when the writer dies', () => {
  it('a flush that fails inside the group (a full batch posted to a dead writer) fails the group, though nothing is left to post at its end', async () => {
    const home = makeHome();
    try {
      home.app.trail.useBackgroundWriter({ retention: false });
      const kms = home.app.kms();
      kms.call(home.app.as(), 'GenerateRandom', { NumberOfBytes: 8 });
      home.app.trail.flush();
      const worker = (home.app.trail as unknown as { background: { worker: import('node:worker_threads').Worker } }).background.worker;
      await worker.terminate();
      await new Promise((r) => setTimeout(r, 50));
      let refusedCalls = 0;
      // As the server runs a batch: each call's failure is its own answer, never thrown out of the group.
      const group = () =>
        home.app.trail.groupCommit(() => {
          kms.call(home.app.as(), 'CreateKey', {});
          // Read-only records until the trail posts a full batch mid-group: the post fails and takes the CreateKey's record with it.
          // Stop at the first refusal: nothing is left pending for the group's own commit to post.
          for (let i = 0; i < 2100 && refusedCalls === 0; i++) {
            try {
              kms.call(home.app.as(), 'GenerateRandom', { NumberOfBytes: 8 });
            } catch {
              refusedCalls++;
            }
          }
        });
      expect(group).toThrow(/trail writer is not running/);
      expect(refusedCalls).toBe(1);
    } finally {
      try {
        home.cleanup();
      } catch {
        // the writer is dead on purpose
      }
    }
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

describe('a record that cannot be stored', () => {
  const nested = (depth: number) => {
    let v: Record<string, unknown> = { a: 'b' };
    for (let i = 0; i < depth; i++) v = { a: v };
    return v;
  };

  // The case, in process: an encryption context 50,000 levels deep overflowed the stack
  // of postMessage, and the batch of other callers' records already taken from `pending` was lost.
  it('fails its own call; records queued before and after it are all committed', () => {
    const kms = h.app.kms();
    const before = countFromAnotherConnection('GenerateRandom');
    for (let i = 0; i < 100; i++) kms.call(h.app.as(), 'GenerateRandom', { NumberOfBytes: 8 });
    expect(() => kms.call(h.app.as(), 'Encrypt', { KeyId: 'alias/aws/ebs', Plaintext: new Uint8Array(4), EncryptionContext: nested(50_000) })).toThrow(RangeError);
    for (let i = 0; i < 100; i++) kms.call(h.app.as(), 'GenerateRandom', { NumberOfBytes: 8 });
    h.app.trail.flush();
    expect(countFromAnotherConnection('GenerateRandom')).toBe(before + 200);
  });

  it('fails its own append whatever makes it unstorable (depth, BigInt, functions, cycles)', async () => {
    const { buildRecord } = await import('../../src/trail/record.js');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const requestParameters of [nested(100), { n: 1n }, { f: () => 1 }, cyclic]) {
      const r = buildRecord(h.app.as(), { eventSource: 'kms.amazonaws.com', eventName: 'Unstorable', requestParameters, responseElements: null });
      expect(() => h.app.trail.append(r, false)).toThrow(RangeError);
    }
    h.app.trail.flush();
    expect(countFromAnotherConnection('Unstorable')).toBe(0);
  });

  it('in the worker, costs only itself: the other records of its batch are committed', async () => {
    const { BackgroundTrailWriter } = await import('../../src/trail/background-writer.js');
    const { buildRecord } = await import('../../src/trail/record.js');
    const writer = new BackgroundTrailWriter(h.app.paths.trail);
    try {
      const rec = (requestParameters: unknown) => buildRecord(h.app.as(), { eventSource: 'kms.amazonaws.com', eventName: 'WorkerBatch', requestParameters, responseElements: null });
      // Structured cloning copies a BigInt; JSON.stringify in the worker throws on it.
      writer.post([rec({ i: 1 }), rec({ n: 1n }), rec({ i: 2 })]);
      expect(() => writer.waitCommitted()).toThrow(/failed to commit/);
      expect(countFromAnotherConnection('WorkerBatch')).toBe(2);
    } finally {
      writer.close();
    }
  });
});

describe('a write lock held past the busy timeout', () => {
  // Another connection (a retention slice, another process's writer) holds the trail's write lock
  // for longer than the writer's busy timeout: the writer's commits are refused (SQLITE_BUSY).
  // It must try again once the lock is free, not drop the records of the refused batches.
  it('delays the records, loses none of them, and commits each once', async () => {
    const { BackgroundTrailWriter } = await import('../../src/trail/background-writer.js');
    const { buildRecord } = await import('../../src/trail/record.js');
    const writer = new BackgroundTrailWriter(h.app.paths.trail, undefined, 20);
    const holder = new Database(h.app.paths.trail, { timeout: 30_000 });
    try {
      const rec = (i: number) => buildRecord(h.app.as(), { eventSource: 'kms.amazonaws.com', eventName: 'HeldLock', requestParameters: { i }, responseElements: null });
      writer.post([rec(0)]);
      writer.waitCommitted();
      holder.prepare('BEGIN IMMEDIATE').run();
      for (let i = 1; i <= 30; i++) writer.post([rec(i)], i % 10 === 0 ? [{ sql: 'CREATE TABLE IF NOT EXISTS held_lock_along (i)', rows: [[]] }] : []);
      // Several busy timeouts (20 ms) pass while the lock is held: the writer was refused.
      await new Promise((r) => setTimeout(r, 400));
      expect(countFromAnotherConnection('HeldLock')).toBe(1);
      holder.prepare('COMMIT').run();
      writer.waitCommitted();
      expect(countFromAnotherConnection('HeldLock')).toBe(31);
      const seen = new Database(h.app.paths.trail, { readonly: true });
      try {
        const is = (seen.prepare("SELECT json_extract(record, '$.requestParameters.i') AS i FROM trail_events WHERE event_name = 'HeldLock' ORDER BY seq").pluck().all() as number[]);
        expect(is).toEqual(Array.from({ length: 31 }, (_, i) => i));
      } finally {
        seen.close();
      }
    } finally {
      if (holder.inTransaction) holder.prepare('ROLLBACK').run();
      holder.close();
      writer.close();
    }
  });
});

describe('closing', () => {
  // A process must not exit with the worker inside SQLite: close() used to wait for the commit
  // first and throw before asking the worker to close, so a failed or late commit left it running.
  it('closes the worker even when a batch failed, then reports the failure', async () => {
    const { BackgroundTrailWriter } = await import('../../src/trail/background-writer.js');
    const { buildRecord } = await import('../../src/trail/record.js');
    const writer = new BackgroundTrailWriter(h.app.paths.trail);
    writer.post([buildRecord(h.app.as(), { eventSource: 'kms.amazonaws.com', eventName: 'CloseAfterFailure', requestParameters: { n: 1n }, responseElements: null })]);
    expect(() => writer.close()).toThrow(/failed to commit/);
    // [2]: the worker closed its database.
    expect((writer as unknown as { committed: Int32Array }).committed[2]).toBe(1);
  });
});
