// Reuses the 128 KiB working buffers of the block device so that a request costs no
// allocation in the steady state (the kernel sends at most max_write = 128 KiB at a time).
export class BufferPool {
  private readonly free: Buffer[] = [];

  constructor(
    readonly bufferSize: number,
    private readonly keep = 32,
  ) {}

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafe(this.bufferSize);
  }

  give(buf: Buffer): void {
    if (buf.length === this.bufferSize && this.free.length < this.keep) this.free.push(buf);
  }
}
