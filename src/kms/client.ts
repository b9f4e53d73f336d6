// KMS as another domain (EC2, the instance's host) calls it: typed requests and responses, in the
// spirit of the AWS Encryption SDK's minimal KMS client. Every call goes through the service's one
// entry point, so it is validated, authorized and recorded in the trail like any other caller's.
// Only the operations EC2 uses are here; add one when a domain needs it.
import type { CallContext } from '../core/call-context.js';
import type { KmsService } from './service.js';

/** Encryption contexts EC2 builds itself (e.g. `aws:ebs:id`); KMS validates them into maps. */
export type EncryptionContextInput = Readonly<Record<string, string>>;

export interface DecryptRequest {
  CiphertextBlob: Uint8Array;
  EncryptionContext?: EncryptionContextInput;
  KeyId?: string;
}

export interface DecryptResponse {
  /** The caller owns it and must zero it after use. */
  Plaintext: Uint8Array;
  KeyId: string;
}

export interface GenerateDataKeyWithoutPlaintextRequest {
  KeyId: string;
  NumberOfBytes: number;
  EncryptionContext?: EncryptionContextInput;
}

export interface CiphertextResponse {
  CiphertextBlob: Uint8Array;
  /** ARN of the key that encrypted it. */
  KeyId: string;
}

export interface ReEncryptRequest {
  CiphertextBlob: Uint8Array;
  SourceEncryptionContext?: EncryptionContextInput;
  DestinationKeyId: string;
  DestinationEncryptionContext?: EncryptionContextInput;
}

export interface ReEncryptResponse extends CiphertextResponse {
  SourceKeyId: string;
}

export interface GrantConstraintsInput {
  EncryptionContextSubset?: EncryptionContextInput;
  EncryptionContextEquals?: EncryptionContextInput;
}

export interface CreateGrantRequest {
  KeyId: string;
  GranteePrincipal: string;
  Operations: readonly string[];
  Constraints?: GrantConstraintsInput;
  RetiringPrincipal?: string;
  Name?: string;
}

export interface CreateGrantResponse {
  GrantId: string;
  GrantToken: string;
}

export interface RetireGrantRequest {
  KeyId: string;
  GrantId: string;
}

export interface ListGrantsRequest {
  KeyId: string;
  GrantId?: string;
  GranteePrincipal?: string;
  Limit?: number;
  Marker?: string;
}

export interface GrantListEntry {
  KeyId: string;
  GrantId: string;
  GranteePrincipal: string;
  Operations: string[];
  Name?: string;
  RetiringPrincipal?: string;
}

export interface ListGrantsResponse {
  /** Live grants only: retired and revoked grants are not listed. */
  Grants: GrantListEntry[];
  Truncated: boolean;
  NextMarker?: string;
}

export interface DescribeKeyRequest {
  KeyId: string;
}

export interface DescribeKeyResponse {
  /** KeyManager: AWS for an AWS managed key (aws/ebs), CUSTOMER for a customer managed one. */
  KeyMetadata: { KeyId: string; Arn: string; KeyState: string; KeyManager: string };
}

export interface KmsClient {
  describeKey(ctx: CallContext, req: DescribeKeyRequest): DescribeKeyResponse;
  decrypt(ctx: CallContext, req: DecryptRequest): DecryptResponse;
  generateDataKeyWithoutPlaintext(ctx: CallContext, req: GenerateDataKeyWithoutPlaintextRequest): CiphertextResponse;
  reEncrypt(ctx: CallContext, req: ReEncryptRequest): ReEncryptResponse;
  createGrant(ctx: CallContext, req: CreateGrantRequest): CreateGrantResponse;
  retireGrant(ctx: CallContext, req: RetireGrantRequest): void;
  listGrants(ctx: CallContext, req: ListGrantsRequest): ListGrantsResponse;
}

/** The client over the service's entry point; the casts of its untyped responses live here only. */
export function kmsClient(kms: Pick<KmsService, 'call'>): KmsClient {
  const call = (ctx: CallContext, operation: string, params: object) => kms.call(ctx, operation, params as Record<string, unknown>);
  return {
    describeKey(ctx, req) {
      const m = call(ctx, 'DescribeKey', req).KeyMetadata as Record<string, unknown>;
      return { KeyMetadata: { KeyId: m.KeyId as string, Arn: m.Arn as string, KeyState: m.KeyState as string, KeyManager: m.KeyManager as string } };
    },
    decrypt(ctx, req) {
      const r = call(ctx, 'Decrypt', req);
      return { Plaintext: r.Plaintext as Uint8Array, KeyId: r.KeyId as string };
    },
    generateDataKeyWithoutPlaintext(ctx, req) {
      const r = call(ctx, 'GenerateDataKeyWithoutPlaintext', req);
      return { CiphertextBlob: r.CiphertextBlob as Uint8Array, KeyId: r.KeyId as string };
    },
    reEncrypt(ctx, req) {
      const r = call(ctx, 'ReEncrypt', req);
      return { CiphertextBlob: r.CiphertextBlob as Uint8Array, KeyId: r.KeyId as string, SourceKeyId: r.SourceKeyId as string };
    },
    createGrant(ctx, req) {
      const r = call(ctx, 'CreateGrant', { ...req, Operations: [...req.Operations] });
      return { GrantId: r.GrantId as string, GrantToken: r.GrantToken as string };
    },
    retireGrant(ctx, req) {
      call(ctx, 'RetireGrant', req);
    },
    listGrants(ctx, req) {
      const r = call(ctx, 'ListGrants', req);
      return { Grants: r.Grants as GrantListEntry[], Truncated: r.Truncated as boolean, ...(r.NextMarker ? { NextMarker: r.NextMarker as string } : {}) };
    },
  };
}
