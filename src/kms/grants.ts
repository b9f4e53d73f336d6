// Grants: stored permissions for a grantee principal to use one key for listed operations,
// optionally only with a given encryption context (the grant constraints).
import { randomBytes } from 'node:crypto';
import type { Db } from '../store/database.js';
import { immediate } from '../store/database.js';
import { ReadCache } from '../store/read-cache.js';
import type { Principal } from '../core/call-context.js';
import { LimitExceededException, UserError } from '../errors/index.js';
import { userMap, type EncryptionContext } from './context.js';
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
  if (eq && !constraintEquals(requestContext, eq)) return false;
  if (sub && !constraintIncludes(requestContext, sub)) return false;
  return true;
}

/**
 * Does `context` hold every pair of `pairs`? As a grant constraint compares them (API reference,
 * GrantConstraints): "the key in each key-value pair is not case sensitive, but the value is".
 * Every key of the context that is a constrained key but for case must carry its value: a
 * context with `aws:ebs:id` and `AWS:EBS:ID` cannot pass with one of them naming something else.
 */
export function constraintIncludes(context: EncryptionContext, pairs: EncryptionContext): boolean {
  const entries = Object.entries(context);
  return Object.entries(pairs).every(([k, v]) => {
    const key = k.toLowerCase();
    let found = false;
    for (const [ck, cv] of entries) {
      if (ck.toLowerCase() !== key) continue;
      if (cv !== v) return false;
      found = true;
    }
    return found;
  });
}

/** Exactly the pairs, keys compared as constraintIncludes compares them (no extra pair, even one that differs only by case). */
export function constraintEquals(a: EncryptionContext, b: EncryptionContext): boolean {
  return Object.keys(a).length === Object.keys(b).length && constraintIncludes(a, b) && constraintIncludes(b, a);
}

/**
 * A grant created through a grant may not widen it: a subset of its operations, and every context
 * the new grant's constraints let through must pass each of the parent's (both, when it has both).
 */
export function grantNarrows(parent: Pick<Grant, 'operations' | 'constraints'>, child: { operations: string[]; constraints?: GrantConstraints }): boolean {
  if (!child.operations.every((op) => parent.operations.includes(op))) return false;
  const p = parent.constraints;
  if (!p) return true;
  const c = child.constraints ?? {};
  // The child lets through only contexts equal to its Equals (when it has one), else only those holding its Subset.
  if (p.EncryptionContextEquals && !(c.EncryptionContextEquals !== undefined && constraintEquals(c.EncryptionContextEquals, p.EncryptionContextEquals))) return false;
  if (p.EncryptionContextSubset) {
    const held = [c.EncryptionContextEquals, c.EncryptionContextSubset].some((x) => x !== undefined && constraintIncludes(x, p.EncryptionContextSubset!));
    if (!held) return false;
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

/**
 * AWS's "Grants per KMS key" resource quota: live grants (retired and revoked ones do not count) on
 * one customer managed key. The page lists no such quota for AWS managed keys.
 * https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html#grants-per-key
 */
export const GRANTS_PER_KEY_QUOTA = 50_000;

/**
 * "Grants for a given principal per KMS key": live grants on one key for one grantee principal.
 * Earlier versions of the resource quotas page listed it (30, later 500, for customer and AWS
 * managed keys); today's page lists no such quota, so by default (AWS's) there is none. The
 * internal option EBSIM_GRANTS_PER_GRANTEE_QUOTA=N sets one (500 reproduces the older AWS), for
 * a test or a lesson; docs/known-differences.md says so.
 */
export const GRANTS_PER_GRANTEE_QUOTA: number | undefined = undefined;

/** The per-grantee quota in force: the option's, else AWS's (none). */
export function grantsPerGranteeQuota(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env.EBSIM_GRANTS_PER_GRANTEE_QUOTA;
  if (raw === undefined || raw === '') return GRANTS_PER_GRANTEE_QUOTA;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new UserError(`EBSIM_GRANTS_PER_GRANTEE_QUOTA must be a whole number of grants, at least 1 (got ${JSON.stringify(raw)})`);
  return n;
}

/** The quotas a new grant is checked against (CreateGrant); absent ones do not apply. */
export interface GrantQuotas {
  keyArn: string;
  perKey?: number;
  perGrantee?: number;
}

/** Where a ListGrants or ListRetirableGrants page starts: after this grant, in (createdAt, grantId) order. */
export interface GrantCursor {
  createdAt: string;
  grantId: string;
}

/** A grant to store, as CreateGrant describes it. */
export type NewGrant = Omit<Grant, 'grantId' | 'createdAt' | 'state'>;

const LIVE = "state = 'live'";

/**
 * The reads that must stay index reads at 50,000 grants on a key (a test checks their plans).
 * Each names its index (INDEXED BY): without statistics, SQLite's planner would as soon walk
 * all of a key's grants through kms_grants_by_key, or in order to save sorting a few.
 */
export const GRANT_QUERIES = {
  /** Authorization: the caller's live grants on a key (sorted by the caller, there are few). */
  forCaller: `SELECT * FROM kms_grants INDEXED BY kms_grants_live_by_grantee WHERE key_id = ? AND ${LIVE} AND grantee_principal IN (?, ?, ?)`,
  /** CreateGrant's idempotency: the key's live grants of this name. */
  byName: `SELECT * FROM kms_grants INDEXED BY kms_grants_live_by_name WHERE key_id = ? AND name = ? AND ${LIVE} AND name IS NOT NULL`,
  /** ListGrants: a page after a cursor, optionally one grantee's (the index order is the page order). */
  page: `SELECT * FROM kms_grants INDEXED BY kms_grants_live_in_order WHERE key_id = ? AND ${LIVE} AND (created_at, grant_id) > (?, ?) ORDER BY created_at, grant_id LIMIT ?`,
  pageOfGrantee: `SELECT * FROM kms_grants INDEXED BY kms_grants_live_by_grantee WHERE key_id = ? AND ${LIVE} AND grantee_principal = ? AND (created_at, grant_id) > (?, ?) ORDER BY created_at, grant_id LIMIT ?`,
  pageOfGrantId: `SELECT * FROM kms_grants WHERE key_id = ? AND ${LIVE} AND grant_id = ? AND (created_at, grant_id) > (?, ?) LIMIT ?`,
  /** The per-grantee quota: the grantee's live grants on a key, counted in the index and never past the quota (`LIMIT`). */
  granteeCount: `SELECT count(*) FROM (SELECT 1 FROM kms_grants INDEXED BY kms_grants_live_by_grantee WHERE key_id = ? AND grantee_principal = ? AND ${LIVE} LIMIT ?)`,
  /** ListRetirableGrants: a page of one retiring principal's live grants in one Region. */
  retirable: `SELECT g.* FROM kms_grants g INDEXED BY kms_grants_live_by_retiring JOIN kms_keys k ON k.key_id = g.key_id WHERE g.retiring_principal = ? AND g.${LIVE} AND k.region = ? AND (g.created_at, g.grant_id) > (?, ?) ORDER BY g.created_at, g.grant_id LIMIT ?`,
} as const;

/** Before every stored grant in (created_at, grant_id) order: the first page's cursor. */
const START: GrantCursor = { createdAt: '', grantId: '' };

const byCreation = (a: Grant, b: Grant) => a.createdAt.getTime() - b.createdAt.getTime() || (a.grantId < b.grantId ? -1 : a.grantId > b.grantId ? 1 : 0);

/**
 * The grants on the keys of one Region (a grant belongs to its key's Region, as at AWS). Every
 * read goes through an index on the live grants (store/schema.ts), so nothing costs more with
 * 50,000 grants on a key than with 10; what authorization reads on every call is cached per key
 * and caller, coherent across processes (store/read-cache.ts).
 */
export class GrantStore {
  private readonly forCaller;
  private readonly byId;
  private readonly byName;
  private readonly pages;
  private readonly retirable;
  private readonly count;
  private readonly granteeCount;
  private readonly insertRow;
  private readonly endRow;
  private readonly cache: ReadCache<Grant[]>;

  constructor(
    private readonly db: Db,
    private readonly region: string,
  ) {
    this.forCaller = db.prepare(GRANT_QUERIES.forCaller);
    this.byId = db.prepare('SELECT g.* FROM kms_grants g JOIN kms_keys k ON k.key_id = g.key_id WHERE g.grant_id = ? AND k.region = ?');
    this.byName = db.prepare(GRANT_QUERIES.byName);
    this.pages = { all: db.prepare(GRANT_QUERIES.page), grantee: db.prepare(GRANT_QUERIES.pageOfGrantee), grantId: db.prepare(GRANT_QUERIES.pageOfGrantId) };
    this.retirable = db.prepare(GRANT_QUERIES.retirable);
    this.count = db.prepare('SELECT live FROM kms_grant_counts WHERE key_id = ?').pluck();
    this.granteeCount = db.prepare(GRANT_QUERIES.granteeCount).pluck();
    this.insertRow = db.prepare(
      'INSERT INTO kms_grants (grant_id, key_id, name, grantee_principal, retiring_principal, issuing_account, operations, constraints, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.endRow = db.prepare(`UPDATE kms_grants SET state = ?, ended_at = ? WHERE grant_id = ? AND ${LIVE}`);
    this.cache = new ReadCache(db);
  }

  /**
   * The live grants of a key that name this caller (by ARN, principal ID or session issuer; see
   * granteeMatches), oldest first: all that authorization needs to look at.
   */
  forGrantee(keyId: string, p: Principal): Grant[] {
    const issuer = p.sessionIssuer?.arn ?? p.arn;
    return this.cache.get(`${keyId}\0${p.arn}\0${p.principalId}\0${issuer}`, () =>
      (this.forCaller.all(storageKeyId(keyId, this.region), p.arn, p.principalId, issuer) as GrantRow[]).map(toGrant).sort(byCreation),
    );
  }

  /** How many live grants the key has. */
  liveCount(keyId: string): number {
    return (this.count.get(storageKeyId(keyId, this.region)) as number | undefined) ?? 0;
  }

  /**
   * One page of a key's live grants in (createdAt, grantId) order, after `after`, optionally only
   * the grant with this ID or those of this grantee (ListGrants's filters); `limit + 1` rows are
   * read, so the caller knows whether more follow.
   */
  page(keyId: string, opts: { grantId?: string; grantee?: string; after?: GrantCursor; limit: number }): Grant[] {
    const key = storageKeyId(keyId, this.region);
    const { createdAt, grantId } = opts.after ?? START;
    const rows =
      opts.grantId !== undefined
        ? (this.pages.grantId.all(key, opts.grantId, createdAt, grantId, opts.limit + 1) as GrantRow[]).filter((r) => opts.grantee === undefined || r.grantee_principal === opts.grantee)
        : opts.grantee !== undefined
          ? (this.pages.grantee.all(key, opts.grantee, createdAt, grantId, opts.limit + 1) as GrantRow[])
          : (this.pages.all.all(key, createdAt, grantId, opts.limit + 1) as GrantRow[]);
    return rows.map(toGrant);
  }

  get(grantId: string): Grant | undefined {
    const row = this.byId.get(grantId, this.region) as GrantRow | undefined;
    return row && toGrant(row);
  }

  /** Live grant with this name and identical parameters (CreateGrant's idempotency by Name). */
  findSame(g: Omit<Grant, 'grantId' | 'createdAt' | 'state'>): Grant | undefined {
    if (!g.name) return undefined;
    return (this.byName.all(storageKeyId(g.keyId, this.region), g.name) as GrantRow[]).map(toGrant).sort(byCreation).find(
      (x) =>
        // Another account repeating the call makes its own grant (it is that grant's issuer).
        x.issuingAccount === g.issuingAccount &&
        x.granteePrincipal === g.granteePrincipal &&
        x.retiringPrincipal === g.retiringPrincipal &&
        JSON.stringify([...x.operations].sort()) === JSON.stringify([...g.operations].sort()) &&
        canonicalConstraints(x.constraints) === canonicalConstraints(g.constraints),
    );
  }

  /**
   * Stores a new grant. With quotas, refuses (LimitExceededException) a grant that would take the
   * key, or the grantee on the key, past its quota, counted in the same transaction as the insert,
   * so two processes cannot both take the last place.
   */
  insert(g: NewGrant, quotas?: GrantQuotas): Grant {
    const [made] = this.write([g], () => {
      if (!quotas) return;
      if (quotas.perKey !== undefined) {
        const live = this.liveCount(g.keyId);
        if (live >= quotas.perKey) throw new LimitExceededException(grantQuotaMessage(quotas.keyArn, quotas.perKey, live));
      }
      if (quotas.perGrantee !== undefined) {
        const mine = this.granteeCount.get(storageKeyId(g.keyId, this.region), g.granteePrincipal, quotas.perGrantee) as number;
        if (mine >= quotas.perGrantee) throw new LimitExceededException(granteeQuotaMessage(g.granteePrincipal, quotas.keyArn, quotas.perGrantee, mine));
      }
    });
    return made!;
  }

  /** Stores grants in one transaction, without a quota (the bench seeds 50,000 so). */
  insertMany(list: readonly NewGrant[]): Grant[] {
    return this.write(list, () => undefined);
  }

  private write(list: readonly NewGrant[], check: () => void): Grant[] {
    const createdAt = new Date();
    const at = createdAt.toISOString();
    // 64 hex digits, as AWS's grant IDs; one draw of randomness for the whole batch.
    const random = randomBytes(32 * list.length);
    const made = list.map((g, i): Grant => ({ ...g, grantId: random.toString('hex', 32 * i, 32 * i + 32), createdAt, state: 'live' }));
    immediate(this.db, () => {
      check();
      for (const g of made) {
        this.insertRow.run(g.grantId, storageKeyId(g.keyId, this.region), g.name ?? null, g.granteePrincipal, g.retiringPrincipal ?? null, g.issuingAccount, JSON.stringify(g.operations), g.constraints ? JSON.stringify(g.constraints) : null, at);
      }
    });
    return made;
  }

  end(grantId: string, state: 'retired' | 'revoked'): void {
    immediate(this.db, () => this.endRow.run(state, new Date().toISOString(), grantId));
  }

  /** One page of the live grants in this Region that name `principal` as retiring principal (ListRetirableGrants), as page() reads. */
  retirableBy(principal: string, opts: { after?: GrantCursor; limit: number }): Grant[] {
    const { createdAt, grantId } = opts.after ?? START;
    return (this.retirable.all(principal, this.region, createdAt, grantId, opts.limit + 1) as GrantRow[]).map(toGrant);
  }

  /** Every grant of an account's keys in this Region, live or ended (for the console page and the walkthrough). */
  all(accountId: string): Grant[] {
    return (this.db
      .prepare('SELECT g.* FROM kms_grants g JOIN kms_keys k ON k.key_id = g.key_id WHERE k.account_id = ? AND k.region = ? ORDER BY g.created_at')
      .all(accountId, this.region) as GrantRow[]).map(toGrant);
  }
}

/** AWS's words for a full quota are not published for grants; these follow its key quota's ("Key quota for this account in this region is …"). */
function grantQuotaMessage(keyArn: string, quota: number, live: number): string {
  return `Grant quota for key ${keyArn} is ${quota} but the current usage is ${live}.`;
}

/** As the key quota's message, for one grantee principal on one key (AWS publishes no wording for it either). */
function granteeQuotaMessage(grantee: string, keyArn: string, quota: number, live: number): string {
  return `Grant quota for principal ${grantee} on key ${keyArn} is ${quota} but the current usage is ${live}.`;
}

/** The cursor a page's last grant makes (its createdAt to the millisecond, as stored). */
export function cursorOf(g: Pick<Grant, 'createdAt' | 'grantId'>): GrantCursor {
  return { createdAt: g.createdAt.toISOString(), grantId: g.grantId };
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
