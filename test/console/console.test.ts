// The console page in a real headless browser (Debian's chromium via playwright-core): it loads,
// shows a volume created during the test, and updates when a new call is made.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { initHome, openEbsim, type Ebsim } from '../../src/app/ebsim.js';
import { startServer, type RunningServer } from '../../src/server/server.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;
const skip = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (apt-get install chromium)`;

let home: string;
let server: RunningServer;
let browser: Browser;
let cli: Ebsim;

beforeAll(async () => {
  if (skip) return;
  home = mkdtempSync(join(tmpdir(), 'ebsim-console-'));
  initHome(home);
  server = await startServer({ home, port: 0, log: false });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  cli = openEbsim(home); // another "process" making calls while the page is open
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  cli?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe.skipIf(skip)(`console page${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('loads, shows a volume made during the test, and updates live when a call is made', async () => {
    const alice = cli.as('Alice');
    const vol = cli.ec2().createVolume(alice, { Size: 1, Encrypted: true }).VolumeId as string;
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(server.url + '/');
    await page.waitForSelector(`tr[data-volume="${vol}"]`, { timeout: 15_000 });
    expect(await page.textContent('#summary')).toContain('Account 123456789012');
    expect(await page.locator('#trail tr[data-event="GenerateDataKeyWithoutPlaintext"]').count()).toBe(1);
    // A new call elsewhere appears without a reload.
    cli.kms().call(alice, 'CreateKey', { Description: 'made while watching' });
    await page.waitForSelector('#trail tr[data-event="CreateKey"]', { timeout: 15_000 });
    await page.waitForSelector('#keys >> text=made while watching', { timeout: 15_000 });
    // Never key material: not the volume's encrypted data key, not any blob or plaintext field.
    const blob = cli.ec2().volume(vol).encryptedDataKey!.toString('base64');
    const state = await (await fetch(server.url + '/console/api/state')).text();
    expect(state).not.toMatch(/"(CiphertextBlob|Plaintext|EncryptedDataKey|wrapped_material)"/);
    expect(state).not.toContain(blob);
    expect(await page.content()).not.toContain(blob);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'console.png'), fullPage: true });
    expect(existsSync(join(ARTIFACTS, 'console.png'))).toBe(true);
  }, 60_000);

  it('warns of broken links, shows each volume\'s key and envelope, and opens a timeline row\'s whole record', async () => {
    const alice = cli.as('Alice');
    const ec2 = cli.ec2();
    const instance = (ec2.runInstances(alice, { ImageId: 'ami-12345678', InstanceType: 't3.micro' }).Instances as { InstanceId: string }[])[0]!.InstanceId;
    const vol = ec2.createVolume(alice, { Size: 1, Encrypted: true }).VolumeId as string;
    ec2.attachVolume(alice, { VolumeId: vol, InstanceId: instance, Device: '/dev/sdf' });
    const v = cli.host().volume(vol);
    cli.kms().call(alice, 'RevokeGrant', { KeyId: v.kmsKeyArn!, GrantId: v.grantId! });
    expect(() => cli.host().dataKey(cli.host().volume(vol))).toThrow(/not authorized/);
    cli.trail.flush();
    const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    await page.goto(server.url + '/');
    // The warning: the broken link, its consequence, and the record that broke it.
    const warning = page.locator(`#warning-list li[data-warning="${vol}"]`);
    await warning.waitFor({ timeout: 15_000 });
    expect(await warning.textContent()).toMatch(/the grant was revoked — the next mount fails with AccessDeniedException \(RevokeGrant by Alice, /);
    // The volumes table: the key, and the envelope's health.
    const row = page.locator(`tr[data-volume="${vol}"]`);
    expect(await row.textContent()).toContain('alias/aws/ebs');
    expect(await row.textContent()).toContain('✗ the grant was revoked');
    // A volume's row opens its envelope.
    await row.click();
    await page.waitForFunction(() => document.getElementById('details-body')!.textContent!.includes('REVOKED'), undefined, { timeout: 15_000 });
    const envelope = await page.textContent('#details-body');
    expect(envelope).toMatch(/CMK +alias\/aws\/ebs/);
    expect(envelope).toContain('broken by RevokeGrant (Alice, ');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'console-envelope.png'), fullPage: true });
    // A refused call's row opens its whole record, its error first.
    const denied = page.locator('#trail tr.denied[data-event="Decrypt"]').first();
    const eventId = await denied.getAttribute('data-event-id');
    await denied.click();
    await page.waitForFunction((id) => document.getElementById('details-title')!.textContent!.includes(id!), eventId, { timeout: 15_000 });
    expect(await page.textContent('#details-error')).toMatch(/^AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role\/aws:ec2-infrastructure\//);
    const record = JSON.parse((await page.textContent('#details-body'))!);
    expect(record).toMatchObject({ eventID: eventId, eventName: 'Decrypt', errorCode: 'AccessDeniedException', requestParameters: { encryptionContext: { 'aws:ebs:id': vol } } });
    await page.screenshot({ path: join(ARTIFACTS, 'console-record.png'), fullPage: true });
    // Unknown IDs are a 404 with a message, not an error page.
    const missing = await fetch(server.url + '/console/api/volumes/vol-00000000000000000');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ message: "The volume 'vol-00000000000000000' does not exist." });
    expect((await fetch(server.url + '/console/api/events/00000000-0000-0000-0000-000000000000')).status).toBe(404);
  }, 60_000);

  it('switches to another account of the home and Region with its selector, kept in the address', async () => {
    const SECOND = '210987654321';
    initHome(home, SECOND, 'eu-west-2');
    const other = openEbsim(home);
    const vol = other.ec2(SECOND).createVolume(other.as('Alice', undefined, SECOND), { Size: 1, Encrypted: true }).VolumeId as string;
    other.close();
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(server.url + '/');
    await page.waitForSelector(`#scope option[value="${SECOND} eu-west-2"]`, { state: 'attached', timeout: 15_000 });
    expect(await page.locator(`tr[data-volume="${vol}"]`).count()).toBe(0); // the first account's view
    await page.selectOption('#scope', `${SECOND} eu-west-2`);
    await page.waitForSelector(`tr[data-volume="${vol}"]`, { timeout: 15_000 });
    expect(await page.textContent('#summary')).toContain(`Account ${SECOND} in eu-west-2`);
    expect(new URL(page.url()).search).toBe(`?account=${SECOND}&region=eu-west-2`);
    // Its envelope opens in its account.
    await page.locator(`tr[data-volume="${vol}"]`).click();
    await page.waitForFunction(() => document.getElementById('details-body')!.textContent!.includes('aws:ebs:id'), undefined, { timeout: 15_000 });
    // A reload shows the same account.
    await page.reload();
    await page.waitForSelector(`tr[data-volume="${vol}"]`, { timeout: 15_000 });
  }, 60_000);

  it('an address naming an account the home does not have (404) or no Region (400) still fills the selector: choosing from it shows that scope', async () => {
    const FIRST = '123456789012';
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const values = () => page.locator('#scope option').evaluateAll((os) => (os as HTMLOptionElement[]).map((o) => o.value));
    for (const [address, why] of [['/?account=999999999999', 'No account 999999999999 in this home'], ['/?region=mars-1', 'mars-1 is not an AWS commercial Region.']] as const) {
      await page.goto(server.url + address);
      await page.waitForSelector(`#scope option[value="${FIRST} us-east-1"]`, { state: 'attached', timeout: 15_000 });
      expect(await page.textContent('#summary')).toContain(why);
      // Every account of the home, and no account and Region chosen (the address names none it has).
      const offered = await values();
      expect(offered[0]).toBe('');
      expect(offered).toContain(`${FIRST} us-east-1`);
      expect(offered.length).toBe(1 + cli.iam.accounts().length);
      expect(await page.locator('#scope').inputValue()).toBe('');
      await page.selectOption('#scope', `${FIRST} us-east-1`);
      await page.waitForFunction((a) => document.getElementById('summary')!.textContent!.startsWith(`Account ${a} in us-east-1`), FIRST, { timeout: 15_000 });
      expect(new URL(page.url()).search).toBe(`?account=${FIRST}&region=us-east-1`);
      // The refused scope's empty choice is gone once a scope is shown.
      expect((await values())[0]).toBe(`${FIRST} us-east-1`);
    }
  }, 60_000);
});
