// A launch whose volume was made but whose attach then failed on the host's side (SQLITE_FULL, not
// an AWS error): the volume's row is marked deleted with the failed launch, and its image goes too
// rather than stay on disk for a volume no one can name.
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, type TestHome } from '../helpers/home.js';
import { Ec2Store } from '../../src/ec2/store.js';

let h: TestHome;
beforeAll(() => {
  h = makeHome('ebsim-h25-attachfail-');
});
afterAll(() => h.cleanup());

describe('RunInstances whose attach fails after the volume was made', () => {
  it('terminates the instance, marks the volume deleted and removes its image', () => {
    const alice = h.app.as('Alice');
    const ec2 = h.app.ec2();
    const images = () => new Set(fs.readdirSync(`${h.dir}/volumes`).filter((n) => n.endsWith('.img')));
    const before = images();
    // The host's database refusing the attach's write (failure injected at the attach only: the
    // volume's make ran for real and wrote its image).
    const service = ec2 as unknown as { attachInternal: (...a: unknown[]) => void };
    const attach = service.attachInternal;
    service.attachInternal = () => {
      throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    };
    let thrown: unknown;
    try {
      ec2.runInstances(alice, { ImageId: 'ami-12345678', InstanceType: 't3.micro' });
    } catch (err) {
      thrown = err;
    } finally {
      service.attachInternal = attach;
    }
    expect((thrown as { code?: string } | undefined)?.code).toBe('SQLITE_FULL');
    const made = [...images()].filter((n) => !before.has(n));
    expect(made).toEqual([]);
    const store = new Ec2Store(h.app.db, '123456789012', 'us-east-1');
    const rows = h.app.db.prepare(`SELECT volume_id, state FROM ec2_volumes`).all() as { volume_id: string; state: string }[];
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(store.volume(r.volume_id)?.state, r.volume_id).toBe('deleted');
  });

  it('once a volume is attached, a later failure (the instance\'s state write) leaves that volume\'s image to the termination', () => {
    const alice = h.app.as('Alice');
    const ec2 = h.app.ec2();
    const images = () => new Set(fs.readdirSync(`${h.dir}/volumes`).filter((n) => n.endsWith('.img')));
    const before = images();
    const store = (ec2 as unknown as { store: { setInstanceState: (...a: unknown[]) => void } }).store;
    const setState = store.setInstanceState;
    store.setInstanceState = function (this: unknown, ...a: unknown[]) {
      if (a[1] === 'running') throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
      return setState.apply(this, a);
    };
    let thrown: unknown;
    try {
      // Its root volume kept at termination: it must keep its image too.
      ec2.runInstances(alice, { ImageId: 'ami-12345678', InstanceType: 't3.micro', BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 1, DeleteOnTermination: false } }] });
    } catch (err) {
      thrown = err;
    } finally {
      store.setInstanceState = setState;
    }
    expect((thrown as { code?: string } | undefined)?.code).toBe('SQLITE_FULL');
    const kept = h.app.db.prepare(`SELECT volume_id, state FROM ec2_volumes WHERE state != 'deleted'`).all() as { volume_id: string; state: string }[];
    expect(kept).toHaveLength(1);
    expect(kept[0]!.state).toBe('available');
    expect([...images()].filter((n) => !before.has(n))).toEqual([`${kept[0]!.volume_id}.img`]);
  });
});
