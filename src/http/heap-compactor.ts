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
}

/**
 * Gives the memory of a burst of new series back once the burst is over. Creating a series goes
 * through the full decode or parse path, whose intermediate objects live as long as their request
 * (a 10k-series push holds them all), so they outlive the young generation and are promoted: a
 * burst of 100k new series leaves ~50 MiB of garbage in the old generation. V8 collects it only
 * when the old generation reaches its limit, which it raised during the burst, and it does not
 * hand the pages back on its own for a long while — meanwhile the pod's RSS, what its memory
 * limit and the OOM killer see, holds twice the live data.
 *
 * So when the store has grown by at least `minGrowthSeries` and then both the series count and
 * ingest have held still for `quietMs`, the compactor asks V8 for two major GCs one interval
 * apart, incremental (`execution: 'async'`) so the event loop is not stopped for the marking: the
 * first frees the garbage, the second evacuates the pages the first left sparse. Measured on B5
 * (100k new series): RSS growth ~1150 bytes/series without, 520–570 with it (one GC alone left
 * 1 run in 5 at ~1000). A synchronous GC frees as much heap but V8 keeps the pages (no RSS
 * change), so it has to be the incremental kind.
 *
 * Why only when ingest is idle: after these GCs V8 sizes the old generation close to the live
 * data, and under a saturating load that follows at once it then runs a major GC every ~100 ms
 * for as long as the load lasts (B1 straight after a compaction: 0.5–0.7 M points/s instead of
 * ~1.0 M). Idle first, the trade is the one V8's own memory reducer makes after a quiet spell,
 * made sooner; `limits.compact_after_new_series: 0` turns it off for a sidecar that must keep
 * its peak ingest rate over its memory.
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

  constructor(private readonly opts: HeapCompactorOptions) {
    this.intervalMs = opts.intervalMs ?? 250;
    this.minGrowthSeries = opts.minGrowthSeries ?? 10_000;
    this.quietMs = opts.quietMs ?? 500;
    this.minIntervalMs = opts.minIntervalMs ?? 1000;
    this.baseline = this.last = opts.seriesCount();
    this.lastActivity = opts.activity();
    this.changedMs = opts.clock();
  }

  /** Compactions asked for so far. */
  get compactions(): number {
    return this.runs;
  }

  start(): void {
    if (this.opts.gc === undefined || this.minGrowthSeries === 0 || this.timer !== undefined) return;
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
    if (this.followUp) {
      this.followUp = false;
      this.opts.gc({ type: 'major', execution: 'async' });
      return true;
    }
    if (now - this.changedMs < this.quietMs) return false;
    if (this.minGrowthSeries === 0 || n - this.baseline < this.minGrowthSeries) return false;
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
}
