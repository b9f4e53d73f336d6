// The README's shell snippets that make a claim are run as written (npx ebsim → this checkout's
// bin/ebsim.js), and the claim is checked: a proof shown to users is a test too.
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/ebsim.js');

/** The shell block after `<!-- snippet: NAME -->` in README.md, comments dropped. */
function snippet(name: string): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const m = new RegExp(`<!-- snippet: ${name} -->\\n\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(readme);
  if (!m) throw new Error(`README.md has no snippet ${name}`);
  return m[1]!.replace(/npx ebsim/g, `node ${BIN}`);
}

const dir = mkdtempSync(join(tmpdir(), 'ebsim-readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sh = (script: string) =>
  execFileSync('bash', ['-c', `set -euo pipefail\n${script}`], { cwd: dir, env: { ...process.env, EBSIM_HOME: join(dir, 'home') }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('README snippets', () => {
  it('sign-verify: OpenSSL verifies a signature ebsim made, and refuses it for a changed message', () => {
    sh(`node ${BIN} init >/dev/null`);
    expect(sh(snippet('sign-verify'))).toContain('Verified OK');
    appendFileSync(join(dir, 'msg.txt'), 'tampered');
    let refused = '';
    try {
      sh('openssl dgst -sha256 -verify pub.der -keyform DER -signature sig.der msg.txt');
    } catch (err) {
      refused = String((err as { stdout?: string }).stdout);
    }
    expect(refused).toContain('Verification failure');
  });
});
