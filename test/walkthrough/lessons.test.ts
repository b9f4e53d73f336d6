// The walkthrough's further lessons (--lesson): each teaches an EBS lifecycle event by its trail
// records, one line each, and checks that fail if ebsim strays from AWS's model. They run on
// their own, so the default walkthrough stays under 200 lines.
import { describe, expect, it } from 'vitest';
import { runWalkthrough } from '../../src/walkthrough/walkthrough.js';
import { LESSONS, lessonsNamed } from '../../src/walkthrough/lessons/index.js';
import { UserError } from '../../src/errors/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ebsimIn } from '../helpers/cli.js';

async function walk(lessons: string[]) {
  const lines: string[] = [];
  const r = await runWalkthrough({ lessons, inProcess: true, out: (t) => lines.push(...t.split('\n')) });
  return { ...r, lines, text: lines.join('\n') };
}

const ID = '[0-9a-f]{17}';

describe('ebsim walkthrough --lesson', () => {
  it('all: every lesson behaves as taught, one line per record, within 100 columns, none of the seed\'s steps', async () => {
    const w = await walk(['all']);
    expect(w.failures).toEqual([]);
    expect(w.text).not.toContain('FAIL');
    expect(w.lines.filter((l) => [...l].length > 100)).toEqual([]);
    expect(w.text).not.toContain('Why: envelope encryption.');
    for (const why of ['Why: a snapshot keeps the volume\'s context.', 'Why: restoring under another key.', 'Why: stop and start.', 'Why: sharing a snapshot.']) expect(w.text).toContain(why);
    // A snapshot keeps the volume's context: CreateSnapshot alone; the snapshot's key opens with the volume's ID only.
    expect(w.text).toMatch(new RegExp(`^ {2}CreateSnapshot +Alice +- +- +ok$`, 'm'));
    expect(w.text).toMatch(new RegExp(`^ {2}Decrypt +Alice +alice +snap-${ID} +InvalidCiphertextException$`, 'm'));
    expect(w.text).toMatch(new RegExp(`^ {2}ReEncrypt +EC2 for Alice +alice +vol-${ID}→snap-${ID} +ok$`, 'm'));
    expect(w.text).toContain('ok   the copy names AWS\'s placeholder VolumeId vol-ffffffff');
    // Restoring under another key: a new data key under it, both keys opened by EC2's infrastructure.
    expect(w.text).toMatch(new RegExp(`^ {2}GenerateDataKeyWithoutPlaintext +EC2 for Alice +restore +vol-${ID} +ok$`, 'm'));
    expect(w.text.match(new RegExp(`^ {2}Decrypt +EC2 vol-${ID} +(alice|restore) +vol-${ID} +ok$`, 'gm'))).toHaveLength(2);
    // Its two grants retired (and the stop-start lesson's stop retires one more).
    expect(w.text.match(/^ {2}RetireGrant +EC2 for Alice +restore +- +ok$/gm)).toHaveLength(1);
    expect(w.text.match(/^ {2}RetireGrant +EC2 for Alice +alice +- +ok$/gm)).toHaveLength(2);
    expect(w.text).toContain('ok   OpenSSL decrypts it with the new data key to what was written, and with the old one to noise');
    // Stop/start without kms:CreateGrant.
    expect(w.text).toMatch(new RegExp(`^ {2}CreateGrant +EC2 for Bob +alice +vol-${ID} +AccessDeniedException$`, 'm'));
    expect(w.text).toMatch(/is back to stopped, with AWS's StateReason: Client\.InternalError: Client\s+error on launch/);
    expect(w.text).toMatch(new RegExp(`^ {2}Decrypt +host i-${ID} +alice +vol-${ID} +ok$`, 'm'));
    expect(w.text).toMatch(/^ {2}RebootInstances +Bob +- +- +ok$/m);
    // Sharing with another account: its copy is refused until the key policy lets it in, then re-encrypted under its own key.
    expect(w.text).toMatch(/^ {2}ModifySnapshotAttribute +Alice +- +- +ok$/m);
    expect(w.text).toMatch(new RegExp(`^ {2}CreateGrant +EC2 for Bea +alice +vol-${ID} +AccessDeniedException$`, 'm'));
    expect(w.text).toMatch(new RegExp(`^ {2}Decrypt +EC2 snap-${ID} +alice +vol-${ID} +ok$`, 'm'));
    expect(w.text).toMatch(new RegExp(`^ {2}Decrypt +EC2 snap-${ID} +bea +snap-${ID} +ok$`, 'm'));
    expect(w.text).toMatch(/ok {3}Bea's data key \(she may open it\) decrypts her copy's sector 1000 to what Alice wrote/);
  }, 120_000);

  it('one lesson runs alone, numbered from 1', async () => {
    const w = await walk(['stop-start']);
    expect(w.failures).toEqual([]);
    expect(w.text).toContain('== 1. Stop and start: the start needs kms:CreateGrant, as on AWS ==');
    expect(w.text).not.toContain('Why: a snapshot keeps');
  }, 60_000);

  it('through the CLI: --lesson NAME runs that lesson in the home given; an unknown name is refused before anything is made', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ebsim-h15-lesson-'));
    try {
      const home = join(dir, 'home');
      const r = await ebsimIn(home, ['walkthrough', '--lesson', 'snapshot-context']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('== 1. A snapshot keeps the volume\'s data key and its context ==');
      expect(r.stdout).toContain('== Done: every step behaved as taught ==');
      const bad = await ebsimIn(join(dir, 'other'), ['walkthrough', '--lesson', 'snapshots']);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain('Invalid values');
      expect(bad.stdout).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('an unknown lesson is the user\'s mistake, named with the lessons there are', () => {
    expect(() => lessonsNamed(['snapshots'])).toThrow(UserError);
    expect(() => lessonsNamed(['snapshots'])).toThrow(`the lessons are ${LESSONS.map((l) => l.name).join(', ')} (or all)`);
    expect(lessonsNamed(['all']).map((l) => l.name)).toEqual(['snapshot-context', 'restore-reencrypts', 'stop-start', 'share-snapshot']);
  });
});
