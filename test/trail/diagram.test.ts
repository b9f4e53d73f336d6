import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { buildDiagram, toHtml, toMermaid, toSvg, type TrailRecord } from '../../src/trail/index.js';

const seed = (JSON.parse(readFileSync(new URL('../fixtures/seed-ec2-example-two.json', import.meta.url), 'utf8')) as { Records: TrailRecord[] }).Records;

describe('trail diagram', () => {
  it('draws the seed: Alice calls EC2, EC2 calls KMS for Alice, the instance role calls KMS', () => {
    const d = buildDiagram(seed);
    expect(d.participants).toEqual(['Alice', 'EC2', 'KMS', 'aws:ec2-infrastructure (i-81e2f56c)']);
    expect(d.arrows.map((a) => `${a.from} -> ${a.to}: ${a.label}`)).toEqual([
      'Alice -> EC2: RunInstances',
      'EC2 -> KMS: CreateGrant (for Alice)',
      'EC2 -> KMS: GenerateDataKeyWithoutPlaintext (for Alice)',
      'aws:ec2-infrastructure (i-81e2f56c) -> KMS: Decrypt',
    ]);
  });

  it('marks denied calls in every format', () => {
    const denied = { ...seed[3]!, errorCode: 'AccessDeniedException', errorMessage: 'no' };
    const d = buildDiagram([...seed, denied]);
    expect(toMermaid(d)).toContain('P3-xP2: Decrypt DENIED AccessDeniedException');
    expect(toSvg(d)).toContain('DENIED (AccessDeniedException)');
    const html = toHtml(d, [...seed, denied]);
    expect(html).toContain('<tr class="denied">');
    expect(html).toContain('5 calls, 1 denied');
  });

  it('escapes names in SVG and HTML', () => {
    const r = { ...seed[0]!, userIdentity: { ...seed[0]!.userIdentity, userName: '<script>' } };
    expect(toSvg(buildDiagram([r]))).not.toContain('<script>');
  });
});
