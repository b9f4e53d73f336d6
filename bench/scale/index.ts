// ebsim at AWS's limits (issue 17), in one table: the grant curve (calls through a grant with 1,
// 1,000, 10,000 and 50,000 live grants on the key: bench/grants), the trail curve (10^4, 10^5 and
// 10^6 records, 10^7 in a full run: insert rate, first and next page per lookup attribute, bytes a
// record: bench/trail at each size) and the 16 TiB volume's timings (./volume.ts). Each curve's
// reference is measured in the same run: the 1-grant key, the trail without its index.
import { cpus } from 'node:os';
import { scaled, type BenchContext, type BenchRow, type BenchSuite } from '../harness.js';
import { suite as grants } from '../grants/index.js';
import { trailAtSize } from '../trail/index.js';
import { hugeVolumeTimings } from './volume.js';

const QUICK_SIZES = [10_000, 100_000, 1_000_000];
const FULL_SIZES = [...QUICK_SIZES, 10_000_000];
/** --smoke: two points of the curve, each a whole trail run. */
const SMOKE_SIZES = [2_000, 10_000];

/** The grants suite's calls through a grant, one row per operation and level. */
async function grantCurve(ctx: BenchContext): Promise<{ rows: BenchRow[]; notes: string[] }> {
  const r = await grants.run(ctx);
  const rows = r.rows
    .filter((row) => /through a grant|after each grant change/.test(String(row.measure)))
    .map((row) => ({ curve: 'grants', size: row['live grants'] ?? null, measure: String(row.measure).replace(' (calls/s)', ''), value: row.value ?? null, unit: 'calls/s', 'x ref': row['x 1 grant'] ?? null, target: row.target ?? null }));
  return { rows, notes: (r.notes ?? []).filter((n) => !n.startsWith('CPU:')).map((n) => `grants: ${n}`) };
}

/** The trail suite at one size, folded to one row per lookup attribute (its slowest value) plus inserts and bytes. */
async function trailPoint(ctx: BenchContext, size: number): Promise<{ rows: BenchRow[]; notes: string[] }> {
  const r = await trailAtSize(ctx, size);
  const n = (r.samples as { records: number }).records;
  const rows: BenchRow[] = [];
  const byAttribute = new Map<string, { first: number; next: number | null }>();
  for (const row of r.rows) {
    const lookup = String(row.lookup);
    if (lookup.startsWith('insert') || lookup.startsWith('bytes') || lookup.startsWith('retention') || lookup.includes('before the index')) continue;
    const cur = byAttribute.get(lookup);
    const first = Number(row['first page ms']);
    const next = row['next page ms'] === null ? null : Number(row['next page ms']);
    byAttribute.set(lookup, { first: Math.max(cur?.first ?? 0, first), next: next === null ? cur?.next ?? null : Math.max(cur?.next ?? 0, next) });
  }
  for (const [lookup, { first, next }] of byAttribute) {
    rows.push({ curve: 'trail', size: n, measure: `LookupEvents by ${lookup}: first page (slowest value)`, value: first, unit: 'ms', 'x ref': null, target: '<= 50 ms' });
    if (next !== null) rows.push({ curve: 'trail', size: n, measure: `LookupEvents by ${lookup}: next page (slowest value)`, value: next, unit: 'ms', 'x ref': null, target: '<= 50 ms' });
  }
  const find = (re: RegExp) => r.rows.find((row) => re.test(`${String(row.lookup)} ${String(row.value)}`));
  const plain = find(/^insert .*without the index/);
  const indexed = find(/^insert .*with the index/);
  if (plain && indexed) {
    const rate = Number(indexed['first page ms']);
    rows.push({ curve: 'trail', size: n, measure: 'insert with the index', value: rate, unit: 'records/s', 'x ref': rate / Number(plain['first page ms']), target: '>= 0.8 (ref: without the index, same size)' });
  }
  const bytes = find(/^bytes a record/);
  if (bytes) rows.push({ curve: 'trail', size: n, measure: 'bytes a record (trail file with the index)', value: Number(bytes['first page ms']), unit: 'B', 'x ref': Number(bytes['first page ms']) / Number(bytes['next page ms']), target: `ref: ${bytes['next page ms']} B without the index` });
  const retention = find(/^retention check/);
  if (retention) rows.push({ curve: 'trail', size: n, measure: 'retention check, nothing due (each minute of ebsim serve)', value: Number(retention['first page ms']), unit: 'ms', 'x ref': null, target: '<= 50 ms' });
  const scan = find(/before the index/);
  if (scan) rows.push({ curve: 'trail', size: n, measure: 'LookupEvents by a rare EventName as before the index (a scan)', value: Number(scan['first page ms']), unit: 'ms', 'x ref': null, target: 'reference' });
  return { rows, notes: (r.notes ?? []).filter((x) => x.startsWith('seeded') || x.includes('fit on the disk')).map((x) => `trail ${n.toLocaleString('en')}: ${x}`) };
}

export const suite: BenchSuite = {
  name: 'scale',
  description: 'ebsim at AWS limits: grant curve, trail curve, 16 TiB volume timings',
  async run(ctx) {
    const rows: BenchRow[] = [];
    const notes: string[] = [`CPU: ${cpus()[0]?.model ?? 'unknown'} (${cpus().length} logical)`];
    const add = (r: { rows: BenchRow[]; notes: string[] }) => {
      rows.push(...r.rows);
      notes.push(...r.notes);
    };
    add(await grantCurve(ctx));
    for (const size of scaled(ctx, FULL_SIZES, QUICK_SIZES, SMOKE_SIZES)) add(await trailPoint(ctx, size));
    add(await hugeVolumeTimings(ctx));
    notes.push('grants: calls/s through the newest grant on a key with that many live grants, x ref = against the 1-grant key in the same run');
    notes.push('trail: each size seeded afresh; "slowest value" = the worst first (or next) page over the values bench/trail looks up for that attribute');
    return { rows, notes };
  },
};
