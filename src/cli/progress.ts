// Progress bars on stderr, drawn only on a terminal (never into a pipe or a CI log), so stdout
// stays the AWS CLI's output.

export function progressBar(done: number, total: number, width = 30): string {
  const f = total ? done / total : 1;
  const n = Math.round(f * width);
  return `[${'#'.repeat(n)}${'.'.repeat(width - n)}] ${(f * 100).toFixed(0).padStart(3)}%  ${(done / 2 ** 20).toFixed(0)}/${(total / 2 ** 20).toFixed(0)} MiB`;
}

export interface TerminalProgress {
  /** Undefined when nothing is drawn (not a terminal): pass it on as an optional callback. */
  update?: (done: number, total: number, label?: string) => void;
  /** Ends the bar's line, if one was drawn. */
  end(): void;
}

interface Terminal {
  isTTY?: boolean;
  write(text: string): unknown;
}

/**
 * A bar on `stream` if it is a terminal (and not under CI). With `after` ms, a copy that ends
 * sooner draws nothing: only long copies get a bar.
 */
export function terminalProgress(opts: { stream?: Terminal; env?: NodeJS.ProcessEnv; after?: number; now?: () => number } = {}): TerminalProgress {
  const stream = opts.stream ?? process.stderr;
  const env = opts.env ?? process.env;
  if (!stream.isTTY || env.CI) return { end() {} };
  const now = opts.now ?? Date.now;
  const start = now();
  let drawn = false;
  return {
    update(done, total, label) {
      if (!drawn && now() - start < (opts.after ?? 0)) return;
      drawn = true;
      stream.write(`\r${label ? `${label} ` : ''}${progressBar(done, total)}`);
    },
    end() {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
}

/** "1m05s": whole seconds, minutes and hours when they are needed. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h ? `${h}h${String(m).padStart(2, '0')}m${sec}s` : m ? `${m}m${sec}s` : `${s % 60}s`;
}

/**
 * A bar over steps (a benchmark sweep's cells), with the time left estimated from the pace so
 * far: elapsed / done x (total - done). Nothing is estimated before the first step is done.
 */
export function countBar(done: number, total: number, elapsedMs: number, width = 30): string {
  const f = total ? Math.min(1, done / total) : 1;
  const n = Math.round(f * width);
  const eta = done > 0 && done < total ? ` ETA ${formatDuration((elapsedMs / done) * (total - done))}` : done >= total ? ' done' : '';
  return `[${'#'.repeat(n)}${'.'.repeat(width - n)}] ${(f * 100).toFixed(0).padStart(3)}%  ${done}/${total}${eta}`;
}
