// What every command handler shares: the global options, the opened home, and printing.
import { openEbsim, type Ebsim } from '../app/ebsim.js';
import { resolveHome } from '../store/home.js';
import type { CallContext } from '../core/call-context.js';
import { query, render, type OutputFormat } from './output.js';

export interface GlobalArgs {
  home?: string;
  as?: string;
  output?: OutputFormat;
  query?: string;
}

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export class Runtime {
  private app: Ebsim | undefined;

  constructor(
    readonly args: GlobalArgs,
    readonly io: Io,
  ) {}

  get home(): string {
    return resolveHome(this.args.home);
  }

  open(): Ebsim {
    this.app ??= openEbsim(this.home);
    return this.app;
  }

  /** The caller named by --as (default: Alice). */
  caller(): CallContext {
    return this.open().as(this.args.as);
  }

  print(value: unknown): void {
    const text = render(this.args.query === undefined ? value : query(value, this.args.query), this.args.output ?? 'json');
    if (text) this.io.out(text);
  }

  close(): void {
    this.app?.close();
    this.app = undefined;
  }
}
