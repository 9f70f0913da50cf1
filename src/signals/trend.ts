/**
 * A signal's history: 10-minute buckets kept 24 hours (the seed's MetricsWindowAggregator: 144
 * buckets of avg/min/max/count), a rising/falling/flat direction over the last hour, and the
 * 24-hour baseline for "4x slower than baseline" rules. Fed with the signal's value at every
 * evaluation; snapshots (toJSON/fromJSON) carry it across restarts.
 *
 * Direction: ordinary least squares over every sample of the buckets that overlap the last hour
 * (so 60–70 minutes of samples), computed exactly from per-bucket sums (n, Σy, Σt, Σt², Σty) —
 * O(1) memory per bucket, no sample kept. The fitted line's change over one hour, relative to the
 * mean of those samples, decides: above +10% rising, below −10% falling, otherwise flat. Fewer
 * than two samples, or samples spanning less than 10 minutes, are flat: a few seconds of noise
 * extrapolated to an hour would say anything. A mean of exactly 0 leaves only the sign of the
 * change.
 */
import { SlotRing } from './slot-ring.js';

/** Bucket width: 10 minutes. */
export const TREND_BUCKET_MS = 600_000;
/** Buckets kept, the current partial one included: 144 (24 hours). */
export const TREND_BUCKET_COUNT = 144;
/** History the direction is judged on: 1 hour. */
export const TREND_DIRECTION_WINDOW_MS = 3_600_000;
/** |change over the direction window| / |mean| above which the trend is not flat: 10%. */
export const TREND_FLAT_THRESHOLD = 0.1;
/** Samples must span at least this long for a direction other than flat: 10 minutes. */
export const TREND_MIN_DIRECTION_SPAN_MS = 600_000;

/** Options of a {@link Trend}; every default is the constant of the same name. */
export interface TrendOptions {
  /** Bucket width in milliseconds (default 10 min). */
  readonly bucketMs?: number;
  /** Buckets kept, including the current one (default 144). */
  readonly bucketCount?: number;
  /** Window of the direction fit, in milliseconds (default 1 h; at most (bucketCount − 1) · bucketMs). */
  readonly directionWindowMs?: number;
  /** Relative change that is no longer flat (default 0.1). */
  readonly flatThreshold?: number;
  /** Minimum span of samples for a non-flat direction, in milliseconds (default 10 min). */
  readonly minDirectionSpanMs?: number;
}

/** One bucket as the report shows it (units: the signal's). */
export interface TrendBucket {
  /** Bucket start, epoch milliseconds. */
  readonly startMs: number;
  readonly avg: number;
  readonly min: number;
  readonly max: number;
  readonly count: number;
}

export type TrendDirection = 'rising' | 'falling' | 'flat';

/** The least-squares fit behind {@link Trend.direction}. */
export interface TrendFit {
  /** Slope of the fitted line, signal units per second. */
  readonly slopePerSecond: number;
  /** slopePerSecond × the direction window in seconds. */
  readonly change: number;
  /** Mean of the fitted samples. */
  readonly mean: number;
  readonly samples: number;
  /** Time between the first and the last fitted sample, milliseconds. */
  readonly spanMs: number;
}

/**
 * One bucket in a snapshot: the report's figures plus the sums the direction fit needs.
 * `t` is seconds since the bucket's start.
 */
export interface TrendSnapshotBucket {
  readonly startMs: number;
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
  readonly sumT: number;
  readonly sumTT: number;
  readonly sumTY: number;
  readonly firstT: number;
  readonly lastT: number;
}

/** What {@link Trend.toJSON} writes and {@link Trend.fromJSON} reads. */
export interface TrendSnapshot {
  readonly version: 1;
  readonly bucketMs: number;
  readonly buckets: TrendSnapshotBucket[];
}

interface TrendSlot {
  count: number;
  sum: number;
  min: number;
  max: number;
  sumT: number;
  sumTT: number;
  sumTY: number;
  firstT: number;
  lastT: number;
}

const emptySlot = (): TrendSlot => ({
  count: 0,
  sum: 0,
  min: Infinity,
  max: -Infinity,
  sumT: 0,
  sumTT: 0,
  sumTY: 0,
  firstT: Infinity,
  lastT: -Infinity,
});

/** A signal's trend; see the module comment. */
export class Trend {
  readonly bucketMs: number;
  readonly bucketCount: number;
  private readonly directionWindowMs: number;
  private readonly flatThreshold: number;
  private readonly minSpanMs: number;
  private readonly ring: SlotRing<TrendSlot>;
  /** Latest time seen, so toJSON (which JSON.stringify calls without a time) knows what is current. */
  private latestMs = -Infinity;
  private rejectedCount = 0;
  /**
   * Bumped by every accepted `add`. buckets() and direction() depend only on it and on the bucket
   * `nowMs` falls in, so they are memoised on both: a report reads every trend, and between two
   * evaluation ticks nothing has changed.
   */
  private version = 0;
  private bucketsMemo: { key: number; version: number; value: TrendBucket[] } | undefined;
  private directionMemo: { key: number; version: number; value: TrendDirection } | undefined;

  constructor(options: TrendOptions = {}) {
    this.bucketMs = options.bucketMs ?? TREND_BUCKET_MS;
    this.bucketCount = options.bucketCount ?? TREND_BUCKET_COUNT;
    this.directionWindowMs = options.directionWindowMs ?? TREND_DIRECTION_WINDOW_MS;
    this.flatThreshold = options.flatThreshold ?? TREND_FLAT_THRESHOLD;
    this.minSpanMs = options.minDirectionSpanMs ?? TREND_MIN_DIRECTION_SPAN_MS;
    if (!(Number.isInteger(this.bucketCount) && this.bucketCount >= 2)) {
      throw new RangeError(`bucketCount must be an integer ≥ 2, got ${this.bucketCount}`);
    }
    if (!(this.flatThreshold >= 0)) {
      throw new RangeError(`flatThreshold must be ≥ 0, got ${this.flatThreshold}`);
    }
    this.ring = new SlotRing<TrendSlot>({
      slotMs: this.bucketMs,
      maxWindowMs: (this.bucketCount - 1) * this.bucketMs,
      create: emptySlot,
      reset: (slot) => Object.assign(slot, emptySlot()),
    });
    if (!(this.directionWindowMs > 0 && this.directionWindowMs <= this.ring.maxWindowMs)) {
      throw new RangeError(
        `directionWindowMs must be in (0, ${this.ring.maxWindowMs}], got ${this.directionWindowMs}`,
      );
    }
  }

  /** Values refused so far: not finite, or older than the kept buckets. */
  get rejected(): number {
    return this.rejectedCount;
  }

  /** Adds the signal's value at `nowMs`. Returns false when rejected. */
  add(value: number, nowMs: number): boolean {
    const slot = Number.isFinite(value) ? this.ring.slotFor(nowMs) : undefined;
    if (slot === undefined) {
      this.rejectedCount++;
      return false;
    }
    const t = (nowMs - Math.floor(nowMs / this.bucketMs) * this.bucketMs) / 1000;
    slot.count++;
    slot.sum += value;
    if (value < slot.min) slot.min = value;
    if (value > slot.max) slot.max = value;
    slot.sumT += t;
    slot.sumTT += t * t;
    slot.sumTY += t * value;
    if (t < slot.firstT) slot.firstT = t;
    if (t > slot.lastT) slot.lastT = t;
    if (nowMs > this.latestMs) this.latestMs = nowMs;
    this.version++;
    return true;
  }

  /** Non-empty buckets of the last `bucketCount`, oldest first (the last may still be filling). */
  buckets(nowMs: number): TrendBucket[] {
    const key = Math.floor(nowMs / this.bucketMs);
    const memo = this.bucketsMemo;
    if (memo !== undefined && memo.key === key && memo.version === this.version) return memo.value.slice();
    const out: TrendBucket[] = [];
    this.forEachKept(nowMs, (s, startMs) => {
      out.push({ startMs, avg: s.sum / s.count, min: s.min, max: s.max, count: s.count });
    });
    this.bucketsMemo = { key, version: this.version, value: out.slice() };
    return out;
  }

  /** Mean of every sample in the kept buckets (count-weighted over buckets); undefined when none. */
  baseline(nowMs: number): number | undefined {
    let count = 0;
    let sum = 0;
    this.forEachKept(nowMs, (s) => {
      count += s.count;
      sum += s.sum;
    });
    return count > 0 ? sum / count : undefined;
  }

  /** Rising, falling or flat over the direction window; see the module comment. */
  direction(nowMs: number): TrendDirection {
    const key = Math.floor(nowMs / this.bucketMs);
    const memo = this.directionMemo;
    if (memo !== undefined && memo.key === key && memo.version === this.version) return memo.value;
    const value = this.computeDirection(nowMs);
    this.directionMemo = { key, version: this.version, value };
    return value;
  }

  private computeDirection(nowMs: number): TrendDirection {
    const fit = this.fit(nowMs);
    if (fit === undefined || fit.samples < 2 || fit.spanMs < this.minSpanMs) return 'flat';
    const scale = Math.abs(fit.mean);
    if (scale === 0) return fit.change > 0 ? 'rising' : fit.change < 0 ? 'falling' : 'flat';
    const relative = fit.change / scale;
    if (relative > this.flatThreshold) return 'rising';
    if (relative < -this.flatThreshold) return 'falling';
    return 'flat';
  }

  /** The least-squares fit over the direction window; undefined without samples or time spread. */
  fit(nowMs: number): TrendFit | undefined {
    // Times in seconds from the oldest visited bucket's start keep the squares small and exact
    // enough; per-bucket sums are shifted by d: Σ(t+d) = Σt + n·d, Σ(t+d)² = Σt² + 2dΣt + n·d².
    let origin: number | undefined;
    let n = 0;
    let sy = 0;
    let sx = 0;
    let sxx = 0;
    let sxy = 0;
    let firstX = Infinity;
    let lastX = -Infinity;
    this.ring.forEachInWindow(nowMs, this.directionWindowMs, (s, startMs) => {
      if (s.count === 0) return;
      origin ??= startMs;
      const d = (startMs - origin) / 1000;
      n += s.count;
      sy += s.sum;
      sx += s.sumT + s.count * d;
      sxx += s.sumTT + 2 * d * s.sumT + s.count * d * d;
      sxy += s.sumTY + d * s.sum;
      firstX = Math.min(firstX, s.firstT + d);
      lastX = Math.max(lastX, s.lastT + d);
    });
    if (n === 0) return undefined;
    const varX = sxx - (sx * sx) / n;
    if (!(varX > 0)) return undefined;
    const slopePerSecond = (sxy - (sx * sy) / n) / varX;
    return {
      slopePerSecond,
      change: slopePerSecond * (this.directionWindowMs / 1000),
      mean: sy / n,
      samples: n,
      spanMs: (lastX - firstX) * 1000,
    };
  }

  /** The kept buckets as of the latest value added. */
  toJSON(): TrendSnapshot {
    const buckets: TrendSnapshotBucket[] = [];
    if (this.latestMs !== -Infinity) {
      this.forEachKept(this.latestMs, (s, startMs) => buckets.push({ startMs, ...s }));
    }
    return { version: 1, bucketMs: this.bucketMs, buckets };
  }

  /**
   * Rebuilds a trend from a snapshot, keeping only buckets that are well-formed and still within
   * the kept 24 hours at `nowMs`; everything else is dropped and counted (for a log line).
   */
  static fromJSON(
    snapshot: unknown,
    nowMs: number,
    options: TrendOptions = {},
  ): { trend: Trend; dropped: number } {
    const trend = new Trend(options);
    if (typeof snapshot !== 'object' || snapshot === null) return { trend, dropped: 0 };
    const { version, bucketMs, buckets } = snapshot as Partial<Record<keyof TrendSnapshot, unknown>>;
    if (!Array.isArray(buckets)) return { trend, dropped: 0 };
    // Another version or bucket width cannot be placed in this ring: drop it all.
    if (version !== 1 || bucketMs !== trend.bucketMs) return { trend, dropped: buckets.length };
    const oldestStartMs = (Math.floor(nowMs / trend.bucketMs) - trend.bucketCount + 1) * trend.bucketMs;
    let dropped = 0;
    for (const raw of buckets) {
      const b = trend.validBucket(raw);
      const slot =
        b !== undefined && b.startMs >= oldestStartMs && b.startMs <= nowMs
          ? trend.ring.slotFor(b.startMs)
          : undefined;
      // A slot already filled means a duplicate start in the snapshot: keep the first.
      if (b === undefined || slot === undefined || slot.count > 0) {
        dropped++;
        continue;
      }
      Object.assign(slot, {
        count: b.count,
        sum: b.sum,
        min: b.min,
        max: b.max,
        sumT: b.sumT,
        sumTT: b.sumTT,
        sumTY: b.sumTY,
        firstT: b.firstT,
        lastT: b.lastT,
      });
      trend.latestMs = nowMs;
    }
    return { trend, dropped };
  }

  private forEachKept(nowMs: number, fn: (slot: TrendSlot, startMs: number) => void): void {
    this.ring.forEachInWindow(nowMs, this.ring.maxWindowMs, (s, startMs) => {
      if (s.count > 0) fn(s, startMs);
    });
  }

  private validBucket(raw: unknown): TrendSnapshotBucket | undefined {
    if (typeof raw !== 'object' || raw === null) return undefined;
    const b = raw as Record<keyof TrendSnapshotBucket, unknown>;
    const fields = [b.startMs, b.count, b.sum, b.min, b.max, b.sumT, b.sumTT, b.sumTY, b.firstT, b.lastT];
    if (!fields.every((v) => typeof v === 'number' && Number.isFinite(v))) return undefined;
    const v = b as TrendSnapshotBucket;
    const bucketS = this.bucketMs / 1000;
    const tol = (x: number) => 1e-9 * Math.max(1, Math.abs(x));
    const avg = v.sum / v.count;
    const ok =
      v.startMs % this.bucketMs === 0 &&
      Number.isInteger(v.count) &&
      v.count > 0 &&
      v.min <= v.max &&
      avg >= v.min - tol(v.min) &&
      avg <= v.max + tol(v.max) &&
      v.firstT >= 0 &&
      v.firstT <= v.lastT &&
      v.lastT <= bucketS &&
      v.sumT >= v.count * v.firstT - tol(v.sumT) &&
      v.sumT <= v.count * v.lastT + tol(v.sumT) &&
      v.sumTT >= 0 &&
      v.sumTT <= v.count * v.lastT * v.lastT + tol(v.sumTT) &&
      Math.abs(v.sumTY) <= v.count * v.lastT * Math.max(Math.abs(v.min), Math.abs(v.max)) + tol(v.sumTY);
    return ok ? v : undefined;
  }
}
