import type { Argv } from 'yargs';
import { initHome } from '../../app/ebsim.js';
import type { Runtime } from '../runtime.js';

export function initCommand(y: Argv, rt: () => Runtime) {
  return y.command(
    'init',
    'Create the account, the IAM user Alice (AdministratorAccess) with an access key, and $EBSIM_HOME/credentials (profile "ebsim"); on an existing home, --account-id adds another account (profile "ebsim-ID")',
    (c) =>
      c
        .option('account-id', { type: 'string', describe: '12-digit account ID (a new home: default 123456789012; an existing home: adds this account if it is new)' })
        .option('region', { type: 'string', describe: 'AWS Region of the account (default us-east-1; an added account: the first account\'s)' }),
    (a) => {
      const r = rt();
      const result = initHome(r.home, a['account-id'], a.region);
      r.print(result);
    },
  );
}
