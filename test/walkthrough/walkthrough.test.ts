// The walkthrough doubles as an end-to-end test: every step must behave as it teaches.
import { describe, expect, it } from 'vitest';
import { runWalkthrough } from '../../src/walkthrough/walkthrough.js';
import { fuseSkipReason } from '../helpers/fuse.js';

describe('ebsim walkthrough', () => {
  it('replays the seed and every lesson behaves as taught (with a real mount where FUSE is available)', async () => {
    const lines: string[] = [];
    const canMount = fuseSkipReason() === undefined;
    const r = await runWalkthrough({ out: (t) => lines.push(t) });
    const text = lines.join('\n');
    expect(r.failures).toEqual([]);
    expect(r.mounted).toBe(canMount);
    expect(text).toContain("beside the seed's CreateGrant record: every field of the seed is here");
    expect(text).toMatch(/AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role\/aws:ec2-infrastructure\/i-[0-9a-f]{17} is not authorized to perform: kms:Decrypt/);
    // The lesson of the aws/ebs key policy: Alice herself is refused, and the explanation names the condition.
    expect(text).toMatch(/AccessDeniedException: User: arn:aws:iam::123456789012:user\/Alice is not authorized to perform: kms:Decrypt on resource: \S+ because no resource-based policy allows the kms:Decrypt action/);
    expect(text).toContain("ok   the refusal comes from the aws/ebs key policy's kms:ViaService condition");
    expect(text).not.toContain('FAIL');
  }, 120_000);
});
