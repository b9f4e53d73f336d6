// `ebsim doctor` (and `ebsim --version`): what this machine gives ebsim, and what is missing.
import type { Argv } from 'yargs';
import { existsSync, readFileSync } from 'node:fs';
import { availableEngines, currentXtsPath, selectedEngine, xtsPaths } from '../../xts/index.js';
import { findMissingPrerequisite } from '../../device/index.js';
import type { Runtime } from '../runtime.js';

export function versionOf(): string {
  const pkg = JSON.parse(readFileSync(new URL(existsSync(new URL('../../../package.json', import.meta.url)) ? '../../../package.json' : '../../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function doctorReport(): Record<string, unknown> {
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
  };
}

export function doctorCommand(y: Argv, rt: () => Runtime) {
  return y
    .command('doctor', 'What this machine gives ebsim: XTS engine in use and why, FUSE and loop devices, the AWS CLI', (o) => o, () => {
      rt().print(doctorReport());
    })
    .command('version', 'Print the version and the XTS engine in use', (o) => o, () => {
      const r = doctorReport();
      const e = r.XtsEngine as { name?: string; reason?: string; error?: string };
      rt().io.out(`ebsim ${r.Version as string} (node ${process.version}; xts engine: ${e.name ?? 'none'}: ${e.reason ?? e.error})`);
    });
}
