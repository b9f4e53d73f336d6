// A volume whose backing image is gone (moved, deleted by hand, a home restored without its
// volumes/): the host refuses to serve it, saying so, instead of making a blank image in its
// place (a read of zeros, or a mount that formats it, passing for the user's volume).
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallContext } from '../../src/core/call-context.js';
import { makeHome, type TestHome } from '../helpers/home.js';
import { runInstance } from '../helpers/ebs.js';

let h: TestHome;
let alice: CallContext;
beforeAll(() => {
  h = makeHome('ebsim-h24-missing-');
  alice = h.app.as('Alice');
});
afterAll(() => h.cleanup());

describe('a volume whose image is missing', () => {
  it('is refused by read, write and export with a one-sentence error, and no blank image is made', async () => {
    const ec2 = h.app.ec2();
    const vol = ec2.createVolume(alice, { Size: 1, Encrypted: true }).VolumeId as string;
    const instance = runInstance(h, alice);
    await h.app.host().write(alice, vol, 0, Buffer.from('the data'), instance);
    const image = ec2.imagePath(vol);
    fs.renameSync(image, `${image}.moved`);
    for (const op of [
      () => h.app.host().read(alice, vol, 0, 8, instance),
      () => h.app.host().write(alice, vol, 0, Buffer.from('new'), instance),
      () => h.app.host().export(alice, vol, `${tmpdir()}/ebsim-h25-missing-image-plain.img`, { instanceId: instance }),
    ]) {
      const err = await op().then(() => undefined, (e: Error & { userError?: boolean }) => e);
      expect(err?.message).toMatch(/backing image .* is missing/);
      expect(err?.userError).toBe(true);
      expect(fs.existsSync(image)).toBe(false);
    }
    fs.renameSync(`${image}.moved`, image);
    expect((await h.app.host().read(alice, vol, 0, 8, instance)).toString()).toBe('the data');
  });
  it('an image grown by a ModifyVolume killed before it recorded the size: refused naming the fix, which works', async () => {
    const ec2 = h.app.ec2();
    const vol = ec2.createVolume(alice, { Size: 1, Encrypted: true }).VolumeId as string;
    const instance = runInstance(h, alice);
    await h.app.host().write(alice, vol, 0, Buffer.from('the data'), instance);
    fs.truncateSync(ec2.imagePath(vol), 2 * 1024 ** 3); // growImage done, the row not updated
    const err = await h.app.host().read(alice, vol, 0, 8, instance).then(() => undefined, (e: Error & { userError?: boolean }) => e);
    expect(err?.message).toMatch(new RegExp(`is 2147483648 bytes, expected 1073741824 .*: a ModifyVolume was interrupted; run it again \\(ebsim ec2 modify-volume --volume-id ${vol} --size 2\\)`));
    expect(err?.userError).toBe(true);
    ec2.modifyVolume(alice, { VolumeId: vol, Size: 2 });
    expect((await h.app.host().read(alice, vol, 0, 8, instance)).toString()).toBe('the data');
  });
});
