// A key material's identifier as AWS's BackingKeyIdType has it (64 lowercase hex digits): what
// KeyMetadata.CurrentKeyMaterialId, ListKeyRotations, Decrypt, ReEncrypt and GenerateDataKey
// show. Neither form reveals anything of the material.
import { createHash } from 'node:crypto';

const generated = new Map<string, string>();

/**
 * Material KMS generated (Origin AWS_KMS): derived from the key's ARN and the version, so it is
 * stable without being stored. Memoized: Decrypt names it on every call.
 */
export function generatedKeyMaterialId(keyArn: string, version: number): string {
  const memo = `${keyArn}#${version}`;
  let id = generated.get(memo);
  if (id === undefined) {
    // The keys of a multi-Region set share their material: their ARNs without the Region name it.
    const label = `${keyArn.replace(/^(arn:aws:kms:)[^:]*(:\d+:key\/mrk-)/, '$1$2')}#${version}`;
    id = createHash('sha256').update(`ebsim key material ${label}`).digest('hex');
    if (generated.size < 10_000) generated.set(memo, id);
  }
  return id;
}

/**
 * Imported material: "KMS assigns a unique identifier to the key material based on the KMS key
 * ID and the imported key material" (ImportKeyMaterial, KeyMaterialId), so reimporting the same
 * material finds the same identifier, and different material a different one.
 */
export function importedKeyMaterialId(keyId: string, material: Uint8Array): string {
  return createHash('sha256').update(`ebsim imported key material ${keyId}\0`).update(material).digest('hex');
}
