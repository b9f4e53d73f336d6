// User-supplied map keys are data, never object machinery: "__proto__", "constructor" and
// "toString" must survive, as any other key, the context encoding (AAD), grant constraints in
// the store, the trail, the CLI's k=v parsing and the HTTP wire.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { errorCode, makeHome, type TestHome } from '../helpers/home.js';
import type { CallContext } from '../../src/core/call-context.js';
import type { KmsService } from '../../src/kms/service.js';
import { encodeContext, validateContext } from '../../src/kms/context.js';
import { parseMap } from '../../src/cli/input.js';
import { aliceCredentials, errorCodeOf, inProcess, KMS, newHome, raw, removeHome, trailRecords } from '../server/helpers.js';
import { runEbsim } from '../helpers/cli.js';
import type { RunningServer } from '../../src/server/index.js';

/** The keys that plain-object assignment turns into something else, plus any other string. */
const SPECIAL = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];
const contextKey = fc.oneof(fc.constantFrom(...SPECIAL), fc.string({ minLength: 1, maxLength: 12 }));
const contextValue = fc.string({ maxLength: 12 });

let h: TestHome;
let kms: KmsService;
let alice: CallContext;
let role: CallContext;
let keyId: string;

beforeAll(() => {
  h = makeHome();
  kms = h.app.kms();
  alice = h.app.as('Alice');
  h.app.iam.createRole(alice, 'Reader');
  role = h.app.as('role/Reader/r1');
  keyId = (kms.call(alice, 'CreateKey', {}).KeyMetadata as { KeyId: string }).KeyId;
});
afterAll(() => h.cleanup());

/** A map as JSON.parse builds it from a request body: "__proto__" is an own key there. */
const mapOf = (...pairs: [string, string][]) => JSON.parse(`{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`) as Record<string, string>;
const one = (k: string, v: string) => mapOf([k, v]);

describe('context encoding', () => {
  it('keeps every key: {k: v} never encodes like {} (property, including __proto__, constructor, toString)', () => {
    fc.assert(
      fc.property(contextKey, contextValue, (k, v) => {
        const ctx = validateContext(one(k, v));
        expect(Object.keys(ctx)).toEqual([k]);
        expect(encodeContext(ctx).equals(encodeContext({}))).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('a blob encrypted under {"__proto__":"x"} does not decrypt with {} (InvalidCiphertextException)', () => {
    for (const k of SPECIAL) {
      const blob = kms.call(alice, 'Encrypt', { KeyId: keyId, Plaintext: Buffer.from('p'), EncryptionContext: one(k, 'x') }).CiphertextBlob;
      expect(errorCode(() => kms.call(alice, 'Decrypt', { CiphertextBlob: blob, EncryptionContext: {} })), k).toBe('InvalidCiphertextException');
      expect(Buffer.from(kms.call(alice, 'Decrypt', { CiphertextBlob: blob, EncryptionContext: one(k, 'x') }).Plaintext as Uint8Array).toString(), k).toBe('p');
    }
  });
});

describe('grant constraints', () => {
  it('EncryptionContextSubset {k: v} is stored, listed and enforced for every key (property)', () => {
    fc.assert(
      fc.property(contextKey, contextValue, (k, v) => {
        const { GrantId } = kms.call(alice, 'CreateGrant', {
          KeyId: keyId,
          GranteePrincipal: 'arn:aws:iam::123456789012:role/Reader',
          Operations: ['Decrypt'],
          Constraints: { EncryptionContextSubset: one(k, v) },
        }) as { GrantId: string };
        try {
          const listed = (kms.call(alice, 'ListGrants', { KeyId: keyId, GrantId }).Grants as { Constraints?: { EncryptionContextSubset?: object } }[])[0]!;
          expect(Object.entries(listed.Constraints?.EncryptionContextSubset ?? {})).toEqual([[k, v]]);
          const bare = kms.call(alice, 'Encrypt', { KeyId: keyId, Plaintext: Buffer.from('p') }).CiphertextBlob;
          expect(errorCode(() => kms.call(role, 'Decrypt', { CiphertextBlob: bare }))).toBe('AccessDeniedException');
          const bound = kms.call(alice, 'Encrypt', { KeyId: keyId, Plaintext: Buffer.from('p'), EncryptionContext: one(k, v) }).CiphertextBlob;
          expect(() => kms.call(role, 'Decrypt', { CiphertextBlob: bound, EncryptionContext: one(k, v) })).not.toThrow();
        } finally {
          kms.call(alice, 'RevokeGrant', { KeyId: keyId, GrantId });
        }
      }),
      { numRuns: 40 },
    );
  });
});

describe('trail', () => {
  it('requestParameters.encryptionContext names every key as sent (property)', () => {
    fc.assert(
      fc.property(contextKey, contextValue, (k, v) => {
        kms.call(alice, 'Encrypt', { KeyId: keyId, Plaintext: Buffer.from('p'), EncryptionContext: one(k, v) });
        h.app.trail.flush();
        const row = h.app.db.prepare("SELECT record FROM trail_events WHERE event_name = 'Encrypt' ORDER BY seq DESC LIMIT 1").get() as { record: string };
        expect(Object.entries(JSON.parse(row.record).requestParameters.encryptionContext)).toEqual([[k, v]]);
      }),
      { numRuns: 25 },
    );
  });
});

describe('CLI input', () => {
  it('--encryption-context __proto__=x,constructor=y keeps both keys, in k=v and JSON form', () => {
    for (const text of ['__proto__=x,constructor=y', '{"__proto__":"x","constructor":"y"}']) {
      expect(Object.entries(parseMap('encryption-context', text))).toEqual([['__proto__', 'x'], ['constructor', 'y']]);
    }
  });

  it('`ebsim kms encrypt --encryption-context __proto__=x`: the blob needs that context to decrypt (real process)', async () => {
    const run = (...args: string[]) => runEbsim([...args, '--home', h.dir]);
    const enc = await run('kms', 'encrypt', '--key-id', keyId, '--plaintext', 'cA==', '--encryption-context', '__proto__=x');
    expect(enc.code, enc.stderr).toBe(0);
    const blob = JSON.parse(enc.stdout).CiphertextBlob as string;
    const bare = await run('kms', 'decrypt', '--ciphertext-blob', blob);
    expect([bare.code, errorCodeOf(bare.stderr)]).toEqual([254, 'InvalidCiphertextException']);
    const ok = await run('kms', 'decrypt', '--ciphertext-blob', blob, '--encryption-context', '__proto__=x');
    expect(JSON.parse(ok.stdout).Plaintext).toBe('cA==');
  });
});

describe('the HTTP wire', () => {
  let home: string;
  let server: RunningServer;
  beforeAll(async () => {
    home = newHome();
    server = await inProcess(home);
  });
  afterAll(async () => {
    await server.close();
    removeHome(home);
  });

  it('Encrypt/Decrypt, grant constraints, ListGrants and the trail keep every key end to end (property)', async () => {
    const creds = aliceCredentials(home);
    const call = async (op: string, body: unknown) => (await raw(server.url, `${KMS}${op}`, typeof body === 'string' ? body : JSON.stringify(body), { creds })).json();
    const key = (await call('CreateKey', {})).KeyMetadata.KeyId as string;
    await fc.assert(
      fc.asyncProperty(contextKey, contextValue, async (k, v) => {
        // Bodies written as text: a JS object literal would already have lost "__proto__".
        const ctx = `{${JSON.stringify(k)}:${JSON.stringify(v)}}`;
        const blob = (await call('Encrypt', `{"KeyId":"${key}","Plaintext":"cA==","EncryptionContext":${ctx}}`)).CiphertextBlob as string;
        expect((await call('Decrypt', { CiphertextBlob: blob, EncryptionContext: {} })).__type).toBe('InvalidCiphertextException');
        expect((await call('Decrypt', `{"CiphertextBlob":"${blob}","EncryptionContext":${ctx}}`)).Plaintext).toBe('cA==');
        const g = await call('CreateGrant', `{"KeyId":"${key}","GranteePrincipal":"arn:aws:iam::123456789012:user/Alice","Operations":["Decrypt"],"Constraints":{"EncryptionContextSubset":${ctx}}}`);
        const listed = await call('ListGrants', { KeyId: key, GrantId: g.GrantId });
        expect(Object.entries(listed.Grants[0].Constraints.EncryptionContextSubset)).toEqual([[k, v]]);
        const rec = trailRecords(home, 'CreateGrant')[0]!;
        expect(Object.entries(rec.requestParameters.constraints.encryptionContextSubset)).toEqual([[k, v]]);
        await call('RevokeGrant', { KeyId: key, GrantId: g.GrantId });
      }),
      { numRuns: 15 },
    );
  });
});
