import type { Argv } from 'yargs';
import type { Runtime } from '../runtime.js';

export function iamCommand(y: Argv, rt: () => Runtime) {
  return y.command('iam', 'IAM users, access keys and roles', (c) =>
    c
      .command('create-user', 'Create an IAM user', (o) => o.option('user-name', { type: 'string', demandOption: true }), (a) => {
        const r = rt();
        r.print({ User: r.open().iam.createUser(r.caller(), a['user-name']) });
      })
      .command('create-access-key', 'Create an access key for a user', (o) => o.option('user-name', { type: 'string', demandOption: true }), (a) => {
        const r = rt();
        r.print(r.open().iam.createAccessKey(r.caller(), a['user-name']));
      })
      .command('list-users', 'List the IAM users', (o) => o, () => {
        const r = rt();
        r.print(r.open().iam.listUsers(r.caller()));
      })
      .command('create-role', 'Create an IAM role (it has no permissions of its own: grant it some)', (o) => o.option('role-name', { type: 'string', demandOption: true }), (a) => {
        const r = rt();
        r.print(r.open().iam.createRole(r.caller(), a['role-name']));
      })
      .command('list-roles', 'List the IAM roles', (o) => o, () => {
        const r = rt();
        r.print(r.open().iam.listRoles(r.caller()));
      })
      .demandCommand(1, 'Name an iam command (see --help)'),
  );
}

export function stsCommand(y: Argv, rt: () => Runtime) {
  return y.command('sts', 'STS: assumed-role sessions and identity', (c) =>
    c
      .command(
        'assume-role',
        'Start a session of a role; act as it with --as role/ROLE/SESSION',
        (o) => o.option('role-arn', { type: 'string', demandOption: true }).option('role-session-name', { type: 'string', demandOption: true }),
        (a) => {
          const r = rt();
          r.print(r.open().iam.assumeRole(r.caller(), a['role-arn'], a['role-session-name']));
        },
      )
      .command('get-caller-identity', 'Who am I (as --as)?', (o) => o, () => {
        const r = rt();
        const p = r.caller().principal;
        r.print({ UserId: p.principalId, Account: p.accountId, Arn: p.arn });
      })
      .demandCommand(1, 'Name an sts command (see --help)'),
  );
}
