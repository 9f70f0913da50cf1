import type { ExpBuckets, ExpHistogramPoint } from './types.js';

/**
 * Pure helpers for OTLP exponential histograms: merging (delta → cumulative) needs both points
 * at a common scale, which is the smaller of the two (a bucket at scale s is exactly two buckets
 * at scale s+1, so downscaling loses nothing but resolution).
 */

/** Re-index buckets from `fromScale` to the coarser `toScale` (toScale <= fromScale). */
export function downscaleBuckets(b: ExpBuckets, fromScale: number, toScale: number): ExpBuckets {
  const shift = fromScale - toScale;
  if (shift === 0 || b.counts.length === 0) return { offset: b.offset, counts: b.counts.slice() };
  const first = b.offset >> shift;
  const last = (b.offset + b.counts.length - 1) >> shift;
  const counts = new Array<number>(last - first + 1).fill(0);
  for (let i = 0; i < b.counts.length; i++) {
    const idx = ((b.offset + i) >> shift) - first;
    counts[idx]! += b.counts[i]!;
  }
  return { offset: first, counts };
}

/** Add bucket sets at the same scale. */
export function addBuckets(a: ExpBuckets, b: ExpBuckets): ExpBuckets {
  if (a.counts.length === 0) return { offset: b.offset, counts: b.counts.slice() };
  if (b.counts.length === 0) return { offset: a.offset, counts: a.counts.slice() };
  const lo = Math.min(a.offset, b.offset);
  const hi = Math.max(a.offset + a.counts.length, b.offset + b.counts.length);
  const counts = new Array<number>(hi - lo).fill(0);
  for (let i = 0; i < a.counts.length; i++) counts[a.offset - lo + i]! += a.counts[i]!;
  for (let i = 0; i < b.counts.length; i++) counts[b.offset - lo + i]! += b.counts[i]!;
  return { offset: lo, counts };
}

/** The SDK's default `max_size`: an accumulated histogram is downscaled to stay within it. */
export const MAX_EXP_BUCKETS = 160;

/**
 * Merge `delta` into `acc` (both valid points); returns a new point. Accumulating deltas that
 * drift across a wide range would otherwise grow the bucket arrays without bound, so the result
 * is downscaled until each side fits in MAX_EXP_BUCKETS (or in the inputs' own sizes, if larger).
 */
export function mergeExpHistograms(acc: ExpHistogramPoint, delta: ExpHistogramPoint): ExpHistogramPoint {
  const cap = Math.max(
    MAX_EXP_BUCKETS,
    acc.positive.counts.length,
    acc.negative.counts.length,
    delta.positive.counts.length,
    delta.negative.counts.length,
  );
  // Choose the scale from the index ranges before allocating anything: two valid points far
  // apart at a fine scale (say 2^-900 and 2^900 at scale 20) span ~2^31 buckets, and building
  // that array to find out it is too long would exhaust memory. Scale -10 spans every double in
  // three buckets (checkExpHistogram keeps indexes in range), so the loop always ends.
  let scale = Math.min(acc.scale, delta.scale);
  while (
    scale > -10 &&
    (unionLength(acc.positive, acc.scale, delta.positive, delta.scale, scale) > cap ||
      unionLength(acc.negative, acc.scale, delta.negative, delta.scale, scale) > cap)
  )
    scale--;
  const pos = addBuckets(
    downscaleBuckets(acc.positive, acc.scale, scale),
    downscaleBuckets(delta.positive, delta.scale, scale),
  );
  const neg = addBuckets(
    downscaleBuckets(acc.negative, acc.scale, scale),
    downscaleBuckets(delta.negative, delta.scale, scale),
  );
  return {
    startMs: acc.startMs,
    timeMs: delta.timeMs,
    count: acc.count + delta.count,
    sum: acc.sum + delta.sum,
    min: minDefined(acc.min, delta.min),
    max: maxDefined(acc.max, delta.max),
    scale,
    zeroCount: acc.zeroCount + delta.zeroCount,
    zeroThreshold: Math.max(acc.zeroThreshold, delta.zeroThreshold),
    positive: pos,
    negative: neg,
  };
}

/** The number of buckets `addBuckets` makes of `a` and `b` downscaled to `scale`, without making them. */
function unionLength(a: ExpBuckets, aScale: number, b: ExpBuckets, bScale: number, scale: number): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (const [side, from] of [
    [a, aScale],
    [b, bScale],
  ] as const) {
    if (side.counts.length === 0) continue;
    const shift = from - scale;
    lo = Math.min(lo, side.offset >> shift);
    hi = Math.max(hi, (side.offset + side.counts.length - 1) >> shift);
  }
  return hi >= lo ? hi - lo + 1 : 0;
}

/** Lower bound of bucket `index` at `scale`: base^index with base = 2^(2^-scale). */
export function expBucketLowerBound(index: number, scale: number): number {
  return Math.pow(2, index * Math.pow(2, -scale));
}

export function minDefined(a: number, b: number): number {
  if (Number.isNaN(a)) return b;
  if (Number.isNaN(b)) return a;
  return Math.min(a, b);
}

export function maxDefined(a: number, b: number): number {
  if (Number.isNaN(a)) return b;
  if (Number.isNaN(b)) return a;
  return Math.max(a, b);
}
