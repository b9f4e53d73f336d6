// What a KMS operation is: an api declaration whose environment is KMS's stores and whose
// extension says what the key-state table, the grants and AWS managed keys' policy allow.
import type { Call, Members, OperationDeclaration, Recorder } from '../api/index.js';
import type { IdentityPolicySource } from '../policy/index.js';
import type { PrincipalDirectory } from './grant-principals.js';
import type { GrantStore } from './grants.js';
import type { KeyPolicyStore } from './key-policy.js';
import type { KeyStore } from './keys.js';
import type { ImportedMaterialStore } from './imported-material.js';
import type { KeyUsageTracker } from './last-usage.js';
import type { KeyTagStore } from './tags.js';
import { KEY_STATES, type KeyState } from './key-state.js';
import { KEY_ID_OR_ARN } from './operations/members.js';

export interface KmsEnv {
  keys: KeyStore;
  grants: GrantStore;
  /** Key policy texts as given (a key without one has the default for its kind). */
  policies: KeyPolicyStore;
  /** Each key's tags (ListResourceTags, aws:ResourceTag/…). */
  tags: KeyTagStore;
  /** Imported key material of keys with Origin EXTERNAL, and the import tokens. */
  imports: ImportedMaterialStore;
  /** Each key's last cryptographic use (GetKeyLastUsage). */
  usage: KeyUsageTracker;
  facts: KmsFacts;
  /** The callers' IAM identity and session policies, and who exists (the IAM directory). */
  principals: IdentityPolicySource & PrincipalDirectory;
  /** The same account's KMS stores in another Region (ReplicateKey, UpdatePrimaryRegion act across Regions). */
  inRegion(region: string): KmsEnv;
  /** The trail, for what a call does in another Region (ReplicateKey's CreateKey there). */
  recorder: Recorder;
}

export interface KmsExt {
  /** Key states in which the operation may use its key (the developer guide's key-state table); absent: it uses no key. */
  keyStates?: readonly KeyState[];
  /** The kms: actions it is authorized as (default: its name; ReEncrypt is ReEncryptFrom and ReEncryptTo). */
  actions?: readonly string[];
  /** A grant may allow it (its actions are grant operations). */
  grantable: boolean;
  /**
   * It may use a key of another account (named by key ARN or alias ARN), as the API reference's
   * "Cross-account use: Yes" says; the others act only on keys of the caller's account.
   */
  crossAccount?: boolean;
}

export type KmsCall = Call<KmsEnv>;
/** Any KMS operation, whatever its members (`any`: each run takes its own input type). */
export type KmsOperation = OperationDeclaration<KmsEnv, KmsExt, any>;

/** Declares a KMS operation; `run`'s input is typed from the members. */
export function kmsOperation<const M extends Members>(op: OperationDeclaration<KmsEnv, KmsExt, M>): OperationDeclaration<KmsEnv, KmsExt, M> {
  return op;
}

/** The declarations' extensions as tables: by operation (key states) and by action (policy, grants). */
export class KmsFacts {
  private readonly states = new Map<string, readonly KeyState[]>();
  private readonly grantableActions = new Set<string>();
  private readonly crossAccountOps = new Set<string>();
  private readonly keyIdOnlyOps = new Set<string>();

  constructor(operations: readonly KmsOperation[]) {
    for (const op of operations) {
      const ext = op.ext as KmsExt;
      this.states.set(op.name, ext.keyStates ?? KEY_STATES);
      if (ext.crossAccount) this.crossAccountOps.add(op.name);
      if ((op.input as Members).KeyId === KEY_ID_OR_ARN) this.keyIdOnlyOps.add(op.name);
      for (const action of ext.actions ?? [op.name]) {
        if (ext.grantable) this.grantableActions.add(action);
      }
    }
  }

  /** Key states in which `operation` may use its key. */
  keyStatesOf(operation: string): readonly KeyState[] {
    return this.states.get(operation) ?? [];
  }

  grantable(action: string): boolean {
    return this.grantableActions.has(action);
  }

  /** Does `operation` take a key ID or key ARN only (its KeyId member is KEY_ID_OR_ARN), refusing aliases? */
  keyIdOnly(operation: string): boolean {
    return this.keyIdOnlyOps.has(operation);
  }

  /** May `operation` use a key of another account of the home? */
  crossAccount(operation: string): boolean {
    return this.crossAccountOps.has(operation);
  }
}
