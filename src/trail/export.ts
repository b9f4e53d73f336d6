// Writes the trail as CloudTrail delivers it to S3: gzip'd JSON files named
// AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz,
// one file per account, region and five-minute delivery window.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import type { TrailRecord } from './record.js';

export function exportTrail(records: TrailRecord[], dir: string): string[] {
  const groups = new Map<string, TrailRecord[]>();
  for (const r of records) {
    const t = new Date(r.eventTime);
    t.setUTCMinutes(t.getUTCMinutes() - (t.getUTCMinutes() % 5), 0, 0);
    const key = `${r.recipientAccountId}|${r.awsRegion}|${t.toISOString()}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(r);
  }
  const written: string[] = [];
  for (const [key, recs] of groups) {
    const [account, region, iso] = key.split('|') as [string, string, string];
    const [y, m, d] = iso.slice(0, 10).split('-');
    const stamp = iso.slice(0, 16).replace(/[-:]/g, '') + 'Z';
    const folder = join(dir, 'AWSLogs', account, 'CloudTrail', region, y!, m!, d!);
    mkdirSync(folder, { recursive: true });
    const unique = randomBytes(8).toString('base64url').replace(/[-_]/g, 'x');
    const file = join(folder, `${account}_CloudTrail_${region}_${stamp}_${unique}.json.gz`);
    writeFileSync(file, gzipSync(JSON.stringify({ Records: recs })));
    written.push(file);
  }
  return written;
}
