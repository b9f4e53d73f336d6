// The AWS config profile `ebsim init` writes: `[profile ebsim]` with the account's Region and a
// `services` section sending KMS, STS and CloudTrail to `ebsim serve`, so tools without an
// endpoint flag reach ebsim with AWS_PROFILE alone. Service-specific endpoints in the shared
// config file: https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html
// (AWS CLI v2 from 2.13, JavaScript SDK v3, boto3 from 1.28; Debian 12's AWS CLI 2.9 ignores
// them and still needs --endpoint-url).
import { chmodSync, existsSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { makeDirectories } from '../core/directories.js';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { UserError } from '../errors/index.js';

/** `ebsim serve`'s default address (src/server's DEFAULT_HOST and DEFAULT_PORT; a test keeps them equal). */
export const DEFAULT_ENDPOINT_URL = 'http://127.0.0.1:4599';

/**
 * `ebsim init --endpoint-url`: an http(s) URL, as the config file's endpoint_url takes it. It
 * goes into the file as a line's value, so nothing that could end the line or start a section.
 */
export function requireEndpointUrl(endpointUrl: string): void {
  let url: URL | undefined;
  try {
    url = /\s/.test(endpointUrl) ? undefined : new URL(endpointUrl);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new UserError(`--endpoint-url ${JSON.stringify(endpointUrl)}: expected an http or https URL such as ${DEFAULT_ENDPOINT_URL}`);
  }
}

/** The services ebsim serves, by their key in a `services` section (the SDKs' service IDs, snake_case). */
export const SERVED = ['kms', 'sts', 'cloudtrail'] as const;

export interface ProfileSpec {
  profile: string;
  region: string;
  endpointUrl: string;
  /** Written into the profile only when the file has no credentials file beside it (~/.aws/config). */
  keys?: { accessKeyId: string; secretAccessKey: string };
}

/** `[profile P]` and `[services P]`, in the config file's format. */
export function configSections(spec: ProfileSpec): string {
  const lines = [`[profile ${spec.profile}]`, `region = ${spec.region}`, `services = ${spec.profile}`];
  if (spec.keys) lines.push(`aws_access_key_id = ${spec.keys.accessKeyId}`, `aws_secret_access_key = ${spec.keys.secretAccessKey}`);
  lines.push('', `[services ${spec.profile}]`);
  for (const s of SERVED) lines.push(`${s} =`, `  endpoint_url = ${spec.endpointUrl}`);
  return lines.join('\n') + '\n';
}

/** Section headers of a config file's text, without brackets (e.g. "profile ebsim"). */
function headers(text: string): string[] {
  return [...text.matchAll(/^\s*\[([^\]]+)\]\s*$/gm)].map((m) => m[1]!.trim().replace(/\s+/g, ' '));
}

/** The text without the named sections (each up to the next header). */
function withoutSections(text: string, names: string[]): string {
  const out: string[] = [];
  let skipping = false;
  for (const line of text.split('\n')) {
    const h = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (h) skipping = names.includes(h[1]!.trim().replace(/\s+/g, ' '));
    if (!skipping) out.push(line);
  }
  return out.join('\n');
}

function writeAtomically(path: string, text: string, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

const ownNames = (profile: string) => [`profile ${profile}`, `services ${profile}`];

/** The home's own config file: ebsim's sections replaced, any others kept. */
export function writeHomeConfig(path: string, spec: ProfileSpec): void {
  const old = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const kept = withoutSections(old, ownNames(spec.profile));
  const text = kept.trim() === ''
    ? `# Written by ebsim init: AWS_CONFIG_FILE=${path} AWS_SHARED_CREDENTIALS_FILE=${join(dirname(path), 'credentials')} AWS_PROFILE=${spec.profile}\n${configSections(spec)}`
    : `${kept.replace(/\n*$/, '\n\n')}${configSections(spec)}`;
  writeAtomically(path, text, 0o600);
}

export type UserConfigOutcome = 'added' | 'unchanged' | 'kept';

/**
 * Adds ebsim's sections to the user's own config file (~/.aws/config) without clobbering: if
 * either section already exists and differs, the file is left as it was ("kept"); the caller
 * tells the user. Other sections and comments stay as they were, and so does the file's mode but
 * for group and other permissions, dropped when the profile carries an access key.
 */
export function addToUserConfig(configPath: string, spec: ProfileSpec): UserConfigOutcome {
  // A symlinked config (a dotfiles repository) is written where it points: the rename would
  // otherwise put a plain file in the link's place.
  const path = existsSync(configPath) ? realpathSync(configPath) : configPath;
  const ours = configSections(spec);
  const old = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const present = headers(old).filter((h) => ownNames(spec.profile).includes(h));
  if (present.length > 0) {
    // Ours already, word for word (a second `ebsim init --aws-config`)?
    return old.includes(ours) ? 'unchanged' : 'kept';
  }
  makeDirectories(dirname(path), 0o700);
  // The profile carries a secret access key: never readable by group or others, whatever the file was.
  const mode = existsSync(path) ? statSync(path).mode & (spec.keys ? 0o700 : 0o777) : 0o600;
  writeAtomically(path, `${old}${old === '' || old.endsWith('\n\n') ? '' : old.endsWith('\n') ? '\n' : '\n\n'}${ours}`, mode);
  return 'added';
}

/** ~/.aws/config, or AWS_CONFIG_FILE when set (where the AWS CLI itself would look). */
export function userConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.AWS_CONFIG_FILE || join(homedir(), '.aws', 'config');
}

/** The access key of `profile` in an AWS credentials file, or null. */
export function readProfileKeys(credentialsPath: string, profile: string): ProfileSpec['keys'] | null {
  if (!existsSync(credentialsPath)) return null;
  let inside = false;
  const keys: Record<string, string> = Object.create(null);
  for (const line of readFileSync(credentialsPath, 'utf8').split('\n')) {
    const h = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (h) inside = h[1]!.trim() === profile;
    const kv = /^\s*(\w+)\s*=\s*(\S+)\s*$/.exec(line);
    if (inside && kv) keys[kv[1]!] = kv[2]!;
  }
  return keys.aws_access_key_id && keys.aws_secret_access_key ? { accessKeyId: keys.aws_access_key_id, secretAccessKey: keys.aws_secret_access_key } : null;
}

/** POSIX shell single-quoting for `export` lines. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `ebsim env`: the lines that point the AWS CLI and SDKs at this home's profile. */
export function envLines(opts: { configFile: string; credentialsFile: string; profile: string; region: string; endpointUrl: string }): string[] {
  return [
    `export AWS_CONFIG_FILE=${shellQuote(opts.configFile)}`,
    `export AWS_SHARED_CREDENTIALS_FILE=${shellQuote(opts.credentialsFile)}`,
    `export AWS_PROFILE=${shellQuote(opts.profile)}`,
    `export AWS_REGION=${shellQuote(opts.region)}`,
    // For tools that read service endpoints from the environment but not from the config file.
    ...SERVED.map((s) => `export AWS_ENDPOINT_URL_${s.toUpperCase()}=${shellQuote(opts.endpointUrl)}`),
  ];
}
