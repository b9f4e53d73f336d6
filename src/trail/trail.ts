// The trail: an append-only table of records. Records of state changes are committed before
// the call returns; records of read-only calls are group-committed within FLUSH_WINDOW_MS
// (and at process exit), which is what lets Decrypt run at tens of thousands per second.
import type { Db } from '../store/database.js';
import type { TrailRecord, TrailResource } from './record.js';

export const FLUSH_WINDOW_MS = 20;
const FLUSH_BATCH = 2000;

export class Trail {
  private pending: TrailRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly insert;
  private readonly onExit = () => this.flush();

  constructor(private readonly db: Db) {
    this.insert = db.prepare(
      `INSERT INTO trail_events (event_id, event_time, event_source, event_name, username, access_key_id, read_only, resource_names, record)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    process.on('exit', this.onExit);
  }

  /** Appends a record; `durable` commits it (and everything pending) before returning. */
  append(record: TrailRecord, durable: boolean): void {
    this.pending.push(record);
    if (durable || this.pending.length >= FLUSH_BATCH) {
      this.flush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), FLUSH_WINDOW_MS);
      this.timer.unref();
    }
  }

  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pending.length === 0 || !this.db.open) return;
    const batch = this.pending;
    this.pending = [];
    this.db.transaction(() => {
      for (const r of batch) {
        this.insert.run(
          r.eventID,
          r.eventTime,
          r.eventSource,
          r.eventName,
          usernameOf(r),
          (r.userIdentity.accessKeyId as string | undefined) ?? null,
          r.readOnly === undefined ? null : r.readOnly ? 1 : 0,
          JSON.stringify((r.resources ?? []).map((x: TrailResource) => x.ARN)),
          JSON.stringify(r),
        );
      }
    }).immediate();
  }

  close(): void {
    this.flush();
    process.off('exit', this.onExit);
  }
}

/** CloudTrail's "Username": the IAM user name, or the session name of an assumed role. */
export function usernameOf(r: TrailRecord): string | null {
  const id = r.userIdentity;
  if (typeof id.userName === 'string') return id.userName;
  if (id.type === 'AssumedRole' && typeof id.arn === 'string') return id.arn.split('/').pop() ?? null;
  return null;
}
