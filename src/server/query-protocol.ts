// AWS's query protocol (STS, IAM): a form-encoded request (`Action=…&Version=…&Name=value`, lists
// as `Name.member.N`, structures in lists as `Name.member.N.Field`) and an XML answer
// (`<ActionResponse><ActionResult>…</ActionResult><ResponseMetadata>…`). Decoding is driven by
// the operation's declared members, so a new STS operation needs no wire code.
import type { Member, Members } from '../api/index.js';
import { AwsError } from '../errors/index.js';

/** The parameters of one request, shaped as the declaration's members (unknown names are left for validation to refuse). */
export function decodeQueryParams(form: URLSearchParams, members: Members): Record<string, unknown> {
  const flat = new Map<string, string>();
  for (const [k, v] of form) if (k !== 'Action' && k !== 'Version') flat.set(k, v);
  const out = Object.create(null) as Record<string, unknown>;
  for (const [name, m] of Object.entries(members)) {
    const v = decodeMember(flat, name, m);
    if (v !== undefined) out[name] = v;
  }
  // Names no member claims: kept, so the operation's validation names them as AWS does.
  for (const k of flat.keys()) {
    const top = k.split('.')[0]!;
    if (!(top in members) && !(top in out)) out[top] = flat.get(k);
  }
  return out;
}

function decodeMember(flat: Map<string, string>, path: string, m: Member): unknown {
  switch (m.kind) {
    case 'list': {
      const items: unknown[] = [];
      // An empty list is sent as `Name=` (botocore) and stays empty.
      for (let i = 1; ; i++) {
        const item = decodeMember(flat, `${path}.member.${i}`, m.member);
        if (item === undefined) break;
        items.push(item);
      }
      return items.length > 0 || flat.has(path) ? items : undefined;
    }
    case 'structure': {
      const prefix = `${path}.`;
      if (![...flat.keys()].some((k) => k.startsWith(prefix))) return undefined;
      const out = Object.create(null) as Record<string, unknown>;
      for (const [name, sub] of Object.entries(m.members)) {
        const v = decodeMember(flat, `${path}.${name}`, sub) ?? decodeMember(flat, `${path}.${lowerFirst(name)}`, sub);
        if (v !== undefined) out[name] = v;
      }
      return out;
    }
    case 'map': {
      const out = Object.create(null) as Record<string, unknown>;
      let any = false;
      for (let i = 1; ; i++) {
        const key = flat.get(`${path}.entry.${i}.key`);
        if (key === undefined) break;
        out[key] = decodeMember(flat, `${path}.entry.${i}.value`, m.value);
        any = true;
      }
      return any ? out : undefined;
    }
    default: {
      const raw = flat.get(path);
      if (raw === undefined) return undefined;
      if (m.kind === 'integer') return /^-?\d+$/.test(raw) ? Number(raw) : raw;
      if (m.kind === 'boolean') return raw === 'true' ? true : raw === 'false' ? false : raw;
      if (m.kind === 'blob') return Buffer.from(raw, 'base64');
      return raw;
    }
  }
}

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

/** The XML answer of a successful call: each member an element, lists as `<member>` items, dates in ISO 8601. */
export function encodeQueryResponse(namespace: string, action: string, result: Record<string, unknown>, requestId: string): string {
  return (
    `<${action}Response xmlns="${namespace}">\n  <${action}Result>\n${fields(result, '    ')}  </${action}Result>\n` +
    `  <ResponseMetadata>\n    <RequestId>${requestId}</RequestId>\n  </ResponseMetadata>\n</${action}Response>\n`
  );
}

function fields(obj: Record<string, unknown>, indent: string): string {
  let out = '';
  for (const [k, v] of Object.entries(obj)) if (v !== undefined && v !== null) out += element(k, v, indent);
  return out;
}

function element(name: string, v: unknown, indent: string): string {
  if (Array.isArray(v)) {
    return `${indent}<${name}>\n${v.map((x) => element('member', x, indent + '  ')).join('')}${indent}</${name}>\n`;
  }
  if (v instanceof Date) return `${indent}<${name}>${v.toISOString()}</${name}>\n`;
  if (typeof v === 'object' && v !== null && !(v instanceof Uint8Array)) {
    return `${indent}<${name}>\n${fields(v as Record<string, unknown>, indent + '  ')}${indent}</${name}>\n`;
  }
  const text = v instanceof Uint8Array ? Buffer.from(v).toString('base64') : String(v);
  return `${indent}<${name}>${xmlEscape(text)}</${name}>\n`;
}

// The query protocol names the authentication failures differently, and answers them with 403.
const QUERY_NAMES: Record<string, [string, number]> = {
  UnrecognizedClientException: ['InvalidClientTokenId', 403],
  ExpiredTokenException: ['ExpiredToken', 400],
  InvalidSignatureException: ['SignatureDoesNotMatch', 403],
  MissingAuthenticationTokenException: ['MissingAuthenticationToken', 403],
  IncompleteSignatureException: ['IncompleteSignature', 400],
};

/** The query protocol's error document. */
export function encodeQueryError(namespace: string, err: unknown, requestId: string): { status: number; code: string; body: string } {
  const e = err instanceof AwsError ? err : undefined;
  const [code, status] = e ? (QUERY_NAMES[e.code] ?? [e.code, e.status]) : ['InternalFailure', 500];
  const message = e?.message ?? 'We encountered an internal error. Please try again.';
  const type = status >= 500 ? 'Receiver' : 'Sender';
  return {
    status,
    code,
    body: `<ErrorResponse xmlns="${namespace}">\n  <Error>\n    <Type>${type}</Type>\n    <Code>${xmlEscape(code)}</Code>\n    <Message>${xmlEscape(message)}</Message>\n  </Error>\n  <RequestId>${requestId}</RequestId>\n</ErrorResponse>\n`,
  };
}

export function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}
