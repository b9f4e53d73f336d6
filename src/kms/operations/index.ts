// KMS as AWS declares it: every operation ebsim implements, one declaration each. Adding an
// operation is a file here (or a line in its family's file), its entry below, and its test.
import type { ServiceDeclaration } from '../../api/index.js';
import { KMSInternalException, UnknownOperationException } from '../../errors/index.js';
import type { KmsEnv, KmsExt, KmsOperation } from '../operation.js';
import { CreateAlias, DeleteAlias, ListAliases, UpdateAlias } from './aliases.js';
import { CreateGrant } from './create-grant.js';
import { CreateKey } from './create-key.js';
import { Decrypt } from './decrypt.js';
import { DeriveSharedSecret } from './derive-shared-secret.js';
import { DescribeKey } from './describe-key.js';
import { DisableKey, EnableKey } from './enable-disable-key.js';
import { Encrypt } from './encrypt.js';
import { GenerateDataKey, GenerateDataKeyWithoutPlaintext } from './generate-data-key.js';
import { GenerateDataKeyPair, GenerateDataKeyPairWithoutPlaintext } from './generate-data-key-pair.js';
import { GenerateRandom } from './generate-random.js';
import { GetPublicKey } from './get-public-key.js';
import { CancelKeyDeletion, ScheduleKeyDeletion } from './key-deletion.js';
import { Decapsulate, Encapsulate } from './key-encapsulation.js';
import { GetKeyPolicy, ListKeyPolicies, PutKeyPolicy } from './key-policy.js';
import { DisableKeyRotation, EnableKeyRotation, GetKeyRotationStatus, ListKeyRotations, RotateKeyOnDemand } from './key-rotation.js';
import { ListGrants, ListRetirableGrants } from './list-grants.js';
import { ListKeys } from './list-keys.js';
import { GenerateMac, VerifyMac } from './mac.js';
import { ReplicateKey, UpdatePrimaryRegion } from './multi-region.js';
import { ReEncrypt } from './re-encrypt.js';
import { RetireGrant, RevokeGrant } from './retire-revoke-grant.js';
import { Sign, Verify } from './sign-verify.js';
import { ListResourceTags, TagResource, UntagResource } from './tags.js';
import { UpdateKeyDescription } from './update-key-description.js';
import { DeleteImportedKeyMaterial, GetParametersForImport, ImportKeyMaterial } from './import-key-material.js';
import { GetKeyLastUsage } from './get-key-last-usage.js';
import {
  ConnectCustomKeyStore, CreateCustomKeyStore, DeleteCustomKeyStore, DescribeCustomKeyStores, DisconnectCustomKeyStore, UpdateCustomKeyStore,
} from './custom-key-stores.js';

export const KMS_OPERATIONS: readonly KmsOperation[] = [
  CreateKey, DescribeKey, UpdateKeyDescription, ListKeys, CreateAlias, UpdateAlias, DeleteAlias, ListAliases, EnableKey, DisableKey,
  ScheduleKeyDeletion, CancelKeyDeletion, EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus, RotateKeyOnDemand, ListKeyRotations,
  Encrypt, Decrypt, ReEncrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext, GenerateRandom,
  GenerateDataKeyPair, GenerateDataKeyPairWithoutPlaintext, GenerateMac, VerifyMac, DeriveSharedSecret, Encapsulate, Decapsulate,
  CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant,
  GetKeyPolicy, PutKeyPolicy, ListKeyPolicies,
  TagResource, UntagResource, ListResourceTags,
  Sign, Verify, GetPublicKey,
  ReplicateKey, UpdatePrimaryRegion,
  GetParametersForImport, ImportKeyMaterial, DeleteImportedKeyMaterial, GetKeyLastUsage,
  CreateCustomKeyStore, ConnectCustomKeyStore, DisconnectCustomKeyStore, DeleteCustomKeyStore, DescribeCustomKeyStores, UpdateCustomKeyStore,
];

export const KMS_SERVICE: ServiceDeclaration<KmsEnv, KmsExt> = {
  name: 'kms',
  eventSource: 'kms.amazonaws.com',
  operations: KMS_OPERATIONS,
  unknownOperation: (name) => new UnknownOperationException(`Operation ${name} is not supported by ebsim's KMS.`),
  internalError: (message) => new KMSInternalException(message),
};
