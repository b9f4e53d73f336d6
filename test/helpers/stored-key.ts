// A key's private half as the store holds it, read the way an operator with the home's root key
// could: only so that OpenSSL can act with the same private key in tests (sign, decrypt) and
// check ebsim against it. ebsim itself never returns private keys.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { KeyStore } from '../../src/kms/keys.js';
import { RootKey } from '../../src/store/root-key.js';
import type { TestHome } from './home.js';

export function storedPrivateKey(h: TestHome, keyId: string, accountId = '123456789012', region = 'us-east-1'): KeyObject {
  const store = new KeyStore(h.app.db, RootKey.loadOrCreate(h.app.paths.rootKey), accountId, region);
  const key = store.get(keyId);
  if (!key) throw new Error(`storedPrivateKey: no key ${keyId}`);
  return createPrivateKey({ key: store.material(key, key.currentVersion)!, format: 'der', type: 'pkcs8' });
}
