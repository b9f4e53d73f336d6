// The Recipient parameter (a Nitro Enclaves or NitroTPM attestation document): ebsim has no
// attested environments, so an operation that would encrypt its answer to one refuses it
// plainly rather than answer in the clear.
import { UnsupportedOperationException } from '../errors/index.js';

/** AWS's RecipientInfo: the only KeyEncryptionAlgorithm is RSAES_OAEP_SHA_256. */
export const RECIPIENT = {
  kind: 'structure',
  members: { KeyEncryptionAlgorithm: { kind: 'string', enum: ['RSAES_OAEP_SHA_256'] }, AttestationDocument: { kind: 'blob', min: 1, max: 262144 } },
  doc: 'JSON {"KeyEncryptionAlgorithm","AttestationDocument"} (refused: ebsim does not model Nitro Enclaves attestation)',
} as const;

export function refuseRecipient(recipient: object | undefined, operation: string, secret?: Uint8Array): void {
  if (recipient !== undefined) {
    // A plaintext already made (Decrypt opens the blob first: a bad ciphertext is refused as such) never outlives the refusal.
    secret?.fill(0);
    throw new UnsupportedOperationException(`${operation} with a Recipient is not supported: ebsim does not model Nitro Enclaves or NitroTPM attestation.`);
  }
}
