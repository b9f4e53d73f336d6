// One line per request. Lines are batched and written every WRITE_EVERY_MS (or once MAX_LINES
// wait): at thousands of requests per second a write per line would cost more than the request
// itself, and a write per event-loop turn (a batch of a few requests) still cost the server a few
// microseconds a request. What waits is written when the server closes or the process exits.
import type { Principal } from '../core/call-context.js';

interface Logged {
  status: number;
  label: string;
  code?: string;
  principal?: Principal;
}

const WRITE_EVERY_MS = 10;
const MAX_LINES = 512;

export class RequestLog {
  private lines: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  // The time in ISO form, made once per millisecond: the requests of a batch share it.
  private isoAt = 0;
  private iso = '';

  // A process that exits without close() (process.exit, a cluster worker whose primary went away)
  // still writes what waits: stderr writes to files and pipes are synchronous.
  private readonly onExit = () => this.flush();

  constructor(private readonly write?: (text: string) => void) {
    if (write) process.on('exit', this.onExit);
  }

  /** Writes what waits and stops watching for the process's exit. */
  close(): void {
    process.off('exit', this.onExit);
    this.flush();
  }

  /** `TIME IP OPERATION STATUS CODE|- MS PRINCIPAL|- REQUEST-ID` */
  request(ip: string, a: Logged, requestId: string, started: bigint): void {
    if (!this.write) return;
    const ms = (Number(process.hrtime.bigint() - started) / 1e6).toFixed(2);
    this.push(`${this.now()} ${ip || '-'} ${a.label} ${a.status} ${a.code ?? '-'} ${ms}ms ${a.principal?.arn ?? '-'} ${requestId}`);
  }

  error(message: string): void {
    if (this.write) this.push(`${this.now()} error ${message}`);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.write || this.lines.length === 0) return;
    const text = this.lines.join('\n') + '\n';
    this.lines = [];
    this.write(text);
  }

  private push(line: string): void {
    this.lines.push(line);
    if (this.lines.length >= MAX_LINES) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), WRITE_EVERY_MS).unref();
  }

  private now(): string {
    const t = Date.now();
    if (t !== this.isoAt) {
      this.isoAt = t;
      this.iso = new Date(t).toISOString();
    }
    return this.iso;
  }
}
