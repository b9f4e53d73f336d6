// Grants: stored permissions for a grantee principal to use one key for listed operations,
// optionally only with a given encryption context (the grant constraints).
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../store/database.js';
import { immediate } from '../store/database.js';
import { ReadCache } from '../store/read-cache.js';
import type { Principal } from '../core/call-context.js';
import { contextEquals, contextIncludes, userMap, type EncryptionContext } from './context.js';
import { publicKeyId, storageKeyId } from './multi-region.js';

export interface GrantConstraints {
  EncryptionContextSubset?: EncryptionContext;
  EncryptionContextEquals?: EncryptionContext;
}

export interface Grant {
  grantId: string;
  keyId: string;
  name?: string;
  granteePrincipal: string;
  retiringPrincipal?: string;
  issuingAccount: string;
  operations: string[];
  constraints?: GrantConstraints;
  createdAt: Date;
  state: 'live' | 'retired' | 'revoked';
}

interface GrantRow {
  grant_id: string;
  key_id: string;
  name: string | null;
  grantee_principal: string;
  retiring_principal: string | null;
  issuing_account: string;
  operations: string;
  constraints: string | null;
  created_at: string;
  state: 'live' | 'retired' | 'revoked';
}

/** Constraints are not evaluated for these operations (AWS: they take no encryption context). */
const CONSTRAINT_FREE = new Set(['DescribeKey', 'RetireGrant', 'CreateGrant', 'GetPublicKey']);

/** Does the grant name this principal? By ARN, by principal ID (the seed's grantee form), or by the session's role. */
export function granteeMatches(grantee: string, p: Principal): boolean {
  return grantee === p.arn || grantee === p.principalId || (p.sessionIssuer !== undefined && grantee === p.sessionIssuer.arn);
}

/** Pure constraint logic: may this grant authorize `operation` with this request context? */
export function grantPermits(grant: Pick<Grant, 'operations' | 'constraints'>, operation: string, requestContext: EncryptionContext): boolean {
  if (!grant.operations.includes(operation)) return false;
  if (CONSTRAINT_FREE.has(operation) || !grant.constraints) return true;
  const { EncryptionContextEquals: eq, EncryptionContextSubset: sub } = grant.constraints;
  if (eq && !contextEquals(requestContext, eq)) return false;
  if (sub && !contextIncludes(requestContext, sub)) return false;
  return true;
}

/** A grant created through a grant may not widen it: a subset of its operations, constraints at least as strict. */
export function grantNarrows(parent: Grant, child: { operations: string[]; constraints?: GrantConstraints }): boolean {
  if (!child.operations.every((op) => parent.operations.includes(op))) return false;
  const p = parent.constraints;
  if (!p) return true;
  const c = child.constraints ?? {};
  if (p.EncryptionContextEquals) return c.EncryptionContextEquals !== undefined && contextEquals(c.EncryptionContextEquals, p.EncryptionContextEquals);
  if (p.EncryptionContextSubset) {
    const childCtx = c.EncryptionContextEquals ?? c.EncryptionContextSubset;
    return childCtx !== undefined && contextIncludes(childCtx, p.EncryptionContextSubset);
  }
  return true;
}

/** Grant tokens carry the grant ID, so RetireGrant can find the grant from the token alone. */
export function newGrantToken(grantId: string): string {
  return Buffer.concat([Buffer.from([1]), Buffer.from(grantId, 'hex'), randomBytes(32)]).toString('base64url');
}

export function grantIdFromToken(token: string): string | undefined {
  const b = Buffer.from(token, 'base64url');
  if (b.length !== 65 || b[0] !== 1) return undefined;
  return b.subarray(1, 33).toString('hex');
}

/** The grants on the keys of one Region (a grant belongs to its key's Region, as at AWS). */
export class GrantStore {
  private readonly liveForKey;
  private readonly cache: ReadCache<Grant[]>;

  constructor(
    private readonly db: Db,
    private readonly region: string,
  ) {
    this.liveForKey = db.prepare("SELECT * FROM kms_grants WHERE key_id = ? AND state = 'live' ORDER BY created_at, grant_id");
    this.cache = new ReadCache(db);
  }

  live(keyId: string): Grant[] {
    return this.cache.get(keyId, () => (this.liveForKey.all(storageKeyId(keyId, this.region)) as GrantRow[]).map(toGrant));
  }

  get(grantId: string): Grant | undefined {
    const row = this.db.prepare('SELECT g.* FROM kms_grants g JOIN kms_keys k ON k.key_id = g.key_id WHERE g.grant_id = ? AND k.region = ?').get(grantId, this.region) as
      | GrantRow
      | undefined;
    return row && toGrant(row);
  }

  /** Live grant with this name and identical parameters (CreateGrant's idempotency by Name). */
  findSame(g: Omit<Grant, 'grantId' | 'createdAt' | 'state' | 'issuingAccount'>): Grant | undefined {
    if (!g.name) return undefined;
    return this.live(g.keyId).find(
      (x) =>
        x.name === g.name &&
        x.granteePrincipal === g.granteePrincipal &&
        x.retiringPrincipal === g.retiringPrincipal &&
        JSON.stringify([...x.operations].sort()) === JSON.stringify([...g.operations].sort()) &&
        canonicalConstraints(x.constraints) === canonicalConstraints(g.constraints),
    );
  }

  insert(g: Omit<Grant, 'grantId' | 'createdAt' | 'state'>): Grant {
    const grantId = createHash('sha256').update(randomBytes(32)).digest('hex');
    const createdAt = new Date();
    immediate(this.db, () =>
      this.db
        .prepare('INSERT INTO kms_grants (grant_id, key_id, name, grantee_principal, retiring_principal, issuing_account, operations, constraints, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(grantId, storageKeyId(g.keyId, this.region), g.name ?? null, g.granteePrincipal, g.retiringPrincipal ?? null, g.issuingAccount, JSON.stringify(g.operations), g.constraints ? JSON.stringify(g.constraints) : null, createdAt.toISOString()),
    );
    return { ...g, grantId, createdAt, state: 'live' };
  }

  end(grantId: string, state: 'retired' | 'revoked'): void {
    immediate(this.db, () =>
      this.db.prepare("UPDATE kms_grants SET state = ?, ended_at = ? WHERE grant_id = ? AND state = 'live'").run(state, new Date().toISOString(), grantId),
    );
  }

  retirableBy(principal: string): Grant[] {
    return (this.db
      .prepare("SELECT g.* FROM kms_grants g JOIN kms_keys k ON k.key_id = g.key_id WHERE g.retiring_principal = ? AND g.state = 'live' AND k.region = ? ORDER BY g.created_at")
      .all(principal, this.region) as GrantRow[]).map(toGrant);
  }

  /** Every grant of an account's keys in this Region, live or ended (for the console page and the walkthrough). */
  all(accountId: string): Grant[] {
    return (this.db
      .prepare('SELECT g.* FROM kms_grants g JOIN kms_keys k ON k.key_id = g.key_id WHERE k.account_id = ? AND k.region = ? ORDER BY g.created_at')
      .all(accountId, this.region) as GrantRow[]).map(toGrant);
  }
}

function canonicalConstraints(c?: GrantConstraints): string {
  if (!c) return '';
  const sort = (o?: EncryptionContext) => (o ? Object.fromEntries(Object.entries(o).sort()) : undefined);
  return JSON.stringify({ e: sort(c.EncryptionContextEquals), s: sort(c.EncryptionContextSubset) });
}

/** Stored constraints back as maps (JSON.parse keeps "__proto__" as an own key; later code must too). */
function constraintsFromJson(text: string): GrantConstraints {
  const raw = JSON.parse(text) as GrantConstraints;
  const out: GrantConstraints = {};
  if (raw.EncryptionContextSubset) out.EncryptionContextSubset = userMap(Object.entries(raw.EncryptionContextSubset));
  if (raw.EncryptionContextEquals) out.EncryptionContextEquals = userMap(Object.entries(raw.EncryptionContextEquals));
  return out;
}

function toGrant(r: GrantRow): Grant {
  return {
    grantId: r.grant_id,
    keyId: publicKeyId(r.key_id),
    name: r.name ?? undefined,
    granteePrincipal: r.grantee_principal,
    retiringPrincipal: r.retiring_principal ?? undefined,
    issuingAccount: r.issuing_account,
    operations: JSON.parse(r.operations) as string[],
    constraints: r.constraints ? constraintsFromJson(r.constraints) : undefined,
    createdAt: new Date(r.created_at),
    state: r.state,
  };
}
