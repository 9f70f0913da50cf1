import type { Logger } from '../log.js';
import type { GcFunction } from './force-gc.js';

export interface HeapCompactorOptions {
  /** Series held now (the store's size). */
  seriesCount: () => number;
  /** A count that moves with every ingest request (requests admitted): the compaction waits for it to stop. */
  activity: () => number;
  /** Undefined where the runtime gives none: the compactor then does nothing. */
  gc: GcFunction | undefined;
  clock: () => number;
  log?: Logger | undefined;
  /** How often the series count is read. */
  intervalMs?: number;
  /** How long both counts must hold still: the burst is over and ingest is idle. */
  quietMs?: number;
  /** Series added since the last compaction that make one worth its work; 0: never. */
  minGrowthSeries?: number;
  /** At most one compaction this often. */
  minIntervalMs?: number;
  /** V8's committed heap plus the external memory its objects hold, in bytes: what an idle settle watches. */
  heapBytes?: () => number;
  /** Growth of `heapBytes` above its lowest reading since the last settle that makes one worth it; 0: never. */
  minGrowthBytes?: number;
  /** How long ingest and scrapes must have been idle before a settle. */
  idleMs?: number;
}

/**
 * How long after the settle's scavenge its major GC comes. V8 shrinks the young generation at the
 * end of a GC only when the allocation rate it measured over the last 5 s of GC-to-GC spans
 * (`kThroughputTimeFrameMs`) is under ~1 MB/s, so the span since the scavenge must cover those 5 s
 * on its own, with a margin for the timer's ticks and for the GC running from a task.
 */
const SETTLE_GAP_MS = 6000;

/**
 * Gives memory back once ingest is over: after a burst of new series, and after an idle spell.
 *
 * The burst compaction. Creating a series goes through the full decode or parse path, whose
 * intermediate objects live as long as their request (a 10k-series push holds them all), so they
 * outlive the young generation and are promoted: a burst of 100k new series leaves ~50 MiB of
 * garbage in the old generation. V8 collects it only when the old generation reaches its limit,
 * which it raised during the burst, and does not hand the pages back on its own for a long while
 * — meanwhile the pod's RSS, what its memory limit and the OOM killer see, holds twice the live
 * data. So when the store has grown by at least `minGrowthSeries` and then both the series count
 * and ingest have held still for `quietMs`, the compactor asks V8 for two major GCs one interval
 * apart: the first frees the garbage, the second evacuates the pages the first left sparse.
 * Measured on B5 (100k new series): RSS growth read 1.5 s after the burst ~1150 bytes/series
 * without, 520–700 with it. Both are `execution: 'async'`: V8 runs the GC from a task it posts,
 * a full stop-the-world GC (`--trace-gc`: 45–70 ms at 100k series, ~0.6 ms per 1k series), not
 * incremental marking; called synchronously with options, Node 20's `gc` did not free the heap
 * (measured).
 *
 * Why only when ingest is idle: after these GCs V8 sizes the old generation close to the live
 * data, and under a saturating load that follows at once it then runs a major GC every ~100 ms
 * for as long as the load lasts (B1 straight after a compaction: 0.5–0.7 M points/s instead of
 * ~1.0 M). Idle first, the trade is the one V8's own memory reducer makes after a quiet spell,
 * made sooner; `limits.compact_after_new_series: 0` turns it off.
 *
 * The idle settle does what V8's memory reducer would, had it started: once ingest and scrapes
 * have been idle for `idleMs` and the heap (committed, plus external memory) stands
 * `minGrowthBytes` above its lowest reading since the last settle, one scavenge, then, if still
 * idle 6 s later, one major GC. V8 starts its reducer only after a major GC, and a sidecar
 * between scrapes only scavenges: after a 100k-series push and one scrape, V8 kept its young
 * generation grown to 2 × 16 MiB (the push's survivors grew it) and the scrape's ~9 MiB of socket
 * write buffers, whose handles had been promoted, for as long as we watched (≥ 40 s). The major
 * GC frees the buffers; the young generation V8 shrinks only at a GC whose recent allocation rate
 * (see SETTLE_GAP_MS) is low, and a GC soon after a scrape still counts the scrape's tail (a major
 * GC 5 s after it did not shrink; at 8–10 s it did). So the scavenge closes that measure and the
 * major GC, 6 s of idleness later, is measured on idleness alone. (Major GC first, then the
 * scavenge, failed 1 time in 4.) The store's sweep must not allocate for this to hold: it did
 * (6 MiB every 15 s at 100k series) and then V8 shrank nothing in 1 run of 2. Measured on B5:
 * ~800 → ~400–450 bytes/series. One settle per quiet spell: the floor restarts at the settle.
 */
export class HeapCompactor {
  private baseline: number;
  private last: number;
  private changedMs: number;
  private lastGcMs = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private runs = 0;
  /** The second GC of a compaction is due on the next tick. */
  private followUp = false;
  private readonly intervalMs: number;
  private readonly quietMs: number;
  private readonly minGrowthSeries: number;
  private lastActivity: number;
  private readonly minIntervalMs: number;
  private readonly minGrowthBytes: number;
  private readonly idleMs: number;
  /** The lowest `heapBytes` reading since the last settle. */
  private floorBytes = Infinity;
  private settleCount = 0;
  /** When the settle under way ran its scavenge; its major GC is due SETTLE_GAP_MS later. */
  private scavengedMs: number | undefined;
  private settleGrowthBytes = 0;

  constructor(private readonly opts: HeapCompactorOptions) {
    this.intervalMs = opts.intervalMs ?? 250;
    this.minGrowthSeries = opts.minGrowthSeries ?? 10_000;
    this.quietMs = opts.quietMs ?? 500;
    this.minIntervalMs = opts.minIntervalMs ?? 1000;
    this.minGrowthBytes = opts.heapBytes === undefined ? 0 : (opts.minGrowthBytes ?? 8 * 1024 * 1024);
    this.idleMs = opts.idleMs ?? 2000;
    // From the start: a push that comes before the first tick is growth too.
    if (this.minGrowthBytes > 0) this.floorBytes = opts.heapBytes!();
    this.baseline = this.last = opts.seriesCount();
    this.lastActivity = opts.activity();
    this.changedMs = opts.clock();
  }

  /** Compactions asked for so far. */
  get compactions(): number {
    return this.runs;
  }

  /** Idle settles carried through to their major GC so far. */
  get settles(): number {
    return this.settleCount;
  }

  start(): void {
    if (this.opts.gc === undefined || this.timer !== undefined) return;
    if (this.minGrowthSeries === 0 && this.minGrowthBytes === 0) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One check; true when it asked for a GC. */
  tick(): boolean {
    const n = this.opts.seriesCount();
    const activity = this.opts.activity();
    const now = this.opts.clock();
    if (n !== this.last || activity !== this.lastActivity) this.changedMs = now;
    this.last = n;
    this.lastActivity = activity;
    // Series removed: growth counts from the new low.
    if (n < this.baseline) this.baseline = n;
    if (this.opts.gc === undefined) return false;
    if (this.scavengedMs !== undefined && now - this.scavengedMs >= SETTLE_GAP_MS) {
      const idle = this.changedMs <= this.scavengedMs;
      this.scavengedMs = undefined;
      if (idle) {
        this.opts.log?.debug({ growthBytes: this.settleGrowthBytes }, 'heap settled after idle');
        this.settleCount++;
        this.lastGcMs = now;
        this.opts.gc({ type: 'major', execution: 'async' });
        return true;
      }
    }
    if (this.followUp) {
      this.followUp = false;
      this.opts.gc({ type: 'major', execution: 'async' });
      return true;
    }
    const bytes = this.minGrowthBytes > 0 ? this.opts.heapBytes!() : 0;
    this.floorBytes = Math.min(this.floorBytes, bytes);
    if (now - this.changedMs < this.quietMs) return false;
    if (this.minGrowthSeries === 0 || n - this.baseline < this.minGrowthSeries)
      return this.settle(now, bytes);
    if (now - this.lastGcMs < this.minIntervalMs) return false;
    this.opts.log?.info(
      { series: n, newSeries: n - this.baseline },
      'heap compaction after a burst of new series',
    );
    this.baseline = n;
    this.lastGcMs = now;
    this.runs++;
    this.followUp = true;
    this.opts.gc({ type: 'major', execution: 'async' });
    return true;
  }

  /** The idle settle's first step: a scavenge when idle long enough and the heap has grown. */
  private settle(now: number, bytes: number): boolean {
    if (this.minGrowthBytes === 0 || this.scavengedMs !== undefined) return false;
    if (now - this.changedMs < this.idleMs || now - this.lastGcMs < this.idleMs) return false;
    if (bytes - this.floorBytes < this.minGrowthBytes) return false;
    this.settleGrowthBytes = bytes - this.floorBytes;
    this.floorBytes = Infinity;
    this.lastGcMs = this.scavengedMs = now;
    this.opts.gc!({ type: 'minor' });
    return true;
  }
}
