// `ebsim trail diagram --format html` of a real run, in Debian's chromium (playwright-core): every
// participant's name fits inside its box as the browser measures it, and clicking an arrow shows
// that arrow's record. Screenshot in test/artifacts/trail-diagram.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { makeHome, type TestHome } from '../helpers/home.js';
import { ebsimIn } from '../helpers/cli.js';
import type { TrailRecord } from '../../src/trail/index.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;
const skip = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (apt-get install chromium)`;

let h: TestHome;
let browser: Browser;
let html = '';

beforeAll(async () => {
  if (skip) return;
  h = makeHome('ebsim-h16-diagram-');
  const alice = h.app.as('Alice');
  h.app.ec2().runInstances(alice, { ImageId: 'ami-12345678', InstanceType: 't3.micro', BlockDeviceMappings: [{ DeviceName: '/dev/sdb', Ebs: { VolumeSize: 1, Encrypted: true } }] });
  h.app.ec2().call(alice, 'DescribeVolumes', {});
  h.app.close();
  const out = join(h.dir, 'trail.html');
  const r = await ebsimIn(h.dir, ['trail', 'diagram', '--format', 'html', '--out', out]);
  expect(r.code, r.stderr).toBe(0);
  html = readFileSync(out, 'utf8');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  h?.cleanup();
});

describe.skipIf(skip)(`trail diagram in chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('every name fits its box, and a click on an arrow shows its record', async () => {
    const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
    await page.setContent(html);
    const boxes = await page.$$eval('g.participant', (gs) =>
      gs.map((g) => {
        const rect = g.querySelector('rect')!.getBBox();
        const text = (g.querySelector('text') as SVGTextElement).getBBox();
        return { name: g.querySelector('text')!.textContent, rect: [rect.x, rect.x + rect.width], text: [text.x, text.x + text.width] };
      }),
    );
    // The instance's role session: the longest name, cut off in a fixed-width box before.
    expect(boxes.some((b) => /^aws:ec2-infrastructure \(i-[0-9a-f]+\)$/.test(b.name ?? ''))).toBe(true);
    for (const b of boxes) {
      expect(b.text[0], `${b.name} starts inside its box`).toBeGreaterThan(b.rect[0]!);
      expect(b.text[1], `${b.name} ends inside its box`).toBeLessThan(b.rect[1]!);
    }
    const records = JSON.parse(/<script type="application\/json" id="records">([\s\S]*?)<\/script>/.exec(html)![1]!) as TrailRecord[];
    const grant = records.findIndex((r) => r.eventName === 'CreateGrant');
    expect(grant).toBeGreaterThanOrEqual(0);
    await page.click(`g.arrow[data-record="${grant}"]`);
    const shown = JSON.parse((await page.textContent('#record'))!) as TrailRecord;
    expect(shown.eventID).toBe(records[grant]!.eventID);
    expect(await page.textContent('#record-title')).toContain('CreateGrant');
    expect(await page.$$eval('g.arrow.selected', (e) => e.length)).toBe(1);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'trail-diagram.png'), fullPage: true });
  }, 60_000);
});
