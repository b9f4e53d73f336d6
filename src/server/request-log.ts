// One line per request. Lines are batched and written once per event-loop turn: at thousands
// of requests per second a write per line would cost more than the request itself.
import type { Principal } from '../core/call-context.js';

interface Logged {
  status: number;
  label: string;
  code?: string;
  principal?: Principal;
}

export class RequestLog {
  private lines: string[] = [];
  private scheduled = false;

  constructor(private readonly write?: (text: string) => void) {}

  /** `TIME IP OPERATION STATUS CODE|- MS PRINCIPAL|- REQUEST-ID` */
  request(ip: string, a: Logged, requestId: string, started: bigint): void {
    if (!this.write) return;
    const ms = (Number(process.hrtime.bigint() - started) / 1e6).toFixed(2);
    this.push(`${new Date().toISOString()} ${ip || '-'} ${a.label} ${a.status} ${a.code ?? '-'} ${ms}ms ${a.principal?.arn ?? '-'} ${requestId}`);
  }

  error(message: string): void {
    if (this.write) this.push(`${new Date().toISOString()} error ${message}`);
  }

  flush(): void {
    this.scheduled = false;
    if (!this.write || this.lines.length === 0) return;
    const text = this.lines.join('\n') + '\n';
    this.lines = [];
    this.write(text);
  }

  private push(line: string): void {
    this.lines.push(line);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }
}
