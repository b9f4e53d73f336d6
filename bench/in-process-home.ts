// What the in-process KMS benches share: a throwaway home whose trail runs on its background
// writer (as `ebsim serve` runs it), and the instance's host as EBS's grants name it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initHome, openEbsim, type Ebsim } from '../src/app/ebsim.js';
import type { CallContext } from '../src/core/call-context.js';
import { EC2_INFRASTRUCTURE_ROLE } from '../src/iam/service.js';

/** Runs `fn` on a new home under the temp dir, then closes the app and removes the home. */
export async function withBenchHome<T>(prefix: string, fn: (app: Ebsim) => T | Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    initHome(dir);
    const app = openEbsim(dir);
    app.trail.useBackgroundWriter();
    try {
      return await fn(app);
    } finally {
      app.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The instance's host: EC2's infrastructure role assumed for that instance, calling from inside the VPC. */
export function instanceHost(app: Ebsim, instanceId: string): CallContext {
  return { principal: app.iam.sessionPrincipal(EC2_INFRASTRUCTURE_ROLE, instanceId, ''), region: 'us-east-1', sourceIPAddress: '172.16.0.10' };
}
