// The walkthrough doubles as an end-to-end test: every step must behave as it teaches. These
// tests pin down its shape too: why first, one line per record, compact by default, the JSON
// beside the seed's only with --full, and --step pausing after each explanation.
import { describe, expect, it } from 'vitest';
import { runWalkthrough } from '../../src/walkthrough/walkthrough.js';
import { fuseSkipReason } from '../helpers/fuse.js';

async function walk(opts: Parameters<typeof runWalkthrough>[0] = {}) {
  const lines: string[] = [];
  const r = await runWalkthrough({ ...opts, out: (t) => lines.push(...t.split('\n')) });
  return { ...r, lines, text: lines.join('\n') };
}

const WHYS = [
  'Why: envelope encryption.',
  'Why: the grant.',
  'Why: the encryption context.',
  'Why: where the plaintext key lives.',
  'Why: XTS.',
  'Why: a stolen image.',
  'Why: the key policy.',
  'Why: revoking the grant.',
  'Why: a key disabled while mounted.',
  'Why: key rotation.',
  'Why: the envelope is a chain',
];

describe('ebsim walkthrough', () => {
  it('replays the seed, compact: every why, one line per record, every lesson as taught, within 200 lines of 100 columns', async () => {
    const canMount = fuseSkipReason() === undefined;
    const w = await walk();
    expect(w.failures).toEqual([]);
    expect(w.text).not.toContain('FAIL');
    expect(w.mounted).toBe(canMount);
    expect(w.lines.length).toBeLessThan(200);
    expect(w.lines.filter((l) => [...l].length > 100)).toEqual([]);
    for (const why of WHYS) expect(w.text).toContain(why);
    // One line per record: who, for whom, which key, which context, outcome; no JSON by default.
    expect(w.text).toMatch(/^ {2}GenerateDataKeyWithoutPlaintext +EC2 for Alice +aws\/ebs +vol-[0-9a-f]{17} +ok$/m);
    expect(w.text).toMatch(/^ {2}Decrypt +host i-[0-9a-f]{17} +aws\/ebs +vol-0{17} +AccessDeniedException$/m);
    expect(w.text).toMatch(/^ {2}Decrypt +host i-[0-9a-f]{17} +alice +vol-[0-9a-f]{17} +DisabledException$/m);
    expect(w.text).toMatch(/^ {2}Decrypt +Alice +alice +purpose=other +InvalidCiphertextException$/m);
    expect(w.text).not.toContain('"eventVersion"');
    expect(w.text).toMatch(/ok {3}each of the \d+ KMS records made as in the seed \(GenerateDataKeyWithoutPlaintext, CreateGrant,\s+Decrypt\) has every field of the seed's record/);
    // The proofs, on the real image.
    expect(w.text).toMatch(/ok {3}OpenSSL's aes-256-xts decrypts sector \d+ to the file's bytes\n {7}4096 of 4096 bytes match/);
    expect(w.text).toMatch(/ok {3}neither the marker nor the data key \(either half\) is anywhere in the backing image\n {7}read all 8 GiB/);
    expect(w.text).toMatch(/ok {3}the same plaintext in sectors \d+ and \d+ is different ciphertext/);
    if (canMount) expect(w.text).toMatch(/filefrag -v: hello\.txt in sector \d+ \(\d+\.\d MiB into the image\)/);
    // The lessons.
    expect(w.text).toContain("ok   KMS's reason (ebsim --explain): the aws/ebs key policy's kms:ViaService condition");
    expect(w.text).toContain('ok   the write made after DisableKey is on disk, encrypted (OpenSSL decrypts it)');
    expect(w.text).toContain("ok   Mallory's Decrypt of the data key is refused with InvalidCiphertextException");
    expect(w.text).toMatch(/^ {2}Decrypt +Mallory +- +vol-[0-9a-f]{17} +InvalidCiphertextException$/m);
    // The envelope view finds the grant revoked in step 7, and the record that did it.
    expect(w.text).toMatch(/✗ the grant was revoked: the next mount fails with AccessDeniedException\n +broken by RevokeGrant \(Alice, /);
    expect(w.text).toContain('ok   the next mount (its Decrypt) while the key is disabled is refused with DisabledException');
    // The lessons beyond the seed are named, each run on its own (--lesson), not in this run.
    expect(w.text.replace(/\s+/g, ' ')).toContain('More lessons, each on its own: ebsim walkthrough --lesson snapshot-context|restore-reencrypts|stop-start|share-snapshot|all');
    expect(w.text).not.toContain('Why: stop and start.');
  }, 180_000);

  it('--full prints each record as JSON beside the seed\'s, the seed\'s own records once each', async () => {
    const w = await walk({ full: true, inProcess: true });
    expect(w.failures).toEqual([]);
    const prose = w.text.replace(/\n +/g, ' ');
    expect(w.text).toContain("beside the seed's CreateGrant record: every field of the seed is here");
    expect(w.text).toContain('"eventVersion"');
    expect(w.text.match(/The seed's Decrypt record \(AWS, 2014\)/g)).toHaveLength(1);
    expect(w.text).toContain("(the seed's Decrypt record is shown above)");
    // AWS's own words for the refusals.
    expect(prose).toMatch(/AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role\/aws:ec2-infrastructure\/i-[0-9a-f]{17} is not authorized to perform: kms:Decrypt/);
    expect(prose).toMatch(/AccessDeniedException: User: arn:aws:iam::123456789012:user\/Alice is not authorized to perform: kms:Decrypt on resource: \S+ because no resource-based policy allows the kms:Decrypt action/);
  }, 180_000);

  it('--step pauses after each explanation, before the step runs', async () => {
    const lines: string[] = [];
    const lastBeforePause: string[] = [];
    const r = await runWalkthrough({
      step: true, inProcess: true, out: (t) => lines.push(...t.split('\n')),
      // What the reader sees at the pause: everything since the step's title.
      ask: async () => {
        let title = lines.length - 1;
        while (title > 0 && !lines[title]!.startsWith('== ')) title--;
        lastBeforePause.push(lines.slice(title).join('\n'));
      },
    });
    expect(r.failures).toEqual([]);
    expect(lastBeforePause).toHaveLength(WHYS.length);
    // Each pause shows a title and its why, and nothing after it: no record, no check.
    lastBeforePause.forEach((shown, i) => {
      expect(shown).toMatch(/^== \d+\. /);
      expect(shown).toContain(WHYS[i]);
      expect(shown).not.toMatch(/^ {2}(ok|FAIL|trail record)/m);
    });
  }, 180_000);

  it('without a mount (in-process), the proofs and lessons still hold', async () => {
    const w = await walk({ inProcess: true });
    expect(w.failures).toEqual([]);
    expect(w.mounted).toBe(false);
    expect(w.text).toContain('A real mount is not possible here (asked to serve the volumes in this process)');
    expect(w.text).toMatch(/ok {3}sector 33000 on disk is ciphertext/);
  }, 180_000);
});
