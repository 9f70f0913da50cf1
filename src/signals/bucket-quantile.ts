/**
 * Prometheus `histogram_quantile` over classic (explicit-bucket) histograms, ported so that vigil's
 * percentiles on OTLP histograms are the ones a Grafana panel on Prometheus shows for the same data.
 * Source: prometheus/prometheus promql/quantile.go (v3: `BucketQuantile`, `coalesceBuckets`,
 * `ensureMonotonicAndIgnoreSmallDeltas`, `smallDeltaTolerance`) and util/almost/almost.go
 * (`Equal`); its test data promql/promqltest/testdata/histograms.test is replayed in
 * test/unit/signals-bucket-window.test.ts.
 */

/** One classic Prometheus bucket: upper bound (`le`) and the cumulative count at or below it. */
export interface PromBucket {
  readonly upperBound: number;
  readonly count: number;
}

/**
 * Prometheus's tolerance for float noise between buckets (promql/quantile.go `smallDeltaTolerance`).
 */
const SMALL_DELTA_TOLERANCE = 1e-12;
/** Smallest positive normal float64 (prometheus util/almost `minNormal`). */
const MIN_NORMAL = 2.2250738585072014e-308;

/**
 * `histogram_quantile(q, …)` over classic cumulative buckets: a port of `BucketQuantile` in
 * prometheus/prometheus promql/quantile.go (v3; with `coalesceBuckets`,
 * `ensureMonotonicAndIgnoreSmallDeltas` and util/almost `Equal`). Rules:
 * - q NaN → NaN; q < 0 → -Inf; q > 1 → +Inf;
 * - buckets sorted by upper bound, equal bounds coalesced; highest bound not +Inf → NaN;
 * - relative differences ≤ 1e-12 between neighbours ignored, then decreases flattened (envelope);
 * - fewer than 2 buckets or 0 observations → NaN;
 * - rank = q · observations; the first bucket whose count ≥ rank holds the quantile, interpolated
 *   linearly inside it; the lowest bucket's lower bound is 0 when its upper bound is > 0, and its
 *   upper bound is returned when ≤ 0; a quantile in the +Inf bucket returns the highest finite bound.
 * The caller's array is not modified.
 */
export function bucketQuantile(q: number, buckets: readonly PromBucket[]): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  if (buckets.length === 0) return NaN;
  const sorted = buckets
    .map((b) => ({ upperBound: b.upperBound, count: b.count }))
    .sort((a, b) => a.upperBound - b.upperBound);
  if (sorted[sorted.length - 1]!.upperBound !== Infinity) return NaN;
  const bs = coalesceBuckets(sorted);
  ensureMonotonicAndIgnoreSmallDeltas(bs, SMALL_DELTA_TOLERANCE);
  if (bs.length < 2) return NaN;
  const observations = bs[bs.length - 1]!.count;
  if (observations === 0) return NaN;
  let rank = q * observations;
  // Go's sort.Search over [0, len−1): the first bucket whose count reaches the rank.
  let b = 0;
  while (b < bs.length - 1 && !(bs[b]!.count >= rank)) b++;
  if (b === bs.length - 1) return bs[bs.length - 2]!.upperBound;
  if (b === 0 && bs[0]!.upperBound <= 0) return bs[0]!.upperBound;
  let bucketStart = 0;
  const bucketEnd = bs[b]!.upperBound;
  let count = bs[b]!.count;
  if (b > 0) {
    bucketStart = bs[b - 1]!.upperBound;
    count -= bs[b - 1]!.count;
    rank -= bs[b - 1]!.count;
  }
  return bucketStart + (bucketEnd - bucketStart) * (rank / count);
}

/**
 * `histogram_quantile` of an OTLP-shaped histogram (per-bucket counts, implicit +Inf bucket),
 * converted to Prometheus's cumulative `le` buckets first.
 */
export function explicitBucketQuantile(
  q: number,
  bounds: readonly number[],
  bucketCounts: readonly number[],
): number {
  const buckets: PromBucket[] = [];
  let cumulative = 0;
  for (let i = 0; i < bucketCounts.length; i++) {
    cumulative += bucketCounts[i]!;
    buckets.push({ upperBound: i < bounds.length ? bounds[i]! : Infinity, count: cumulative });
  }
  return bucketQuantile(q, buckets);
}

function coalesceBuckets(buckets: Array<{ upperBound: number; count: number }>) {
  const out = [{ ...buckets[0]! }];
  for (let i = 1; i < buckets.length; i++) {
    const b = buckets[i]!;
    const last = out[out.length - 1]!;
    if (b.upperBound === last.upperBound) last.count += b.count;
    else out.push({ ...b });
  }
  return out;
}

function ensureMonotonicAndIgnoreSmallDeltas(
  buckets: Array<{ upperBound: number; count: number }>,
  tolerance: number,
): void {
  let prev = buckets[0]!.count;
  for (let i = 1; i < buckets.length; i++) {
    const b = buckets[i]!;
    const curr = b.count;
    if (curr === prev) continue;
    // Small deltas (float noise) and decreases are both flattened; neither moves `prev`.
    if (almostEqual(prev, curr, tolerance) || curr < prev) {
      b.count = prev;
      continue;
    }
    prev = curr;
  }
}

function almostEqual(a: number, b: number, epsilon: number): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < MIN_NORMAL) return diff < epsilon * MIN_NORMAL;
  return diff / Math.min(absSum, Number.MAX_VALUE) < epsilon;
}
