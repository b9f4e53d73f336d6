// The console shows one account of the home in one Region at a time: `?account=ID&region=R` on its
// API (default: the first account in its own Region), the accounts and Regions to switch to, and
// AWS-like refusals for an account the home does not have or a Region that is not one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initHome, openEbsim, type Ebsim } from '../../src/app/ebsim.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { newHome, removeHome } from '../server/helpers.js';

const FIRST = '123456789012';
const SECOND = '210987654321';
let home: string;
let server: RunningServer;
let cli: Ebsim;
let firstKey: string;
let secondKey: string;
let secondVolume: string;

const get = async (path: string) => {
  const res = await fetch(server.url + path);
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};

beforeAll(async () => {
  home = newHome('ebsim-console-scope-');
  initHome(home, SECOND, 'eu-west-2');
  cli = openEbsim(home);
  firstKey = (cli.kms().call(cli.as('Alice'), 'CreateKey', { Description: 'first account' }).KeyMetadata as { KeyId: string }).KeyId;
  const bob = cli.as('Alice', undefined, SECOND);
  secondKey = (cli.kms(SECOND).call(bob, 'CreateKey', { Description: 'second account' }).KeyMetadata as { KeyId: string }).KeyId;
  secondVolume = cli.ec2(SECOND).createVolume(bob, { Size: 1, Encrypted: true, KmsKeyId: secondKey }).VolumeId as string;
  server = await startServer({ home, port: 0, log: false });
});
afterAll(async () => {
  await server?.close();
  cli?.close();
  if (home) removeHome(home);
});

describe('console scope', () => {
  it('defaults to the first account in its own Region, and lists every account with its Regions', async () => {
    const { status, body } = await get('/console/api/state');
    expect(status).toBe(200);
    expect(body.scope).toEqual({ accountId: FIRST, region: 'us-east-1' });
    expect(body.keys.map((k: { KeyId: string }) => k.KeyId)).toContain(firstKey);
    expect(body.keys.map((k: { KeyId: string }) => k.KeyId)).not.toContain(secondKey);
    expect(body.volumes).toEqual([]);
    expect(body.accounts).toEqual([
      { accountId: FIRST, region: 'us-east-1', regions: ['us-east-1'] },
      { accountId: SECOND, region: 'eu-west-2', regions: ['eu-west-2'] },
    ]);
  });

  it('?account= shows that account in its own Region: its keys, its volume and the volume\'s envelope', async () => {
    const { body } = await get(`/console/api/state?account=${SECOND}`);
    expect(body.scope).toEqual({ accountId: SECOND, region: 'eu-west-2' });
    expect(body.keys.map((k: { KeyId: string }) => k.KeyId)).toEqual([secondKey]);
    expect(body.volumes.map((v: { VolumeId: string; Key: { KeyId: string } }) => [v.VolumeId, v.Key.KeyId])).toEqual([[secondVolume, secondKey]]);
    const envelope = await get(`/console/api/volumes/${secondVolume}?account=${SECOND}`);
    expect(envelope.status).toBe(200);
    expect(envelope.body.Envelope.VolumeId).toBe(secondVolume);
    // Without the account, the first account's EC2 does not have it.
    expect((await get(`/console/api/volumes/${secondVolume}`)).status).toBe(404);
  });

  it('?region= shows another Region of the account (empty here) and offers it', async () => {
    const { body } = await get(`/console/api/state?account=${SECOND}&region=ap-south-1`);
    expect(body.scope).toEqual({ accountId: SECOND, region: 'ap-south-1' });
    expect([body.keys, body.volumes, body.instances]).toEqual([[], [], []]);
    expect(body.accounts[1].regions).toEqual(['ap-south-1', 'eu-west-2']);
  });

  it('an account the home does not have is 404, a Region that is not one is 400, each with why and the accounts and Regions to choose from', async () => {
    // What the page's selector offers instead (its Regions: its own and those it has resources in, not the refused one).
    const accounts = [
      { accountId: FIRST, region: 'us-east-1', regions: ['us-east-1'] },
      { accountId: SECOND, region: 'eu-west-2', regions: ['eu-west-2'] },
    ];
    const missing = await get('/console/api/state?account=999999999999');
    expect(missing).toEqual({ status: 404, body: { message: `No account 999999999999 in this home (its accounts: ${FIRST}, ${SECOND}).`, accounts } });
    const bad = await get(`/console/api/state?region=mars-1`);
    expect(bad).toEqual({ status: 400, body: { message: 'mars-1 is not an AWS commercial Region.', accounts } });
    expect((await get(`/console/api/state?account=${SECOND}&region=mars-1`)).body.accounts).toEqual(accounts);
    // The envelope view refuses the same way.
    expect(await get(`/console/api/volumes/${secondVolume}?account=999999999999`)).toEqual({ status: 404, body: missing.body });
  });
});
