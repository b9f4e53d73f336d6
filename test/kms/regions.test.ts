// Regions (issue 14): a home holds every commercial Region of each account. Keys, aliases and
// grants belong to one Region: a key of us-east-1 does not exist in eu-west-1, by key ID ("Key
// '…' does not exist", naming the Region asked) or by ARN ("Invalid arn us-east-1", naming the
// ARN's). Each call's trail record names the Region it went to. Through the domain (app.kms(account,
// region)) and `ebsim --region` (main in-process); the HTTP endpoint's side is test/server/regions.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMERCIAL_REGIONS, isCommercialRegion } from '../../src/core/regions.js';
import type { CallContext } from '../../src/core/call-context.js';
import { initHome } from '../../src/app/ebsim.js';
import { ebsimIn } from '../helpers/cli.js';
import { makeHome, type TestHome } from '../helpers/home.js';
import { recordsOf } from '../iam/trail.js';

const ACCOUNT = '123456789012';
const EAST = 'us-east-1';
const WEST = 'eu-west-1';

let h: TestHome;
let alice: CallContext;

beforeAll(() => {
  h = makeHome('ebsim-regions-');
  alice = h.app.as('Alice');
});
afterAll(() => h.cleanup());

const as = (region: string): CallContext => ({ ...alice, region });
const call = (region: string, operation: string, params: Record<string, unknown> = {}) => h.app.kms(ACCOUNT, region).call(as(region), operation, params);
const arnIn = (region: string, keyId: string) => `arn:aws:kms:${region}:${ACCOUNT}:key/${keyId}`;

function failure(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    return { code: (err as { code: string }).code, message: (err as Error).message };
  }
  throw new Error('expected the call to fail');
}

describe('the commercial Regions', () => {
  it('are the SDK partition table\'s aws Regions: no China, GovCloud or ISO Region, no pseudo-Region', () => {
    expect(COMMERCIAL_REGIONS).toContain('us-east-1');
    expect(COMMERCIAL_REGIONS).toContain('ap-southeast-7');
    expect(new Set(COMMERCIAL_REGIONS).size).toBe(COMMERCIAL_REGIONS.length);
    for (const r of COMMERCIAL_REGIONS) expect(r).toMatch(/^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$/);
    for (const r of ['cn-north-1', 'us-gov-west-1', 'us-iso-east-1', 'aws-global', 'US-EAST-1', '']) expect(isCommercialRegion(r)).toBe(false);
  });

  it('app.kms(account, region) is one service per account and Region, the account\'s own Region by default; another Region is refused by name', () => {
    expect(h.app.kms()).toBe(h.app.kms(ACCOUNT, EAST));
    expect(h.app.kms(ACCOUNT)).toBe(h.app.kms(ACCOUNT, EAST));
    expect(h.app.kms(ACCOUNT, WEST)).not.toBe(h.app.kms(ACCOUNT, EAST));
    expect(h.app.kms(ACCOUNT, WEST)).toBe(h.app.kms(ACCOUNT, WEST));
    expect(() => h.app.kms(ACCOUNT, 'cn-north-1')).toThrow(/cn-north-1 is not a commercial AWS Region/);
    expect(h.app.as('Alice', undefined, undefined, WEST).region).toBe(WEST);
    expect(h.app.as('Alice').region).toBe(EAST);
  });
});

describe('each Region has its own keys, aliases and grants', () => {
  it('a key of us-east-1 is not found from eu-west-1: by key ID as AWS words it for the Region asked, by ARN as "Invalid arn us-east-1"', () => {
    const key = call(EAST, 'CreateKey', { Description: 'east' }).KeyMetadata as { KeyId: string; Arn: string };
    expect(key.Arn).toBe(arnIn(EAST, key.KeyId));
    expect(failure(() => call(WEST, 'DescribeKey', { KeyId: key.KeyId }))).toEqual({ code: 'NotFoundException', message: `Key '${arnIn(WEST, key.KeyId)}' does not exist` });
    expect(failure(() => call(WEST, 'DescribeKey', { KeyId: key.Arn }))).toEqual({ code: 'NotFoundException', message: `Invalid arn ${EAST}` });
    expect(failure(() => call(WEST, 'Encrypt', { KeyId: key.Arn, Plaintext: Buffer.from('x') }))).toEqual({ code: 'NotFoundException', message: `Invalid arn ${EAST}` });
    // And the other way: an ARN naming eu-west-1 sent to us-east-1.
    expect(failure(() => call(EAST, 'DescribeKey', { KeyId: arnIn(WEST, key.KeyId) }))).toEqual({ code: 'NotFoundException', message: `Invalid arn ${WEST}` });
    // A ciphertext of us-east-1's key names a key eu-west-1 does not have.
    const blob = call(EAST, 'Encrypt', { KeyId: key.KeyId, Plaintext: Buffer.from('x') }).CiphertextBlob;
    expect(failure(() => call(WEST, 'Decrypt', { CiphertextBlob: blob })).code).toBe('InvalidCiphertextException');
    expect((call(WEST, 'ListKeys').Keys as { KeyId: string }[]).map((k) => k.KeyId)).not.toContain(key.KeyId);
    expect((call(EAST, 'ListKeys').Keys as { KeyId: string }[]).map((k) => k.KeyId)).toContain(key.KeyId);
  });

  it('an alias name is per Region: the same name in two Regions, each on its own key; an alias ARN of another Region is refused', () => {
    const east = call(EAST, 'CreateKey').KeyMetadata as { KeyId: string };
    const west = call(WEST, 'CreateKey').KeyMetadata as { KeyId: string; Arn: string };
    expect(west.Arn).toBe(arnIn(WEST, west.KeyId));
    call(EAST, 'CreateAlias', { AliasName: 'alias/app', TargetKeyId: east.KeyId });
    call(WEST, 'CreateAlias', { AliasName: 'alias/app', TargetKeyId: west.KeyId });
    expect((call(EAST, 'DescribeKey', { KeyId: 'alias/app' }).KeyMetadata as { KeyId: string }).KeyId).toBe(east.KeyId);
    expect((call(WEST, 'DescribeKey', { KeyId: 'alias/app' }).KeyMetadata as { KeyId: string }).KeyId).toBe(west.KeyId);
    expect((call(WEST, 'ListAliases').Aliases as { AliasName: string; AliasArn: string }[]).find((a) => a.AliasName === 'alias/app')!.AliasArn).toBe(`arn:aws:kms:${WEST}:${ACCOUNT}:alias/app`);
    expect(failure(() => call(WEST, 'DescribeKey', { KeyId: `arn:aws:kms:${EAST}:${ACCOUNT}:alias/app` }))).toEqual({ code: 'NotFoundException', message: `Invalid arn ${EAST}` });
    // A key cannot be the target of an alias in another Region.
    expect(failure(() => call(WEST, 'CreateAlias', { AliasName: 'alias/cross', TargetKeyId: east.KeyId })).code).toBe('NotFoundException');
    // AWS managed keys are per Region too.
    const ebsEast = call(EAST, 'DescribeKey', { KeyId: 'alias/aws/ebs' }).KeyMetadata as { Arn: string };
    const ebsWest = call(WEST, 'DescribeKey', { KeyId: 'alias/aws/ebs' }).KeyMetadata as { Arn: string };
    expect(ebsEast.Arn.split(':')[3]).toBe(EAST);
    expect(ebsWest.Arn.split(':')[3]).toBe(WEST);
  });

  it('grants are per Region: listed, retired and inventoried in their key\'s Region only', () => {
    const west = call(WEST, 'CreateKey').KeyMetadata as { KeyId: string };
    const grantee = `arn:aws:iam::${ACCOUNT}:user/Alice`;
    const g = call(WEST, 'CreateGrant', { KeyId: west.KeyId, GranteePrincipal: grantee, RetiringPrincipal: grantee, Operations: ['Decrypt'] });
    const retirable = (region: string) => (call(region, 'ListRetirableGrants', { RetiringPrincipal: grantee }).Grants as { GrantId: string }[]).map((x) => x.GrantId);
    expect(retirable(WEST)).toContain(g.GrantId);
    expect(retirable(EAST)).not.toContain(g.GrantId);
    expect(h.app.kms(ACCOUNT, WEST).inventory().grants.map((x) => x.GrantId)).toContain(g.GrantId);
    expect(h.app.kms(ACCOUNT, EAST).inventory().grants.map((x) => x.GrantId)).not.toContain(g.GrantId);
    // Retiring by token in another Region finds no grant there.
    expect(failure(() => call(EAST, 'RetireGrant', { GrantToken: g.GrantToken })).code).toBe('NotFoundException');
    call(WEST, 'RetireGrant', { GrantToken: g.GrantToken });
    expect(retirable(WEST)).not.toContain(g.GrantId);
  });

  it('each record names the Region the call went to (awsRegion), failed calls too', () => {
    const west = call(WEST, 'CreateKey', { Description: 'recorded' }).KeyMetadata as { KeyId: string; Arn: string };
    expect(recordsOf(h, 'CreateKey').pop()).toMatchObject({ awsRegion: WEST, resources: [{ ARN: west.Arn }] });
    failure(() => call(EAST, 'DescribeKey', { KeyId: west.Arn }));
    expect(recordsOf(h, 'DescribeKey').pop()).toMatchObject({ awsRegion: EAST, errorCode: 'NotFoundException', errorMessage: `Invalid arn ${WEST}` });
  });
});

describe('`ebsim --region`', () => {
  it('sends the call to that Region: keys made there are found there only, with AWS\'s messages elsewhere; recorded with its awsRegion', async () => {
    const made = await ebsimIn(h.dir, ['--region', 'ap-northeast-1', 'kms', 'create-key', '--description', 'tokyo']);
    expect(made.code).toBe(0);
    const { KeyId, Arn } = made.json().KeyMetadata as { KeyId: string; Arn: string };
    expect(Arn).toBe(`arn:aws:kms:ap-northeast-1:${ACCOUNT}:key/${KeyId}`);
    expect(recordsOf(h, 'CreateKey').pop()).toMatchObject({ awsRegion: 'ap-northeast-1' });
    const there = await ebsimIn(h.dir, ['kms', 'describe-key', '--key-id', KeyId, '--region', 'ap-northeast-1']);
    expect(there.code).toBe(0);
    const home = await ebsimIn(h.dir, ['kms', 'describe-key', '--key-id', KeyId]);
    expect(home.code).toBe(254);
    expect(home.stderr).toContain(`An error occurred (NotFoundException) when calling the DescribeKey operation: Key '${arnIn(EAST, KeyId)}' does not exist`);
    const byArn = await ebsimIn(h.dir, ['kms', 'describe-key', '--key-id', Arn]);
    expect(byArn.stderr).toContain('An error occurred (NotFoundException) when calling the DescribeKey operation: Invalid arn ap-northeast-1');
  });

  it('--region of no commercial Region is a usage mistake named as such, for EC2 too; EC2 answers in the Region called', async () => {
    const bad = await ebsimIn(h.dir, ['--region', 'cn-north-1', 'kms', 'list-keys']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('cn-north-1 is not a commercial AWS Region');
    expect((await ebsimIn(h.dir, ['--region', 'cn-north-1', 'ec2', 'describe-volumes'])).stderr).toContain('cn-north-1 is not a commercial AWS Region');
    const made = (await ebsimIn(h.dir, ['--region', EAST, 'ec2', 'create-volume', '--size', '1'])).json().VolumeId as string;
    const west = await ebsimIn(h.dir, ['--region', WEST, 'ec2', 'describe-volumes']);
    expect(west.code).toBe(0);
    expect(west.json().Volumes).toEqual([]);
    expect((await ebsimIn(h.dir, ['--region', EAST, 'ec2', 'describe-volumes'])).json().Volumes.map((v: { VolumeId: string }) => v.VolumeId)).toContain(made);
  });

  it('`ebsim init --region` checks the Region too; an account added in another Region has its keys there by default', async () => {
    expect(() => initHome(h.dir, '444455556666', 'moon-1')).toThrow(/moon-1 is not a commercial AWS Region/);
    initHome(h.dir, '444455556666', 'eu-central-1');
    const made = await ebsimIn(h.dir, ['--account', '444455556666', 'kms', 'create-key']);
    expect(made.json().KeyMetadata.Arn).toMatch(/^arn:aws:kms:eu-central-1:444455556666:key\//);
    const elsewhere = await ebsimIn(h.dir, ['--account', '444455556666', '--region', EAST, 'kms', 'list-keys']);
    expect(elsewhere.json().Keys).toEqual([]);
  });
});
