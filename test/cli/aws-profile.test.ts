// Drop-in use with AWS tools: `ebsim init` writes an AWS config profile (region, and `services`
// endpoints for KMS, STS and CloudTrail), adds it to ~/.aws/config only when asked and never over
// an existing one; `ebsim env` prints the export lines. Checked with real clients against a real
// `ebsim serve`: the JavaScript SDK v3 with AWS_PROFILE alone, and Debian's AWS CLI 2.9, which
// predates service endpoints in the config file (2.13) and still needs --endpoint-url.
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSections, DEFAULT_ENDPOINT_URL, envLines, shellQuote } from '../../src/app/aws-config.js';
import { DEFAULT_HOST, DEFAULT_PORT } from '../../src/server/index.js';
import { REPO, runEbsim } from '../helpers/cli.js';
import { AWS, newHome, removeHome, spawnServe } from '../server/helpers.js';

const HAVE_AWS = existsSync(AWS);

function exec(file: string, args: string[], env: Record<string, string>, cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(file, args, { env, timeout: 60_000, cwd }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr })),
  );
}

/** `export A=B` lines as an environment (values single-quoted only when needed). */
function parseExports(text: string): Record<string, string> {
  const env: Record<string, string> = Object.create(null);
  for (const line of text.trim().split('\n')) {
    const m = /^export ([A-Z_]+)=(.*)$/.exec(line);
    expect(m, line).not.toBeNull();
    env[m![1]!] = m![2]!.startsWith("'") ? m![2]!.slice(1, -1).replace(/'\\''/g, "'") : m![2]!;
  }
  return env;
}

/** A clean environment: nothing of the caller's AWS settings, no instance metadata lookups. */
function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', AWS_EC2_METADATA_DISABLED: 'true', AWS_PAGER: '' };
  return { ...env, ...extra };
}

describe('the profile text', () => {
  it('names the region and sends kms, sts and cloudtrail to the endpoint, nothing else', () => {
    expect(configSections({ profile: 'ebsim', region: 'eu-west-1', endpointUrl: 'http://127.0.0.1:4599' })).toBe(
      '[profile ebsim]\nregion = eu-west-1\nservices = ebsim\n\n[services ebsim]\n' +
        'kms =\n  endpoint_url = http://127.0.0.1:4599\nsts =\n  endpoint_url = http://127.0.0.1:4599\ncloudtrail =\n  endpoint_url = http://127.0.0.1:4599\n',
    );
  });

  it('defaults to the address `ebsim serve` listens on by default', () => {
    expect(DEFAULT_ENDPOINT_URL).toBe(`http://${DEFAULT_HOST}:${DEFAULT_PORT}`);
  });

  it('quotes paths for the shell', () => {
    expect(shellQuote('/tmp/a b')).toBe("'/tmp/a b'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(envLines({ configFile: '/h/config', credentialsFile: '/h/credentials', profile: 'ebsim', region: 'us-east-1', endpointUrl: 'http://x:1' })).toContain('export AWS_ENDPOINT_URL_KMS=http://x:1');
  });
});

describe('ebsim init and ebsim env', () => {
  let home: string;
  let fakeHome: string;
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'ebsim-h18-profile-'));
    fakeHome = mkdtempSync(join(tmpdir(), 'ebsim-h18-userhome-'));
  });
  afterAll(() => {
    rmSync(home, { recursive: true, force: true });
    rmSync(fakeHome, { recursive: true, force: true });
  });

  it('writes $EBSIM_HOME/config (0600) and leaves ~/.aws/config alone without --aws-config', async () => {
    const r = await runEbsim(['init', '--home', home], { HOME: fakeHome, AWS_CONFIG_FILE: '' });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.configFile).toBe(join(home, 'config'));
    const text = readFileSync(join(home, 'config'), 'utf8');
    expect(text).toContain(configSections({ profile: 'ebsim', region: 'us-east-1', endpointUrl: DEFAULT_ENDPOINT_URL }));
    expect(text).not.toContain('aws_secret_access_key'); // the key stays in the credentials file
    expect(statSync(join(home, 'config')).mode & 0o777).toBe(0o600);
    expect(existsSync(join(fakeHome, '.aws'))).toBe(false);
  });

  it('env prints the export lines of that profile', async () => {
    const r = await runEbsim(['env', '--home', home]);
    expect(r.code, r.stderr).toBe(0);
    expect(parseExports(r.stdout)).toEqual({
      AWS_CONFIG_FILE: join(home, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
      AWS_PROFILE: 'ebsim',
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_KMS: DEFAULT_ENDPOINT_URL,
      AWS_ENDPOINT_URL_STS: DEFAULT_ENDPOINT_URL,
      AWS_ENDPOINT_URL_CLOUDTRAIL: DEFAULT_ENDPOINT_URL,
    });
  });

  it('env names an added account\'s profile, and refuses one the home does not hold', async () => {
    expect((await runEbsim(['init', '--home', home, '--account-id', '111122223333', '--region', 'eu-west-1'])).code).toBe(0);
    const env = parseExports((await runEbsim(['env', '--home', home, '--account-id', '111122223333'])).stdout);
    expect(env.AWS_PROFILE).toBe('ebsim-111122223333');
    expect(env.AWS_REGION).toBe('eu-west-1');
    // Both profiles in the one config file.
    const text = readFileSync(join(home, 'config'), 'utf8');
    expect(text).toContain('[profile ebsim]\nregion = us-east-1');
    expect(text).toContain('[profile ebsim-111122223333]\nregion = eu-west-1');
    const bad = await runEbsim(['env', '--home', home, '--account-id', '999999999999']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('account 999999999999 is not in this home');
  });

  it('--aws-config adds the profile with its key to ~/.aws/config, keeping what was there but group/other access; again changes nothing', async () => {
    mkdirSync(join(fakeHome, '.aws'), { mode: 0o700 });
    const mine = '# my settings\n[default]\nregion = ap-south-1\n\n[profile work]\nregion = eu-central-1\n';
    writeFileSync(join(fakeHome, '.aws', 'config'), mine, { mode: 0o640 });
    const r = await runEbsim(['init', '--home', home, '--aws-config'], { HOME: fakeHome, AWS_CONFIG_FILE: '' });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).awsConfig).toEqual({ file: join(fakeHome, '.aws', 'config'), outcome: 'added' });
    const after = readFileSync(join(fakeHome, '.aws', 'config'), 'utf8');
    expect(after.startsWith(`${mine}\n[profile ebsim]\nregion = us-east-1\nservices = ebsim\naws_access_key_id = AKIA`)).toBe(true);
    const key = /aws_access_key_id = (\S+)/.exec(readFileSync(join(home, 'credentials'), 'utf8'))![1]!;
    expect(after).toContain(`aws_access_key_id = ${key}\n`);
    // It now holds a secret access key: no longer group-readable.
    expect(statSync(join(fakeHome, '.aws', 'config')).mode & 0o777).toBe(0o600);
    const again = await runEbsim(['init', '--home', home, '--aws-config'], { HOME: fakeHome, AWS_CONFIG_FILE: '' });
    expect(JSON.parse(again.stdout).awsConfig.outcome).toBe('unchanged');
    expect(readFileSync(join(fakeHome, '.aws', 'config'), 'utf8')).toBe(after);
  });

  it('--aws-config writes through a symlinked ~/.aws/config, the link kept', async () => {
    const other = mkdtempSync(join(tmpdir(), 'ebsim-review-userhome3-'));
    try {
      mkdirSync(join(other, 'dotfiles'));
      mkdirSync(join(other, '.aws'));
      const mine = '[profile work]\nregion = eu-central-1\n';
      writeFileSync(join(other, 'dotfiles', 'aws-config'), mine, { mode: 0o600 });
      symlinkSync(join(other, 'dotfiles', 'aws-config'), join(other, '.aws', 'config'));
      const r = await runEbsim(['init', '--home', home, '--aws-config'], { HOME: other, AWS_CONFIG_FILE: '' });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).awsConfig.outcome).toBe('added');
      expect(lstatSync(join(other, '.aws', 'config')).isSymbolicLink()).toBe(true);
      const text = readFileSync(join(other, 'dotfiles', 'aws-config'), 'utf8');
      expect(text.startsWith(`${mine}\n[profile ebsim]\n`)).toBe(true);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('--aws-config without the home\'s credentials file says so in the CLI\'s words, writing nothing there', async () => {
    const h = mkdtempSync(join(tmpdir(), 'ebsim-review-nocreds-'));
    const other = mkdtempSync(join(tmpdir(), 'ebsim-review-userhome4-'));
    try {
      expect((await runEbsim(['init', '--home', h])).code).toBe(0);
      rmSync(join(h, 'credentials'));
      const r = await runEbsim(['init', '--home', h, '--aws-config'], { HOME: other, AWS_CONFIG_FILE: '' });
      expect([r.code, r.stderr.split('\n')[0]]).toEqual([1, `ebsim: ${join(h, 'credentials')} has no access key for profile ebsim: nothing to add to ~/.aws/config (restore that file, or create an access key for Alice and write it there)`]);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(existsSync(join(other, '.aws'))).toBe(false);
    } finally {
      rmSync(h, { recursive: true, force: true });
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('refuses an --endpoint-url that is not an http(s) URL before writing anything', async () => {
    const h = mkdtempSync(join(tmpdir(), 'ebsim-review-badurl-'));
    try {
      for (const bad of ['not a url', 'localhost:4599', 'ftp://127.0.0.1:4599', 'http://127.0.0.1:4599\n[profile default]']) {
        const r = await runEbsim(['init', '--home', h, '--endpoint-url', bad]);
        expect([r.code, r.stderr.trim()], bad).toEqual([1, `ebsim: --endpoint-url ${JSON.stringify(bad)}: expected an http or https URL such as ${DEFAULT_ENDPOINT_URL}`]);
        expect(existsSync(join(h, 'config')), bad).toBe(false);
      }
    } finally {
      rmSync(h, { recursive: true, force: true });
    }
  });

  it('never clobbers a [profile ebsim] of the user\'s own', async () => {
    const other = mkdtempSync(join(tmpdir(), 'ebsim-h18-userhome2-'));
    try {
      mkdirSync(join(other, '.aws'));
      const mine = '[profile ebsim]\nregion = sa-east-1\nendpoint_url = http://elsewhere:1\n';
      writeFileSync(join(other, '.aws', 'config'), mine);
      const r = await runEbsim(['init', '--home', home, '--aws-config'], { HOME: other, AWS_CONFIG_FILE: '' });
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).awsConfig.outcome).toBe('kept');
      expect(r.stderr).toContain('left as it is');
      expect(readFileSync(join(other, '.aws', 'config'), 'utf8')).toBe(mine);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});

describe('real clients through the profile, against `ebsim serve`', () => {
  let home: string;
  let server: Awaited<ReturnType<typeof spawnServe>>;
  let env: Record<string, string>;
  beforeAll(async () => {
    home = newHome('ebsim-h18-dropin-');
    server = await spawnServe(home, ['--quiet']);
    // The profile pointed at this server's port (the default one may be taken on a shared machine).
    expect((await runEbsim(['init', '--home', home, '--endpoint-url', server.url])).code).toBe(0);
    const exports = parseExports((await runEbsim(['env', '--home', home])).stdout);
    // The profile alone: no endpoint variables, so only the config file can send calls to ebsim.
    env = baseEnv({ AWS_CONFIG_FILE: exports.AWS_CONFIG_FILE!, AWS_SHARED_CREDENTIALS_FILE: exports.AWS_SHARED_CREDENTIALS_FILE!, AWS_PROFILE: exports.AWS_PROFILE! });
  });
  afterAll(async () => {
    await server?.stop();
    if (home) removeHome(home);
  });

  it('the JavaScript SDK v3 reaches KMS, STS and CloudTrail with AWS_PROFILE=ebsim alone', async () => {
    const script = `
      import { KMSClient, CreateKeyCommand, EncryptCommand, DecryptCommand } from '@aws-sdk/client-kms';
      import { STSClient, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
      import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
      const kms = new KMSClient({});
      const key = await kms.send(new CreateKeyCommand({ Description: 'through the profile' }));
      const enc = await kms.send(new EncryptCommand({ KeyId: key.KeyMetadata.KeyId, Plaintext: Buffer.from('drop-in') }));
      const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }));
      const who = await new STSClient({}).send(new GetCallerIdentityCommand({}));
      const trail = await new CloudTrailClient({}).send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'CreateKey' }] }));
      console.log(JSON.stringify({ keyArn: key.KeyMetadata.Arn, plain: Buffer.from(dec.Plaintext).toString(), arn: who.Arn, events: trail.Events.length }));
    `;
    const r = await exec(process.execPath, ['--input-type=module', '-e', script], env, REPO); // --eval resolves packages from the working directory
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.keyArn).toMatch(/^arn:aws:kms:us-east-1:123456789012:key\//);
    expect(out.plain).toBe('drop-in');
    expect(out.arn).toBe('arn:aws:iam::123456789012:user/Alice');
    expect(out.events).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it.skipIf(!HAVE_AWS)('the AWS CLI 2.9 takes credentials and Region from the profile, and the endpoint only from --endpoint-url', async () => {
    const version = (await exec(AWS, ['--version'], env)).stdout;
    const [, major, minor] = /aws-cli\/(\d+)\.(\d+)/.exec(version)!.map(Number) as [unknown, number, number];
    const withFlag = await exec(AWS, ['kms', 'create-key', '--description', 'aws cli', '--endpoint-url', server.url, '--output', 'json'], env);
    expect(withFlag.code, withFlag.stderr).toBe(0);
    // The Region is the profile's: no --region, no AWS_REGION.
    expect(JSON.parse(withFlag.stdout).KeyMetadata.Arn).toMatch(/^arn:aws:kms:us-east-1:123456789012:key\//);
    const who = await exec(AWS, ['sts', 'get-caller-identity', '--endpoint-url', server.url, '--output', 'json'], env);
    expect(JSON.parse(who.stdout).Arn).toBe('arn:aws:iam::123456789012:user/Alice');
    // Without the flag: where does this CLI send the call? A proxy that refuses every connection
    // keeps it from leaving the machine; --debug names the URL it tried.
    const bare = await exec(AWS, ['kms', 'list-aliases', '--debug', '--cli-connect-timeout', '2'], { ...env, HTTPS_PROXY: 'http://127.0.0.1:9', HTTP_PROXY: 'http://127.0.0.1:9', AWS_MAX_ATTEMPTS: '1' });
    if (major > 2 || (major === 2 && minor >= 13)) {
      expect(bare.code, bare.stderr.slice(-2000)).toBe(0); // service endpoints from the config file
    } else {
      expect(bare.code).not.toBe(0);
      expect(bare.stderr).toContain('https://kms.us-east-1.amazonaws.com/');
      expect(bare.stderr).not.toContain(server.url);
    }
  }, 90_000);
});
