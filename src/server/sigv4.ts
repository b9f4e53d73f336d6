// AWS Signature Version 4, as the AWS CLI and SDKs compute it: canonical request, string to
// sign, signing key. Pure functions over a request's parts; the mapping of failures to AWS
// errors lives in auth.ts. The same code signs (tests, benchmark) and verifies (server), so
// the tests also drive it with signers no one here wrote (AWS CLI, SDK, boto3).
// Hashes and MACs through node:crypto (OpenSSL's assembly SHA-256): on the server's hot path three
// of them run per request, and a pure-JS SHA-256 cost several times as much CPU.
import { createHmac, hash } from 'node:crypto';

export const ALGORITHM = 'AWS4-HMAC-SHA256';

/** The parts of an HTTP request that SigV4 covers. Header names are lower case. */
export interface RequestParts {
  method: string;
  /** The request target as sent: path and optional query, still percent-encoded. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array;
}

export interface ParsedAuthorization {
  accessKeyId: string;
  /** YYYYMMDD of the credential scope. */
  scopeDate: string;
  region: string;
  service: string;
  terminator: string;
  signedHeaders: string[];
  signature: string;
}

/** Why an Authorization header could not be parsed (AWS answers IncompleteSignatureException). */
export class MalformedAuthorization extends Error {}

/**
 * `AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/kms/aws4_request, SignedHeaders=a;b, Signature=hex`.
 * AWS lists every missing part in one message, so this does too.
 */
export function parseAuthorization(header: string): ParsedAuthorization {
  const space = header.indexOf(' ');
  const algorithm = space < 0 ? header : header.slice(0, space);
  if (algorithm !== ALGORITHM) throw new MalformedAuthorization(`Unsupported AWS 'algorithm': '${algorithm}'`);
  const fields = new Map<string, string>();
  for (const part of header.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const missing = ['Credential', 'Signature', 'SignedHeaders'].filter((f) => !fields.get(f));
  if (missing.length) {
    throw new MalformedAuthorization(`${missing.map((f) => `Authorization header requires '${f}' parameter.`).join(' ')} Authorization=${header}`);
  }
  const scope = fields.get('Credential')!.split('/');
  if (scope.length !== 5 || scope.some((s) => s === '')) {
    throw new MalformedAuthorization(`Credential should be scoped to a valid region, not '${scope[2] ?? ''}'. `);
  }
  const [accessKeyId, scopeDate, region, service, terminator] = scope as [string, string, string, string, string];
  if (terminator !== 'aws4_request') throw new MalformedAuthorization(`Credential should be scoped with a valid terminator: 'aws4_request', not '${terminator}'. `);
  const signature = fields.get('Signature')!;
  if (!/^[0-9a-f]{64}$/.test(signature)) throw new MalformedAuthorization(`Signature must be 64 lower-case hex digits. Authorization=${header}`);
  const signedHeaders = fields.get('SignedHeaders')!.split(';');
  return { accessKeyId, scopeDate, region, service, terminator, signedHeaders, signature };
}

/** RFC 3986 encoding of everything but unreserved characters, as SigV4 specifies. */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, '%20'));
  } catch {
    return s;
  }
}

/** Non-S3 services encode each path segment once more (a sent `%2F` becomes `%252F`). */
export function canonicalUri(path: string): string {
  if (path === '' || path === '/') return '/';
  return path.split('/').map(uriEncode).join('/');
}

export function canonicalQuery(query: string): string {
  if (!query) return '';
  return query
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const eq = p.indexOf('=');
      const k = eq < 0 ? p : p.slice(0, eq);
      const v = eq < 0 ? '' : p.slice(eq + 1);
      return [uriEncode(safeDecode(k)), uriEncode(safeDecode(v))] as const;
    })
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function headerValue(v: string | string[] | undefined): string {
  const joined = Array.isArray(v) ? v.map((x) => x.trim()).join(',') : (v ?? '');
  return joined.trim().replace(/\s+/g, ' ');
}

/** One-shot (no Hash object per call: about half the cost for a request's canonical form). */
export function hexSha256(data: Uint8Array | string): string {
  return hash('sha256', data, 'hex');
}

export function canonicalRequest(req: RequestParts, signedHeaders: string[], payloadHash: string): string {
  const q = req.url.indexOf('?');
  const path = q < 0 ? req.url : req.url.slice(0, q);
  const query = q < 0 ? '' : req.url.slice(q + 1);
  const headers = signedHeaders.map((h) => `${h}:${headerValue(req.headers[h])}\n`).join('');
  return `${req.method}\n${canonicalUri(path)}\n${canonicalQuery(query)}\n${headers}\n${signedHeaders.join(';')}\n${payloadHash}`;
}

export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return `${ALGORITHM}\n${amzDate}\n${scope}\n${hexSha256(canonical)}`;
}

// Derived keys change once a day per key and scope: caching them saves four HMACs per request.
const keyCache = new Map<string, Uint8Array>();
const KEY_CACHE_MAX = 1024;

export function signingKey(secret: string, date: string, region: string, service: string): Uint8Array {
  const id = `${secret}\n${date}\n${region}\n${service}`;
  let k = keyCache.get(id);
  if (!k) {
    const mac = (key: Uint8Array | string, msg: string): Uint8Array => createHmac('sha256', key).update(msg, 'utf8').digest();
    k = mac(mac(mac(mac('AWS4' + secret, date), region), service), 'aws4_request');
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
    keyCache.set(id, k);
  }
  return k;
}

export function signature(key: Uint8Array, toSign: string): string {
  return createHmac('sha256', key).update(toSign, 'utf8').digest('hex');
}

/** The payload hash a signer used: x-amz-content-sha256 if sent, else the body's SHA-256. */
export function payloadHashOf(req: RequestParts): string {
  const declared = headerValue(req.headers['x-amz-content-sha256']);
  return declared || hexSha256(req.body);
}

/** True when `auth.signature` is the signature of `req` under `secret`. Constant time in the signature. */
export function signatureMatches(req: RequestParts, auth: ParsedAuthorization, amzDate: string, secret: string): boolean {
  const declared = headerValue(req.headers['x-amz-content-sha256']);
  const bodyHash = hexSha256(req.body);
  // A declared payload hash must be the body's (UNSIGNED-PAYLOAD is S3's alone).
  if (declared && declared !== bodyHash) return false;
  const scope = `${auth.scopeDate}/${auth.region}/${auth.service}/${auth.terminator}`;
  const canonical = canonicalRequest(req, auth.signedHeaders, bodyHash);
  const expected = signature(signingKey(secret, auth.scopeDate, auth.region, auth.service), stringToSign(amzDate, scope, canonical));
  let diff = expected.length ^ auth.signature.length;
  for (let i = 0; i < expected.length; i++) diff |= expected.charCodeAt(i) ^ auth.signature.charCodeAt(i);
  return diff === 0;
}

export function amzDateOf(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** `20240102T030405Z` → Date, or undefined if it is not ISO 8601 basic format. */
export function parseAmzDate(s: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  const d = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/**
 * Signs a request (for the tests and the benchmark): returns the headers to add —
 * x-amz-date, x-amz-security-token when there is a session, and Authorization.
 * `req.headers` must already hold host and every other header to sign.
 */
export function signRequest(
  req: RequestParts,
  creds: SigningCredentials,
  opts: { region: string; service: string; date?: Date },
): Record<string, string> {
  const amzDate = amzDateOf(opts.date ?? new Date());
  const added: Record<string, string> = { 'x-amz-date': amzDate };
  if (creds.sessionToken) added['x-amz-security-token'] = creds.sessionToken;
  const headers = { ...req.headers, ...added };
  const signedHeaders = Object.keys(headers).map((h) => h.toLowerCase()).filter((h) => h !== 'authorization' && h !== 'user-agent').sort();
  const scope = `${amzDate.slice(0, 8)}/${opts.region}/${opts.service}/aws4_request`;
  const canonical = canonicalRequest({ ...req, headers }, signedHeaders, hexSha256(req.body));
  const sig = signature(signingKey(creds.secretAccessKey, amzDate.slice(0, 8), opts.region, opts.service), stringToSign(amzDate, scope, canonical));
  added.authorization = `${ALGORITHM} Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${signedHeaders.join(';')}, Signature=${sig}`;
  return added;
}
