// Flags that count something (serve --port and --workers, volume read/write --offset and
// --length, trail retention --days and --max-records) go through one check: text, a negative
// number, a fraction or a number past the bound is bad usage (exit 252, as yargs's own refusals),
// said in one shape that repeats what was typed, before anything listens, forks or is read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { EXIT, main } from '../../src/cli/main.js';
import { integerFlag } from '../../src/cli/integer-flag.js';
import { maxWorkers } from '../../src/server/cluster.js';

let home: string;
let volumeId: string;
let instanceId: string;

async function ebsim(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main([...args, '--home', home], { out: (t) => out.push(t), err: (t) => err.push(t), columns: undefined });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'ebsim-h23-integer-flags-'));
  expect((await ebsim('init')).code).toBe(0);
  const made = await ebsim('ec2', 'create-volume', '--size', '1');
  expect(made.code, made.stderr).toBe(0);
  volumeId = (JSON.parse(made.stdout) as { VolumeId: string }).VolumeId;
  const run = await ebsim('ec2', 'run-instances', '--image-id', 'ami-0123456789abcdef0', '--instance-type', 't3.micro');
  expect(run.code, run.stderr).toBe(0);
  instanceId = (JSON.parse(run.stdout) as { Instances: { InstanceId: string }[] }).Instances[0]!.InstanceId;
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

const MAX = Number.MAX_SAFE_INTEGER;
const READ_MAX = 256 * 2 ** 20;
/** flag → the command line around it, the bound's words, and a value just past its maximum. */
const FLAGS: Record<string, { args: (v: string) => string[]; bounds: string; tooLarge: string }> = {
  port: { args: (v) => ['serve', '--port', v, '--workers', '1'], bounds: 'from 0 to 65535', tooLarge: '65536' },
  workers: { args: (v) => ['serve', '--port', '0', '--workers', v], bounds: `of processes from 1 to ${maxWorkers()} (4 per core, at least 16)`, tooLarge: String(maxWorkers() + 1) },
  offset: { args: (v) => ['volume', 'read', volumeId, '--offset', v, '--length', '1'], bounds: `of bytes from 0 to ${MAX}`, tooLarge: String(MAX + 1) },
  'offset (write)': { args: (v) => ['volume', 'write', volumeId, '--offset', v, '--data', 'aGk='], bounds: `of bytes from 0 to ${MAX}`, tooLarge: '99999999999999999999' },
  length: { args: (v) => ['volume', 'read', volumeId, '--length', v], bounds: `of bytes from 0 to ${READ_MAX} (what one read returns: read in parts, or use ebsim volume export)`, tooLarge: String(READ_MAX + 1) },
  days: { args: (v) => ['trail', 'retention', '--days', v], bounds: 'of days from 1 to 36500', tooLarge: '36501' },
  'max-records': { args: (v) => ['trail', 'retention', '--max-records', v], bounds: `from 0 to ${MAX} (0: no cap)`, tooLarge: String(MAX + 1) },
};

describe('integer flags: one check, one message shape, exit 252', () => {
  for (const [name, f] of Object.entries(FLAGS)) {
    const flag = name.split(' ')[0]!;
    it(`--${name}: text, negative, fraction, exponent, hex, empty and too large are bad usage`, async () => {
      for (const bad of ['many', '-1', '2.5', '1e3', '0x10', '', ' ', f.tooLarge]) {
        const r = await ebsim(...f.args(bad));
        const shown = bad.trim() === '' ? (bad === '' ? '""' : bad) : bad;
        expect([r.code, r.stderr, r.stdout], `--${flag} ${JSON.stringify(bad)}`).toEqual([
          EXIT.usage,
          `ebsim: --${flag} must be a whole number ${f.bounds}, not ${shown}\nTry 'ebsim --help'.`,
          '',
        ]);
      }
    });
  }

  it('values within the bounds are taken (a read at --offset 0 of --length 2, a retention of 30 days and no cap)', async () => {
    const read = await ebsim('volume', 'read', volumeId, '--offset', '0', '--length', '2', '--instance', instanceId);
    expect(read.code, read.stderr).toBe(0);
    expect(JSON.parse(read.stdout)).toMatchObject({ Offset: 0, Length: 2 });
    const kept = await ebsim('trail', 'retention', '--days', '30', '--max-records', '0');
    expect(kept.code, kept.stderr).toBe(0);
    expect(JSON.parse(kept.stdout)).toMatchObject({ RetentionDays: 30, MaxRecords: null });
  });

  it('the checker itself: digits only, within bounds; a repeated flag is named as given', () => {
    expect(integerFlag('n', '42', { min: 0, max: 100 })).toBe(42);
    expect(integerFlag('n', ' 7 ', { min: 0, max: 100 })).toBe(7);
    expect(integerFlag('n', 5, { min: 0, max: 100 })).toBe(5); // a default given as a number
    expect(() => integerFlag('n', ['1', '2'], { min: 0, max: 100 })).toThrow('--n must be a whole number from 0 to 100, not 1 2');
    expect(() => integerFlag('n', 'NaN', { min: 0, max: 100 })).toThrow('not NaN');
    expect(() => integerFlag('n', 'Infinity', { min: 0, max: 100 })).toThrow('not Infinity');
  });
});
