// `ebsim explain` of mounted volumes (root, FUSE, losetup): where the plaintext key is, a key
// disabled while mounted ("keeps working until unmount"), and a mount whose daemon died.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { errorCode, type TestHome } from '../helpers/home.js';
import type { CallContext } from '../../src/core/call-context.js';
import { describeRealMount, realMountHome } from '../device/real-mount.js';
import { explainVolume } from '../../src/envelope/index.js';

describeRealMount('ebsim explain of mounted volumes', () => {
  let home: TestHome;
  let alice: CallContext;
  let instanceId: string;

  const s = realMountHome('ebsim-explain-mount-');
  beforeAll(() => {
    ({ home, alice } = s);
    instanceId = (home.app.ec2().runInstances(alice, { ImageId: 'ami-12345678', InstanceType: 't3.micro' }).Instances as { InstanceId: string }[])[0]!.InstanceId;
  });

  async function mounted(keyId?: string) {
    const vol = home.app.ec2().createVolume(alice, { Size: 1, Encrypted: true, ...(keyId ? { KmsKeyId: keyId } : {}) }).VolumeId as string;
    const mnt = path.join(home.dir, vol);
    const m = await home.app.host().mount(alice, { volumeId: vol, instanceId, mountpoint: mnt, format: 'ext4' });
    return { vol, mnt, m };
  }

  it('a mounted volume\'s plaintext key is in the device daemon\'s memory; unmounted, nowhere', async () => {
    const { vol, m } = await mounted();
    const e = await explainVolume(home.app, vol);
    expect(e.Healthy).toBe(true);
    expect(e.Host.Mounted).toMatchObject({ Healthy: true, DaemonPid: m.daemonPid });
    expect(e.Host.PlaintextKeyIn).toBe(`the device daemon's memory (pid ${m.daemonPid})`);
    await home.app.host().unmount(vol);
    expect((await explainVolume(home.app, vol)).Host).toMatchObject({ Mounted: null, PlaintextKeyIn: null });
  }, 120_000);

  it('a key disabled while mounted: "keeps working until unmount; the next mount fails with DisabledException", and it does', async () => {
    const key = (home.app.kms().call(alice, 'CreateKey', {}).KeyMetadata as { KeyId: string }).KeyId;
    const { vol, mnt } = await mounted(key);
    home.app.kms().call(alice, 'DisableKey', { KeyId: key });
    const e = await explainVolume(home.app, vol);
    expect(e.Broken).toEqual([expect.objectContaining({
      Link: 'Key', Consequence: 'mounted: keeps working until unmount; the next mount fails with DisabledException (until EnableKey)', BrokenBy: expect.objectContaining({ EventName: 'DisableKey' }),
    })]);
    // Keeps working…
    fs.writeFileSync(path.join(mnt, 'still.txt'), 'still writable\n');
    const fd = fs.openSync(path.join(mnt, 'still.txt'), 'r+');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    // …until unmount; then the next mount fails as stated.
    await home.app.host().unmount(vol);
    expect(await mountError(vol, mnt)).toBe('DisabledException');
  }, 120_000);

  it('a mount whose device daemon died is an unhealthy host link', async () => {
    const { vol, m } = await mounted();
    process.kill(m.daemonPid!, 'SIGKILL'); // the daemon this test started
    for (let i = 0; i < 50 && fs.existsSync(`/proc/${m.daemonPid}`); i++) await new Promise((r) => setTimeout(r, 100));
    const e = await explainVolume(home.app, vol);
    expect(e.Host.Mounted?.Healthy).toBe(false);
    expect(e.Host.PlaintextKeyIn).toBeNull();
    expect(e.Broken).toEqual([expect.objectContaining({ Link: 'Host', Consequence: `I/O on the mount fails; ebsim volume unmount --force ${vol} (or ebsim volume cleanup) clears it` })]);
    expect(e.Broken[0]!.Problem).toMatch(/^the mount is unhealthy: /);
    await home.app.host().unmount(vol, { force: true });
  }, 120_000);

  async function mountError(vol: string, mnt: string): Promise<string> {
    try {
      await home.app.host().mount(alice, { volumeId: vol, mountpoint: mnt, format: 'none' });
    } catch (err) {
      return (err as { code?: string }).code ?? String(err);
    }
    return errorCode(() => {});
  }
});
