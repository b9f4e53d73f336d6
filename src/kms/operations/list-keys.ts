// ListKeys: the keys of the account and Region, a page at a time.
import { authorizeAccountAction } from '../authorize.js';
import { kmsOperation } from '../operation.js';
import { paginate } from '../paginate.js';
import { LIMIT, MARKER } from './members.js';

export const ListKeys = kmsOperation({
  name: 'ListKeys',
  description: 'List the keys of the account and Region',
  readOnly: true,
  ext: { grantable: false },
  input: { Limit: LIMIT, Marker: MARKER },
  run(ctx, input, call) {
    const { keys } = call.env;
    authorizeAccountAction(call.env, ctx, 'ListKeys');
    const page = paginate(keys.list(), input);
    return { response: { Keys: page.items.map((k) => ({ KeyId: k.keyId, KeyArn: k.arn })), ...page.tail } };
  },
});
