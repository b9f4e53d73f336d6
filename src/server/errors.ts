// The errors only the wire layer raises: authentication and request framing. The domain's
// errors (src/errors) cover everything after the request is understood and signed.
import { AwsError } from '../errors/index.js';

export class WireError extends AwsError {
  constructor(
    readonly code: string,
    message: string,
    override readonly status = 400,
  ) {
    super(message);
    this.name = code;
  }
}

export const missingAuthenticationToken = () => new WireError('MissingAuthenticationTokenException', 'Request is missing Authentication Token');
export const incompleteSignature = (message: string) => new WireError('IncompleteSignatureException', message);
export const invalidSignature = (message: string) => new WireError('InvalidSignatureException', message);
export const unrecognizedClient = () => new WireError('UnrecognizedClientException', 'The security token included in the request is invalid.');
/** Temporary credentials past their Expiration (KMS and CloudTrail; STS's query protocol says ExpiredToken). */
export const expiredToken = () => new WireError('ExpiredTokenException', 'The security token included in the request is expired');
export const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
export const serialization = (message: string, status = 400) => new WireError('SerializationException', message, status);
export const unknownOperation = (message: string) => new WireError('UnknownOperationException', message);
