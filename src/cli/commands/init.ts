import type { Argv } from 'yargs';
import { initHome } from '../../app/ebsim.js';
import { addToUserConfig, readProfileKeys, userConfigPath } from '../../app/aws-config.js';
import { DEFAULT_HOST, DEFAULT_PORT } from '../../server/index.js';
import { UserError } from '../../errors/index.js';
import type { Runtime } from '../runtime.js';

export function initCommand(y: Argv, rt: () => Runtime) {
  return y.command(
    'init',
    'Create the account, the IAM user Alice (AdministratorAccess) with an access key, $EBSIM_HOME/credentials and $EBSIM_HOME/config (profile "ebsim": Region, and `ebsim serve` as the endpoint of KMS, STS and CloudTrail); on an existing home, --account-id adds another account (profile "ebsim-ID")',
    (c) =>
      c
        .option('account-id', { type: 'string', describe: '12-digit account ID (a new home: default 123456789012; an existing home: adds this account if it is new)' })
        .option('region', { type: 'string', describe: 'AWS Region of the account (default us-east-1; an added account: the first account\'s)' })
        .option('endpoint-url', { type: 'string', default: `http://${DEFAULT_HOST}:${DEFAULT_PORT}`, describe: 'where the profile sends KMS, STS and CloudTrail calls (`ebsim serve`\'s address)' })
        .option('aws-config', {
          type: 'boolean',
          default: false,
          describe: 'also add the profile (with its access key) to ~/.aws/config (or $AWS_CONFIG_FILE); an existing profile of that name is left as it is',
        }),
    (a) => {
      const r = rt();
      const result = initHome(r.home, a['account-id'], a.region, a['endpoint-url']);
      let awsConfig: { file: string; outcome: string } | undefined;
      if (a['aws-config']) {
        const keys = readProfileKeys(result.credentialsFile, result.profile);
        // The home's credentials file removed or edited by hand: the user's to fix, not a crash.
        if (!keys) throw new UserError(`${result.credentialsFile} has no access key for profile ${result.profile}: nothing to add to ~/.aws/config (restore that file, or create an access key for Alice and write it there)`);
        const file = userConfigPath();
        const outcome = addToUserConfig(file, { profile: result.profile, region: result.region, endpointUrl: result.endpointUrl, keys });
        awsConfig = { file, outcome };
        if (outcome === 'kept') r.io.err(`ebsim: ${file} already has a [profile ${result.profile}] or [services ${result.profile}] section that differs from ebsim's: left as it is (use \`eval "$(ebsim env)"\`, or edit it)`);
      }
      r.print(awsConfig ? { ...result, awsConfig } : result);
    },
  );
}
