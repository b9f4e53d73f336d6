// What every command handler shares: the global options, the opened home, and printing.
import { openEbsim, type Ebsim } from '../app/ebsim.js';
import { resolveHome } from '../store/home.js';
import type { CallContext } from '../core/call-context.js';
import { checkQuery, render, type OutputFormat } from './output.js';

export interface GlobalArgs {
  home?: string;
  as?: string;
  /** The account `--as` names a principal of (default: the home's first account). */
  account?: string;
  /** The Region calls go to (default: the account's own Region). */
  region?: string;
  output?: OutputFormat;
  query?: string;
  explain?: boolean;
}

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** The terminal's width, where stdout is one (tables fit it; the AWS CLI assumes 80 otherwise). */
  columns?: number;
}

export class Runtime {
  private app: Ebsim | undefined;

  constructor(
    readonly args: GlobalArgs,
    readonly io: Io,
    /** The operation's name, the title of `--output table` (ListKeys, as the AWS CLI titles it). */
    readonly operationName = '',
  ) {
    if (args.query !== undefined) checkQuery(args.query);
  }

  get home(): string {
    return resolveHome(this.args.home);
  }

  open(): Ebsim {
    this.app ??= openEbsim(this.home);
    return this.app;
  }

  /**
   * The caller named by --as (default: Alice) in the account named by --account (default: the
   * home's first), calling the Region named by --region (default: the account's own).
   */
  caller(): CallContext {
    const ctx = this.open().as(this.args.as, undefined, this.args.account, this.args.region);
    if (!this.args.explain) return ctx;
    // On stderr, so stdout stays the AWS CLI's output (pipes and --query keep working).
    return { ...ctx, explain: (d) => this.io.err(explanation(d)) };
  }

  print(value: unknown): void {
    const text = render(value, this.args.output ?? 'json', this.args.query, { title: this.operationName, width: this.io.columns ?? 80 });
    if (text !== undefined) this.io.out(text);
  }

  close(): void {
    this.app?.close();
    this.app = undefined;
  }
}

/** One authorization decision, as `--explain` prints it. */
export function explanation(d: { action: string; resource: string; allowed: boolean; text: string }): string {
  const body = d.text.split('\n').map((l) => `  ${l}`).join('\n');
  return `[explain] ${d.action} on ${d.resource}: ${d.allowed ? 'ALLOWED' : 'DENIED'}\n${body}`;
}
