// The walkthrough's evidence on a real mount (FUSE, loop, ext4): filefrag finds the files, and
// the proofs hold on an encrypted volume and fail on an unencrypted one, whose device daemon
// stores sectors as they are (the identity cipher, on the very path the walkthrough uses).
import * as path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import type { TestHome } from '../helpers/home.js';
import type { CallContext } from '../../src/core/call-context.js';
import { describeRealMount, realMountHome } from '../device/real-mount.js';
import { MARKER, sectorViews, writeAndLocate } from '../../src/walkthrough/evidence.js';
import { proveAbsentFromImage, proveIndependentDecryption, proveSectorIsCiphertext, proveTweakSeparatesSectors } from '../../src/walkthrough/proofs.js';
import { xtsKey } from '../device/helpers.js';

describeRealMount('the walkthrough\'s evidence on a real mount', () => {
  let home: TestHome;
  let alice: CallContext;
  let instanceId: string;

  const s = realMountHome('ebsim-evidence-');
  beforeAll(() => {
    ({ home, alice } = s);
    const run = home.app.ec2().runInstances(alice, { ImageId: 'ami-12345678', InstanceType: 't3.micro' });
    instanceId = (run.Instances as { InstanceId: string }[])[0]!.InstanceId;
  });

  /** Mounts a new 1 GiB volume, writes and locates the files, unmounts, and runs the four proofs. */
  async function proofsOn(encrypted: boolean) {
    const host = home.app.host();
    const volumeId = home.app.ec2().createVolume(alice, { Size: 1, Encrypted: encrypted }).VolumeId as string;
    await host.mount(alice, { volumeId, instanceId, mountpoint: path.join(home.dir, `mnt-${volumeId}`), format: 'ext4' });
    let files;
    try {
      files = writeAndLocate(path.join(home.dir, `mnt-${volumeId}`));
    } finally {
      await host.unmount(volumeId);
    }
    const realKey = host.dataKey(host.volume(volumeId));
    const key = realKey ?? xtsKey(); // an unencrypted volume has none: any key must fail to explain its sectors
    const image = { volumeId, imagePath: host.imagePath(volumeId), sizeBytes: host.sizeBytes(volumeId) };
    const [hello] = await sectorViews(image, realKey, files[0]!.sectors);
    const tweak = await sectorViews(image, realKey, files[1]!.sectors);
    const marker = Buffer.from(MARKER);
    const result = {
      files,
      hello: hello!,
      located: hello!.plaintext.equals(files[0]!.bytes) && Buffer.concat(tweak.map((t) => t.plaintext)).equals(files[1]!.bytes),
      ciphertext: proveSectorIsCiphertext(hello!, marker).holds,
      openssl: proveIndependentDecryption(key, hello!).holds,
      tweak: proveTweakSeparatesSectors(tweak[0]!, tweak[1]!).holds,
      nowhere: proveAbsentFromImage(image.imagePath, [{ what: 'the marker', bytes: marker }]).holds,
    };
    key.fill(0);
    return result;
  }

  it('on an encrypted volume, filefrag finds the files and every proof holds', async () => {
    const r = await proofsOn(true);
    expect(r.files.map((f) => f.sectors.length)).toEqual([1, 2]);
    // ext4 puts data well past the first MiB: the old check (the image's first 256 KiB) never saw it.
    expect(r.hello.sector * 4096).toBeGreaterThan(1 << 20);
    expect(r).toMatchObject({ located: true, ciphertext: true, openssl: true, tweak: true, nowhere: true });
  }, 120_000);

  it('on an unencrypted volume (sectors stored as they are), every proof fails', async () => {
    const r = await proofsOn(false);
    expect(r).toMatchObject({ located: true, ciphertext: false, openssl: false, tweak: false, nowhere: false });
  }, 120_000);
});
