// What every step of the walkthrough shares: printing (compact, or with --full the JSON records
// beside the seed's), checks that count failures, pauses (--step, after each explanation), and
// the trail records each step caused.
import type { Ebsim } from '../app/ebsim.js';
import { AwsError } from '../errors/index.js';
import { allRecords, type TrailRecord } from '../trail/index.js';
import { compareWithSeed, seedRecords } from './seed.js';
import { recordTable, wrap } from './format.js';

export const WIDTH = 100;

export class Session {
  readonly failures: string[] = [];
  private readonly seed = seedRecords();
  private readonly seedShown = new Set<string>();
  /** KMS records compared with the seed's record of the same call, and found to carry every field. */
  private readonly conforming: string[] = [];
  private seen = 0;
  private steps = 0;

  constructor(
    private readonly app: () => Ebsim,
    readonly out: (text: string) => void,
    private readonly full: boolean,
    /** Waits for the reader (--step); undefined: no pauses. */
    private readonly ask: ((prompt: string) => Promise<unknown>) | undefined,
  ) {}

  /** Starts counting records from now (records before are the home's own set-up). */
  startTrail(): void {
    this.seen = allRecords(this.app().db).length;
  }

  /** A step's title and its "why", then the pause of --step: the reader reads before anything runs. */
  async step(title: string, why: string): Promise<void> {
    this.out(`\n== ${++this.steps}. ${title} ==`);
    this.out(wrap(`Why: ${why}`, WIDTH));
    if (this.ask) await this.ask('  [Enter] run this step ');
  }

  say(text: string): void {
    this.out(wrap(text, WIDTH, '  '));
  }

  check(what: string, ok: boolean, detail?: string): boolean {
    this.out(`  ${ok ? 'ok  ' : 'FAIL'} ${wrap(what, WIDTH, '       ').trimStart()}`);
    if (detail) this.out(wrap(detail, WIDTH, '       '));
    if (!ok) this.failures.push(what);
    return ok;
  }

  /** The records added since the last call, oldest first. */
  newRecords(): TrailRecord[] {
    const app = this.app();
    app.trail.flush();
    const all = allRecords(app.db);
    const fresh = all.slice(this.seen);
    this.seen = all.length;
    return fresh;
  }

  /** The key's alias without "alias/" (or the key ID's first block): short enough for a table. */
  keyName = (arn: string): string => {
    const keyId = arn.split('/').pop()!;
    // The key's own account and Region (a lesson may use another account's keys).
    const [, , , region, account] = arn.split(':');
    let aliases: { AliasName: string; TargetKeyId?: string }[] = [];
    try {
      aliases = this.app().kms(account || undefined, region || undefined).inventory().aliases;
    } catch {
      // an account this home does not have: the key ID names it
    }
    const alias = aliases.find((a) => a.TargetKeyId === keyId);
    return alias ? alias.AliasName.replace(/^alias\//, '') : keyId.split('-')[0]!;
  };

  /**
   * Prints records one per line; with --full each record's JSON and the seed's record of the same
   * call (once per call). Either way, each KMS record of a call the seed has must carry every field
   * of the seed's record: a check of its own.
   */
  records(records: TrailRecord[], compareToSeed = true): void {
    for (const l of recordTable(records, this.keyName)) this.out(l);
    for (const r of records) {
      const s = compareToSeed ? this.seed.find((x) => x.eventName === r.eventName && sameKindOfCaller(x, r)) : undefined;
      if (this.full) this.fullRecord(r, s);
      // A refused call's record has no response to compare: its errorCode says what happened.
      if (!s || r.eventSource !== 'kms.amazonaws.com' || r.errorCode) continue;
      const c = compareWithSeed(r, s);
      if (c.missing.length === 0) this.conforming.push(r.eventName);
      else this.check(`the ${r.eventName} record has every field of the seed's`, false, `missing: ${c.missing.join(', ')}`);
    }
  }

  /** The seed-conformance checks in one line (each failure was printed where it happened). */
  seedSummary(): void {
    const names = [...new Set(this.conforming)];
    this.check(`each of the ${this.conforming.length} KMS records made as in the seed (${names.join(', ')}) has every field of the seed's record${this.full ? '' : ' (--full: side by side)'}`,
      this.conforming.length > 0);
  }

  /** A step's set-up, already taught in earlier steps: one line naming its records (all of them with --full). */
  setup(what: string, records: TrailRecord[]): void {
    if (this.full) {
      this.say(`${what}:`);
      return this.records(records);
    }
    const counts = new Map<string, number>();
    for (const r of records) counts.set(r.eventName, (counts.get(r.eventName) ?? 0) + 1);
    this.say(`${what} (records: ${[...counts].map(([n, c]) => (c > 1 ? `${n} ×${c}` : n)).join(', ')}; --full shows them).`);
    if (records.some((r) => r.errorCode)) this.check('the set-up succeeded', false, records.filter((r) => r.errorCode).map((r) => `${r.eventName}: ${r.errorCode}`).join('; '));
  }

  private fullRecord(r: TrailRecord, s: TrailRecord | undefined): void {
    const indent = (v: unknown) => JSON.stringify(v, null, 2).split('\n').map((l) => '    ' + l).join('\n');
    this.out(`\n  ${r.eventName}, as ebsim recorded it:`);
    this.out(indent(r));
    if (!s) return;
    if (this.seedShown.has(r.eventName)) {
      this.out(`  (the seed's ${r.eventName} record is shown above)`);
    } else {
      this.seedShown.add(r.eventName);
      this.out(`  The seed's ${r.eventName} record (AWS, 2014), for comparison:`);
      this.out(indent(s));
    }
    const c = compareWithSeed(r, s);
    this.out(wrap(`beside the seed's ${r.eventName} record: ${c.missing.length === 0 ? 'every field of the seed is here' : `missing ${c.missing.join(', ')}`}${c.extra.length ? `; extra: ${c.extra.join(', ')}` : ''}`, WIDTH, '  '));
    this.out(wrap(`values that differ (IDs, times, addresses are ours): ${c.differingValues.join(', ') || 'none'}`, WIDTH, '  '));
  }

  /** Runs `fn`, which must throw the AWS error `code`; AWS's message is printed with --full or when the code differs. */
  async expectError(what: string, code: string, fn: () => unknown): Promise<AwsError | undefined> {
    try {
      await fn();
      this.check(`${what} is refused with ${code}`, false, 'it was not refused');
      return undefined;
    } catch (err) {
      const got = err instanceof AwsError ? err.code : (err as Error).name;
      const message = (err as Error).message || '(AWS gives no message)';
      this.check(`${what} is refused with ${code}`, got === code, this.full || got !== code ? `${got}: ${message}` : undefined);
      return err instanceof AwsError ? err : undefined;
    }
  }
}

/**
 * The seed's record of a call is its callers': Alice herself (signed in to the console, in 2014), EC2
 * for her, or the host's assumed role. A lesson's call by another kind of caller is not compared.
 */
function sameKindOfCaller(seed: TrailRecord, ours: TrailRecord): boolean {
  const forSomeone = (r: TrailRecord) => r.userIdentity.invokedBy === 'AWS Internal';
  return seed.userIdentity.type === ours.userIdentity.type && forSomeone(seed) === forSomeone(ours);
}
