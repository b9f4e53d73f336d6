// `ebsim kms …` beside the real AWS CLI v2 (/usr/bin/aws against `ebsim serve` on the same home):
// the same calls print the same bytes in json, text and table, with and without --query, and
// empty responses print nothing in both.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { aws, newHome, removeHome, spawnServe } from '../server/helpers.js';
import { ebsimIn } from '../helpers/cli.js';

const HAVE_AWS = existsSync('/usr/bin/aws');
let home: string;
let server: Awaited<ReturnType<typeof spawnServe>>;
let keyId = '';

async function both(...args: string[]): Promise<{ aws: string; ebsim: string }> {
  const a = await aws(server.url, home, args);
  const e = await ebsimIn(home, args);
  expect(a.code, a.stderr).toBe(0);
  expect(e.code, e.stderr).toBe(0);
  // The AWS CLI ends what it prints with a newline; ebsim's io.out adds it.
  return { aws: a.stdout, ebsim: e.stdout ? `${e.stdout}\n` : '' };
}

describe.skipIf(!HAVE_AWS)('ebsim prints what the AWS CLI prints', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    home = newHome('ebsim-h16-compare-');
    server = await spawnServe(home);
    keyId = (await ebsimIn(home, ['kms', 'create-key', '--description', 'compare'])).json().KeyMetadata.KeyId;
    await ebsimIn(home, ['kms', 'create-key', '--description', 'second']);
  });
  afterAll(async () => {
    if (server) await server.stop();
    if (home) removeHome(home);
  });

  it('create-alias and disable-key print nothing, in every format', async () => {
    // Each makes its own alias (the second of one name would be AlreadyExistsException).
    const a = await aws(server.url, home, ['kms', 'create-alias', '--alias-name', 'alias/by-aws', '--target-key-id', keyId]);
    const e = await ebsimIn(home, ['kms', 'create-alias', '--alias-name', 'alias/compare', '--target-key-id', keyId]);
    expect([a.code, a.stdout, e.code, e.stdout]).toEqual([0, '', 0, '']);
    for (const output of ['json', 'text', 'table']) {
      const d = await both('kms', 'disable-key', '--key-id', keyId, '--output', output);
      expect(d).toEqual({ aws: '', ebsim: '' });
    }
    await both('kms', 'enable-key', '--key-id', keyId);
  });

  for (const output of ['json', 'text', 'table']) {
    it(`list-keys --output ${output}: every page, no Truncated flag`, async () => {
      const r = await both('kms', 'list-keys', '--output', output);
      expect(r.aws).toContain(keyId);
      expect(r.ebsim).toBe(r.aws);
    });
    it(`list-aliases --query 'Aliases[?TargetKeyId].[AliasName,TargetKeyId]' --output ${output}`, async () => {
      const r = await both('kms', 'list-aliases', '--query', 'Aliases[?TargetKeyId].[AliasName,TargetKeyId]', '--output', output);
      expect(r.aws).toContain('alias/compare');
      expect(r.ebsim).toBe(r.aws);
    });
    it(`describe-key --query 'KeyMetadata.{Arn:Arn,State:KeyState,Created:CreationDate,Algorithms:EncryptionAlgorithms}' --output ${output}`, async () => {
      const r = await both('kms', 'describe-key', '--key-id', 'alias/compare', '--query', 'KeyMetadata.{Arn:Arn,State:KeyState,Created:CreationDate,Algorithms:EncryptionAlgorithms}', '--output', output);
      expect(r.aws).toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00/);
      expect(r.ebsim).toBe(r.aws);
    });
  }

  it('describe-key --output table: the same table, but for members newer than awscli 2.9 knows', async () => {
    const r = await both('kms', 'describe-key', '--key-id', 'alias/compare', '--output', 'table');
    // botocore drops response members its model (2.9, 2023) lacks, such as CurrentKeyMaterialId; AWS sends it today.
    const known = r.ebsim.split('\n').filter((l) => !l.includes('CurrentKeyMaterialId')).join('\n');
    expect(r.aws).toContain('DescribeKey');
    expect(known).toBe(r.aws);
  });

  it('--limit turns paging off and prints the page with its marker, in both', async () => {
    const r = await both('kms', 'list-keys', '--limit', '1');
    expect(JSON.parse(r.aws)).toMatchObject({ Truncated: true });
    expect(r.ebsim).toBe(r.aws);
  });

  it('a bad --query is refused before any call, with exit code 252 in both', async () => {
    const a = await aws(server.url, home, ['kms', 'create-key', '--query', 'KeyMetadata.[']);
    const before = (await ebsimIn(home, ['kms', 'list-keys'])).json().Keys.length;
    const e = await ebsimIn(home, ['kms', 'create-key', '--query', 'KeyMetadata.[']);
    expect(a.code).toBe(252);
    expect(e.code).toBe(252);
    expect(a.stderr).toContain('Bad value for --query KeyMetadata.[');
    expect(e.stderr).toContain('Bad value for --query KeyMetadata.[');
    expect((await ebsimIn(home, ['kms', 'list-keys'])).json().Keys.length).toBe(before);
  });
});
