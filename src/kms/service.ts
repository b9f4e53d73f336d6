// The KMS service: its declared operations (operations/) on the one invoke path, used alike by
// the CLI, the HTTP endpoint and EC2. The path validates, runs due lifecycle work, runs the
// operation (which authorizes), and records the call in the trail whether it succeeded or failed.
import type { Db } from '../store/database.js';
import type { RootKey } from '../store/root-key.js';
import type { CallContext } from '../core/call-context.js';
import type { Trail } from '../trail/trail.js';
import { Invoker, Recorder } from '../api/index.js';
import { GrantStore } from './grants.js';
import { KeyStore } from './keys.js';
import { KmsFacts, type KmsEnv, type KmsExt } from './operation.js';
import { KMS_OPERATIONS, KMS_SERVICE } from './operations/index.js';
import { runDueWork } from './due-work.js';

const FACTS = new KmsFacts(KMS_OPERATIONS);

export class KmsService {
  readonly keys: KeyStore;
  readonly grants: GrantStore;
  private readonly invoker: Invoker<KmsEnv, KmsExt>;

  constructor(db: Db, rootKey: RootKey, trail: Trail, accountId: string, region: string) {
    this.keys = new KeyStore(db, rootKey, accountId, region);
    this.grants = new GrantStore(db);
    const keys = this.keys;
    this.invoker = new Invoker({
      service: KMS_SERVICE,
      env: { keys, grants: this.grants, facts: FACTS },
      recorder: new Recorder(trail),
      db,
      runDueWork: (recorder) => runDueWork(keys, recorder),
    });
  }

  static operationNames(): string[] {
    return KMS_OPERATIONS.map((op) => op.name);
  }

  call(ctx: CallContext, operation: string, params: Record<string, unknown> = {}): Record<string, unknown> {
    return this.invoker.invoke(ctx, operation, params);
  }
}
