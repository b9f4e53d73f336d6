import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { buildDiagram, toHtml, toMermaid, toSvg, type TrailRecord } from '../../src/trail/index.js';
import { layout, textPx } from '../../src/trail/diagram.js';

const seed = (JSON.parse(readFileSync(new URL('../fixtures/seed-ec2-example-two.json', import.meta.url), 'utf8')) as { Records: TrailRecord[] }).Records;

describe('trail diagram', () => {
  it('draws the seed in cause-effect order: RunInstances, then the KMS calls it caused, then the instance role', () => {
    const d = buildDiagram(seed);
    expect(d.participants).toEqual(['Alice', 'EC2', 'KMS', 'aws:ec2-infrastructure (i-81e2f56c)']);
    // Stored order is RunInstances, CreateGrant, GenerateDataKeyWithoutPlaintext, Decrypt; the data key comes before its grant.
    expect(d.arrows.map((a) => `${a.from} -> ${a.to}: ${a.label}`)).toEqual([
      'Alice -> EC2: RunInstances',
      'EC2 -> KMS: GenerateDataKeyWithoutPlaintext (for Alice)',
      'EC2 -> KMS: CreateGrant (for Alice)',
      'aws:ec2-infrastructure (i-81e2f56c) -> KMS: Decrypt',
    ]);
    expect(d.arrows.map((a) => a.record)).toEqual([0, 2, 1, 3]);
  });

  it('groups calls by request: RunInstances with the calls it caused (the data key joins by its volume), the Decrypt alone', () => {
    const d = buildDiagram(seed);
    expect(d.groups).toEqual([
      { requestID: '41c4b4f7-8bce-4773-bf0e-5ae3bb5cbce2', first: 0, last: 2 },
      { requestID: 'b4b27883-6533-11e4-b4d9-751f1761e9e5', first: 3, last: 3 },
    ]);
    const svg = toSvg(d);
    expect(svg.match(/<g class="request">/g)).toHaveLength(1);
    expect(svg).toContain('request 41c4b4f7');
    expect(toMermaid(d)).toMatch(/rect rgba\([^)]*\)\n\s+Note over P0,P1: request 41c4b4f7[^\n]*\n\s+P0->>P1: RunInstances[\s\S]*CreateGrant[^\n]*\n\s+end\n\s+P3->>P2: Decrypt/);
  });

  it('labels arrows with the volume, the key and the encryption context', () => {
    const d = buildDiagram(seed);
    expect(d.arrows.map((a) => a.detail)).toEqual([
      '/dev/xvda 8 GiB, /dev/sdb 8 GiB encrypted',
      'alias/aws/ebs · context aws:ebs:id=vol-f67bafb2',
      'key e29ddfd4 · only for aws:ebs:id=vol-f67bafb2',
      'key e29ddfd4 · context aws:ebs:id=vol-f67bafb2',
    ]);
    expect(toSvg(d)).toContain('key e29ddfd4 · context aws:ebs:id=vol-f67bafb2');
    expect(toMermaid(d)).toContain('P3->>P2: Decrypt<br/>key e29ddfd4 · context aws:ebs:id=vol-f67bafb2');
  });

  it('participant boxes are as wide as their labels, and lifelines far enough apart for them', () => {
    const d = buildDiagram(seed);
    const { x, box } = layout(d);
    for (const p of d.participants) expect(box.get(p)!, p).toBeGreaterThan(textPx(p, 12, true));
    // The longest name, cut off in a fixed 190-pixel box before.
    expect(box.get('aws:ec2-infrastructure (i-81e2f56c)')!).toBeGreaterThan(230);
    for (let i = 1; i < d.participants.length; i++) {
      const [a, b] = [d.participants[i - 1]!, d.participants[i]!];
      expect(x.get(b)! - x.get(a)!, `${a} | ${b}`).toBeGreaterThanOrEqual(box.get(a)! / 2 + box.get(b)! / 2);
    }
    const svg = toSvg(d);
    expect(svg).toContain(`width="${box.get('aws:ec2-infrastructure (i-81e2f56c)')}"`);
  });

  it('has a legend', () => {
    const svg = toSvg(buildDiagram(seed));
    expect(svg).toContain('<g class="legend">');
    for (const words of ['a denied call', 'one request: a call and the calls it caused', 'volume · key · encryption context']) expect(svg).toContain(words);
  });

  it('marks denied calls in every format', () => {
    const denied = { ...seed[3]!, errorCode: 'AccessDeniedException', errorMessage: 'no', eventID: 'e-denied', requestID: 'r-denied' };
    const d = buildDiagram([...seed, denied]);
    expect(toMermaid(d)).toContain('P3-xP2: Decrypt DENIED AccessDeniedException');
    expect(toSvg(d)).toContain('DENIED (AccessDeniedException)');
    const html = toHtml(d, [...seed, denied]);
    expect(html).toContain('<tr class="denied" data-record="4">');
    expect(html).toContain('5 calls, 1 denied, in 3 requests');
  });

  it('HTML: every arrow and row names its record, and the records are embedded for the click', () => {
    const html = toHtml(buildDiagram(seed), seed);
    for (let i = 0; i < seed.length; i++) expect(html).toContain(`<g class="arrow" data-record="${i}"`);
    const json = /<script type="application\/json" id="records">([\s\S]*?)<\/script>/.exec(html)![1]!;
    expect((JSON.parse(json) as TrailRecord[]).map((r) => r.eventID)).toEqual(seed.map((r) => r.eventID));
  });

  it('escapes names in SVG and HTML, and a record cannot close the script it is embedded in', () => {
    const r = { ...seed[0]!, userIdentity: { ...seed[0]!.userIdentity, userName: '<script>' }, errorMessage: '</script><script>alert(1)</script>' };
    expect(toSvg(buildDiagram([r]))).not.toContain('<script>');
    const html = toHtml(buildDiagram([r]), [r]);
    expect(html.match(/<\/script>/g)).toHaveLength(2);
  });
});
