// A fresh, initialized ebsim home in a temp directory, removed after the test file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initHome, openEbsim, type Ebsim } from '../../src/app/ebsim.js';

export interface TestHome {
  dir: string;
  app: Ebsim;
  cleanup(): void;
}

export function makeHome(prefix = 'ebsim-test-'): TestHome {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  initHome(dir);
  const app = openEbsim(dir);
  return {
    dir,
    app,
    cleanup() {
      app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `fn` and returns the AWS error code it throws (fails the test if it does not throw). */
export function errorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code ?? (err as Error).name;
  }
  throw new Error('expected an error, none was thrown');
}
