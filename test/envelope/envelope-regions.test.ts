// `ebsim explain` of a volume outside the account's own Region: the envelope is read in the
// volume's Region (its KMS key, aliases and grant are there), not in the home Region, where the
// key does not exist and every link would look broken.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, type TestHome } from '../helpers/home.js';
import { ebsimIn } from '../helpers/cli.js';
import { explainVolume } from '../../src/envelope/index.js';
import type { CallContext } from '../../src/core/call-context.js';

const REGION = 'eu-west-1';
let home: TestHome;
let west: CallContext;
let volumeId: string;
let keyArn: string;

beforeAll(() => {
  home = makeHome('ebsim-r4-explain-regions-');
  west = home.app.as('Alice', undefined, undefined, REGION);
  const kms = home.app.kms(undefined, REGION);
  keyArn = (kms.call(west, 'CreateKey', {}).KeyMetadata as { Arn: string }).Arn;
  kms.call(west, 'CreateAlias', { AliasName: 'alias/west-volumes', TargetKeyId: keyArn });
  const ec2 = home.app.ec2(undefined, REGION);
  const instanceId = (ec2.runInstances(west, { ImageId: 'ami-12345678', InstanceType: 't3.micro' }).Instances as { InstanceId: string }[])[0]!.InstanceId;
  volumeId = ec2.createVolume(west, { Size: 1, Encrypted: true, KmsKeyId: keyArn }).VolumeId as string;
  ec2.attachVolume(west, { VolumeId: volumeId, InstanceId: instanceId, Device: '/dev/sdf' });
});
afterAll(() => home.cleanup());

describe('ebsim explain, a volume of another Region', () => {
  it('finds its key, alias and live grant in that Region: a healthy chain', async () => {
    const e = await explainVolume(home.app, volumeId);
    expect(e.Broken).toEqual([]);
    expect(e.Healthy).toBe(true);
    expect(e.Key).toMatchObject({ KeyArn: keyArn, KeyState: 'Enabled', KeyManager: 'CUSTOMER', Aliases: ['alias/west-volumes'] });
    expect(e.Grant).toMatchObject({ State: 'live', Operations: expect.arrayContaining(['Decrypt']) });
  });

  it('through the CLI, without --region', async () => {
    const out = await ebsimIn(home.dir, ['explain', volumeId]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain(`${volumeId} (1 GiB, in-use): every link holds`);
    expect(out.stdout).toContain('alias/west-volumes');
    expect(out.stdout).toMatch(/grant .* LIVE/);
  });

  it('disabling the key in its Region breaks the key link, named as such', async () => {
    home.app.kms(undefined, REGION).call(west, 'DisableKey', { KeyId: keyArn });
    const e = await explainVolume(home.app, volumeId);
    expect(e.Key?.KeyState).toBe('Disabled');
    expect(e.Broken.map((b) => b.Link)).toContain('Key');
  });
});
