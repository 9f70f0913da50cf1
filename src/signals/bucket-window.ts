/**
 * Explicit-bucket histograms (OTLP `Histogram`, cumulative temporality) over sliding windows: the
 * window's delta histogram, and quantiles from it exactly as Prometheus's `histogram_quantile`.
 *
 * The delta follows the CounterWindow rules applied to the histogram as a whole (as Prometheus
 * does for native histograms with custom buckets): consecutive samples inside the window are
 * differenced, NOT extrapolated; a reset (count or any bucket dropped, or a new start time after
 * the previous sample) contributes the new sample in full; a series' first sample is a baseline
 * unless `countInitialIfStartedAfterMs` says otherwise. A change of bucket bounds restarts the
 * delta: data under the old bounds cannot be combined with the new, so the window then covers only
 * samples since the change, and the first sample with new bounds is a baseline.
 */
import { explicitBucketQuantile } from './bucket-quantile.js';
import { SlotRing } from './slot-ring.js';

/**
 * One explicit-bucket histogram sample as OTLP carries it (structurally a subset of the store's
 * `HistogramPoint`). Counts are cumulative over time but NOT across buckets.
 */
export interface ExplicitHistogramSample {
  /** Finite, strictly increasing upper bounds; bucket i is (bounds[i−1], bounds[i]], the last (bounds[n−1], +Inf). */
  readonly bounds: readonly number[];
  /** Per-bucket counts, `bounds.length + 1` of them, summing to `count`. */
  readonly bucketCounts: readonly number[];
  readonly count: number;
  /** Sum of observed values; NaN when the producer sent none. */
  readonly sum: number;
  /** Start of the cumulative counting, epoch milliseconds; 0 or absent = unknown. */
  readonly startMs?: number;
}

/** A window's delta histogram. */
export interface HistogramDelta {
  readonly bounds: readonly number[];
  /** Per-bucket increases, `bounds.length + 1` of them. */
  readonly bucketCounts: readonly number[];
  /** Increase of the observation count. */
  readonly count: number;
  /** Increase of the sum; NaN when a sample in the window had no sum. */
  readonly sum: number;
  /** Samples the delta was computed from (since the last bounds change, if any). */
  readonly samples: number;
  /** Resets detected. */
  readonly resets: number;
}

/** A window's histogram figures. */
export interface BucketWindowStats {
  /** Observations in the window. */
  readonly count: number;
  /** Sum of those observations (value units); NaN when unknown. */
  readonly sum: number;
  /** sum / count; NaN when count is 0. */
  readonly avg: number;
  /** Observations per second: count / window seconds. */
  readonly rate: number;
  /** `histogram_quantile(q)` of the window's delta; NaN when it has no observations. */
  quantile(q: number): number;
}

/** Options of a {@link BucketWindow}. */
export interface BucketWindowOptions {
  /** Slot width in milliseconds. */
  readonly slotMs: number;
  /** Longest window that will be queried, in milliseconds. */
  readonly maxWindowMs: number;
  /** As in CounterWindowOptions: a first sample started at or after this counts in full. */
  readonly countInitialIfStartedAfterMs?: number;
}

/** A stored sample: our own copy, bounds shared between samples while they do not change. */
interface StoredSample {
  readonly bounds: readonly number[];
  readonly counts: Float64Array;
  readonly count: number;
  readonly sum: number;
  readonly startMs: number;
  readonly tMs: number;
}

interface Accumulator {
  bounds: readonly number[];
  counts: Float64Array;
  count: number;
  sum: number;
}

interface BucketSlot {
  samples: number;
  first: StoredSample | undefined;
  last: StoredSample | undefined;
  firstCountsInFull: boolean;
  /** Delta between consecutive samples inside the slot; allocated at its second sample. */
  within: Accumulator | undefined;
  resets: number;
}

const emptySlot = (): BucketSlot => ({
  samples: 0,
  first: undefined,
  last: undefined,
  firstCountsInFull: false,
  within: undefined,
  resets: 0,
});

/** Histogram samples in slots; see the module comment. */
export class BucketWindow {
  private readonly ring: SlotRing<BucketSlot>;
  private readonly initialAfterMs: number;
  private lastTMs = -Infinity;
  private lastBounds: readonly number[] | undefined;
  private rejectedCount = 0;

  constructor(options: BucketWindowOptions) {
    this.initialAfterMs = options.countInitialIfStartedAfterMs ?? Infinity;
    this.ring = new SlotRing<BucketSlot>({
      slotMs: options.slotMs,
      maxWindowMs: options.maxWindowMs,
      create: emptySlot,
      reset: (slot) => Object.assign(slot, emptySlot()),
    });
  }

  /** Samples refused so far: malformed, out of time order, or older than the ring. */
  get rejected(): number {
    return this.rejectedCount;
  }

  /** Records a cumulative histogram sample at `tMs` (vigil's clock). Returns false when rejected. */
  record(sample: ExplicitHistogramSample, tMs: number): boolean {
    const slot = isValidSample(sample) && tMs >= this.lastTMs ? this.ring.slotFor(tMs) : undefined;
    if (slot === undefined) {
      this.rejectedCount++;
      return false;
    }
    const firstEver = this.lastTMs === -Infinity;
    this.lastTMs = tMs;
    const stored = this.store(sample, tMs);
    const last = slot.last;
    if (last === undefined || !sameBounds(last.bounds, stored.bounds)) {
      // First sample of the slot, or new bounds: the slot restarts from this sample.
      slot.first = stored;
      slot.within = undefined;
      slot.samples = 0;
      slot.resets = 0;
      slot.firstCountsInFull = firstEver && stored.startMs > 0 && stored.startMs >= this.initialAfterMs;
    } else {
      slot.within ??= newAccumulator(stored.bounds);
      if (addStep(slot.within, last, stored)) slot.resets++;
    }
    slot.last = stored;
    slot.samples++;
    return true;
  }

  /** The delta histogram of `(nowMs − windowMs, nowMs]` (slot granularity); undefined when no samples. */
  delta(nowMs: number, windowMs: number): HistogramDelta | undefined {
    let acc: Accumulator | undefined;
    let prev: StoredSample | undefined;
    let samples = 0;
    let resets = 0;
    this.ring.forEachInWindow(nowMs, windowMs, (slot) => {
      const first = slot.first;
      if (slot.samples === 0 || first === undefined) return;
      if (acc === undefined || prev === undefined || !sameBounds(acc.bounds, first.bounds)) {
        acc = newAccumulator(first.bounds);
        samples = 0;
        resets = 0;
        if (prev === undefined && slot.firstCountsInFull) addSample(acc, first, 1);
      } else if (addStep(acc, prev, first)) {
        resets++;
      }
      if (slot.within !== undefined) addAccumulator(acc, slot.within);
      samples += slot.samples;
      resets += slot.resets;
      prev = slot.last;
    });
    if (acc === undefined) return undefined;
    return {
      bounds: acc.bounds,
      bucketCounts: Array.from(acc.counts),
      count: acc.count,
      sum: acc.sum,
      samples,
      resets,
    };
  }

  /** count, sum, avg, rate and quantiles of the window; undefined when no samples. */
  stats(nowMs: number, windowMs: number): BucketWindowStats | undefined {
    const d = this.delta(nowMs, windowMs);
    if (d === undefined) return undefined;
    return {
      count: d.count,
      sum: d.sum,
      avg: d.count > 0 ? d.sum / d.count : NaN,
      rate: d.count / (windowMs / 1000),
      quantile: (q: number) => explicitBucketQuantile(q, d.bounds, d.bucketCounts),
    };
  }

  private store(sample: ExplicitHistogramSample, tMs: number): StoredSample {
    // Share one frozen copy of the bounds while they stay the same: one array per series, and
    // bounds comparisons at query time are usually a reference check.
    if (this.lastBounds === undefined || !sameBounds(this.lastBounds, sample.bounds)) {
      this.lastBounds = Object.freeze([...sample.bounds]);
    }
    return {
      bounds: this.lastBounds,
      counts: Float64Array.from(sample.bucketCounts),
      count: sample.count,
      sum: sample.sum,
      startMs: sample.startMs ?? 0,
      tMs,
    };
  }
}

function isValidSample(s: ExplicitHistogramSample): boolean {
  const { bounds, bucketCounts, count, sum } = s;
  if (bucketCounts.length !== bounds.length + 1) return false;
  if (!(Number.isFinite(count) && count >= 0)) return false;
  if (!Number.isFinite(sum) && !Number.isNaN(sum)) return false;
  const startMs = s.startMs ?? 0;
  if (!Number.isFinite(startMs)) return false;
  for (let i = 0; i < bounds.length; i++) {
    const b = bounds[i]!;
    if (!Number.isFinite(b) || (i > 0 && !(b > bounds[i - 1]!))) return false;
  }
  let total = 0;
  for (const c of bucketCounts) {
    if (!(Number.isFinite(c) && c >= 0)) return false;
    total += c;
  }
  // OTLP requires count = Σ bucket counts; allow float noise from producers that sum doubles.
  return Math.abs(total - count) <= 1e-9 * Math.max(1, count);
}

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function newAccumulator(bounds: readonly number[]): Accumulator {
  return { bounds, counts: new Float64Array(bounds.length + 1), count: 0, sum: 0 };
}

function addSample(acc: Accumulator, s: StoredSample, sign: 1 | -1): void {
  for (let i = 0; i < acc.counts.length; i++) acc.counts[i]! += sign * s.counts[i]!;
  acc.count += sign * s.count;
  acc.sum += sign * s.sum;
}

function addAccumulator(acc: Accumulator, other: Accumulator): void {
  for (let i = 0; i < acc.counts.length; i++) acc.counts[i]! += other.counts[i]!;
  acc.count += other.count;
  acc.sum += other.sum;
}

/** Adds the step prev → cur (same bounds) to `acc`; returns whether it was a reset. */
function addStep(acc: Accumulator, prev: StoredSample, cur: StoredSample): boolean {
  let reset = cur.count < prev.count || (cur.startMs > prev.startMs && cur.startMs > prev.tMs);
  for (let i = 0; !reset && i < cur.counts.length; i++) reset = cur.counts[i]! < prev.counts[i]!;
  addSample(acc, cur, 1);
  if (!reset) addSample(acc, prev, -1);
  return reset;
}
