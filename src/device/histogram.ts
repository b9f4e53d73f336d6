// Counts request sizes in power-of-two buckets, to show which sizes the kernel really sends.
export class SizeHistogram {
  private readonly buckets = new Map<number, number>();

  add(bytes: number): void {
    const b = bytes <= 512 ? 512 : 2 ** Math.ceil(Math.log2(bytes));
    this.buckets.set(b, (this.buckets.get(b) ?? 0) + 1);
  }

  get total(): number {
    let t = 0;
    for (const v of this.buckets.values()) t += v;
    return t;
  }

  /** e.g. "<=4K:12 <=128K:3071" */
  toString(): string {
    if (this.buckets.size === 0) return '(none)';
    return [...this.buckets.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([b, n]) => `<=${b >= 1024 ? `${b / 1024}K` : b}:${n}`)
      .join(' ');
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.buckets.entries()].sort((a, b) => a[0] - b[0]).map(([b, n]) => [String(b), n]));
  }
}
