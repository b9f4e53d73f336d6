// The six custom key store operations (out of scope, issue 14): answered as AWS answers in an
// account that has no custom key store, after the caller's IAM policy allows the action.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, makeHome, type TestHome } from '../helpers/home.js';
import type { CallContext } from '../../src/core/call-context.js';
import type { KmsService } from '../../src/kms/service.js';
import { allRecords } from '../../src/trail/lookup.js';

let h: TestHome;
let kms: KmsService;
let alice: CallContext;
let session: CallContext;

beforeAll(() => {
  h = makeHome('ebsim-cks-');
  kms = h.app.kms();
  alice = h.app.as('Alice');
  h.app.iam.createRole(alice, 'NoPolicy');
  session = h.app.as('role/NoPolicy/s');
});
afterAll(() => h.cleanup());

const STORE = 'cks-1234567890abcdef0';
const XKS = {
  CustomKeyStoreType: 'EXTERNAL_KEY_STORE',
  XksProxyUriEndpoint: 'https://xks.example.com',
  XksProxyUriPath: '/kms/xks/v1',
  XksProxyConnectivity: 'PUBLIC_ENDPOINT',
  XksProxyAuthenticationCredential: { AccessKeyId: 'ABCDEFGHIJKLMNOPQRST', RawSecretAccessKey: 'a'.repeat(43) },
};

describe('custom key stores (none exist)', () => {
  it('DescribeCustomKeyStores lists none; naming one is CustomKeyStoreNotFoundException', () => {
    expect(kms.call(alice, 'DescribeCustomKeyStores', {})).toEqual({ CustomKeyStores: [], Truncated: false });
    expect(() => kms.call(alice, 'DescribeCustomKeyStores', { CustomKeyStoreId: STORE })).toThrow(`Custom key store ${STORE} does not exist in this account and Region.`);
    expect(errorCode(() => kms.call(alice, 'DescribeCustomKeyStores', { CustomKeyStoreName: 'mine' }))).toBe('CustomKeyStoreNotFoundException');
  });

  it('Connect, Disconnect, Delete and Update: CustomKeyStoreNotFoundException', () => {
    for (const op of ['ConnectCustomKeyStore', 'DisconnectCustomKeyStore', 'DeleteCustomKeyStore', 'UpdateCustomKeyStore']) {
      expect(errorCode(() => kms.call(alice, op, { CustomKeyStoreId: STORE })), op).toBe('CustomKeyStoreNotFoundException');
      expect(errorCode(() => kms.call(alice, op, {})), op).toBe('ValidationException');
    }
    expect(errorCode(() => kms.call(alice, 'UpdateCustomKeyStore', { CustomKeyStoreId: STORE, NewCustomKeyStoreName: 'renamed', KeyStorePassword: 'secret-pw' }))).toBe('CustomKeyStoreNotFoundException');
  });

  it('CreateCustomKeyStore: the named CloudHSM cluster or XKS proxy cannot be found; missing parameters are ValidationException', () => {
    const cloudHsm = { CustomKeyStoreName: 'hsm', CloudHsmClusterId: 'cluster-234567abcdefg', TrustAnchorCertificate: '-----BEGIN CERTIFICATE-----', KeyStorePassword: 'kmsuser-pw' };
    expect(() => kms.call(alice, 'CreateCustomKeyStore', cloudHsm)).toThrow('AWS CloudHSM cluster cluster-234567abcdefg does not exist in this account and Region.');
    expect(errorCode(() => kms.call(alice, 'CreateCustomKeyStore', cloudHsm))).toBe('CloudHsmClusterNotFoundException');
    expect(errorCode(() => kms.call(alice, 'CreateCustomKeyStore', { CustomKeyStoreName: 'hsm', CloudHsmClusterId: 'cluster-234567abcdefg' }))).toBe('ValidationException');
    expect(errorCode(() => kms.call(alice, 'CreateCustomKeyStore', { ...cloudHsm, CloudHsmClusterId: 'cluster-1' }))).toBe('ValidationException');
    expect(errorCode(() => kms.call(alice, 'CreateCustomKeyStore', { CustomKeyStoreName: 'xks', ...XKS }))).toBe('XksProxyUriUnreachableException');
    expect(errorCode(() => kms.call(alice, 'CreateCustomKeyStore', { CustomKeyStoreName: 'xks', ...XKS, XksProxyConnectivity: 'VPC_ENDPOINT_SERVICE' }))).toBe('ValidationException');
  });

  it('each is an IAM-policy action: a session with no identity policy is refused first', () => {
    for (const [op, params] of [
      ['DescribeCustomKeyStores', {}], ['ConnectCustomKeyStore', { CustomKeyStoreId: STORE }], ['CreateCustomKeyStore', { CustomKeyStoreName: 'x', ...XKS }],
    ] as const) {
      expect(() => kms.call(session, op, { ...params }), op).toThrow(`kms:${op} on resource: * because no identity-based policy allows the kms:${op} action`);
    }
  });

  it('the trail has the store\'s password and the proxy credential nowhere', () => {
    try {
      kms.call(alice, 'UpdateCustomKeyStore', { CustomKeyStoreId: STORE, KeyStorePassword: 'hunter2-pw', XksProxyAuthenticationCredential: { AccessKeyId: 'ZYXWVUTSRQPONMLKJIHG', RawSecretAccessKey: 'b'.repeat(43) } });
    } catch {
      // CustomKeyStoreNotFoundException, recorded
    }
    h.app.trail.flush();
    const r = allRecords(h.app.db).filter((x) => x.eventName === 'UpdateCustomKeyStore').pop()!;
    expect(r).toMatchObject({ errorCode: 'CustomKeyStoreNotFoundException', requestParameters: { customKeyStoreId: STORE } });
    const text = JSON.stringify(r);
    for (const secret of ['hunter2-pw', 'ZYXWVUTSRQPONMLKJIHG', 'b'.repeat(43)]) expect(text).not.toContain(secret);
  });
});
