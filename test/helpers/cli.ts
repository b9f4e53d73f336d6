// Runs the real `ebsim` launcher (the compiled CLI in dist/) as a separate process.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const EBSIM_BIN = `${REPO}bin/ebsim.js`;

export function assertBuilt(): void {
  if (!existsSync(`${REPO}dist/src/cli/main.js`)) throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runEbsim(args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  assertBuilt();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [EBSIM_BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

export interface InProcessResult extends RunResult {
  /** stdout as JSON (the AWS CLI's default output). */
  json(): Record<string, any>;
}

/** `ebsim ARGS --home HOME` in this process (the CLI's `main`), with what it printed. */
export async function ebsimIn(home: string, args: string[]): Promise<InProcessResult> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main([...args, '--home', home], { out: (t) => out.push(t), err: (t) => err.push(t) });
  const stdout = out.join('\n');
  return { code, stdout, stderr: err.join('\n'), json: () => JSON.parse(stdout) };
}
