// `ebsim kms OPERATION`: every declared KMS operation with the AWS CLI's kebab-case names and
// flags, derived from the declarations (names, kinds, help) so the CLI cannot drift from the domain.
import type { Argv } from 'yargs';
import { KMS_OPERATIONS } from '../../kms/index.js';
import { declaredCommands } from '../declared-commands.js';
import { KMS_PAGINATORS } from '../pagination.js';
import type { Runtime } from '../runtime.js';

export function kmsCommand(y: Argv, rt: () => Runtime) {
  return y.command('kms', 'The simulated AWS KMS (same operations and flags as `aws kms`)', (c) =>
    declaredCommands(c, KMS_OPERATIONS, rt, (r, operation, params) => {
      // The caller's account's KMS in the Region called (a key of another account is named by its ARN).
      const ctx = r.caller();
      return r.open().kms(ctx.principal.accountId, ctx.region).call(ctx, operation, params);
    }, { requiredFlags: false, service: 'kms', paginators: KMS_PAGINATORS }).demandCommand(
      1,
      'Name a kms operation (see --help)',
    ),
  );
}
