// The host's part of `ec2 stop-instances --force` and `ec2 detach-volume --force` acts only on the
// caller's own resources in the Region called, as the EC2 call it makes: another account's
// instance or volume, or one of another Region, is not found there, and nothing of it is touched
// (not stopped, not detached, not unmounted).
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeHome, type TestHome } from '../helpers/home.js';
import { initHome } from '../../src/app/ebsim.js';
import { runInstance } from '../helpers/ebs.js';
import type { CallContext } from '../../src/core/call-context.js';
import type { VolumeStatus } from '../../src/host/index.js';

const SECOND = '210987654321';
let h: TestHome;
let alice: CallContext;
let instanceId: string;
let volumeId: string;

beforeAll(() => {
  h = makeHome('ebsim-r4-forced-scope-');
  initHome(h.dir, SECOND, 'eu-west-2');
  alice = h.app.as('Alice');
  instanceId = runInstance(h, alice);
  volumeId = h.app.ec2().createVolume(alice, { Size: 1 }).VolumeId as string;
  h.app.ec2().attachVolume(alice, { VolumeId: volumeId, InstanceId: instanceId, Device: '/dev/sdf' });
});
afterAll(() => h.cleanup());

/** The AWS error code of the host's call, or 'ok'. */
async function outcome(p: Promise<unknown>): Promise<string> {
  return p.then(() => 'ok', (err) => (err as { code?: string }).code ?? String(err));
}

/** The host, its volume reported mounted and its unmount counted (no real mount needed to see that it is not asked for). */
function hostSeeingMounted() {
  const host = h.app.host();
  const status = { volumeId, state: {}, daemonPids: [], healthy: true, problems: [] } as unknown as VolumeStatus;
  vi.spyOn(host, 'status').mockResolvedValue({ volumes: [status] } as never);
  const unmount = vi.spyOn(host, 'unmount').mockResolvedValue(undefined as never);
  return { host, unmount };
}

describe('the host\'s forced calls stay in the caller\'s account and Region', () => {
  afterEach(() => vi.restoreAllMocks());

  // Another account of the home calling the first account's Region by name (--region us-east-1).
  const cases: [string, () => CallContext][] = [
    ['another account, in the Region of the resources', () => h.app.as('Alice', undefined, SECOND, 'us-east-1')],
    ['the same account, in another Region', () => h.app.as('Alice', undefined, undefined, 'eu-west-1')],
  ];

  for (const [name, caller] of cases) {
    it(`${name}: detach-volume --force is not found and unmounts nothing`, async () => {
      const { host, unmount } = hostSeeingMounted();
      expect(await outcome(host.detachVolume(caller(), { VolumeId: volumeId, Force: true }))).toBe('InvalidVolume.NotFound');
      expect(unmount).not.toHaveBeenCalled();
      expect(h.app.ec2().volume(volumeId)).toMatchObject({ state: 'in-use', instanceId });
    });

    it(`${name}: stop-instances --force is not found and stops nothing`, async () => {
      const { host, unmount } = hostSeeingMounted();
      expect(await outcome(host.stopInstances(caller(), { InstanceIds: [instanceId], Force: true }))).toBe('InvalidInstanceID.NotFound');
      expect(unmount).not.toHaveBeenCalled();
      expect(h.app.ec2().instance(instanceId).state).toBe('running');
    });
  }

  it('the owner in its Region: the forced detach unmounts, then detaches', async () => {
    const { host, unmount } = hostSeeingMounted();
    expect(await outcome(host.detachVolume(alice, { VolumeId: volumeId, Force: true }))).toBe('ok');
    expect(unmount).toHaveBeenCalledWith(volumeId);
    expect(h.app.ec2().volume(volumeId).state).toBe('available');
  });
});
