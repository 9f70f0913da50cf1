import { downscaleBuckets } from '../store/exp-histogram.js';
import type { Series } from '../store/series.js';
import type { ExpBuckets, ExpHistogramPoint, HistogramPoint } from '../store/types.js';

/**
 * Cumulative → delta, per series, for `temporality: delta` export. The store keeps cumulative
 * state (delta input is accumulated on ingest), so the exporter differences consecutive exports.
 *
 * Rules, as the collector's cumulativetodelta processor with `initial_value: auto`:
 * - The first time a series is seen its value is only a baseline, unless the series started
 *   after this converter did (then all of it is new and is sent).
 * - A value that went down, or a new start time, is a reset: the new cumulative value is the delta.
 * - Nothing new since the last export (same count / value): nothing is sent, and the next delta
 *   starts where the last one ended.
 * State is keyed by the Series object, so a series the store expired and re-created starts over.
 */

export interface NumberDelta {
  startMs: number;
  timeMs: number;
  value: number;
}

interface Last {
  startMs: number;
  timeMs: number;
  value: number;
  point: HistogramPoint | ExpHistogramPoint | undefined;
}

export class DeltaConverter {
  private readonly last = new WeakMap<Series, Last>();

  /** @param startedMs when export started: series that started later are sent whole. */
  constructor(private readonly startedMs: number) {}

  /** The delta of a monotonic sum since the last export, or undefined when there is none to send. */
  sum(s: Series, nowMs: number): NumberDelta | undefined {
    const timeMs = s.timeMs || nowMs;
    const prev = this.last.get(s);
    if (prev === undefined || s.value < prev.value || s.startMs !== prev.startMs) {
      this.remember(s, timeMs, undefined);
      if (prev === undefined && !this.isNew(s.startMs)) return undefined;
      return { startMs: s.startMs || prev?.timeMs || timeMs, timeMs, value: s.value };
    }
    if (s.value === prev.value) return undefined;
    this.remember(s, timeMs, undefined);
    return { startMs: prev.timeMs, timeMs, value: s.value - prev.value };
  }

  histogram(s: Series, p: HistogramPoint, nowMs: number): HistogramPoint | undefined {
    const timeMs = p.timeMs || nowMs;
    const prev = this.last.get(s);
    const before = prev?.point as HistogramPoint | undefined;
    if (before === undefined || p.startMs !== before.startMs || !histogramGrew(before, p)) {
      this.remember(s, timeMs, p);
      if (before === undefined && !this.isNew(p.startMs)) return undefined;
      return { ...p, startMs: p.startMs || prev?.timeMs || timeMs, timeMs };
    }
    if (p.count === before.count) return undefined;
    this.remember(s, timeMs, p);
    return {
      startMs: prev!.timeMs,
      timeMs,
      count: p.count - before.count,
      sum: p.sum - before.sum,
      // Min and max of the interval alone are unknown: a cumulative min/max is not the delta's.
      min: NaN,
      max: NaN,
      bounds: p.bounds,
      bucketCounts: p.bucketCounts.map((c, i) => c - before.bucketCounts[i]!),
    };
  }

  expHistogram(s: Series, p: ExpHistogramPoint, nowMs: number): ExpHistogramPoint | undefined {
    const timeMs = p.timeMs || nowMs;
    const prev = this.last.get(s);
    const before = prev?.point as ExpHistogramPoint | undefined;
    const diff = before === undefined || p.startMs !== before.startMs ? undefined : subtractExp(p, before);
    if (diff === undefined) {
      this.remember(s, timeMs, p);
      if (before === undefined && !this.isNew(p.startMs)) return undefined;
      return { ...p, startMs: p.startMs || prev?.timeMs || timeMs, timeMs };
    }
    if (diff.count === 0) return undefined;
    this.remember(s, timeMs, p);
    return { ...diff, startMs: prev!.timeMs, timeMs };
  }

  private isNew(startMs: number): boolean {
    return startMs > 0 && startMs >= this.startedMs;
  }

  private remember(s: Series, timeMs: number, point: HistogramPoint | ExpHistogramPoint | undefined): void {
    this.last.set(s, { startMs: s.startMs, timeMs, value: s.value, point: snapshot(point) });
  }
}

/**
 * What to keep of a point: an explicit histogram's own copy, since the OTLP known-request path
 * rewrites a series' point in place (otlp-known-requests.ts); the other kinds are never rewritten.
 */
function snapshot(
  point: HistogramPoint | ExpHistogramPoint | undefined,
): HistogramPoint | ExpHistogramPoint | undefined {
  if (point === undefined || !('bucketCounts' in point)) return point;
  return { ...point, bucketCounts: point.bucketCounts.slice() };
}

/** Same bounds and no count went down: `p` continues `before`. */
function histogramGrew(before: HistogramPoint, p: HistogramPoint): boolean {
  if (p.count < before.count || before.bounds.length !== p.bounds.length) return false;
  for (let i = 0; i < p.bounds.length; i++) if (p.bounds[i] !== before.bounds[i]) return false;
  for (let i = 0; i < p.bucketCounts.length; i++)
    if (p.bucketCounts[i]! < before.bucketCounts[i]!) return false;
  return true;
}

/**
 * `p − before` at the coarser of the two scales (an accumulated histogram only ever downscales),
 * or undefined when a count went down (a reset).
 */
function subtractExp(p: ExpHistogramPoint, before: ExpHistogramPoint): ExpHistogramPoint | undefined {
  if (p.count < before.count || p.zeroCount < before.zeroCount) return undefined;
  const scale = Math.min(p.scale, before.scale);
  const positive = subtractBuckets(
    downscaleBuckets(p.positive, p.scale, scale),
    downscaleBuckets(before.positive, before.scale, scale),
  );
  const negative = subtractBuckets(
    downscaleBuckets(p.negative, p.scale, scale),
    downscaleBuckets(before.negative, before.scale, scale),
  );
  if (positive === undefined || negative === undefined) return undefined;
  return {
    startMs: p.startMs,
    timeMs: p.timeMs,
    count: p.count - before.count,
    sum: p.sum - before.sum,
    min: NaN,
    max: NaN,
    scale,
    zeroCount: p.zeroCount - before.zeroCount,
    zeroThreshold: p.zeroThreshold,
    positive,
    negative,
  };
}

function subtractBuckets(a: ExpBuckets, b: ExpBuckets): ExpBuckets | undefined {
  const counts = a.counts.slice();
  for (let i = 0; i < b.counts.length; i++) {
    if (b.counts[i] === 0) continue;
    const j = b.offset + i - a.offset;
    if (j < 0 || j >= counts.length || counts[j]! < b.counts[i]!) return undefined;
    counts[j]! -= b.counts[i]!;
  }
  // Trim empty buckets at both ends so the delta stays as small as its data.
  let lo = 0;
  let hi = counts.length;
  while (lo < hi && counts[lo] === 0) lo++;
  while (hi > lo && counts[hi - 1] === 0) hi--;
  return lo === hi ? { offset: 0, counts: [] } : { offset: a.offset + lo, counts: counts.slice(lo, hi) };
}
