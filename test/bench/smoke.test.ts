// Every bench suite in smoke mode (`--smoke`: tiny counts, one round, very short timings), run as
// `npm run bench` runs it (dist/bench/run.js, a process of its own), so that a change elsewhere
// that breaks a suite fails here rather than the next time someone runs the benchmarks (bench/grants
// broke unseen when CreateGrant began refusing unknown principals). Each suite must give its rows,
// every figure a finite number and each row one above zero, and save the run the report command
// draws. The figures themselves mean nothing. The fio targets (device) and the 16 TiB volume
// (scale) need root, FUSE, fio and gocryptfs: skipped with the reason elsewhere, a failure under
// EBSIM_REQUIRE_FUSE=1.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchRow } from '../../bench/harness.js';
import type { RunRecord, SuiteRecord } from '../../bench/record.js';
import { which } from '../../src/device/host.js';
import { findMissingPrerequisite } from '../../src/device/prerequisites.js';
import { assertBuilt, REPO } from '../helpers/cli.js';

const out = mkdtempSync(join(tmpdir(), 'ebsim-h26-smoke-'));
// The suites' scratch directories and mounts go under `out` (TMPDIR), so that what is left behind is ours to see.
const scratch = join(out, 'tmp');
mkdirSync(scratch);
afterAll(() => rmSync(out, { recursive: true, force: true }));

interface Ran {
  code: number;
  stderr: string;
  file: string;
  run: RunRecord;
  suite: SuiteRecord;
}

const runs = new Map<string, Promise<Ran>>();

/** Runs one suite in smoke mode once (a second caller gets the same run). */
function smoke(name: string): Promise<Ran> {
  let p = runs.get(name);
  if (!p) {
    assertBuilt();
    const dir = join(out, name);
    p = new Promise((resolve) =>
      execFile(process.execPath, [join(REPO, 'dist/bench/run.js'), name, '--smoke', '--out', dir], { env: { ...process.env, TMPDIR: scratch, CI: '1' }, maxBuffer: 64 << 20 }, (err, _stdout, stderr) => {
        const files = existsSync(dir) ? readdirSync(dir) : [];
        const file = join(dir, files[0] ?? 'none');
        const run = files.length === 1 ? (JSON.parse(readFileSync(file, 'utf8')) as RunRecord) : undefined;
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr, file, run: run!, suite: run?.suites[name] as SuiteRecord });
      }),
    );
    runs.set(name, p);
  }
  return p;
}

/** The row's text cells, joined by ' | ', for finding rows by what they say. */
const label = (row: BenchRow) => Object.values(row).filter((v) => typeof v === 'string').join(' | ');

const RANGE = /^\d+(\.\d+)? - \d+(\.\d+)?$/;

/** The run finished, saved one smoke run holding the suite, and every figure is a finite number, each row with one above zero. */
function expectSound(r: Ran, name: string): void {
  expect(r.code, r.stderr).toBe(0);
  expect(r.run?.smoke).toBe(true);
  expect(r.file).toMatch(new RegExp(`-${name}-smoke\\.json$`));
  expect(r.suite, `${name} missing from the saved run: ${r.stderr}`).toBeDefined();
  // A smoke run that took minutes ran the suite's real sizes.
  expect(r.suite.seconds).toBeLessThan(90);
  for (const row of r.suite.rows) {
    // Figures are numbers, or ranges written "low - high" (bench/device's rounds).
    const numbers = Object.values(row).flatMap((v) => (typeof v === 'number' ? [v] : typeof v === 'string' && RANGE.test(v) ? v.split(' - ').map(Number) : []));
    for (const n of numbers) {
      expect(Number.isFinite(n), `${label(row)}: ${n}`).toBe(true);
      expect(n, label(row)).toBeGreaterThanOrEqual(0);
    }
    expect(numbers.some((n) => n > 0), `no figure above zero: ${JSON.stringify(row)}`).toBe(true);
  }
  const ms = r.suite.measurements ?? [];
  expect(ms.length).toBeGreaterThan(0);
  for (const m of ms) {
    expect(m.rounds.length, m.id).toBeGreaterThan(0);
    for (const x of m.rounds) expect(Number.isFinite(x), `${m.id}: ${x}`).toBe(true);
  }
}

/** Rows whose text matches each pattern, each with `column` a number above zero. */
function expectRows(rows: BenchRow[], column: string, patterns: RegExp[]): void {
  for (const re of patterns) {
    const found = rows.filter((row) => re.test(label(row)));
    expect(found.length, `no row matches ${re}: ${rows.map(label).join('\n')}`).toBeGreaterThan(0);
    for (const row of found) expect(row[column], `${label(row)}: ${column}`).toBeGreaterThan(0);
  }
}

/** The report command reads the saved run: its page, named after the file, lists the suite. */
function expectReport(r: Ran, name: string): Promise<void> {
  const html = r.file.replace(/\.json$/, '.html');
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [join(REPO, 'dist/bench/run.js'), 'report', r.file], (err, _o, stderr) => {
      try {
        expect(err, stderr).toBeNull();
        const page = readFileSync(html, 'utf8');
        expect(page).toContain('--smoke: the figures mean nothing');
        expect(page).toContain(`<h2>${name}: `);
        // The machine's table, then a row of the page per row of the run, and the header of each table.
        expect(page.split('<tr>').length - 1).toBeGreaterThanOrEqual(r.suite.rows.length + 1);
        resolve();
      } catch (e) {
        reject(e);
      }
    }),
  );
}

/** What the real-mount parts lack here (root, FUSE, loop devices, fio, gocryptfs), or undefined. */
function realMountGap(tools: string[]): string | undefined {
  const missing = findMissingPrerequisite();
  if (missing) return missing.message;
  const absent = tools.filter((t) => !which(t));
  return absent.length > 0 ? `${absent.join(', ')} not installed` : undefined;
}

/** A test of a part that needs real mounts: run, or skipped with the reason, or failed under EBSIM_REQUIRE_FUSE=1. */
function itRealMount(title: string, tools: string[], fn: () => Promise<void>, timeout: number): void {
  const gap = realMountGap(tools);
  if (!gap) return void it(title, fn, timeout);
  if (process.env.EBSIM_REQUIRE_FUSE === '1') return void it(`${title} (EBSIM_REQUIRE_FUSE=1)`, () => {
    throw new Error(`EBSIM_REQUIRE_FUSE=1 but this cannot run here: ${gap}`);
  });
  it.skip(`${title} [skipped: ${gap}]`, fn);
}

/** Nothing of the suite left mounted under the scratch directory. */
function expectNoMounts(): void {
  expect(readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.includes(scratch))).toEqual([]);
}

// One suite after another (the machine has two cores): the file's tests run in order.
describe('npm run bench -- SUITE --smoke', () => {
  it('is refused with --matrix (a sweep has no smoke size), before anything runs', async () => {
    const dir = join(out, 'matrix');
    const r = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(process.execPath, [join(REPO, 'dist/bench/run.js'), 'xts', '--smoke', '--matrix', 'small', '--out', dir], (err, _o, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr })),
    );
    expect([r.code, r.stderr]).toEqual([2, "--smoke runs each suite's fixed jobs once: it does not combine with --matrix\n"]);
    expect(existsSync(dir)).toBe(false);
  });

  it('kms: every operation row, with its rate', async () => {
    const r = await smoke('kms');
    expectSound(r, 'kms');
    expectRows(r.suite.rows, 'ops/s', [/^GenerateDataKeyWithoutPlaintext \(via EC2/, /^Decrypt \(assumed role through a grant\)/, /10 statements/, /^Sign ECC_NIST_P256/, /^Verify ML_DSA_65/, /^GenerateMac HMAC_256 \(4 KiB\)/]);
    await expectReport(r, 'kms');
  }, 120_000);

  it('grants: calls through a grant at each level, and each management call', async () => {
    const r = await smoke('grants');
    expectSound(r, 'grants');
    expectRows(r.suite.rows, 'value', [/^Decrypt through a grant/, /^Encrypt through a grant/, /^GenerateDataKey through a grant/, /right after each grant change/, /^CreateGrant/, /^ListGrants, first page/, /^ListGrants, every page/, /^RetireGrant/, /^RevokeGrant/]);
    expect(new Set(r.suite.rows.map((row) => row['live grants'])).size).toBeGreaterThan(2);
    await expectReport(r, 'grants');
  }, 120_000);

  it('policy: each policy on each path, and the yardstick', async () => {
    const r = await smoke('policy');
    expectSound(r, 'policy');
    expect(r.suite.rows).toHaveLength(7);
    expectRows(r.suite.rows, 'evals/s', [/^default key policy .* explain: false/, /^10 conditioned .* reference: parse per call/, /^\(yardstick\)/]);
    await expectReport(r, 'policy');
  }, 120_000);

  it('trail: first pages per attribute, inserts with and without the index, bytes a record, the scan', async () => {
    const r = await smoke('trail');
    expectSound(r, 'trail');
    expectRows(r.suite.rows, 'first page ms', [/^EventName \| common/, /^Username \| one of 50/, /^EventId \| one record/, /^time window/, /rows above the index/, /^insert \(records\/s\) \| with the index/, /^insert, commits of 100/, /^bytes a record/, /as before the index \(scan\)/]);
    await expectReport(r, 'trail');
  }, 120_000);

  it('xts: every engine at each sector size and batch, and openssl speed', async () => {
    const r = await smoke('xts');
    expectSound(r, 'xts');
    expectRows(r.suite.rows, 'enc MB/s', [/^native \(/, /^node \|/, /^noble \|/, /^ref: openssl speed aes-256-xts$/, /^ref: node:crypto/]);
    await expectReport(r, 'xts');
  }, 120_000);

  it('server: each operation at 1, 8 and 64 connections on one process and on workers, and the floors', async () => {
    const r = await smoke('server');
    expectSound(r, 'server');
    expectRows(r.suite.rows, 'req/s', [/^ebsim serve --workers 1 \| Decrypt$/, /^ebsim serve --workers 1 \| GenerateDataKeyWithoutPlaintext$/, /^floor: bare node:http/, /Decrypt vs the better floor/]);
    for (const row of r.suite.rows) if (row.errors !== null) expect(row.errors, label(row)).toBe(0);
    expect(r.suite.notes!.filter((n) => n.includes('trail records written')).every((n) => n.includes('one per request'))).toBe(true);
    await expectReport(r, 'server');
  }, 120_000);

  it('device: the image copies (no mount needed)', async () => {
    const r = await smoke('device');
    expectSound(r, 'device');
    expectRows(r.suite.rows, 'image copy MiB/s', [/^image copy: plain file copy/, /^image copy: ebsim sparse copy/, /^image copy: re-encryption/, /^ratio re-encryption/]);
    expectNoMounts();
    await expectReport(r, 'device');
  }, 180_000);

  itRealMount('device: fio on the encrypted volume, both pass-throughs, the disk and gocryptfs', ['fio', 'gocryptfs'], async () => {
    const r = await smoke('device');
    expect(r.code, r.stderr).toBe(0);
    const jobs = ['seq write MiB/s', 'seq read MiB/s', '4k rand read IOPS', '4k rand write IOPS'];
    for (const job of jobs) expectRows(r.suite.rows, job, [/^ebsim encrypted$/, /^ebsim pass-through \(js\)$/, /^ebsim pass-through \(native\)$/, /^plain disk$/, /^gocryptfs$/, /^paired ratio/]);
    expect(r.suite.measurements!.filter((m) => m.params?.target === 'ebsim encrypted')).toHaveLength(4);
  }, 180_000);

  it('scale: the grant curve and the trail curve', async () => {
    const r = await smoke('scale');
    expectSound(r, 'scale');
    expectRows(r.suite.rows, 'value', [/^grants \| Decrypt through a grant/, /^trail \| LookupEvents by EventName: first page/, /^trail \| insert with the index/, /^trail \| bytes a record/]);
    expect(new Set(r.suite.rows.filter((row) => row.curve === 'trail').map((row) => row.size)).size).toBe(2);
    expectNoMounts();
    await expectReport(r, 'scale');
  }, 180_000);

  itRealMount('scale: the 16 TiB volume step by step', [], async () => {
    const r = await smoke('scale');
    expect(r.code, r.stderr).toBe(0);
    const steps = r.suite.rows.filter((row) => row.curve === '16 TiB volume');
    expectRows(steps, 'value', [/CreateVolume 16384 GiB \(tmpfs home\)/, /^16 TiB volume \| 16384 GiB \| mount: attach/, /write the last sector/, /read the last sector in process/, /^16 TiB volume \| 16384 GiB \| CreateSnapshot/, /DeleteVolume/]);
  }, 180_000);
});
