// The grammar of a policy document (IAM User Guide, "Grammar of the IAM JSON policy language")
// and the rules each kind adds: a key or trust policy names a Principal, an identity or session
// policy must not; every kind but a trust policy names a Resource. Messages are AWS's where they
// are known (IAM's MalformedPolicyDocument texts, KMS's MalformedPolicyDocumentException text
// for principals); `detail` says precisely what was wrong.
import { compileDocument } from './compile.js';
import { parseOperator } from './conditions.js';
import { PolicySyntaxError } from './errors.js';
import { PRINCIPAL_TYPES, invalidPrincipal, validPrincipal } from './principal.js';
import type { ConditionBlock, PolicyDocument, PolicyKind, PrincipalBlock, Statement } from './types.js';

const SYNTAX = 'Syntax errors in policy.';
const TOP_FIELDS = new Set(['Version', 'Id', 'Statement']);
const STATEMENT_FIELDS = new Set(['Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition']);
const VERSIONS = new Set(['2012-10-17', '2008-10-17']);
// "service:Action" with wildcards; the service prefix has none.
const ACTION = /^[a-zA-Z0-9-]+:[a-zA-Z0-9*?]+$/;

const syntax = (detail: string) => new PolicySyntaxError(SYNTAX, detail);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A string or a non-empty list of strings (Action, Resource, principal and condition values). */
function stringList(v: unknown, what: string, scalars = false): string[] {
  const one = (x: unknown): string => {
    if (typeof x === 'string') return x;
    // Condition values may be written as JSON booleans and numbers: IAM reads them as strings.
    if (scalars && (typeof x === 'boolean' || typeof x === 'number')) return String(x);
    throw syntax(`${what} must be a string or a list of strings, not ${JSON.stringify(x)}`);
  };
  if (Array.isArray(v)) {
    if (v.length === 0) throw syntax(`${what} must not be an empty list`);
    return v.map(one);
  }
  return [one(v)];
}

/** Parses and checks a policy document of `kind`; throws PolicySyntaxError. */
export function parsePolicy(text: string, kind: PolicyKind): PolicyDocument {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw syntax(`not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(json)) throw syntax('the policy must be a JSON object');
  for (const k of Object.keys(json)) if (!TOP_FIELDS.has(k)) throw syntax(`unknown field ${JSON.stringify(k)}`);
  let version: PolicyDocument['version'] = '2008-10-17'; // AWS's default when Version is omitted (no policy variables)
  if ('Version' in json) {
    if (typeof json.Version !== 'string' || !VERSIONS.has(json.Version)) throw syntax(`Version must be "2012-10-17" or "2008-10-17", not ${JSON.stringify(json.Version)}`);
    version = json.Version as PolicyDocument['version'];
  }
  let id: string | undefined;
  if ('Id' in json) {
    if (typeof json.Id !== 'string') throw syntax('Id must be a string');
    id = json.Id;
  }
  if (!('Statement' in json)) throw syntax('Missing required field Statement');
  const raw = Array.isArray(json.Statement) ? json.Statement : [json.Statement];
  if (raw.length === 0) throw syntax('Statement must not be an empty list');
  const statements = raw.map((s, index) => parseStatement(s, index, kind));
  const sids = new Set<string>();
  for (const s of statements) {
    if (s.sid === undefined) continue;
    if (sids.has(s.sid)) throw new PolicySyntaxError('Statement IDs (SID) in a single policy must be unique.', `duplicate Sid ${JSON.stringify(s.sid)}`);
    sids.add(s.sid);
  }
  // Frozen: the compiled form is cached per document object, so a document must not change under it.
  for (const s of statements) Object.freeze(s);
  const doc: PolicyDocument = Object.freeze({ version, ...(id !== undefined ? { id } : {}), statements: Object.freeze(statements) });
  compileDocument(doc); // refuses values no operator can read (an IpAddress that is no address), and warms the cache
  return doc;
}

function parseStatement(raw: unknown, index: number, kind: PolicyKind): Statement {
  if (!isObject(raw)) throw syntax(`Statement ${index} must be a JSON object`);
  for (const k of Object.keys(raw)) if (!STATEMENT_FIELDS.has(k)) throw syntax(`Statement ${index}: unknown field ${JSON.stringify(k)}`);
  const at = `Statement ${index}`;
  const st: Statement = { index, effect: 'Allow' };

  if ('Sid' in raw) {
    if (typeof raw.Sid !== 'string') throw syntax(`${at}: Sid must be a string`);
    // IAM requires alphanumeric Sids; key policies (KMS's own defaults among them) allow spaces.
    if (kind !== 'key' && !/^[0-9A-Za-z]*$/.test(raw.Sid)) {
      throw new PolicySyntaxError('Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*', `${at}: Sid ${JSON.stringify(raw.Sid)}`);
    }
    st.sid = raw.Sid;
  }

  if (raw.Effect !== 'Allow' && raw.Effect !== 'Deny') {
    throw syntax(`${at}: Effect must be "Allow" or "Deny", ${'Effect' in raw ? `not ${JSON.stringify(raw.Effect)}` : 'and is missing'}`);
  }
  st.effect = raw.Effect;

  // Principal / NotPrincipal: resource policies only, and there required.
  const resourcePolicy = kind === 'key' || kind === 'trust';
  const hasP = 'Principal' in raw;
  const hasNP = 'NotPrincipal' in raw;
  if (!resourcePolicy && (hasP || hasNP)) {
    throw new PolicySyntaxError('Policy document should not specify a principal.', `${at}: ${hasP ? 'Principal' : 'NotPrincipal'} in a${kind === 'identity' ? 'n identity' : ' session'} policy`);
  }
  if (resourcePolicy) {
    if (hasP && hasNP) throw syntax(`${at}: has both Principal and NotPrincipal`);
    // IAM User Guide, "NotPrincipal": "You cannot use the NotPrincipal element ... in an IAM role trust policy."
    if (hasNP && kind === 'trust') throw syntax(`${at}: NotPrincipal is not allowed in a role trust policy`);
    if (!hasP && !hasNP) {
      throw kind === 'key'
        ? new PolicySyntaxError('Policy contains a statement with one or more invalid principals.', `${at}: Missing required field Principal`)
        : new PolicySyntaxError('Missing required field Principal', `${at}: Missing required field Principal`);
    }
    if (hasP) st.principal = parsePrincipal(raw.Principal, kind, at);
    else st.notPrincipal = parsePrincipal(raw.NotPrincipal, kind, at);
  }

  // Action / NotAction: exactly one.
  if ('Action' in raw && 'NotAction' in raw) throw syntax(`${at}: has both Action and NotAction`);
  if (!('Action' in raw) && !('NotAction' in raw)) throw new PolicySyntaxError('Policy statement must contain actions.', `${at}: no Action or NotAction`);
  const actionField = 'Action' in raw ? 'Action' : 'NotAction';
  const actions = stringList(raw[actionField], `${at}: ${actionField}`);
  for (const a of actions) {
    if (a === '*') continue;
    if (!a.includes(':')) throw new PolicySyntaxError('Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.', `${at}: ${actionField} ${JSON.stringify(a)}`);
    if (a.indexOf(':') !== a.lastIndexOf(':')) throw new PolicySyntaxError('Actions/Condition can contain only one colon.', `${at}: ${actionField} ${JSON.stringify(a)}`);
    if (!ACTION.test(a)) throw syntax(`${at}: ${actionField} ${JSON.stringify(a)} is not of the form "service:Action"`);
  }
  if (actionField === 'Action') st.action = actions;
  else st.notAction = actions;

  // Resource / NotResource: exactly one, except in a trust policy (the role is the resource).
  if ('Resource' in raw && 'NotResource' in raw) throw syntax(`${at}: has both Resource and NotResource`);
  const hasResource = 'Resource' in raw || 'NotResource' in raw;
  if (!hasResource && kind !== 'trust') throw new PolicySyntaxError('Policy statement must contain resources.', `${at}: no Resource or NotResource`);
  if (hasResource) {
    const field = 'Resource' in raw ? 'Resource' : 'NotResource';
    const resources = stringList(raw[field], `${at}: ${field}`);
    for (const r of resources) {
      if (r !== '*' && !r.startsWith('arn:')) throw new PolicySyntaxError(`Resource ${r} must be in ARN format or "*".`, `${at}: ${field} ${JSON.stringify(r)}`);
    }
    if (field === 'Resource') st.resource = resources;
    else st.notResource = resources;
  }

  if ('Condition' in raw) st.condition = parseCondition(raw.Condition, at);
  return st;
}

function parsePrincipal(raw: unknown, kind: PolicyKind, at: string): PrincipalBlock {
  if (raw === '*') return '*';
  if (!isObject(raw)) {
    if (typeof raw === 'string') throw invalidPrincipal(kind, 'AWS', raw);
    throw syntax(`${at}: Principal must be "*" or an object such as {"AWS": "arn:aws:iam::111122223333:root"}`);
  }
  // A Map, never a plain object: a type named "__proto__" is just an (invalid) key.
  const block = new Map<string, readonly string[]>();
  const entries = Object.entries(raw);
  if (entries.length === 0) throw invalidPrincipal(kind, '', '');
  for (const [type, values] of entries) {
    if (!(PRINCIPAL_TYPES as readonly string[]).includes(type)) throw invalidPrincipal(kind, type, typeof values === 'string' ? values : JSON.stringify(values));
    const list = stringList(values, `${at}: Principal ${type}`);
    for (const v of list) if (!validPrincipal(type, v)) throw invalidPrincipal(kind, type, v);
    block.set(type, list);
  }
  return block;
}

function parseCondition(raw: unknown, at: string): ConditionBlock {
  if (!isObject(raw)) throw syntax(`${at}: Condition must be an object of operators`);
  const block = new Map<string, ReadonlyMap<string, readonly string[]>>();
  for (const [operator, keys] of Object.entries(raw)) {
    if (!parseOperator(operator)) throw syntax(`${at}: unknown condition operator ${JSON.stringify(operator)}`);
    if (!isObject(keys)) throw syntax(`${at}: Condition ${operator} must be an object of condition keys`);
    const inner = new Map<string, readonly string[]>();
    for (const [key, values] of Object.entries(keys)) inner.set(key, stringList(values, `${at}: Condition ${operator} ${key}`, true));
    if (inner.size === 0) throw syntax(`${at}: Condition ${operator} names no condition key`);
    block.set(operator, inner);
  }
  return block;
}
