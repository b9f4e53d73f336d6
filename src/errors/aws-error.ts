// Errors in AWS's own terms: one class per AWS error name, carrying the name (the JSON
// protocol's `__type`), the HTTP status AWS answers with, and AWS's message text.
// The domain throws these; only the edges (CLI, HTTP server, FUSE) translate them.

export abstract class AwsError extends Error {
  abstract readonly code: string;
  readonly status: number = 400;
  /** The AWS operation that failed, when it is not the command's own (e.g. Decrypt inside a mount). */
  operation?: string;
  /** True for a mistake of the caller (printed without a stack trace by the CLI). */
  readonly userError: boolean = true;
}

function awsError(code: string, status = 400) {
  const cls = class extends AwsError {
    readonly code = code;
    override readonly status = status;
    constructor(message: string) {
      super(message);
      this.name = code;
    }
  };
  Object.defineProperty(cls, 'name', { value: code });
  return cls;
}

export const ValidationException = awsError('ValidationException');
export const NotFoundException = awsError('NotFoundException');
export const AlreadyExistsException = awsError('AlreadyExistsException');
export const DisabledException = awsError('DisabledException');
export const KMSInvalidStateException = awsError('KMSInvalidStateException');
export const InvalidCiphertextException = awsError('InvalidCiphertextException');
/** Verify's answer to a signature that does not verify (AWS answers nothing else: SignatureValid is never false). */
export const KMSInvalidSignatureException = awsError('KMSInvalidSignatureException');
export const IncorrectKeyException = awsError('IncorrectKeyException');
export const InvalidKeyUsageException = awsError('InvalidKeyUsageException');
/** VerifyMac's answer to a MAC that does not verify (AWS answers MacValid true or this, never false). */
export const KMSInvalidMacException = awsError('KMSInvalidMacException');
export const InvalidAliasNameException = awsError('InvalidAliasNameException');
export const InvalidArnException = awsError('InvalidArnException');
export const InvalidGrantIdException = awsError('InvalidGrantIdException');
export const InvalidGrantTokenException = awsError('InvalidGrantTokenException');
export const InvalidMarkerException = awsError('InvalidMarkerException');
export const UnsupportedOperationException = awsError('UnsupportedOperationException');
export const LimitExceededException = awsError('LimitExceededException');
/** KMS's answer to tags it will not take (the reserved aws: prefix, characters, duplicates, more than 50 on a key). */
export const TagException = awsError('TagException');
/** KMS's answer to a key policy it will not take: not JSON, the wrong shape, too large, or one that would lock the caller out. */
export const MalformedPolicyDocumentException = awsError('MalformedPolicyDocumentException');
export const AccessDeniedException = awsError('AccessDeniedException');
// Imported key material (GetParametersForImport, ImportKeyMaterial).
export const ExpiredImportTokenException = awsError('ExpiredImportTokenException');
export const InvalidImportTokenException = awsError('InvalidImportTokenException');
export const IncorrectKeyMaterialException = awsError('IncorrectKeyMaterialException');
// Custom key stores, which ebsim has none of (kms/operations/custom-key-stores.ts).
export const CustomKeyStoreNotFoundException = awsError('CustomKeyStoreNotFoundException');
export const CloudHsmClusterNotFoundException = awsError('CloudHsmClusterNotFoundException');
export const XksProxyUriUnreachableException = awsError('XksProxyUriUnreachableException');
/** STS's (query protocol) name for a refusal, with AWS's 403. */
export const AccessDenied = awsError('AccessDenied', 403);
export const EntityAlreadyExistsException = awsError('EntityAlreadyExists', 409);
export const NoSuchEntityException = awsError('NoSuchEntity', 404);
/** IAM's and STS's (query protocol) answer to a request their model refuses (not the JSON protocol's ValidationException). */
export const ValidationError = awsError('ValidationError');
export const MalformedPolicyDocument = awsError('MalformedPolicyDocument');
/** IAM's quotas (policy size, versions per policy, attachments per principal), with AWS's 409. */
export const LimitExceeded = awsError('LimitExceeded', 409);
export const DeleteConflict = awsError('DeleteConflict', 409);
export const InvalidInput = awsError('InvalidInput');
export const InvalidParameterValue = awsError('InvalidParameterValue');
export const MissingParameter = awsError('MissingParameter');
/** EC2's answer to a parameter given without the one it needs (KmsKeyId without Encrypted). */
export const InvalidParameterDependency = awsError('InvalidParameterDependency');
/** EC2's refusal of a client token used before with other arguments (RunInstances). */
export const IdempotentParameterMismatch = awsError('IdempotentParameterMismatch');
export const InvalidSnapshotInUse = awsError('InvalidSnapshot.InUse');
/** EC2's refusal of two parameters that cannot go together (adding and removing permissions in one call). */
export const InvalidParameterCombination = awsError('InvalidParameterCombination');
/** EC2's refusal of what the resource does not allow (making an encrypted snapshot public). */
export const OperationNotPermitted = awsError('OperationNotPermitted');
export const UnauthorizedOperation = awsError('UnauthorizedOperation', 403);
export const InvalidVolumeNotFound = awsError('InvalidVolume.NotFound');
export const InvalidInstanceIDNotFound = awsError('InvalidInstanceID.NotFound');
export const InvalidSnapshotNotFound = awsError('InvalidSnapshot.NotFound');
export const IncorrectState = awsError('IncorrectState');
/** EC2's refusal of an instance operation its state does not allow (stop a terminated instance, start a running one…). */
export const IncorrectInstanceState = awsError('IncorrectInstanceState');
export const VolumeInUse = awsError('VolumeInUse');
export const InvalidVolumeZoneMismatch = awsError('InvalidVolume.ZoneMismatch');
// CloudTrail's LookupEvents refusals (its API reference's Errors section).
export const InvalidLookupAttributesException = awsError('InvalidLookupAttributesException');
export const InvalidTimeRangeException = awsError('InvalidTimeRangeException');
export const InvalidMaxResultsException = awsError('InvalidMaxResultsException');
export const InvalidNextTokenException = awsError('InvalidNextTokenException');
export const InvalidEventCategoryException = awsError('InvalidEventCategoryException');
export const KMSInternalException = awsError('KMSInternalException', 500);
export const UnknownOperationException = awsError('UnknownOperationException');
export const SerializationException = awsError('SerializationException');
/** The query-protocol services' (IAM, STS, EC2) answer to an action they do not have. */
export const InvalidAction = awsError('InvalidAction');
/** A failure that is not the caller's: CloudTrail, IAM and STS say InternalFailure, EC2 InternalError. */
export const InternalFailure = awsError('InternalFailure', 500);
export const InternalError = awsError('InternalError', 500);
/** EC2: a volume the service cannot provision (ebsim: its home's file system cannot hold the image). */
export const InsufficientVolumeCapacity = awsError('InsufficientVolumeCapacity', 500);

/** ebsim's own precondition failures (no home yet, missing system tool…): not an AWS error. */
export class UserError extends Error {
  readonly userError = true;
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** AWS's form for bound violations: "1 validation error detected: Value 'x' at 'field' failed to satisfy constraint: …". */
export function validationError(value: unknown, field: string, constraint: string): AwsError {
  return new ValidationException(
    `1 validation error detected: Value '${String(value)}' at '${field}' failed to satisfy constraint: ${constraint}`,
  );
}
