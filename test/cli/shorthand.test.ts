// The AWS CLI's shorthand syntax: parsed as the AWS CLI's own parser parses it (cross-checked
// against awscli.shorthand on this machine, errors pointed at the same place), fitted to the
// declared members, and used by `ebsim ec2 modify-snapshot-attribute --create-volume-permission`,
// `run-instances --block-device-mappings` and `kms create-grant --constraints`, JSON still accepted.
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SHORTHAND_DEPTH, parseShorthand, shapeShorthand, ShorthandSyntaxError, structureFromShorthand } from '../../src/cli/shorthand.js';
import { EC2_OPERATIONS } from '../../src/ec2/operations/index.js';
import { initHome } from '../../src/app/ebsim.js';
import { ebsimIn } from '../helpers/cli.js';
import { makeHome, type TestHome } from '../helpers/home.js';

const CASES = [
  'Add=[{UserId=123456789012}]',
  'Remove=[{UserId=123456789012},{Group=all}]',
  'Add=[{UserId=1},{UserId=2}],Remove=[{Group=all}]',
  'Key=Name,Value=my instance',
  'Key=a,Value=b=c',
  'Values=a,b,c,Next=d',
  'ContextKeyName=aws:SourceIp,ContextKeyValues=10.0.0.1,10.0.0.2,ContextKeyType=ipList',
  'DeviceName=/dev/sdb,Ebs={VolumeSize=8,Encrypted=true,KmsKeyId=alias/ebs-key}',
  'EncryptionContextSubset={tenant=blue,app=x}',
  "A='quoted, with comma',B=\"double \\\" quote\"",
  'A=a\\,b,B=c',
  'A = spaced , B = x',
  'A=[],B={}',
  'A=[[a,b],[c]]',
  'A=',
  'Tags=[{Key=k,Value=v}],ResourceType=volume',
  // malformed
  'Add=[{UserId]',
  'Add=[{UserId=1}',
  'Add=[{UserId=1,UserId=2}]',
  'A=1,A=2',
  'nokey',
  'A=[a,b',
  'A={k=v',
  "A='unclosed",
  ',A=1',
];

/** What awscli.shorthand.ShorthandParser makes of each case: the value, or the error's kind, expected/actual and index. */
function awsCliParses(cases: string[]): unknown[] {
  const script = `
import json, sys
from awscli.shorthand import ShorthandParser, ShorthandParseSyntaxError, DuplicateKeyInObjectError
out = []
for c in json.load(sys.stdin):
    try:
        out.append({'value': ShorthandParser().parse(c)})
    except ShorthandParseSyntaxError as e:
        out.append({'syntax': [e.expected, e.actual, e.index]})
    except DuplicateKeyInObjectError as e:
        out.append({'duplicate': [e.key, e.index]})
print(json.dumps(out))
`;
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script], { input: JSON.stringify(cases), encoding: 'utf8' })) as unknown[];
}

function ours(c: string): unknown {
  try {
    return { value: JSON.parse(JSON.stringify(parseShorthand(c))) };
  } catch (err) {
    if (!(err instanceof ShorthandSyntaxError)) throw err;
    const dup = /^Second instance of key "(.*)" encountered/.exec(err.message);
    const caret = err.message.split('\n').find((l) => /^ *\^/.test(l))!.indexOf('^');
    if (dup) return { duplicate: [dup[1], caret] };
    const m = /^Expected: '(.*)', received: '(.*)' for input:/.exec(err.message)!;
    return { syntax: [m[1], m[2], caret] };
  }
}

const hasAwsCli = (() => {
  try {
    return existsSync('/usr/bin/python3') && execFileSync('/usr/bin/python3', ['-c', 'import awscli.shorthand'], { stdio: 'ignore' }) !== undefined;
  } catch {
    return false;
  }
})();

describe('parseShorthand', () => {
  it.skipIf(!hasAwsCli)('agrees with the AWS CLI\'s own parser (awscli.shorthand) on every case, errors pointed at the same place', () => {
    const theirs = awsCliParses(CASES);
    CASES.forEach((c, i) => expect(ours(c), c).toEqual(theirs[i]));
  });

  it('values, lists and structures as the AWS CLI user guide describes them (pinned without the AWS CLI)', () => {
    expect(ours('Add=[{UserId=123456789012}]')).toEqual({ value: { Add: [{ UserId: '123456789012' }] } });
    expect(ours('Values=a,b,c,Next=d')).toEqual({ value: { Values: ['a', 'b', 'c'], Next: 'd' } });
    expect(ours('A=a\\,b,B=c')).toEqual({ value: { A: 'a,b', B: 'c' } });
    expect(ours('Add=[{UserId]')).toEqual({ syntax: ['=', ']', 12] });
  });

  it('draws the CLI\'s message: what was expected, what came, and a caret under it', () => {
    expect(() => parseShorthand('Add=[{UserId]')).toThrow("Expected: '=', received: ']' for input:\nAdd=[{UserId]\n            ^");
    expect(() => parseShorthand('A=1,A=2')).toThrow('Second instance of key "A" encountered for input:\nA=1,A=2\n    ^\nThis is often because there is a preceding "," instead of a space.');
  });

  it('refuses nesting deeper than the endpoint takes as a syntax error, never a stack overflow', () => {
    for (const deep of ['A=' + '['.repeat(100_000) + ']'.repeat(100_000), 'A=' + '{a='.repeat(100_000), 'A=[' + '{B=['.repeat(20)]) {
      let err: unknown;
      try {
        parseShorthand(deep);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ShorthandSyntaxError);
      expect((err as Error).message).toMatch(/^Nested more than \d+ levels deep for input:\n/);
    }
    // Up to the bound it parses.
    expect(parseShorthand(`A=${'['.repeat(MAX_SHORTHAND_DEPTH)}x${']'.repeat(MAX_SHORTHAND_DEPTH)}`).A).toBeDefined();
    expect(() => parseShorthand(`A=${'['.repeat(MAX_SHORTHAND_DEPTH + 1)}x${']'.repeat(MAX_SHORTHAND_DEPTH + 1)}`)).toThrow(ShorthandSyntaxError);
  });

  it('reads many keys in one pass: a 1 MiB file:// value of 100,000 keys parses (each key once tried as a list value, not an error built from the whole input)', () => {
    const text = Array.from({ length: 100_000 }, (_, i) => `Key${i}=v`).join(',');
    expect(text.length).toBeGreaterThan(1_000_000);
    const v = parseShorthand(text);
    expect(Object.keys(v)).toHaveLength(100_000);
    expect(v.Key99999).toBe('v');
    // Not a speed measurement: a bound far above one pass (about a second on a loaded 2-core
    // machine) and far below the quadratic parse (about 20 s there).
  }, 10_000);

  it('keeps user keys as keys: no prototype, "__proto__" is an own key', () => {
    const v = parseShorthand('EncryptionContextSubset={__proto__=x,constructor=y}') as { EncryptionContextSubset: Record<string, string> };
    expect(Object.getPrototypeOf(v.EncryptionContextSubset)).toBeNull();
    expect(Object.keys(v.EncryptionContextSubset)).toEqual(['__proto__', 'constructor']);
  });
});

describe('shapeShorthand: fitted to the declared members', () => {
  const runInstances = EC2_OPERATIONS.find((o) => o.name === 'RunInstances')!;
  const modify = EC2_OPERATIONS.find((o) => o.name === 'ModifySnapshotAttribute')!;

  it('a block device mapping with a nested Ebs structure: integers and booleans converted', () => {
    const bdm = runInstances.input.BlockDeviceMappings!;
    expect(shapeShorthand(parseShorthand('DeviceName=/dev/sdb,Ebs={VolumeSize=8,Encrypted=true}'), (bdm as { member: never }).member, 'BlockDeviceMappings[0]')).toEqual({
      DeviceName: '/dev/sdb', Ebs: { VolumeSize: 8, Encrypted: true },
    });
  });

  it('a lone structure where a list is declared is a list of one; an undeclared key is refused in botocore\'s words', () => {
    const cvp = modify.input.CreateVolumePermission!;
    expect(structureFromShorthand('create-volume-permission', 'Add={UserId=111122223333}', (cvp as { members: never }).members, 'CreateVolumePermission')).toEqual({ Add: [{ UserId: '111122223333' }] });
    expect(() => structureFromShorthand('create-volume-permission', 'Bogus=[{UserId=1}]', (cvp as { members: never }).members, 'CreateVolumePermission')).toThrow(
      'Parameter validation failed:\nUnknown parameter in CreateVolumePermission: "Bogus", must be one of: Add, Remove',
    );
    expect(() => structureFromShorthand('create-volume-permission', 'Add=[{User=1}]', (cvp as { members: never }).members, 'CreateVolumePermission')).toThrow(
      'Unknown parameter in CreateVolumePermission.Add[0]: "User", must be one of: UserId, Group',
    );
  });
});

describe('ebsim ec2 and kms options in shorthand', () => {
  const A = '123456789012';
  const B = '111122223333';
  let h: TestHome;
  let snapshotId: string;
  const run = (...args: string[]) => ebsimIn(h.dir, args);
  const shared = async () => ((await run('ec2', 'describe-snapshot-attribute', '--snapshot-id', snapshotId, '--attribute', 'createVolumePermission')).json().CreateVolumePermissions as { UserId?: string }[]).map((p) => p.UserId);

  beforeAll(async () => {
    h = makeHome('ebsim-h3-shorthand-');
    initHome(h.dir, B);
    const v = (await run('ec2', 'create-volume', '--size', '1', '--availability-zone', 'us-east-1a')).json();
    snapshotId = (await run('ec2', 'create-snapshot', '--volume-id', v.VolumeId as string)).json().SnapshotId as string;
  }, 120_000);
  afterAll(() => h.cleanup());

  it('modify-snapshot-attribute --create-volume-permission Add=[{UserId=…}] shares, Remove=[{UserId=…}] unshares; JSON still works', async () => {
    const add = await run('ec2', 'modify-snapshot-attribute', '--snapshot-id', snapshotId, '--attribute', 'createVolumePermission', '--create-volume-permission', `Add=[{UserId=${B}}]`);
    expect(add.code, add.stderr).toBe(0);
    expect(await shared()).toEqual([B]);
    const remove = await run('ec2', 'modify-snapshot-attribute', '--snapshot-id', snapshotId, '--attribute', 'createVolumePermission', '--create-volume-permission', `Remove=[{UserId=${B}}]`);
    expect(remove.code, remove.stderr).toBe(0);
    expect(await shared()).toEqual([]);
    const json = await run('ec2', 'modify-snapshot-attribute', '--snapshot-id', snapshotId, '--attribute', 'createVolumePermission', '--create-volume-permission', JSON.stringify({ Add: [{ UserId: B }] }));
    expect(json.code, json.stderr).toBe(0);
    expect(await shared()).toEqual([B]);
  });

  it('malformed shorthand is a usage error in the CLI\'s words, and nothing is changed', async () => {
    const r = await run('ec2', 'modify-snapshot-attribute', '--snapshot-id', snapshotId, '--attribute', 'createVolumePermission', '--create-volume-permission', `Remove=[{UserId]`);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("Error parsing parameter '--create-volume-permission': Expected: '=', received: ']' for input:\nRemove=[{UserId]\n               ^");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(await shared()).toEqual([B]);
  });

  it('JSON that does not parse, or a list where a structure is declared, is refused in the AWS CLI\'s words; a list of structures reads shorthand from file:// too', async () => {
    const cvp = (value: string) => run('ec2', 'modify-snapshot-attribute', '--snapshot-id', snapshotId, '--attribute', 'createVolumePermission', '--create-volume-permission', value);
    const list = await cvp('[{"Add":[]}]');
    expect(list.code).toBe(252);
    expect(list.stderr).toContain("ebsim: Error parsing parameter '--create-volume-permission': Invalid JSON:\n[{\"Add\":[]}]");
    const bad = await cvp('{"Add":');
    expect(bad.code).toBe(252);
    expect(bad.stderr).toMatch(/^ebsim: Error parsing parameter '--create-volume-permission': Invalid JSON: .+\nJSON received: \{"Add":/);
    const bdm = (value: string) => run('ec2', 'run-instances', '--image-id', 'ami-0abcdef1234567890', '--instance-type', 't3.micro', '--block-device-mappings', value);
    const badList = await bdm('[{"DeviceName":');
    expect(badList.code).toBe(252);
    expect(badList.stderr).toMatch(/^ebsim: Error parsing parameter '--block-device-mappings': Invalid JSON: .+\nJSON received: \[\{"DeviceName":/);
    const file = join(h.dir, 'bdm-r3.txt');
    writeFileSync(file, 'DeviceName=/dev/sdc,Ebs={VolumeSize=1}\n');
    const fromFile = await bdm(`file://${file}`);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(await shared()).toEqual([B]);
  });

  it('options nested deeper than the endpoint takes, in shorthand or JSON, are usage errors, not internal errors, and change nothing', async () => {
    const deepJson = (n: number) => '{"Add":[' + '{"UserId":'.repeat(n) + '"1"' + '}'.repeat(n) + ']}';
    for (const value of ['Add=' + '['.repeat(50_000) + ']'.repeat(50_000), deepJson(40), deepJson(200_000)]) {
      const r = await run('ec2', 'modify-snapshot-attribute', '--snapshot-id', snapshotId, '--attribute', 'createVolumePermission', '--create-volume-permission', value);
      expect(r.code, r.stderr.slice(0, 300)).toBe(252);
      expect(r.stderr).toMatch(/^ebsim: Error parsing parameter '--create-volume-permission': Nested more than \d+ levels deep/);
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    }
    // A map option in JSON too (kms encrypt --encryption-context).
    const keyId = (await run('kms', 'create-key')).json().KeyMetadata.KeyId as string;
    const ctx = await run('kms', 'encrypt', '--key-id', keyId, '--plaintext', 'aGk=', '--encryption-context', '{"a":' + '['.repeat(40) + ']'.repeat(40) + '}');
    expect(ctx.code, ctx.stderr.slice(0, 300)).toBe(252);
    expect(ctx.stderr).toMatch(/^ebsim: Error parsing parameter '--encryption-context': Nested more than \d+ levels deep/);
    expect(await shared()).toEqual([B]);
  });

  it('run-instances --block-device-mappings DeviceName=…,Ebs={VolumeSize=…,Encrypted=true} makes the encrypted volume', async () => {
    const r = await run('ec2', 'run-instances', '--image-id', 'ami-0abcdef1234567890', '--instance-type', 't3.micro', '--block-device-mappings', 'DeviceName=/dev/sdb,Ebs={VolumeSize=2,Encrypted=true}');
    expect(r.code, r.stderr).toBe(0);
    const instanceId = (r.json().Instances as { InstanceId: string }[])[0]!.InstanceId;
    const vols = (await run('ec2', 'describe-volumes')).json().Volumes as { Size: number; Encrypted: boolean; Attachments: { InstanceId: string; Device: string }[] }[];
    const v = vols.find((x) => x.Attachments.some((a) => a.InstanceId === instanceId && a.Device === '/dev/sdb'));
    expect(v).toMatchObject({ Size: 2, Encrypted: true });
  });

  it('kms create-grant --constraints EncryptionContextSubset={k=v,k2=v2} (and JSON) constrain the grant', async () => {
    const keyId = (await run('kms', 'create-key')).json().KeyMetadata.KeyId as string;
    const grantee = `arn:aws:iam::${A}:root`; // a grant names a principal that exists
    const a = await run('kms', 'create-grant', '--key-id', keyId, '--grantee-principal', grantee, '--operations', 'Decrypt', '--constraints', 'EncryptionContextSubset={tenant=blue,app=x}');
    expect(a.code, a.stderr).toBe(0);
    const b = await run('kms', 'create-grant', '--key-id', keyId, '--grantee-principal', grantee, '--operations', 'Decrypt', '--constraints', '{"EncryptionContextEquals":{"tenant":"red"}}');
    expect(b.code, b.stderr).toBe(0);
    const grants = (await run('kms', 'list-grants', '--key-id', keyId)).json().Grants as { Constraints: unknown }[];
    expect(grants.map((g) => g.Constraints)).toEqual([{ EncryptionContextSubset: { tenant: 'blue', app: 'x' } }, { EncryptionContextEquals: { tenant: 'red' } }]);
  });
});
