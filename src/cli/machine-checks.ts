// What `ebsim doctor` looks at, one check at a time, each saying what it looked for, what it found
// and how to get it: so a learner sees why a mount, a bench or a test is skipped here.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { getCiphers } from 'node:crypto';
import { which } from '../device/host.js';
import { findMissingPrerequisite } from '../device/index.js';
import { selectedEngine } from '../xts/index.js';

export interface Check {
  Check: string;
  Ok: boolean;
  Found: string;
  /** What the check is for, and how to get it when missing. */
  Why: string;
}

/** The tool's version line, asked of the tool itself (in parallel: chromium and aws take a second each). */
function versionOf(cmd: string, args: string[], pattern: RegExp): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: 15_000, env: { ...process.env, AWS_PAGER: '' } }, (err, out) => {
      resolve(err ? undefined : (pattern.exec(out)?.[0] ?? out.split('\n')[0]?.trim()));
    });
  });
}

function tool(name: string, cmd: string, why: string, version?: { args: string[]; pattern: RegExp }): Check | Promise<Check> {
  const path = which(cmd);
  const found = (v?: string): Check => ({ Check: name, Ok: path !== null, Found: path ? `${path}${v ? ` (${v})` : ''}` : 'not installed', Why: why });
  return path && version ? versionOf(path, version.args, version.pattern).then(found) : found();
}

export async function machineChecks(): Promise<Check[]> {
  const checks: (Check | Promise<Check>)[] = [];
  const major = Number(process.versions.node.split('.')[0]);
  checks.push({ Check: 'Node.js 20 or later', Ok: major >= 20, Found: process.version, Why: 'ebsim is written for Node 20' });
  let engine: string;
  let engineOk = true;
  try {
    const e = selectedEngine();
    engine = `${e.name}: ${e.reason}`;
  } catch (err) {
    engineOk = false;
    engine = (err as Error).message;
  }
  checks.push({ Check: 'XTS engine chosen', Ok: engineOk, Found: engine, Why: 'encrypts every sector; the native engine (native/build, `node native/build.mjs`) is the fastest, node:crypto the fallback' });
  checks.push({ Check: 'OpenSSL AES-256-XTS in node:crypto', Ok: getCiphers().includes('aes-256-xts'), Found: getCiphers().includes('aes-256-xts') ? 'aes-256-xts' : 'missing', Why: 'the independent checks (volume verify, the walkthrough\'s proofs) decrypt with it' });
  const root = process.getuid?.() === 0;
  checks.push({ Check: 'root', Ok: root, Found: root ? 'uid 0' : `uid ${process.getuid?.() ?? '?'}`, Why: 'losetup and mount need it (volume read|write|export do not)' });
  checks.push({ Check: 'FUSE device', Ok: existsSync('/dev/fuse'), Found: existsSync('/dev/fuse') ? '/dev/fuse' : 'missing', Why: 'serves the decrypted block device; `modprobe fuse`, or a container started with --device /dev/fuse --cap-add SYS_ADMIN' });
  checks.push(tool('fusermount', 'fusermount', 'unmounts FUSE file systems; apt-get install fuse libfuse2'));
  const loops = existsSync('/dev') ? readdirSync('/dev').filter((n) => /^loop\d+$/.test(n)).length : 0;
  const loopControl = existsSync('/dev/loop-control');
  checks.push({ Check: 'loop devices', Ok: loopControl || loops > 0, Found: `${loopControl ? '/dev/loop-control, ' : ''}${loops} /dev/loopN`, Why: 'ext4 is mounted from a loop device over the FUSE file; `modprobe loop`' });
  checks.push(tool('losetup', 'losetup', 'attaches the loop device; apt-get install mount (util-linux)'));
  for (const [cmd, why] of [
    ['mkfs.ext4', 'formats a new volume; apt-get install e2fsprogs'],
    ['filefrag', "finds a file's blocks for volume verify --file and the walkthrough's proofs; apt-get install e2fsprogs"],
  ] as const) checks.push(tool(cmd, cmd, why));
  const missing = findMissingPrerequisite();
  checks.push({ Check: 'real mounts (all of the above)', Ok: !missing, Found: missing ? missing.message : 'available', Why: 'ebsim volume mount: FUSE → loop → ext4' });
  checks.push(awsCliV2());
  checks.push(tool('gocryptfs', 'gocryptfs', 'the reference an encrypted FUSE file system is measured against in bench/ (apt-get install gocryptfs)', { args: ['--version'], pattern: /gocryptfs v?[\d.]+/ }));
  checks.push(tool('chromium', 'chromium', "the console's browser tests and screenshots (apt-get install chromium)", { args: ['--version'], pattern: /Chromium \S+/ }));
  return Promise.all(checks);
}

/** Debian's awscli is v2 at /usr/bin/aws; an `aws` earlier on PATH may be v1 (pip's), which words output otherwise. */
async function awsCliV2(): Promise<Check> {
  const why = 'the real `aws` against `ebsim serve`, and the tests that compare output with it (apt-get install awscli: v2)';
  const candidates = [...new Set(['/usr/bin/aws', which('aws')].filter((p): p is string => !!p && existsSync(p)))];
  const found = await Promise.all(candidates.map(async (p) => ({ p, v: await versionOf(p, ['--version'], /aws-cli\/\S+/) })));
  const v2 = found.find((f) => f.v?.startsWith('aws-cli/2.'));
  if (v2) return { Check: 'AWS CLI v2', Ok: true, Found: `${v2.p} (${v2.v})`, Why: why };
  return { Check: 'AWS CLI v2', Ok: false, Found: found.length ? found.map((f) => `${f.p} (${f.v ?? 'no version'})`).join(', ') : 'not installed', Why: why };
}
