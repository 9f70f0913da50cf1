/** Where memory stands against the limits: below soft, between soft and hard, above hard. */
export type MemoryState = 'ok' | 'soft' | 'hard';

export interface MemoryLimits {
  /** Above this, ingest is refused (503 + Retry-After). */
  softBytes: number;
  /** Above this, a GC is also forced (when exposed) and bodies being read are cut off. */
  hardBytes?: number | undefined;
}

/** One reading of the process's memory, in bytes. */
export interface MemorySample {
  /** Resident set size: what the kubelet's limit and the OOM killer see. */
  rssBytes: number;
  /** V8 heap in use plus memory held outside it for JS objects (Buffers, zlib): `heapUsed + external`. */
  heapBytes: number;
}

export interface MemoryGuardOptions {
  sample?: () => MemorySample;
  clock?: () => number;
  /** A full GC, when the process exposes one (`node --expose-gc`); the collector calls runtime.GC(). */
  gc?: (() => void) | undefined;
  /** A reading older than this is refreshed when the state is asked for (on admission, per body chunk). */
  maxSampleAgeMs?: number;
  /** Background check period, so the state (and a GC) moves on without traffic too. */
  intervalMs?: number;
  /** At most one forced GC this often above the hard limit (the collector: min_gc_interval_when_hard_limited). */
  minGcIntervalHardMs?: number;
  /** ... and above the soft limit, while each GC there ends the refusal. */
  minGcIntervalSoftMs?: number;
  /**
   * The soft interval doubles up to this while GCs there do not end the refusal (live data above
   * the soft limit; the collector's min_gc_interval_when_soft_limited, 10 s).
   */
  maxGcIntervalSoftMs?: number;
}

/** `process.memoryUsage()` as a {@link MemorySample}. */
export function processMemory(): MemorySample {
  const m = process.memoryUsage();
  return { rssBytes: m.rss, heapBytes: m.heapUsed + m.external };
}

/**
 * The collector's memory_limiter for a Node process: a soft limit (limit − spike) above which
 * ingest is refused with 503 + Retry-After, and a hard limit above which a GC is forced as well
 * and bodies still being read are cut off, so the process sheds load instead of growing until
 * the kernel kills it.
 *
 * What it measures. The limits are meant in RSS, what the kubelet's memory limit and the OOM
 * killer act on — and in Node most of what ingest holds is outside the V8 heap (request bodies
 * are Buffers, zlib keeps native state), so `heapUsed` alone would stay flat while the container
 * is killed. But RSS alone cannot drive refusals: glibc keeps freed memory (a burst of 64 KiB
 * socket chunks leaves ~100 MiB resident after everything is freed), so RSS can stay above the
 * soft limit with nothing held, and a guard on RSS would refuse for ever. So the guard does what
 * the collector does with the Go heap — it reads what the runtime holds (`heapUsed + external`,
 * garbage included until a GC, as Go's HeapAlloc) — and adds the process's fixed overhead (code,
 * stacks, the runtime: RSS minus that, taken at start), which puts the estimate in RSS terms.
 * RSS still counts where it matters: above the soft limit by the estimate, an RSS above the hard
 * limit means the hard state at once. Retained free memory is reused by the next requests before
 * RSS grows again, so ignoring it below the soft limit does not let RSS run away.
 *
 * Sampling is lazy: a reading per request would cost more than it saves, so the state is re-read
 * only when older than `maxSampleAgeMs`, plus on a slow background timer for idle recovery.
 */
export class MemoryGuard {
  private current: MemoryState = 'ok';
  private sampledAtMs = -Infinity;
  private last: MemorySample = { rssBytes: 0, heapBytes: 0 };
  private overheadBytes: number | undefined;
  private lastGcMs = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private readonly sample: () => MemorySample;
  private readonly clock: () => number;
  private readonly gc: (() => void) | undefined;
  private readonly maxSampleAgeMs: number;
  private readonly intervalMs: number;
  private readonly minGcIntervalHardMs: number;
  private readonly minGcIntervalSoftMs: number;
  private readonly maxGcIntervalSoftMs: number;
  /** The wait before the next GC above the soft limit: see {@link check}. */
  private softGcIntervalMs: number;
  private gcCount = 0;

  constructor(
    private readonly limits: MemoryLimits | undefined,
    opts: MemoryGuardOptions = {},
  ) {
    this.sample = opts.sample ?? processMemory;
    this.clock = opts.clock ?? (() => Date.now());
    this.gc = opts.gc;
    this.maxSampleAgeMs = opts.maxSampleAgeMs ?? 20;
    this.intervalMs = opts.intervalMs ?? 1000;
    this.minGcIntervalHardMs = opts.minGcIntervalHardMs ?? 1000;
    this.minGcIntervalSoftMs = opts.minGcIntervalSoftMs ?? 1000;
    this.maxGcIntervalSoftMs = Math.max(this.minGcIntervalSoftMs, opts.maxGcIntervalSoftMs ?? 10_000);
    this.softGcIntervalMs = this.minGcIntervalSoftMs;
    if (limits !== undefined && limits.hardBytes !== undefined && !(limits.hardBytes > limits.softBytes))
      throw new RangeError('memory guard: the hard limit must be above the soft limit');
  }

  /** Whether any limit is configured. */
  get enabled(): boolean {
    return this.limits !== undefined;
  }

  /** Take the fixed overhead now (call it at start, before traffic) and check on a timer. */
  start(): void {
    if (this.limits === undefined || this.timer !== undefined) return;
    this.check();
    this.timer = setInterval(() => this.check(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The state, from a reading at most `maxSampleAgeMs` old. */
  state(): MemoryState {
    if (this.limits === undefined) return 'ok';
    if (this.clock() - this.sampledAtMs >= this.maxSampleAgeMs) this.check();
    return this.current;
  }

  /** True while memory is above the soft limit. */
  get overloaded(): boolean {
    return this.state() !== 'ok';
  }

  /** The last reading (zeros before the first). */
  get lastSample(): MemorySample {
    return this.last;
  }

  /** The estimate the limits are compared with: heap and external memory plus the fixed overhead. */
  get estimateBytes(): number {
    return this.last.heapBytes + (this.overheadBytes ?? 0);
  }

  /** Forced GCs so far. */
  get forcedGcs(): number {
    return this.gcCount;
  }

  /**
   * Read memory now and update the state; a GC first when over a limit and one is due.
   *
   * Above the hard limit a GC is due once a second, as in the collector. Above the soft limit the
   * collector waits 10 s between GCs, which suits Go: its collector runs by itself as the refused
   * requests keep allocating, so the forced GC is rarely what ends a refusal. V8 collects its old
   * generation only when that reaches a limit, and a refusing vigil allocates little and only
   * short-lived objects, so the garbage of the last requests it accepted (promoted while they were
   * decoded) held it above the soft limit until the forced GC: in the overload test, 4.3–4.6 s
   * of refusals after the flood had stopped, and 6–40 pushes served in 6 s. So the soft interval
   * starts at a second; a GC that does not end the refusal (live data above the limit, where more
   * GCs only cost CPU) doubles it, up to the collector's 10 s, until memory is below the limit again.
   */
  check(): MemoryState {
    const limits = this.limits;
    if (limits === undefined) return 'ok';
    const now = this.clock();
    let m = this.sample();
    // The overhead is what RSS holds beyond the runtime's memory before any traffic.
    this.overheadBytes ??= Math.max(0, m.rssBytes - m.heapBytes);
    let state = this.classify(m, limits);
    if (state !== 'ok' && this.gc !== undefined) {
      const soft = state === 'soft';
      if (now - this.lastGcMs >= (soft ? this.softGcIntervalMs : this.minGcIntervalHardMs)) {
        this.lastGcMs = now;
        this.gcCount++;
        this.gc();
        m = this.sample();
        state = this.classify(m, limits);
        if (soft && state !== 'ok')
          this.softGcIntervalMs = Math.min(this.maxGcIntervalSoftMs, this.softGcIntervalMs * 2);
      }
    }
    if (state === 'ok') this.softGcIntervalMs = this.minGcIntervalSoftMs;
    this.last = m;
    this.sampledAtMs = now;
    this.current = state;
    return state;
  }

  private classify(m: MemorySample, limits: MemoryLimits): MemoryState {
    const estimate = m.heapBytes + (this.overheadBytes ?? 0);
    if (estimate <= limits.softBytes) return 'ok';
    const hard = limits.hardBytes;
    if (hard !== undefined && (estimate > hard || m.rssBytes > hard)) return 'hard';
    return 'soft';
  }
}
