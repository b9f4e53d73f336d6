// `ebsim iam …` and `ebsim sts …`: the declared IAM and STS operations, with the AWS CLI's names
// and flags derived from the declarations.
import type { Argv } from 'yargs';
import { IAM_OPERATIONS, STS_OPERATIONS } from '../../iam/operations.js';
import { declaredCommands } from '../declared-commands.js';
import type { Runtime } from '../runtime.js';

export function iamCommand(y: Argv, rt: () => Runtime) {
  return y.command('iam', 'IAM users, access keys and roles', (c) =>
    declaredCommands(c, IAM_OPERATIONS, rt, (r, operation, params) => r.open().iam.call(r.caller(), operation, params)).demandCommand(1, 'Name an iam command (see --help)'),
  );
}

export function stsCommand(y: Argv, rt: () => Runtime) {
  return y.command('sts', 'STS: assumed-role sessions and identity', (c) =>
    declaredCommands(c, STS_OPERATIONS, rt, (r, operation, params) => r.open().iam.callSts(r.caller(), operation, params)).demandCommand(1, 'Name an sts command (see --help)'),
  );
}
