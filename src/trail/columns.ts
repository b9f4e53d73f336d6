// What the trail stores of a record besides its text (trail_events' columns), and what the lookup
// index takes of it. Self-contained on purpose (no imports, no module-level helpers): the
// background writer's worker thread builds its copy from this very function's text
// (background-writer.ts), so the two can never drift apart.
import type { TrailRecord } from './record.js';
import type { IndexedColumns } from './postings.js';

/** One row of trail_events as inserted (background-writer.ts's INSERT): event ID, time, source, name, username, access key ID, read-only, resource names, the record. */
export type TrailRow = [string, string, string, string, string | null, string | null, number | null, string, string];

export interface TrailColumns {
  /** The table's columns for a record. */
  rowOf(r: TrailRecord): TrailRow;
  /** What the lookup index takes of a row: its columns (but the record's text) and the record's place (account, Region, whether refused). */
  indexedColumns(row: TrailRow, r: TrailRecord): IndexedColumns;
  /** CloudTrail's "Username": the IAM user name, or the session name of an assumed role. */
  usernameOf(r: TrailRecord): string | null;
}

/** The columns, given CloudTrail's read-only event names (read-only.ts: a record's readOnly, else these). */
export function createTrailColumns(readOnlyEventName: RegExp): TrailColumns {
  const usernameOf = (r: TrailRecord): string | null => {
    const id = r.userIdentity;
    if (typeof id.userName === 'string') return id.userName;
    if (id.type === 'AssumedRole' && typeof id.arn === 'string') return id.arn.split('/').pop() ?? null;
    return null;
  };
  const rowOf = (r: TrailRecord): TrailRow => [
    r.eventID,
    r.eventTime,
    r.eventSource,
    r.eventName,
    usernameOf(r),
    (r.userIdentity.accessKeyId as string | undefined) ?? null,
    (r.readOnly ?? readOnlyEventName.test(r.eventName)) ? 1 : 0,
    JSON.stringify((r.resources ?? []).map((x) => x.ARN)),
    JSON.stringify(r),
  ];
  const indexedColumns = (row: TrailRow, r: TrailRecord): IndexedColumns => [
    row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7],
    r.awsRegion ?? null, r.recipientAccountId ?? null, (r.userIdentity.accountId as string | undefined) ?? null, r.errorCode ?? null,
  ];
  return { rowOf, indexedColumns, usernameOf };
}
