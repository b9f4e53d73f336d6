// The authenticator's key cache never outlives temporary credentials: expiry is checked on every
// request against the credentials' own Expiration, whether the key came from the store or the cache.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Authenticator } from '../../src/server/auth.js';
import { signRequest, type SigningCredentials } from '../../src/server/sigv4.js';
import { makeHome, type TestHome } from '../helpers/home.js';

let h: TestHome;
beforeAll(() => (h = makeHome('ebsim-auth-')));
afterAll(() => h.cleanup());

function signed(creds: SigningCredentials, date: Date) {
  const req = { method: 'POST', url: '/', headers: { host: 'localhost', 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.ListKeys' }, body: Buffer.from('{}') };
  return { ...req, headers: { ...req.headers, ...signRequest(req, creds, { region: 'us-east-1', service: 'kms', date }) } };
}

function failure(fn: () => unknown): { code?: string; message: string } {
  try {
    fn();
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error('expected an error');
}

describe('Authenticator and temporary credentials', () => {
  it('accepts them until their Expiration, then answers ExpiredTokenException though the key is cached', () => {
    const c = (h.app.iam.callSts(h.app.as('Alice'), 'GetSessionToken', { DurationSeconds: 900 }) as { Credentials: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string; Expiration: string } }).Credentials;
    const creds = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
    const auth = new Authenticator(h.app.iam, {});
    const now = new Date();
    expect(auth.authenticate(signed(creds, now), 'kms', now)).toMatchObject({ principal: { type: 'IAMUser', name: 'Alice', accessKeyId: c.AccessKeyId }, region: 'us-east-1' });
    // Within the cache's second, a request signed (and received) after the Expiration.
    const later = new Date(Date.parse(c.Expiration) + 1000);
    expect(failure(() => auth.authenticate(signed(creds, later), 'kms', later))).toMatchObject({ code: 'ExpiredTokenException', message: 'The security token included in the request is expired' });
    // Without its token the key is unknown, expired or not.
    const { sessionToken: _t, ...bare } = creds;
    expect(failure(() => auth.authenticate(signed(bare, later), 'kms', later)).code).toBe('UnrecognizedClientException');
  });
});
