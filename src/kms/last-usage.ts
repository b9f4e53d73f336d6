// Each key's last successful cryptographic use, for GetKeyLastUsage: the operation, its time and
// the CloudTrail eventID and requestID of its record. Kept in memory and written at most once a
// second per process (and at exit), so Decrypt on the hot path costs a map write, not a commit;
// written to the trail's database, whose writes tell no other process that keys changed. Where the
// trail has a background writer, that thread writes them (Trail.writeAlong): a save from the
// calling thread waited for the write lock the writer holds through its commits.
// https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyLastUsage.html
import type { Db } from '../store/database.js';
import type { TrailRecord, TrailResource } from '../trail/record.js';
import type { Trail } from '../trail/trail.js';

/** AWS's KeyLastUsageTrackingOperation: the operations whose success counts as a use. */
export const TRACKED_OPERATIONS: ReadonlySet<string> = new Set([
  'Decapsulate', 'Decrypt', 'DeriveSharedSecret', 'Encapsulate', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext', 'GenerateDataKeyWithoutPlaintext', 'GenerateMac', 'ReEncrypt', 'Sign', 'Verify', 'VerifyMac',
]);

export const FLUSH_INTERVAL_MS = 1000;

export interface KeyUse {
  operation: string;
  /** The record's eventTime (ISO 8601). */
  at: string;
  eventId: string;
  requestId: string;
}

interface UsageRow {
  operation: string;
  used_at: string;
  event_id: string;
  request_id: string;
}

/** A key's usage is kept by its ARN: the keys of a multi-Region set share a key ID, not a use. */
const isKeyArn = (arn: string) => arn.includes(':key/');

/** The upsert, unqualified: the trail writer's connection has the trail's file as its main schema. A later use wins, whichever process writes last. */
const UPSERT = `INSERT INTO kms_key_last_usage (key_id, operation, used_at, event_id, request_id) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT (key_id) DO UPDATE SET operation = excluded.operation, used_at = excluded.used_at, event_id = excluded.event_id, request_id = excluded.request_id
  WHERE excluded.used_at >= kms_key_last_usage.used_at`;

export class KeyUsageTracker {
  private pending = new Map<string, KeyUse>();
  /** The last batch handed to the trail's writer: this process's newest uses until it commits. */
  private handedOff = new Map<string, KeyUse>();
  private lastFlush = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private readonly onExit = () => this.flush();
  private readonly upsert;
  private readonly byKey;
  private readonly trackingStart: Date;

  constructor(
    private readonly db: Db,
    /** Whose background writer, if it has one, writes the uses. */
    private readonly trail?: Pick<Trail, 'writeAlong'>,
  ) {
    this.upsert = db.prepare(UPSERT.replace('INSERT INTO kms_key_last_usage', 'INSERT INTO trail.kms_key_last_usage'));
    this.byKey = db.prepare('SELECT operation, used_at, event_id, request_id FROM trail.kms_key_last_usage WHERE key_id = ?');
    this.trackingStart = new Date((db.prepare('SELECT started_at FROM trail.kms_usage_tracking WHERE id = 1').pluck().get() as string | undefined) ?? Date.now());
    process.on('exit', this.onExit);
  }

  /** A successful call's record: if it is a tracked operation, each key it used was used now. */
  noteCall(operation: string, resources: readonly TrailResource[], record: TrailRecord): void {
    if (!TRACKED_OPERATIONS.has(operation)) return;
    for (const r of resources) {
      if (isKeyArn(r.ARN)) this.pending.set(r.ARN, { operation, at: record.eventTime, eventId: record.eventID, requestId: record.requestID ?? record.eventID });
    }
    const since = Date.now() - this.lastFlush;
    if (since >= FLUSH_INTERVAL_MS) this.flushQuietly();
    else this.timer ??= setTimeout(() => this.flushQuietly(), FLUSH_INTERVAL_MS - since).unref();
  }

  /** The key's last use: this process's newest, else the stored one. */
  lastUse(keyArn: string): KeyUse | undefined {
    const mine = this.pending.get(keyArn) ?? this.handedOff.get(keyArn);
    if (mine) return mine;
    const row = this.byKey.get(keyArn) as UsageRow | undefined;
    return row && { operation: row.operation, at: row.used_at, eventId: row.event_id, requestId: row.request_id };
  }

  /** When this home began tracking (GetKeyLastUsage's TrackingStartDate for keys made before). */
  trackingStartDate(): Date {
    return this.trackingStart;
  }

  /** Writes the pending uses; with `wait` (the default), returns only once they are committed. */
  flush(wait = true): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.pending.size || !this.db.open) return;
    this.lastFlush = Date.now();
    const batch = this.pending;
    this.pending = new Map();
    try {
      const rows = [...batch].map(([keyId, u]) => [keyId, u.operation, u.at, u.eventId, u.requestId]);
      if (this.trail?.writeAlong({ sql: UPSERT, rows }, wait)) {
        this.handedOff = batch;
        return;
      }
      this.db.transaction(() => {
        for (const row of rows) this.upsert.run(...row);
      })();
    } catch (err) {
      // Kept for the next flush; a newer use noted meanwhile wins.
      for (const [k, u] of batch) if (!this.pending.has(k)) this.pending.set(k, u);
      throw err;
    }
  }

  /** A flush on a call's way out (which succeeded) or the timer's: a failure is logged and retried later. */
  private flushQuietly(): void {
    try {
      this.flush(false);
    } catch (err) {
      process.stderr.write(`ebsim: key usage: ${(err as Error).message}; will retry\n`);
      this.timer ??= setTimeout(() => this.flushQuietly(), FLUSH_INTERVAL_MS).unref();
    }
  }

  close(): void {
    this.flush();
    process.off('exit', this.onExit);
  }
}

const trackers = new WeakMap<Db, KeyUsageTracker>();

/** The one tracker of a database: every account's KMS in a process shares it (a key used across accounts is the owner's). */
export function keyUsageTracker(db: Db, trail?: Pick<Trail, 'writeAlong'>): KeyUsageTracker {
  let t = trackers.get(db);
  if (!t) trackers.set(db, (t = new KeyUsageTracker(db, trail)));
  return t;
}

/** Writes what is pending and stops tracking for a database about to close. */
export function closeKeyUsageTracker(db: Db): void {
  trackers.get(db)?.close();
  trackers.delete(db);
}
