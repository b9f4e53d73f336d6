// Each key's last successful cryptographic use, for GetKeyLastUsage: the operation, its time and
// the CloudTrail eventID and requestID of its record. Kept in memory and written at most once a
// second per process (and at exit), so Decrypt on the hot path costs a map write, not a commit;
// written to the trail's database, whose writes tell no other process that keys changed.
// https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyLastUsage.html
import type { Statement } from 'better-sqlite3';
import type { Db } from '../store/database.js';
import type { TrailRecord, TrailResource } from '../trail/record.js';

/** AWS's KeyLastUsageTrackingOperation: the operations whose success counts as a use. */
export const TRACKED_OPERATIONS: ReadonlySet<string> = new Set([
  'Decapsulate', 'Decrypt', 'DeriveSharedSecret', 'Encapsulate', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext', 'GenerateDataKeyWithoutPlaintext', 'GenerateMac', 'ReEncrypt', 'Sign', 'Verify', 'VerifyMac',
]);

export const FLUSH_INTERVAL_MS = 1000;
/** A flush that found another connection writing (the trail's background writer) tries again this soon, then twice as late each time. */
export const BUSY_RETRY_MS = 10;
const BUSY_RETRY_MAX_MS = 250;

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

export class KeyUsageTracker {
  private pending = new Map<string, KeyUse>();
  private lastFlush = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private readonly onExit = () => this.flush();
  private readonly upsert;
  private readonly byKey;
  private readonly trackingStart: Date;
  /** Pragmas around a flush that must not wait (see flush). */
  private readonly noWait: { enter: Statement[]; leave: Statement[] };
  private busyRetryMs = BUSY_RETRY_MS;

  constructor(private readonly db: Db) {
    // A later use wins, whichever process writes last.
    this.upsert = db.prepare(
      `INSERT INTO trail.kms_key_last_usage (key_id, operation, used_at, event_id, request_id) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (key_id) DO UPDATE SET operation = excluded.operation, used_at = excluded.used_at, event_id = excluded.event_id, request_id = excluded.request_id
       WHERE excluded.used_at >= kms_key_last_usage.used_at`,
    );
    this.byKey = db.prepare('SELECT operation, used_at, event_id, request_id FROM trail.kms_key_last_usage WHERE key_id = ?');
    this.trackingStart = new Date((db.prepare('SELECT started_at FROM trail.kms_usage_tracking WHERE id = 1').pluck().get() as string | undefined) ?? Date.now());
    // The connection's own settings, read once: the store sets them when it opens the database.
    const timeout = db.pragma('busy_timeout', { simple: true }) as number;
    const sync = db.pragma('trail.synchronous', { simple: true }) as number;
    this.noWait = {
      enter: [db.prepare('PRAGMA busy_timeout = 0'), db.prepare('PRAGMA trail.synchronous = NORMAL')],
      leave: [db.prepare(`PRAGMA busy_timeout = ${timeout}`), db.prepare(`PRAGMA trail.synchronous = ${sync}`)],
    };
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
    const mine = this.pending.get(keyArn);
    if (mine) return mine;
    const row = this.byKey.get(keyArn) as UsageRow | undefined;
    return row && { operation: row.operation, at: row.used_at, eventId: row.event_id, requestId: row.request_id };
  }

  /** When this home began tracking (GetKeyLastUsage's TrackingStartDate for keys made before). */
  trackingStartDate(): Date {
    return this.trackingStart;
  }

  /**
   * Writes what is pending. `wait` (close, exit, an explicit flush) queues for the write lock and
   * syncs like any other commit. Without it (the once-a-second flush on a request's way out) the
   * write never blocks the event loop: it gives up at once if another connection holds the lock
   * (the trail's writer thread commits batches all the time under load; waiting stalled every
   * connection for tens of ms) and skips the fsync (a use lives only in memory for up to a second
   * anyway). Returns false if it gave up: the batch stays pending.
   */
  flush(wait = true): boolean {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.pending.size || !this.db.open) return true;
    const batch = this.pending;
    this.pending = new Map();
    const write = this.db.transaction(() => {
      for (const [keyId, u] of batch) this.upsert.run(keyId, u.operation, u.at, u.eventId, u.requestId);
    });
    try {
      if (wait) write.immediate();
      else this.withoutWaiting(() => write.immediate());
      this.lastFlush = Date.now();
      this.busyRetryMs = BUSY_RETRY_MS;
      return true;
    } catch (err) {
      // Kept for the next flush; a newer use noted meanwhile wins.
      for (const [k, u] of batch) if (!this.pending.has(k)) this.pending.set(k, u);
      if (!wait && (err as { code?: string }).code === 'SQLITE_BUSY') {
        const retry = this.busyRetryMs;
        this.busyRetryMs = Math.min(BUSY_RETRY_MAX_MS, 2 * retry);
        this.lastFlush = Date.now() - FLUSH_INTERVAL_MS + retry;
        this.timer = setTimeout(() => this.flushQuietly(), retry).unref();
        return false;
      }
      throw err;
    }
  }

  /** Runs `f` with the connection's busy timeout at 0 and the trail's commits unsynced, then restores both. */
  private withoutWaiting(f: () => void): void {
    for (const p of this.noWait.enter) p.run();
    try {
      f();
    } finally {
      for (const p of this.noWait.leave) p.run();
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
export function keyUsageTracker(db: Db): KeyUsageTracker {
  let t = trackers.get(db);
  if (!t) trackers.set(db, (t = new KeyUsageTracker(db)));
  return t;
}

/** Writes what is pending and stops tracking for a database about to close. */
export function closeKeyUsageTracker(db: Db): void {
  trackers.get(db)?.close();
  trackers.delete(db);
}
