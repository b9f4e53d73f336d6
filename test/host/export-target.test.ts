// `ebsim volume export VOL OUT` truncates OUT first: OUT naming the volume's own image (or a link
// to it), or any file among the home's images and their locks, would destroy a volume. Refused,
// in one sentence, with every image as it was.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallContext } from '../../src/core/call-context.js';
import { makeHome, type TestHome } from '../helpers/home.js';
import { runInstance } from '../helpers/ebs.js';
import { refuseImageTarget } from '../../src/host/in-process.js';

const REFUSED = /^refusing to export to .*: it is (the volume's own image|.*, one of the home's files|inside .*, in the home \(its images, databases and keys\)), which the export would overwrite; name a file outside /;
let h: TestHome;
let alice: CallContext;
let elsewhere: string;
beforeAll(() => {
  h = makeHome('ebsim-h24-exportto-');
  alice = h.app.as('Alice');
  elsewhere = fs.mkdtempSync(path.join(tmpdir(), 'ebsim-h25-elsewhere-'));
});
afterAll(() => {
  h.cleanup();
  fs.rmSync(elsewhere, { recursive: true, force: true });
});

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
      expect(err?.message, out).toMatch(REFUSED);
      expect(err?.userError).toBe(true);
    }
    expect((await h.app.host().read(alice, a, 0, 8, instance)).toString()).toBe('volume a');
    expect((await h.app.host().read(alice, b, 0, 8, instance)).toString()).toBe('volume b');
    // Outside the home, export works.
    await h.app.host().export(alice, a, path.join(elsewhere, 'plain.img'), { instanceId: instance });
    expect(fs.readFileSync(path.join(elsewhere, 'plain.img')).subarray(0, 8).toString()).toBe('volume a');
  });

  // Path strings miss these: a hard link elsewhere (same dev/ino), a dangling symlink into
  // volumes/ (the write would create the file there), the databases, a new file in the home.
  it('is refused for a hard link elsewhere to another volume\'s image, a dangling symlink into volumes/, ebsim.db, trail.db, root.key, a new file in the home', async () => {
    const ec2 = h.app.ec2();
    const instance = runInstance(h, alice);
    const [a, b] = [0, 1].map(() => ec2.createVolume(alice, { Size: 1, Encrypted: true }).VolumeId as string) as [string, string];
    await h.app.host().write(alice, b, 0, Buffer.from('volume b'), instance);
    const hard = path.join(elsewhere, 'b-hard.img');
    fs.linkSync(ec2.imagePath(b), hard);
    const dangling = path.join(elsewhere, 'dangling.img');
    fs.symlinkSync(path.join(path.dirname(ec2.imagePath(b)), 'vol-new.img'), dangling);
    for (const out of [hard, dangling, path.join(h.dir, 'ebsim.db'), path.join(h.dir, 'trail.db'), path.join(h.dir, 'root.key'), path.join(h.dir, 'plain.img')]) {
      const err = await h.app.host().export(alice, a, out, { instanceId: instance }).then(() => undefined, (e: Error & { userError?: boolean }) => e);
      expect(err?.message, out).toMatch(REFUSED);
      expect(err?.userError).toBe(true);
    }
    expect((await h.app.host().read(alice, b, 0, 8, instance)).toString()).toBe('volume b');
    expect(fs.existsSync(path.join(path.dirname(ec2.imagePath(b)), 'vol-new.img'))).toBe(false);
  });

  it.skipIf(process.getuid?.() !== 0)('is refused in a bind mount of volumes/ elsewhere', async () => {
    const ec2 = h.app.ec2();
    const instance = runInstance(h, alice);
    const a = ec2.createVolume(alice, { Size: 1, Encrypted: true }).VolumeId as string;
    const bind = path.join(elsewhere, 'bind-h25');
    fs.mkdirSync(bind);
    execFileSync('mount', ['--bind', path.dirname(ec2.imagePath(a)), bind]);
    try {
      for (const out of [path.join(bind, 'vol-new.img'), path.join(bind, path.basename(ec2.imagePath(a)))]) {
        const err = await h.app.host().export(alice, a, out, { instanceId: instance }).then(() => undefined, (e: Error & { userError?: boolean }) => e);
        expect(err?.message, out).toMatch(REFUSED);
      }
    } finally {
      execFileSync('umount', [bind]);
    }
  });

  // Images moved to a bigger disk: volumes/ a symlink. Its files are the home's all the same.
  it('is refused for another volume\'s image when volumes/ is a symlink to another directory, by either path', async () => {
    const moved = makeHome('ebsim-h25-moved-');
    try {
      const real = path.join(elsewhere, 'volumes-real');
      fs.mkdirSync(real);
      const volumes = path.join(moved.dir, 'volumes');
      for (const f of fs.existsSync(volumes) ? fs.readdirSync(volumes) : []) fs.renameSync(path.join(volumes, f), path.join(real, f));
      fs.rmSync(volumes, { recursive: true, force: true });
      fs.symlinkSync(real, volumes);
      const me = moved.app.as('Alice');
      const ec2 = moved.app.ec2();
      const instance = runInstance(moved, me);
      const [a, b] = [0, 1].map(() => ec2.createVolume(me, { Size: 1, Encrypted: true }).VolumeId as string) as [string, string];
      await moved.app.host().write(me, b, 0, Buffer.from('volume b'), instance);
      for (const out of [ec2.imagePath(b), path.join(real, path.basename(ec2.imagePath(b)))]) {
        const err = await moved.app.host().export(me, a, out, { instanceId: instance }).then(() => undefined, (e: Error) => e);
        expect(err?.message, out).toMatch(REFUSED);
      }
      expect((await moved.app.host().read(me, b, 0, 8, instance)).toString()).toBe('volume b');
    } finally {
      moved.cleanup();
    }
  });
});

describe('refuseImageTarget', () => {
  it('guards the home its caller names, wherever the image lies', () => {
    const images = fs.mkdtempSync(path.join(elsewhere, 'images-h26-'));
    const image = path.join(images, 'vol-0123456789abcdef0.img');
    fs.writeFileSync(image, '');
    const outside = `name a file outside ${h.dir}`;
    expect(() => refuseImageTarget(h.dir, image, path.join(h.dir, 'credentials'))).toThrow(`it is ${path.join(h.dir, 'credentials')}, one of the home's files, which the export would overwrite; ${outside}`);
    expect(() => refuseImageTarget(h.dir, image, path.join(h.dir, 'volumes', 'new.img'))).toThrow(`in the home (its images, databases and keys), which the export would overwrite; ${outside}`);
    expect(() => refuseImageTarget(h.dir, image, image)).toThrow(/it is the volume's own image/);
    expect(() => refuseImageTarget(h.dir, image, path.join(elsewhere, 'plain-h26.img'))).not.toThrow();
  });
});
