// `ebsim doctor` (and `ebsim --version`): what this machine gives ebsim, and what is missing.
import type { Argv } from 'yargs';
import { existsSync, readFileSync } from 'node:fs';
import { availableEngines, currentXtsPath, selectedEngine, xtsPaths } from '../../xts/index.js';
import { findMissingPrerequisite } from '../../device/index.js';
import type { Runtime } from '../runtime.js';
import { machineChecks } from '../machine-checks.js';

export function versionOf(): string {
  const pkg = JSON.parse(readFileSync(new URL(existsSync(new URL('../../../package.json', import.meta.url)) ? '../../../package.json' : '../../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function doctorReport(opts: { checks?: boolean } = {}): Promise<Record<string, unknown>> {
  let engine: { name: string; reason: string } | { error: string };
  try {
    engine = selectedEngine();
  } catch (err) {
    engine = { error: (err as Error).message };
  }
  const missing = findMissingPrerequisite();
  return {
    Version: versionOf(),
    Node: process.version,
    XtsEngine: engine,
    XtsEngines: availableEngines(),
    XtsNativePath: currentXtsPath() ? `${currentXtsPath()} (this CPU has: ${xtsPaths().join(', ')}; EBSIM_XTS_PATH forces one)` : 'none (native engine unavailable)',
    RealMounts: missing ? { Available: false, Missing: missing.message } : { Available: true },
    AwsCliV2: existsSync('/usr/bin/aws') ? '/usr/bin/aws' : 'missing (apt-get install awscli)',
    // What was looked at, one check each (doctor only: --version stays quick).
    ...(opts.checks ? { Checks: await machineChecks() } : {}),
  };
}

export function doctorCommand(y: Argv, rt: () => Runtime) {
  return y
    .command('doctor', 'What this machine gives ebsim, check by check: the XTS engine chosen and why, OpenSSL\'s XTS, root, FUSE, loop devices, ext4 tools, the AWS CLI, gocryptfs, chromium', (o) => o, async () => {
      const report = await doctorReport({ checks: true });
      const r = rt();
      r.print(report);
      const failed = (report.Checks as { Check: string; Ok: boolean }[]).filter((c) => !c.Ok);
      // On stderr, so stdout stays one JSON document: a summary a learner reads first.
      r.io.err(failed.length ? `ebsim doctor: ${failed.length} of ${(report.Checks as unknown[]).length} checks missing: ${failed.map((c) => c.Check).join(', ')}` : `ebsim doctor: all ${(report.Checks as unknown[]).length} checks passed`);
    })
    .command('version', 'Print the version and the XTS engine in use', (o) => o, async () => {
      const r = await doctorReport();
      const e = r.XtsEngine as { name?: string; reason?: string; error?: string };
      rt().io.out(`ebsim ${r.Version as string} (node ${process.version}; xts engine: ${e.name ?? 'none'}: ${e.reason ?? e.error})`);
    });
}
