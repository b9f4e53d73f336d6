// Every declared command's --help ends with an example that names only flags the command takes
// (run-instances' leads with the --block-device-mappings JSON); list operations page as the AWS CLI.
import { describe, expect, it } from 'vitest';
import { KMS_OPERATIONS } from '../../src/kms/index.js';
import { EC2_OPERATIONS } from '../../src/ec2/operations/index.js';
import { IAM_OPERATIONS, STS_OPERATIONS } from '../../src/iam/operations/index.js';
import { CLOUDTRAIL_OPERATIONS } from '../../src/cloudtrail/index.js';
import { exampleOf, OWN } from '../../src/cli/examples.js';
import { kebab } from '../../src/cli/input.js';
import { allPages } from '../../src/cli/pagination.js';
import { main } from '../../src/cli/main.js';

const SERVICES = { kms: KMS_OPERATIONS, ec2: EC2_OPERATIONS, iam: IAM_OPERATIONS, sts: STS_OPERATIONS, trail: CLOUDTRAIL_OPERATIONS } as const;

async function help(args: string[]): Promise<string> {
  const out: string[] = [];
  await main([...args, '--help'], { out: (t) => out.push(t), err: (t) => out.push(t) });
  return out.join('\n');
}

describe('--help examples', () => {
  for (const [service, ops] of Object.entries(SERVICES)) {
    it(`every ebsim ${service} command has an example with its own flags and every required one`, () => {
      for (const op of ops) {
        const ex = exampleOf(service, op);
        expect(ex.command.startsWith(`ebsim ${service} ${kebab(op.name)}`), op.name).toBe(true);
        expect(ex.description.length, op.name).toBeGreaterThan(3);
        const declared = new Set(Object.keys(op.input).map(kebab));
        const named = [...ex.command.matchAll(/ --([a-z0-9-]+)/g)].map((m) => m[1]!).filter((f) => f !== 'query' && f !== 'output');
        for (const f of named) expect(declared.has(f), `${op.name} --${f}`).toBe(true);
        for (const [name, m] of Object.entries(op.input)) if (m.required) expect(named, `${op.name} needs --${kebab(name)}`).toContain(kebab(name));
      }
    });
  }

  it('run-instances --help shows the --block-device-mappings JSON first', async () => {
    const text = await help(['ec2', 'run-instances']);
    const example = text.slice(text.indexOf('Example:'));
    expect(example).toContain('ebsim ec2 run-instances --block-device-mappings');
    expect(example).toContain('"Ebs":{"VolumeSize":8,"Encrypted":true}');
  });

  it("ebsim's own commands (volume, trail, explain, doctor…) end their --help with an example of that command", async () => {
    expect(Object.keys(OWN).length).toBeGreaterThan(15);
    for (const [path, ex] of Object.entries(OWN)) {
      const text = await help(path.split(' '));
      expect(text, path).toContain(`Example: ${ex.description}\n  ${ex.command}`);
      expect(ex.command.startsWith(path === 'version' ? 'ebsim --version' : `ebsim ${path}`), path).toBe(true);
    }
  });

  it('kms decrypt --help ends with its example', async () => {
    expect(await help(['kms', 'decrypt'])).toMatch(/Example: decrypt it[^\n]*\n\s+ebsim kms decrypt --ciphertext-blob fileb:\/\/secret\.enc/);
  });
});

describe('paging as the AWS CLI', () => {
  const pages = [{ Keys: [1, 2], NextMarker: 'a', Truncated: true }, { Keys: [3], NextMarker: 'b', Truncated: true }, { Keys: [4], Truncated: false }];
  const p = { inputToken: 'Marker', outputToken: 'NextMarker', limitKey: 'Limit', resultKey: 'Keys' };

  it('follows the marker to the last page and prints the items only', async () => {
    const seen: unknown[] = [];
    const all = await allPages(p, { KeyId: 'k' }, (params) => {
      seen.push(params.Marker);
      return pages[seen.length - 1];
    });
    expect(all).toEqual({ Keys: [1, 2, 3, 4] });
    expect(seen).toEqual([undefined, 'a', 'b']);
  });

  it('--marker or --limit: one call, printed as it came', async () => {
    let calls = 0;
    expect(await allPages(p, { Limit: 2 }, () => (calls++, pages[0]))).toEqual(pages[0]);
    expect(await allPages(p, { Marker: 'a' }, () => (calls++, pages[1]))).toEqual(pages[1]);
    expect(calls).toBe(2);
  });
});
