// For the tests of KMS operations on one key: a home with a second account, a key whose policy
// lets that account use it, a user with no permission of his own (for grants), and the key
// material itself (white-box: read through a second KeyStore on the home's database, unwrapped
// with the home's root key, as the simulated HSM holds it).
import { initHome } from '../../src/app/ebsim.js';
import type { CallContext } from '../../src/core/call-context.js';
import { KeyStore } from '../../src/kms/keys.js';
import type { KmsService } from '../../src/kms/service.js';
import { RootKey } from '../../src/store/root-key.js';
import { KMSClient } from '@aws-sdk/client-kms';
import type { RunningServer } from '../../src/server/index.js';
import { aliceCredentials, inProcess } from '../server/helpers.js';
import { makeHome, type TestHome } from './home.js';

export const ACCOUNT = '123456789012';
/** The other account, which uses the keys by key ARN. */
export const OTHER_ACCOUNT = '111122223333';

export interface KeyTestHome extends TestHome {
  kms: KmsService;
  alice: CallContext;
  /** A user of ACCOUNT with no policy: only a grant lets him use a key. */
  bob: CallContext;
  bobArn: string;
  /** OTHER_ACCOUNT's administrator and its KMS (whose keys are named by key ARN). */
  otherAlice: CallContext;
  otherKms: KmsService;
  /** A key of ACCOUNT whose policy also lets OTHER_ACCOUNT use it (the developer guide's "Allow an external account"). */
  sharedKey(params: Record<string, unknown>): { KeyId: string; Arn: string };
  /** The unwrapped material of a key's current version. */
  material(keyId: string): Buffer;
}

export function keyTestHome(prefix: string): KeyTestHome {
  const h = makeHome(prefix);
  initHome(h.dir, OTHER_ACCOUNT);
  const alice = h.app.as('Alice');
  h.app.iam.call(alice, 'CreateUser', { UserName: 'Bob' });
  const kms = h.app.kms();
  const store = new KeyStore(h.app.db, RootKey.loadOrCreate(h.app.paths.rootKey), ACCOUNT, 'us-east-1');
  const policy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
      { Sid: 'Allow an external account to use this KMS key', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${OTHER_ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
    ],
  });
  return {
    ...h,
    kms,
    alice,
    bob: h.app.as('Bob'),
    bobArn: `arn:aws:iam::${ACCOUNT}:user/Bob`,
    otherAlice: h.app.as('Alice', undefined, OTHER_ACCOUNT),
    otherKms: h.app.kms(OTHER_ACCOUNT),
    sharedKey: (params) => kms.call(alice, 'CreateKey', { ...params, Policy: policy }).KeyMetadata as { KeyId: string; Arn: string },
    material(keyId) {
      const key = store.get(keyId)!;
      return store.material(key, key.currentVersion)!;
    },
  };
}

/** The AWS error a call throws: its code and message (fails the test if it does not throw). */
export function failure(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    return { code: (err as { code: string }).code, message: (err as Error).message };
  }
  throw new Error('expected the call to fail');
}

/** A keyTestHome served over HTTP, with an SDK client signing as Alice. */
export interface ServedKeyTestHome {
  h: KeyTestHome;
  server: RunningServer;
  client: KMSClient;
  /** Destroys the client, stops the server and removes the home. */
  close(): Promise<void>;
}

export async function servedKeyTestHome(prefix: string): Promise<ServedKeyTestHome> {
  const h = keyTestHome(prefix);
  const server = await inProcess(h.dir);
  const client = new KMSClient({ endpoint: server.url, region: 'us-east-1', credentials: aliceCredentials(h.dir), maxAttempts: 1 });
  return {
    h,
    server,
    client,
    async close() {
      client.destroy();
      await server.close();
      h.cleanup();
    },
  };
}
