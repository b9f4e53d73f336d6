// The KMS service: its declared operations (operations/) on the one invoke path, used alike by
// the CLI, the HTTP endpoint and EC2. The path validates, runs due lifecycle work, runs the
// operation (which authorizes), and records the call in the trail whether it succeeded or failed.
import type { Db } from '../store/database.js';
import type { RootKey } from '../store/root-key.js';
import type { CallContext } from '../core/call-context.js';
import type { Trail } from '../trail/trail.js';
import { Invoker, Recorder } from '../api/index.js';
import type { IdentityPolicySource } from '../policy/index.js';
import type { PrincipalDirectory } from './grant-principals.js';
import { GrantStore, type GrantConstraints } from './grants.js';
import { KeyStore, keyMetadata, type KmsAlias } from './keys.js';
import { KeyPolicyStore } from './key-policy.js';
import { KeyTagStore } from './tags.js';
import { KmsFacts, type KmsEnv, type KmsExt } from './operation.js';
import { KMS_OPERATIONS, KMS_SERVICE } from './operations/index.js';
import { runDueWork } from './due-work.js';
import { ImportedMaterialStore } from './imported-material.js';
import { keyUsageTracker } from './last-usage.js';

const FACTS = new KmsFacts(KMS_OPERATIONS);

/** One key as an operator's view shows it: metadata and rotation state, never key material. */
export interface KeyView {
  KeyId: string;
  Arn: string;
  KeyState: string;
  KeyManager: string;
  Description: string;
  RotationEnabled: boolean;
  KeyVersions: number;
  NextRotationDate: Date | null;
}

export interface GrantView {
  GrantId: string;
  KeyArn: string;
  GranteePrincipal: string;
  Operations: string[];
  Constraints: GrantConstraints | null;
  State: string;
  CreationDate: Date;
}

export interface KmsInventory {
  keys: KeyView[];
  aliases: KmsAlias[];
  grants: GrantView[];
}

export class KmsService {
  private readonly keys: KeyStore;
  private readonly grants: GrantStore;
  private readonly imports: ImportedMaterialStore;
  private readonly invoker: Invoker<KmsEnv, KmsExt>;

  constructor(db: Db, rootKey: RootKey, trail: Trail, principals: IdentityPolicySource & PrincipalDirectory, accountId: string, region: string) {
    const recorder = new Recorder(trail);
    const usage = keyUsageTracker(db, trail);
    // Every store is of one Region; an operation that acts in another Region of the account gets its stores here.
    const envs = new Map<string, KmsEnv>();
    const inRegion = (r: string): KmsEnv => {
      let env = envs.get(r);
      if (!env) {
        const keys = new KeyStore(db, rootKey, accountId, r);
        env = {
          keys, grants: new GrantStore(db, r), policies: new KeyPolicyStore(db, r), tags: new KeyTagStore(db, r),
          imports: new ImportedMaterialStore(db, keys, rootKey), usage, facts: FACTS, principals, inRegion, recorder,
        };
        envs.set(r, env);
      }
      return env;
    };
    const env = inRegion(region);
    const keys = (this.keys = env.keys);
    this.grants = env.grants;
    const imports = (this.imports = env.imports);
    this.invoker = new Invoker({
      service: KMS_SERVICE,
      env,
      recorder,
      db,
      runDueWork: (rec) => runDueWork(keys, imports, rec),
      succeeded: (call, record) => usage.noteCall(call.operation, call.resources, record),
    });
  }

  static operationNames(): string[] {
    return KMS_OPERATIONS.map((op) => op.name);
  }

  /**
   * What an operator's view (the console) shows: metadata of every key, alias and grant, including
   * retired ones. A pure read: not an AWS call, so not authorized or recorded, and it runs no due work.
   */
  inventory(): KmsInventory {
    const keys = this.keys.list();
    const keyArn = new Map(keys.map((k) => [k.keyId, k.arn]));
    return {
      keys: keys.map((k) => {
        const m = keyMetadata(k, { imported: this.imports.facts(k) });
        return {
          KeyId: k.keyId, Arn: k.arn, KeyState: String(m.KeyState), KeyManager: k.keyManager, Description: k.description,
          RotationEnabled: k.rotationEnabled, KeyVersions: k.currentVersion, NextRotationDate: k.nextRotationAt ?? null,
        };
      }),
      aliases: this.keys.listAliases(),
      grants: this.grants.all(this.keys.accountId).map((g) => ({
        GrantId: g.grantId, KeyArn: keyArn.get(g.keyId) ?? g.keyId, GranteePrincipal: g.granteePrincipal, Operations: g.operations,
        Constraints: g.constraints ?? null, State: g.state, CreationDate: g.createdAt,
      })),
    };
  }

  call(ctx: CallContext, operation: string, params: Record<string, unknown> = {}): Record<string, unknown> {
    return this.invoker.invoke(ctx, operation, params);
  }
}
