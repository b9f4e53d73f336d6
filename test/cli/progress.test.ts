// The CLI's progress bars: drawn on stderr only when it is a terminal (never under CI), only for a
// copy that lasts, and their line ended; through `ebsim ec2`, a copy that ends in error is noted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { progressBar, terminalProgress } from '../../src/cli/progress.js';
import { makeHome, type TestHome } from '../helpers/home.js';
import { ebsimIn } from '../helpers/cli.js';

function fakeTerminal(isTTY: boolean) {
  const written: string[] = [];
  return { written, stream: { isTTY, write: (t: string) => written.push(t) } };
}

describe('terminalProgress', () => {
  it('draws nothing into a pipe, or under CI', () => {
    for (const [tty, env] of [[false, {}], [true, { CI: 'true' }]] as const) {
      const t = fakeTerminal(tty);
      const bar = terminalProgress({ stream: t.stream, env });
      expect(bar.update).toBeUndefined();
      bar.end();
      expect(t.written).toEqual([]);
    }
  });

  it('on a terminal: a labelled bar rewritten in place, its line ended once', () => {
    const t = fakeTerminal(true);
    const bar = terminalProgress({ stream: t.stream, env: {} });
    bar.update!(512 * 2 ** 20, 1024 * 2 ** 20, 'snap-0123');
    bar.update!(1024 * 2 ** 20, 1024 * 2 ** 20, 'snap-0123');
    bar.end();
    bar.end();
    expect(t.written).toEqual([`\rsnap-0123 ${progressBar(512 * 2 ** 20, 1024 * 2 ** 20)}`, `\rsnap-0123 ${progressBar(2 ** 30, 2 ** 30)}`, '\n']);
    expect(t.written[0]).toContain('[###############...............]  50%  512/1024 MiB');
  });

  it('a copy that ends before `after` ms draws nothing; one that lasts does', () => {
    let clock = 0;
    const t = fakeTerminal(true);
    const bar = terminalProgress({ stream: t.stream, env: {}, after: 300, now: () => clock });
    bar.update!(1, 10);
    expect(t.written).toEqual([]);
    clock = 301;
    bar.update!(2, 10);
    bar.end();
    expect(t.written).toHaveLength(2);
  });
});

describe('ebsim ec2 copy-snapshot', () => {
  let h: TestHome;
  beforeAll(() => (h = makeHome('ebsim-cli-progress-')));
  afterAll(() => h.cleanup());

  it('a copy KMS refuses: the AWS CLI\'s answer on stdout, and a note on stderr saying why it is in error', async () => {
    const alice = h.app.as('Alice');
    const vol = h.app.ec2().createVolume(alice, { Size: 1, Encrypted: true }).VolumeId as string;
    const snap = (h.app.ec2().createSnapshot(alice, { VolumeId: vol }) as { SnapshotId: string }).SnapshotId;
    const key = h.app.kms().call(alice, 'CreateKey', {}).KeyMetadata as { Arn: string; KeyId: string };
    h.app.kms().call(alice, 'DisableKey', { KeyId: key.KeyId });
    const r = await ebsimIn(h.dir, ['ec2', 'copy-snapshot', '--source-snapshot-id', snap, '--encrypted', '--kms-key-id', key.Arn]);
    expect(r.code).toBe(0);
    const id = r.json().SnapshotId as string;
    expect(r.stderr).toMatch(new RegExp(`^ebsim: note: ${id} is in state error: The KMS call GenerateDataKeyWithoutPlaintext failed: \\(DisabledException\\) `));
  });
});
