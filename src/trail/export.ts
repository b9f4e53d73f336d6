// Writes the trail as CloudTrail delivers it to S3: gzip'd JSON files named
// AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz,
// one file per account, region and five-minute delivery window.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { makeDirectories } from '../core/directories.js';
import type { TrailRecord } from './record.js';

/** The log file a set of records goes to, but for its unique part. */
export interface LogFileGroup {
  /** AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD */
  folder: string;
  /** ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ (the name is PREFIX_UNIQUE.json.gz) */
  prefix: string;
  /** Indexes of its records in the list given, in order. */
  members: number[];
}

/**
 * Groups records into CloudTrail's log files: one per account, Region and five-minute window of
 * event time, in order of first appearance. Self-contained (no imports): the retention worker
 * runs it from its text.
 */
export function planLogFiles(records: readonly { account: string; region: string; time: string }[]): LogFileGroup[] {
  const groups = new Map<string, LogFileGroup>();
  records.forEach((r, i) => {
    const t = new Date(r.time);
    if (Number.isNaN(t.getTime())) t.setTime(0);
    t.setUTCMinutes(t.getUTCMinutes() - (t.getUTCMinutes() % 5), 0, 0);
    const iso = t.toISOString();
    const key = `${r.account}|${r.region}|${iso}`;
    let g = groups.get(key);
    if (!g) {
      const [y, m, d] = iso.slice(0, 10).split('-');
      const stamp = iso.slice(0, 16).replace(/[-:]/g, '') + 'Z';
      g = { folder: ['AWSLogs', r.account, 'CloudTrail', r.region, y, m, d].join('/'), prefix: `${r.account}_CloudTrail_${r.region}_${stamp}`, members: [] };
      groups.set(key, g);
    }
    g.members.push(i);
  });
  return [...groups.values()];
}

export function exportTrail(records: TrailRecord[], dir: string): string[] {
  const written: string[] = [];
  for (const g of planLogFiles(records.map((r) => ({ account: r.recipientAccountId, region: r.awsRegion, time: r.eventTime })))) {
    const folder = join(dir, ...g.folder.split('/'));
    makeDirectories(folder);
    const unique = randomBytes(8).toString('base64url').replace(/[-_]/g, 'x');
    const file = join(folder, `${g.prefix}_${unique}.json.gz`);
    writeFileSync(file, gzipSync(JSON.stringify({ Records: g.members.map((i) => records[i]) })));
    written.push(file);
  }
  return written;
}
