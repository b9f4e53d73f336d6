// --output json/text/table and --query compared with the AWS CLI's own formatter (Debian's
// awscli, the Python that /usr/bin/aws runs) on the same JSON: each shape below goes through
// both, and the bytes must be the same.
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { render, type OutputFormat } from '../../src/cli/output.js';
import { textWidth } from '../../src/cli/text-width.js';

const AWSCLI_PY = '/usr/lib/python3/dist-packages/awscli/formatter.py';
const HAVE_AWSCLI = existsSync(AWSCLI_PY) && existsSync('/usr/bin/python3');

// Feeds each case's JSON to awscli.formatter.get_formatter(format) as the AWS CLI does after a
// call (--color off, so no ANSI codes; stdout not a terminal, so 80 columns), all in one Python
// process (importing awscli takes about a second).
const PY = `
import sys, io, json, argparse
sys.path.insert(0, '/usr/lib/python3/dist-packages')
import jmespath
from awscli.formatter import get_formatter
outs = []
for fmt, title, q, data in json.load(sys.stdin):
    args = argparse.Namespace(query=jmespath.compile(q) if q else None, color='off')
    buf = io.StringIO()
    get_formatter(fmt, args)(title, data, buf)
    outs.append(buf.getvalue())
json.dump(outs, sys.stdout)
`;

type Case = [OutputFormat, string, string, unknown];
const cases: Case[] = [];
let awsOutputs: string[] | undefined;

/** Registers a case; its AWS CLI output is read after every case is known (see beforeAll). */
function awsCli(value: unknown, format: OutputFormat, title: string, expression?: string): () => string {
  const i = cases.push([format, title, expression ?? '', value]) - 1;
  return () => awsOutputs![i]!;
}

function runAwsCli(): string[] {
  const r = spawnSync('/usr/bin/python3', ['-c', PY], { input: JSON.stringify(cases), encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as string[];
}

function ebsim(value: unknown, format: OutputFormat, title: string, expression?: string): string {
  const text = render(value, format, expression, { title, width: 80 });
  return text === undefined ? '' : `${text}\n`;
}

const ARN = (id: string) => `arn:aws:kms:us-east-1:123456789012:key/${id}`;
const KEY_METADATA = {
  KeyMetadata: {
    AWSAccountId: '123456789012', KeyId: '1234abcd-12ab-34cd-56ef-1234567890ab', Arn: ARN('1234abcd-12ab-34cd-56ef-1234567890ab'),
    CreationDate: '2026-11-29T11:34:08.123000+00:00', Enabled: true, Description: '', KeyUsage: 'ENCRYPT_DECRYPT', KeyState: 'Enabled',
    Origin: 'AWS_KMS', KeyManager: 'CUSTOMER', CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT', KeySpec: 'SYMMETRIC_DEFAULT',
    EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'], MultiRegion: false, CurrentKeyMaterialId: 'a'.repeat(64),
  },
};
const VOLUMES = {
  Volumes: [
    { VolumeId: 'vol-0123456789abcdef0', Size: 8, State: 'in-use', Encrypted: true, KmsKeyId: ARN('k1'), AvailabilityZone: 'us-east-1a',
      Attachments: [{ InstanceId: 'i-0123456789abcdef0', Device: '/dev/xvda', State: 'attached', DeleteOnTermination: true }],
      Tags: [{ Key: 'Name', Value: 'root' }, { Key: 'team', Value: 'blue' }] },
    { VolumeId: 'vol-0fedcba9876543210', Size: 100, State: 'available', Encrypted: false, AvailabilityZone: 'us-east-1b', Attachments: [] },
  ],
};
const SHAPES: Record<string, { value: unknown; title: string }> = {
  'list-keys': { title: 'ListKeys', value: { Keys: [{ KeyId: 'k1', KeyArn: ARN('k1') }, { KeyId: 'k2', KeyArn: ARN('k2') }], Truncated: false } },
  'describe-key (wider than 80 columns: turned on its side)': { title: 'DescribeKey', value: KEY_METADATA },
  'describe-volumes (nested lists of objects, a missing key)': { title: 'DescribeVolumes', value: VOLUMES },
  'get-key-policy (one long scalar)': { title: 'GetKeyPolicy', value: { PolicyName: 'default', Policy: '{\n  "Version" : "2012-10-17"\n}' } },
  'list-aliases (a key absent from some items)': { title: 'ListAliases', value: { Aliases: [{ AliasName: 'alias/aws/ebs', AliasArn: 'arn:aws:kms:us-east-1:123456789012:alias/aws/ebs', TargetKeyId: 'k1' }, { AliasName: 'alias/x', AliasArn: 'arn:aws:kms:us-east-1:123456789012:alias/x' }] } },
  'list-grants (constraints map, operations list)': { title: 'ListGrants', value: { Grants: [{ GrantId: 'g'.repeat(64), Operations: ['Decrypt', 'CreateGrant'], Constraints: { EncryptionContextSubset: { 'aws:ebs:id': 'vol-0123456789abcdef0' } }, GranteePrincipal: 'arn:aws:iam::123456789012:role/ec2' }], Truncated: false } },
  'wide and ambiguous characters': { title: 'Tags', value: { Tags: [{ TagKey: 'チーム', TagValue: 'α×β' }, { TagKey: 'x', TagValue: 'y' }] } },
  'list of lists and scalars': { title: 'Mixed', value: { Rows: [[1, 2, 3], [4, 5, 6]], Names: ['a', 'b'], Count: 0, Nothing: null } },
  'a single scalar key': { title: 'Enc', value: { CiphertextBlob: 'AQIDBA==' } },
  // User map keys (encryption contexts) may be any name: one item's "constructor" is no other item's inherited member.
  'items keyed by user names (Object.prototype members)': { title: 'Contexts', value: { Contexts: [{ constructor: 'blue', toString: 'x' }, { team: 'red' }] } },
  // 18 columns shared 5:7 gives 7.5 and 10.5: Python rounds halves to even (8, 10), not up.
  'columns scaled to a half (Python rounds halves to even)': { title: 'ListKeyRotations', value: { A: 'x', BBB: 'yyy' } },
};

describe.skipIf(!HAVE_AWSCLI)('output as the AWS CLI prints it, byte for byte against awscli.formatter', { timeout: 60_000 }, () => {
  beforeAll(() => {
    awsOutputs = runAwsCli();
  });
  for (const [name, { value, title }] of Object.entries(SHAPES)) {
    for (const format of ['table', 'text', 'json'] as const) {
      const aws = awsCli(value, format, title);
      it(`${name}: --output ${format}`, () => {
        const expected = aws();
        expect(expected.length).toBeGreaterThan(0);
        expect(ebsim(value, format, title)).toBe(expected);
      });
    }
  }

  const QUERIES: [string, unknown, string][] = [
    ['Keys[].KeyId', SHAPES['list-keys']!.value, 'ListKeys'],
    ['Keys[0].KeyArn', SHAPES['list-keys']!.value, 'ListKeys'],
    ['Volumes[?State==`in-use`].{Id:VolumeId,Key:KmsKeyId,Device:Attachments[0].Device}', VOLUMES, 'DescribeVolumes'],
    ['length(Volumes[?Encrypted])', VOLUMES, 'DescribeVolumes'],
    ['sort_by(Volumes, &Size)[-1].VolumeId', VOLUMES, 'DescribeVolumes'],
    ['Volumes[].Tags[?Key==`team`].Value | []', VOLUMES, 'DescribeVolumes'],
    ['Volumes[].[VolumeId, Size, Encrypted]', VOLUMES, 'DescribeVolumes'],
    ['KeyMetadata.{Arn: Arn, State: KeyState, Algorithms: EncryptionAlgorithms}', KEY_METADATA, 'DescribeKey'],
    ['KeyMetadata.Missing', KEY_METADATA, 'DescribeKey'],
  ];
  for (const [q, value, title] of QUERIES) {
    for (const format of ['json', 'text', 'table'] as const) {
      const aws = awsCli(value, format, title, q);
      it(`--query '${q}' --output ${format}`, () => {
        expect(ebsim(value, format, title, q)).toBe(aws());
      });
    }
  }

  const empties = (['json', 'text', 'table'] as const).map((format) => [format, awsCli({}, format, 'CreateAlias')] as const);
  it('an empty response prints nothing in every format, as create-alias and disable-key', () => {
    for (const [format, aws] of empties) {
      expect(aws()).toBe('');
      expect(ebsim({}, format, 'CreateAlias')).toBe('');
    }
  });
});

describe('output without the AWS CLI at hand', () => {
  it('a Date prints as the AWS CLI v2 prints timestamps (Python isoformat, +00:00)', () => {
    expect(render({ T: new Date(Date.UTC(2026, 10, 29, 11, 34, 8, 123)) }, 'json')).toContain('"2026-11-29T11:34:08.123000+00:00"');
    expect(render({ T: new Date(Date.UTC(2026, 10, 29, 11, 34, 8)) }, 'json')).toContain('"2026-11-29T11:34:08+00:00"');
  });
  it('blobs print as base64, and --query sees them so', () => {
    expect(render({ B: new Uint8Array([1, 2, 3, 4]) }, 'text', 'B')).toBe('AQIDBA==');
  });
  it('counts East Asian wide and ambiguous characters as two columns', () => {
    expect(textWidth('abc')).toBe(3);
    expect(textWidth('チーム')).toBe(6);
    expect(textWidth('×')).toBe(2);
  });
});
