// A reader/writer lock over half-open sector ranges. Overlapping requests are granted in the
// order they asked (FIFO), so a read sees every overlapping write issued before it and none
// issued after; non-overlapping requests run in parallel. Used so that concurrent requests
// never tear a sector (read-modify-write of a partial sector included).

interface Range {
  start: number;
  end: number;
  exclusive: boolean;
}

interface Waiter extends Range {
  grant: () => void;
}

const conflicts = (a: Range, b: Range) => a.start < b.end && b.start < a.end && (a.exclusive || b.exclusive);

export type Release = () => void;

export class RangeLock {
  private readonly held = new Set<Range>();
  private queue: Waiter[] = [];

  get idle(): boolean {
    return this.held.size === 0 && this.queue.length === 0;
  }

  acquire(start: number, end: number, exclusive: boolean): Promise<Release> {
    const want: Range = { start, end, exclusive };
    if (!this.blocked(want, this.queue.length)) return Promise.resolve(this.take(want));
    return new Promise((resolve) => this.queue.push({ ...want, grant: () => resolve(this.take(want)) }));
  }

  private blocked(r: Range, queuedBefore: number): boolean {
    for (const h of this.held) if (conflicts(h, r)) return true;
    for (let i = 0; i < queuedBefore; i++) if (conflicts(this.queue[i]!, r)) return true;
    return false;
  }

  private take(r: Range): Release {
    this.held.add(r);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held.delete(r);
      this.pump();
    };
  }

  private pump(): void {
    const still: Waiter[] = [];
    const granted: Waiter[] = [];
    for (const w of this.queue) {
      let ok = true;
      for (const h of this.held) if (conflicts(h, w)) ok = false;
      for (const g of granted) if (conflicts(g, w)) ok = false;
      for (const s of still) if (conflicts(s, w)) ok = false;
      if (ok) granted.push(w);
      else still.push(w);
    }
    this.queue = still;
    // Mark all as held before resolving, so later acquirers see them.
    for (const g of granted) g.grant();
  }
}
