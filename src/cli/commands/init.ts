import type { Argv } from 'yargs';
import { initHome } from '../../app/ebsim.js';
import type { Runtime } from '../runtime.js';

export function initCommand(y: Argv, rt: () => Runtime) {
  return y.command(
    'init',
    'Create the account, the IAM user Alice (AdministratorAccess) with an access key, and $EBSIM_HOME/credentials (profile "ebsim")',
    (c) =>
      c
        .option('account-id', { type: 'string', default: '123456789012', describe: '12-digit account ID' })
        .option('region', { type: 'string', default: 'us-east-1', describe: 'AWS Region of the simulated account' }),
    (a) => {
      const r = rt();
      const result = initHome(r.home, a['account-id'], a.region);
      r.print(result);
    },
  );
}
