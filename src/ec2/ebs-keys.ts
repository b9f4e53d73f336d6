// EBS's data keys as EC2 handles them with KMS, each step an authorized, recorded KMS call:
// - a new volume's or copy's data key: GenerateDataKeyWithoutPlaintext, EC2 for the caller;
// - the same data key bound to another volume or snapshot under the same KMS key: ReEncrypt, EC2
//   for the caller, so the plaintext never leaves KMS ("How EBS encryption works": under the same
//   key "AWS KMS uses the same data key"; the public API that does that is ReEncrypt);
// - plaintext keys for a copy that re-encrypts the data: a grant per key to EC2's infrastructure
//   role (session named after the resource being made), then that session's Decrypt through it;
//   the keys are zeroed and the grants retired when the copy ends. Each grant is noted with the
//   copy (CopyGrantJournal) as soon as KMS answers, so that a copy whose maker dies half-way has
//   its grants retired when it is settled (image-jobs.ts), not left live.
import { onBehalfOf, type CallContext, type Principal } from '../core/call-context.js';
import { AwsError } from '../errors/index.js';
import { EC2_INFRASTRUCTURE_ROLE, type IamService } from '../iam/service.js';
import type { KmsClient } from '../kms/client.js';
import { hostAddressOf } from './ids.js';

/** A data key as EBS stores it: encrypted under `keyArn`, bound to `{"aws:ebs:id": contextId}`. */
export interface WrappedDataKey {
  keyArn: string;
  blob: Buffer;
  contextId: string;
}

/** Plaintext data keys lent to a copy; `release` zeroes them and retires their grants. */
export interface UnwrappedKeys {
  plaintexts: Buffer[];
  release(): void;
}

/**
 * The retiring principal of the grants EBS makes: the KMS guide's "Examining grants" shows an EBS
 * grant (grantee the aws:ec2-infrastructure session) whose RetiringPrincipal is an account's root;
 * ebsim names the volume's account (docs/known-differences.md).
 */
export function ebsRetiringPrincipal(accountId: string): string {
  return `arn:aws:iam::${accountId}:root`;
}

/** A grant EC2 made for a copy's worker: retired in its key's Region. */
export interface CopyGrant {
  grantId: string;
  keyArn: string;
  region: string;
}

/**
 * Where a copy's grants are kept from their creation to their retirement (the store's
 * ec2_copy_grants), with the caller EC2 made them for: what a settled copy's grants are retired by.
 */
export interface CopyGrantJournal {
  noteCopyGrant(workerId: string, caller: Principal, grant: CopyGrant): void;
  dropCopyGrant(grantId: string): void;
}

/** A grant left by a copy whose maker died, as the journal kept it (caller null: noted by an older ebsim). */
export interface LeftoverGrant extends CopyGrant {
  workerId: string;
  caller: Principal | null;
}

/** The encryption context EBS binds every data key to. */
export function ebsContext(volumeOrSnapshotId: string): Record<string, string> {
  return { 'aws:ebs:id': volumeOrSnapshotId };
}

/** A data key and the Region's EBS keys that hold its KMS key (KMS keys are Regional). */
export interface KeyInRegion {
  key: WrappedDataKey;
  in: EbsDataKeys;
}

export class EbsDataKeys {
  constructor(
    private readonly kms: KmsClient,
    private readonly iam: IamService,
    private readonly accountId: string,
    /** The Region whose KMS this talks to: every call it makes is recorded there. */
    readonly region: string,
    /** Where the copies' grants are noted (the store); none: not noted (a crash leaves them live). */
    private readonly journal?: CopyGrantJournal,
  ) {}

  /** EC2 calling KMS for the caller, in this Region (a cross-Region copy's caller called another). */
  private forCaller(ctx: CallContext, requestId?: string): CallContext {
    return onBehalfOf(ctx.region === this.region ? ctx : { ...ctx, region: this.region }, 'ec2', requestId);
  }

  /** A new 64-byte data key under `keyId`, bound to `forId` (the seed's GenerateDataKeyWithoutPlaintext). */
  generate(ctx: CallContext, keyId: string, forId: string): WrappedDataKey {
    const r = this.kms.generateDataKeyWithoutPlaintext(this.forCaller(ctx), { KeyId: keyId, NumberOfBytes: 64, EncryptionContext: ebsContext(forId) });
    return { keyArn: r.KeyId, blob: asBuffer(r.CiphertextBlob), contextId: forId };
  }

  /** The same data key, under the same KMS key, bound to `toId` instead (ReEncrypt). */
  rebind(ctx: CallContext, key: WrappedDataKey, toId: string): WrappedDataKey {
    const r = this.kms.reEncrypt(this.forCaller(ctx), {
      CiphertextBlob: key.blob,
      SourceEncryptionContext: ebsContext(key.contextId),
      DestinationKeyId: key.keyArn,
      DestinationEncryptionContext: ebsContext(toId),
    });
    return { keyArn: r.KeyId, blob: asBuffer(r.CiphertextBlob), contextId: toId };
  }

  /** The ARN of the key a request names by ID, alias or ARN (DescribeKey), to tell "the same key" from another. */
  keyArn(ctx: CallContext, keyId: string): string {
    return this.kms.describeKey(this.forCaller(ctx), { KeyId: keyId }).KeyMetadata.Arn;
  }

  /** Whether the key is an AWS managed key (aws/ebs), asked of KMS (DescribeKey, EC2 for the caller). */
  isAwsManaged(ctx: CallContext, keyArn: string): boolean {
    return this.kms.describeKey(this.forCaller(ctx), { KeyId: keyArn }).KeyMetadata.KeyManager === 'AWS';
  }

  /** EC2's infrastructure working on `resourceId` in this Region: the role aws:ec2-infrastructure, session named after it. */
  workerContext(resourceId: string): CallContext {
    return {
      principal: this.iam.sessionPrincipal(`arn:aws:iam::${this.accountId}:role/${EC2_INFRASTRUCTURE_ROLE}`, resourceId, ''),
      region: this.region,
      sourceIPAddress: hostAddressOf(resourceId),
    };
  }

  /** The grantee EC2 names for that session, in the seed's form ("ACCOUNT:aws:ec2-infrastructure:ID"). */
  workerGrantee(resourceId: string): string {
    return `${this.accountId}:${EC2_INFRASTRUCTURE_ROLE}:${resourceId}`;
  }

  /**
   * The plaintexts of `keys` for the infrastructure making `workerId`: for each key a grant
   * (Decrypt only, constrained to the key's context; EC2 for the caller, sharing the call's
   * request ID), then the worker's Decrypt through the grants, each in the Region of its key (`in`:
   * a cross-Region copy decrypts the source's data key in the source's Region). Each grant is
   * noted in the journal before the next call, and dropped from it once retired. On any refusal
   * what was made is undone (keys zeroed, grants retired) and the refusal thrown.
   */
  unwrapForCopy(ctx: CallContext, workerId: string, keys: readonly KeyInRegion[]): UnwrappedKeys {
    const grants: { in: EbsDataKeys; keyArn: string; grantId: string }[] = [];
    const plaintexts: Buffer[] = [];
    const release = () => {
      for (const p of plaintexts) p.fill(0);
      for (const g of grants) {
        g.in.retire(ctx, g.keyArn, g.grantId);
        this.journal?.dropCopyGrant(g.grantId);
      }
      grants.length = 0;
    };
    try {
      for (const { key: k, in: region } of keys) {
        const { GrantId } = region.kms.createGrant(region.forCaller(ctx, ctx.requestId), {
          KeyId: k.keyArn,
          GranteePrincipal: region.workerGrantee(workerId),
          RetiringPrincipal: ebsRetiringPrincipal(this.accountId),
          Operations: ['Decrypt'],
          Constraints: { EncryptionContextSubset: ebsContext(k.contextId) },
        });
        grants.push({ in: region, keyArn: k.keyArn, grantId: GrantId });
        this.journal?.noteCopyGrant(workerId, ctx.principal, { grantId: GrantId, keyArn: k.keyArn, region: region.region });
      }
      for (const { key: k, in: region } of keys) {
        plaintexts.push(asBuffer(region.kms.decrypt(region.workerContext(workerId), { CiphertextBlob: k.blob, EncryptionContext: ebsContext(k.contextId) }).Plaintext));
      }
    } catch (err) {
      release();
      throw err;
    }
    return { plaintexts, release };
  }

  /**
   * A grant of a copy whose maker died, retired as the copy's end would have: RetireGrant in this
   * Region (its key's), EC2 for the copy's caller (the grant names the account's root as retiring
   * principal, EC2 retires it for the account: src/kms/authorize.ts). A grant noted by an older
   * ebsim has no caller: EC2's infrastructure session for the copy retires it, through EC2 too.
   * Dropped from the journal whatever KMS answers (a failure is in the trail, as at a copy's end).
   */
  retireLeftover(g: LeftoverGrant): void {
    const who: CallContext = g.caller ? { principal: g.caller, region: this.region, sourceIPAddress: 'AWS Internal' } : this.workerContext(g.workerId);
    this.retire(who, g.keyArn, g.grantId);
    this.journal?.dropCopyGrant(g.grantId);
  }

  /** RetireGrant, EC2 for the caller; a failure is in the trail and does not stop the caller. */
  private retire(ctx: CallContext, keyArn: string, grantId: string): void {
    try {
      this.kms.retireGrant(this.forCaller(ctx), { KeyId: keyArn, GrantId: grantId });
    } catch (err) {
      if (!(err instanceof AwsError)) throw err;
    }
  }
}

/** A view of the same bytes (no copy), so zeroing the Buffer zeroes the key. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
