// `ebsim volume export VOL OUT` truncates OUT first: OUT naming the volume's own image (or a link
// to it), or any file among the home's images and their locks, would destroy a volume. Refused,
// in one sentence, with every image as it was.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallContext } from '../../src/core/call-context.js';
import { makeHome, type TestHome } from '../helpers/home.js';
import { runInstance } from '../helpers/ebs.js';

let h: TestHome;
let alice: CallContext;
beforeAll(() => {
  h = makeHome('ebsim-h24-exportto-');
  alice = h.app.as('Alice');
});
afterAll(() => h.cleanup());

describe('volume export onto an image of the home', () => {
  it('is refused for the volume\'s own image, a link to it, another volume\'s image and a lock file; nothing changes', async () => {
    const ec2 = h.app.ec2();
    const instance = runInstance(h, alice);
    const [a, b] = [0, 1].map(() => ec2.createVolume(alice, { Size: 1, Encrypted: true }).VolumeId as string) as [string, string];
    await h.app.host().write(alice, a, 0, Buffer.from('volume a'), instance);
    await h.app.host().write(alice, b, 0, Buffer.from('volume b'), instance);
    const link = path.join(h.dir, 'a-link.img');
    fs.symlinkSync(ec2.imagePath(a), link);
    for (const out of [ec2.imagePath(a), link, ec2.imagePath(b), `${ec2.imagePath(b)}.lock`]) {
      const err = await h.app.host().export(alice, a, out, { instanceId: instance }).then(() => undefined, (e: Error & { userError?: boolean }) => e);
      expect(err?.message, out).toMatch(/^refusing to export to .*: it is (the volume's own image|in .*, among the home's volume images), which the export would overwrite/);
      expect(err?.userError).toBe(true);
    }
    expect((await h.app.host().read(alice, a, 0, 8, instance)).toString()).toBe('volume a');
    expect((await h.app.host().read(alice, b, 0, 8, instance)).toString()).toBe('volume b');
    // Elsewhere, even in the home, export works.
    await h.app.host().export(alice, a, path.join(h.dir, 'plain.img'), { instanceId: instance });
    expect(fs.readFileSync(path.join(h.dir, 'plain.img')).subarray(0, 8).toString()).toBe('volume a');
  });
});
