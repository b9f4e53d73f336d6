// What an IAM call is authorized as: iam:Operation on the user, role or policy it names, as the
// IAM Service Authorization Reference lists the resource types (a user's inline policies are the
// user's; attaching a policy to a user acts on the user).
import type { ServiceAuthorization } from '../../api/index.js';
import { AccessDenied } from '../../errors/index.js';

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

export const IAM_AUTHORIZATION: ServiceAuthorization = {
  prefix: 'iam',
  resource(operation, input, ctx) {
    const account = ctx.principal.accountId;
    const user = str(input.UserName);
    if (user !== undefined) return `arn:aws:iam::${account}:user/${user}`;
    const role = str(input.RoleName);
    if (role !== undefined) return `arn:aws:iam::${account}:role/${role}`;
    const source = str(input.PolicySourceArn);
    if (source !== undefined) return source;
    const policy = str(input.PolicyArn);
    if (policy !== undefined) return policy;
    if (operation === 'CreatePolicy' && str(input.PolicyName)) return `arn:aws:iam::${account}:policy/${str(input.PolicyName)}`;
    return '*';
  },
  denied: (message) => new AccessDenied(message),
};
