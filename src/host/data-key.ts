// The volume's data key as the instance's host gets it: decrypted by KMS for the instance's
// infrastructure role (the assumed role aws:ec2-infrastructure, session named after the instance,
// calling from the instance's private address), never stored, zeroed by the caller after use.
import type { CallContext } from '../core/call-context.js';
import { IncorrectState, InvalidParameterValue } from '../errors/index.js';
import { EC2_INFRASTRUCTURE_ROLE } from '../iam/service.js';
import type { IamDirectory } from '../iam/directory.js';
import { hostAddressOf } from '../ec2/ids.js';
import type { Volume } from '../ec2/model.js';

export interface DecryptInput {
  CiphertextBlob: Uint8Array;
  EncryptionContext: Record<string, string>;
  KeyId?: string;
}

/** All the host needs of KMS (in the spirit of the AWS Encryption SDK's minimal KMS client). */
export interface DataKeyDecrypter {
  decrypt(ctx: CallContext, input: DecryptInput): { Plaintext: Uint8Array };
}

/** The call context of an instance's host: its infrastructure role's session, from its private address. */
export function hostCallContext(iam: IamDirectory, region: string, instanceId: string): CallContext {
  return { principal: iam.sessionPrincipal(EC2_INFRASTRUCTURE_ROLE, instanceId, ''), region, sourceIPAddress: hostAddressOf(instanceId) };
}

/** The encryption context EC2 binds a volume's (or snapshot's) data key to. */
export function volumeEncryptionContext(volumeId: string): Record<string, string> {
  const context: Record<string, string> = Object.create(null);
  context['aws:ebs:id'] = volumeId;
  return context;
}

/** Decrypts an encrypted volume's 64-byte data key as the host of the instance it is attached to. */
export function decryptVolumeKey(keys: DataKeyDecrypter, iam: IamDirectory, region: string, volume: Volume): Uint8Array {
  if (!volume.encrypted || !volume.encryptedDataKey) throw new InvalidParameterValue(`${volume.volumeId} is not encrypted`);
  if (!volume.instanceId) throw new IncorrectState(`Volume '${volume.volumeId}' is not attached to an instance: attach it first (ebsim ec2 attach-volume, or volume mount --instance)`);
  const ctx = hostCallContext(iam, region, volume.instanceId);
  return keys.decrypt(ctx, { CiphertextBlob: volume.encryptedDataKey, EncryptionContext: volumeEncryptionContext(volume.volumeId) }).Plaintext;
}
