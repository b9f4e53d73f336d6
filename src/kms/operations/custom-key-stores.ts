// Custom key stores (CloudHSM clusters, external key store proxies) are out of ebsim's scope:
// there never is one. The six operations answer as AWS answers in an account that has none:
// DescribeCustomKeyStores lists nothing; an operation naming a store, CustomKeyStoreNotFoundException;
// CreateCustomKeyStore, what AWS says when the cluster or proxy it names cannot be found.
// Each is an account-level action its caller's IAM policy must allow ("Required permissions:
// kms:CreateCustomKeyStore (IAM policy)" and so on).
import { CloudHsmClusterNotFoundException, CustomKeyStoreNotFoundException, ValidationException, XksProxyUriUnreachableException } from '../../errors/index.js';
import { authorizeAccountAction } from '../authorize.js';
import type { Members } from '../../api/index.js';
import { kmsOperation, type KmsOperation } from '../operation.js';
import { LIMIT, MARKER } from './members.js';

export const CUSTOM_KEY_STORE_ID = { kind: 'string', min: 1, max: 64, doc: 'custom key store ID (cks-…)' } as const;
const STORE_NAME = { kind: 'string', min: 1, max: 256 } as const;
const CLUSTER_ID = { kind: 'string', min: 19, max: 24, pattern: /^cluster-[2-7a-zA-Z]{11,16}$/ } as const;
const PASSWORD = { kind: 'string', min: 7, max: 32, secret: true } as const;
const XKS = {
  XksProxyUriEndpoint: { kind: 'string', min: 10, max: 128 },
  XksProxyUriPath: { kind: 'string', min: 10, max: 128 },
  XksProxyVpcEndpointServiceName: { kind: 'string', min: 20, max: 64, pattern: /^(com|eu)\.amazonaws\.vpce\.([a-z]+-){2,3}\d+\.vpce-svc-[0-9a-z]+$/ },
  XksProxyVpcEndpointServiceOwner: { kind: 'string', min: 12, max: 12, pattern: /^[0-9]{12}$/ },
  XksProxyAuthenticationCredential: {
    kind: 'structure',
    members: {
      AccessKeyId: { kind: 'string', required: true, min: 20, max: 30, pattern: /^[A-Z2-7]+$/, secret: true },
      RawSecretAccessKey: { kind: 'string', required: true, min: 43, max: 64, secret: true },
    },
    doc: 'JSON {"AccessKeyId","RawSecretAccessKey"}',
  },
  XksProxyConnectivity: { kind: 'string', enum: ['PUBLIC_ENDPOINT', 'VPC_ENDPOINT_SERVICE'] },
} as const;

const ext = { grantable: false } as const;

function notFound(id: string) {
  return new CustomKeyStoreNotFoundException(`Custom key store ${id} does not exist in this account and Region.`);
}

/** An operation on one custom key store: allowed by IAM or not, it does not exist. */
function onStore(name: string, description: string, members: Members): KmsOperation {
  const input: Members = { CustomKeyStoreId: { ...CUSTOM_KEY_STORE_ID, required: true }, ...members };
  return kmsOperation({
    name,
    description,
    readOnly: false,
    ext,
    input,
    run(ctx, params, call) {
      authorizeAccountAction(call.env, ctx, name);
      throw notFound(String(params.CustomKeyStoreId));
    },
  });
}

export const ConnectCustomKeyStore = onStore('ConnectCustomKeyStore', 'Connect a custom key store (ebsim has none: CustomKeyStoreNotFoundException)', {});
export const DisconnectCustomKeyStore = onStore('DisconnectCustomKeyStore', 'Disconnect a custom key store (ebsim has none: CustomKeyStoreNotFoundException)', {});
export const DeleteCustomKeyStore = onStore('DeleteCustomKeyStore', 'Delete a custom key store (ebsim has none: CustomKeyStoreNotFoundException)', {});
export const UpdateCustomKeyStore = onStore('UpdateCustomKeyStore', 'Change a custom key store (ebsim has none: CustomKeyStoreNotFoundException)', {
  NewCustomKeyStoreName: STORE_NAME,
  KeyStorePassword: PASSWORD,
  CloudHsmClusterId: CLUSTER_ID,
  ...XKS,
});

export const DescribeCustomKeyStores = kmsOperation({
  name: 'DescribeCustomKeyStores',
  description: 'List custom key stores (ebsim has none)',
  readOnly: true,
  ext,
  input: { CustomKeyStoreId: CUSTOM_KEY_STORE_ID, CustomKeyStoreName: STORE_NAME, Limit: LIMIT, Marker: MARKER },
  run(ctx, input, call) {
    authorizeAccountAction(call.env, ctx, 'DescribeCustomKeyStores');
    if (input.CustomKeyStoreId !== undefined) throw notFound(input.CustomKeyStoreId);
    if (input.CustomKeyStoreName !== undefined) throw new CustomKeyStoreNotFoundException(`Custom key store with name ${input.CustomKeyStoreName} does not exist in this account and Region.`);
    return { response: { CustomKeyStores: [], Truncated: false } };
  },
});

export const CreateCustomKeyStore = kmsOperation({
  name: 'CreateCustomKeyStore',
  description: 'Create a custom key store (ebsim has no CloudHSM clusters or external key store proxies to back one)',
  readOnly: false,
  ext,
  input: {
    CustomKeyStoreName: { ...STORE_NAME, required: true },
    CloudHsmClusterId: CLUSTER_ID,
    TrustAnchorCertificate: { kind: 'string', min: 1, max: 5000 },
    KeyStorePassword: PASSWORD,
    CustomKeyStoreType: { kind: 'string', enum: ['AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE'], doc: 'AWS_CLOUDHSM (default) or EXTERNAL_KEY_STORE' },
    ...XKS,
  },
  run(ctx, input, call) {
    authorizeAccountAction(call.env, ctx, 'CreateCustomKeyStore');
    const required = (type: string, names: readonly (keyof typeof input)[]) => {
      const missing = names.filter((n) => input[n] === undefined);
      if (missing.length) throw new ValidationException(`A custom key store of type ${type} requires ${missing.join(', ')}.`);
    };
    if ((input.CustomKeyStoreType ?? 'AWS_CLOUDHSM') === 'AWS_CLOUDHSM') {
      required('AWS_CLOUDHSM', ['CloudHsmClusterId', 'TrustAnchorCertificate', 'KeyStorePassword']);
      throw new CloudHsmClusterNotFoundException(`AWS CloudHSM cluster ${input.CloudHsmClusterId} does not exist in this account and Region.`);
    }
    required('EXTERNAL_KEY_STORE', ['XksProxyUriEndpoint', 'XksProxyUriPath', 'XksProxyAuthenticationCredential', 'XksProxyConnectivity']);
    if (input.XksProxyConnectivity === 'VPC_ENDPOINT_SERVICE') required('EXTERNAL_KEY_STORE with VPC_ENDPOINT_SERVICE connectivity', ['XksProxyVpcEndpointServiceName']);
    throw new XksProxyUriUnreachableException(`KMS was unable to communicate with the external key store proxy at ${input.XksProxyUriEndpoint}${input.XksProxyUriPath}.`);
  },
});
