// The ec2, iam, sts and trail commands come from the operations' declarations: a command per
// operation, a flag per member, required members required.
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { kebab } from '../../src/cli/input.js';
import { EC2_OPERATIONS } from '../../src/ec2/operations/index.js';
import { IAM_OPERATIONS, STS_OPERATIONS } from '../../src/iam/operations/index.js';
import { CLOUDTRAIL_OPERATIONS } from '../../src/cloudtrail/index.js';

async function run(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

const services = [['ec2', EC2_OPERATIONS], ['iam', IAM_OPERATIONS], ['sts', STS_OPERATIONS], ['trail', CLOUDTRAIL_OPERATIONS]] as const;

describe('commands derived from the declarations', () => {
  for (const [command, operations] of services) {
    it(`ebsim ${command}: one command per declared operation, one flag per member`, async () => {
      for (const op of operations) {
        const help = await run(command, kebab(op.name), '--help');
        expect(help.code, `${command} ${kebab(op.name)}`).toBe(0);
        expect(help.stdout).toContain(op.description.split(' ').slice(0, 3).join(' '));
        for (const [name, m] of Object.entries(op.input)) {
          const line = help.stdout.split('\n').find((l) => l.trimStart().startsWith(`--${kebab(name)} `));
          expect(line, `--${kebab(name)}`).toBeDefined();
          if ((m as { required?: boolean }).required) expect(help.stdout.slice(help.stdout.indexOf(`--${kebab(name)} `))).toMatch(/^[^\n]*\[required\]/);
        }
      }
    });
  }

  it('a missing required member is bad usage (exit 252), as the AWS CLI checks it before sending', async () => {
    const r = await run('ec2', 'attach-volume', '--volume-id', 'vol-1', '--home', '/nonexistent-ebsim-home');
    expect(r.code).toBe(252);
    expect(r.stderr).toMatch(/Missing required argument/);
  });
});
