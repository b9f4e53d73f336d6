// `ebsim env`: the `export` lines that point the AWS CLI and SDKs at this home's profile,
// for `eval "$(ebsim env)"`.
import type { Argv } from 'yargs';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { envLines } from '../../app/aws-config.js';
import { UserError } from '../../errors/index.js';
import type { Runtime } from '../runtime.js';

export function envCommand(y: Argv, rt: () => Runtime) {
  return y.command(
    'env',
    'Print `export` lines (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL_KMS/STS/CLOUDTRAIL) for this home\'s profile: eval "$(ebsim env)"',
    (c) => c.option('account-id', { type: 'string', describe: 'an added account\'s profile (ebsim-ID) instead of the first account\'s' }),
    (a) => {
      const r = rt();
      const app = r.open();
      const first = app.iam.account();
      if (!first) throw new UserError(`no account in ${r.home}: run \`ebsim init\` first`);
      const account = a['account-id'] === undefined ? first : app.iam.accountById(a['account-id']);
      if (!account) throw new UserError(`account ${a['account-id']} is not in this home (ebsim init --account-id ${a['account-id']} adds it)`);
      const profile = account.accountId === first.accountId ? 'ebsim' : `ebsim-${account.accountId}`;
      const configFile = join(app.paths.dir, 'config');
      if (!existsSync(configFile)) throw new UserError(`${configFile} is missing: run \`ebsim init\` (it writes it)`);
      const endpointUrl = /^\s*endpoint_url\s*=\s*(\S+)/m.exec(sectionText(configFile, `services ${profile}`))?.[1];
      if (!endpointUrl) throw new UserError(`${configFile} has no [services ${profile}] section: run \`ebsim init${a['account-id'] ? ` --account-id ${a['account-id']}` : ''}\` again`);
      r.io.out(envLines({ configFile, credentialsFile: app.paths.credentials, profile, region: account.region, endpointUrl }).join('\n'));
    },
  );
}

/** The lines of section `[name]` of a config file (up to the next header), or ''. */
function sectionText(file: string, name: string): string {
  const lines = readFileSync(file, 'utf8').split('\n');
  const start = lines.findIndex((l) => /^\s*\[([^\]]+)\]\s*$/.exec(l)?.[1]?.trim().replace(/\s+/g, ' ') === name);
  if (start < 0) return '';
  const end = lines.findIndex((l, i) => i > start && /^\s*\[/.test(l));
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}
