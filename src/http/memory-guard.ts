/**
 * The collector's memory_limiter idea, cheaply: RSS is sampled on a timer (a syscall per request
 * would cost more than it saves), and ingest is refused with 503 + Retry-After while it is above
 * the soft limit, so the process sheds load instead of growing until the kernel kills it.
 */
export class MemoryGuard {
  private over = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly softLimitBytes: number | undefined,
    private readonly sample: () => number = () => process.memoryUsage.rss(),
    private readonly intervalMs = 250,
  ) {}

  start(): void {
    if (this.softLimitBytes === undefined || this.timer !== undefined) return;
    this.check();
    this.timer = setInterval(() => this.check(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** True while memory is above the soft limit. */
  get overloaded(): boolean {
    return this.over;
  }

  check(): void {
    if (this.softLimitBytes === undefined) return;
    const rss = this.sample();
    if (rss > this.softLimitBytes) {
      this.over = true;
      // Give the collector a nudge when it is exposed (node --expose-gc), as memory_limiter does.
      (globalThis as { gc?: () => void }).gc?.();
    } else {
      this.over = false;
    }
  }
}
