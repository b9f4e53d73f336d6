// Who signed a request: SigV4 verified against the access keys in the store, with AWS's errors
// and messages for each way it can fail. The principal found here is the caller for
// authorization and for the trail.
import type { AccessKeyEntry, IamService } from '../iam/service.js';
import type { Principal } from '../core/call-context.js';
import { isCommercialRegion } from '../core/regions.js';
import { amzDateOf, MalformedAuthorization, parseAmzDate, parseAuthorization, signatureMatches, type RequestParts } from './sigv4.js';
import { expiredToken, incompleteSignature, invalidSignature, missingAuthenticationToken, SIGNATURE_MISMATCH, unrecognizedClient } from './errors.js';

/** AWS refuses requests whose date is more than 15 minutes off the server's clock. */
export const MAX_SKEW_MS = 15 * 60_000;
// Keys are looked up per request; a short cache keeps the store off the hot path while a
// newly created key takes effect within a second. Expiry is checked on every request against the
// entry's own expiresAt, so a cached entry never outlives its credentials.
const KEY_CACHE_MS = 1000;

export interface AuthOptions {
  /** LocalStack's habit: unknown access keys act as this principal, signature unchecked. */
  acceptAnyAs?: Principal;
}

/** Who signed a request, and the Region it was signed for: the Region the call goes to. */
export interface Signer {
  principal: Principal;
  /** The credential scope's Region: one endpoint serves every commercial Region, as the scope says. */
  region: string;
}

/**
 * Headers that choose what a request does (X-Amz-Target names the operation) or how its body is
 * read: a signature that leaves one out could be replayed with it changed, so each one present
 * must be signed. The AWS CLI, boto3 and the JS SDK sign every header but User-Agent and a few
 * hop-by-hop ones, so they always pass.
 */
export function mustBeSigned(name: string): boolean {
  return name.startsWith('x-amz-') || name === 'content-type';
}

type KeyEntry = AccessKeyEntry | undefined;

export class Authenticator {
  private cache = new Map<string, { entry: NonNullable<KeyEntry>; until: number }>();

  constructor(
    private readonly iam: IamService,
    private readonly opts: AuthOptions,
  ) {}

  /** The signer of `req`, whose credential scope must name `service` (kms, cloudtrail, sts) and a commercial Region. */
  authenticate(req: RequestParts, service: string, now = new Date()): Signer {
    const header = first(req.headers.authorization);
    if (!header) throw missingAuthenticationToken();
    let auth;
    try {
      auth = parseAuthorization(header);
    } catch (err) {
      if (err instanceof MalformedAuthorization) throw incompleteSignature(err.message);
      throw err;
    }
    const dateHeader = first(req.headers['x-amz-date']);
    if (!dateHeader) {
      throw incompleteSignature(`Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=${header}`);
    }
    const date = parseAmzDate(dateHeader);
    if (!date) throw incompleteSignature(`Date must be in ISO-8601 'basic format'. Got '${dateHeader}'. See http://en.wikipedia.org/wiki/ISO_8601`);
    checkSkew(date, now);
    if (auth.scopeDate !== dateHeader.slice(0, 8)) {
      throw invalidSignature(`Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.scopeDate}' != '${dateHeader.slice(0, 8)}', from '${dateHeader}'.`);
    }
    // AWS's endpoints each serve one Region; this one serves them all, so any commercial Region is valid.
    if (!isCommercialRegion(auth.region)) {
      throw invalidSignature(`Credential should be scoped to a valid region, not '${auth.region}'. `);
    }
    if (auth.service !== service) {
      throw invalidSignature(`Credential should be scoped to correct service: '${service}'. `);
    }
    if (!auth.signedHeaders.includes('host')) {
      throw invalidSignature(`'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.`);
    }
    const unsigned = Object.keys(req.headers).filter((h) => mustBeSigned(h) && !auth.signedHeaders.includes(h));
    if (unsigned.length) {
      // S3's wording (the one AWS documents for this case), under the JSON protocols' error name.
      throw invalidSignature(`There were headers present in the request which were not signed. HeadersNotSigned: ${unsigned.sort().join(', ')}`);
    }
    const key = this.lookup(auth.accessKeyId);
    if (!key) {
      if (this.opts.acceptAnyAs) return { principal: { ...this.opts.acceptAnyAs, accessKeyId: auth.accessKeyId }, region: auth.region };
      throw unrecognizedClient();
    }
    // A session's keys are valid only with its token; a user's long-term keys with none.
    if ((first(req.headers['x-amz-security-token']) ?? undefined) !== key.sessionToken) throw unrecognizedClient();
    // Only the holder of the token learns that it expired (its expiry is in the token at AWS).
    if (key.expiresAt !== undefined && Date.parse(key.expiresAt) <= now.getTime()) throw expiredToken();
    if (!signatureMatches(req, auth, dateHeader, key.secret)) throw invalidSignature(SIGNATURE_MISMATCH);
    return { principal: key.principal, region: auth.region };
  }

  private lookup(accessKeyId: string): KeyEntry {
    const now = Date.now();
    const hit = this.cache.get(accessKeyId);
    if (hit && hit.until > now) return hit.entry;
    const entry = this.iam.lookupAccessKey(accessKeyId, { includeExpired: true });
    if (entry) {
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(accessKeyId, { entry, until: now + KEY_CACHE_MS });
    } else {
      this.cache.delete(accessKeyId);
    }
    return entry;
  }
}

function checkSkew(date: Date, now: Date): void {
  const fmt = amzDateOf;
  if (date.getTime() < now.getTime() - MAX_SKEW_MS) {
    throw invalidSignature(`Signature expired: ${fmt(date)} is now earlier than ${fmt(new Date(now.getTime() - MAX_SKEW_MS))} (${fmt(now)} - 15 min.)`);
  }
  if (date.getTime() > now.getTime() + MAX_SKEW_MS) {
    throw invalidSignature(`Signature not yet current: ${fmt(date)} is still later than ${fmt(new Date(now.getTime() + MAX_SKEW_MS))} (${fmt(now)} + 15 min.)`);
  }
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
