import { describe, expect, it } from 'vitest';
import {
  bucketQuantile,
  explicitBucketQuantile,
  type PromBucket,
} from '../../src/signals/bucket-quantile.js';
import { BucketWindow, type ExplicitHistogramSample } from '../../src/signals/bucket-window.js';

const T0 = 1_700_000_040_000; // a multiple of 1 min
const S = 1000;
const M = 60 * S;

/** Classic buckets from `le` → cumulative count pairs, as in Prometheus test files. */
const le = (...pairs: Array<[number, number]>): PromBucket[] =>
  pairs.map(([upperBound, count]) => ({ upperBound, count }));
const INF = Infinity;

/** Prometheus's test framework compares floats almost-equal; rates there are scaled counts. */
const expectProm = (actual: number, expected: number) => {
  if (Number.isNaN(expected) || !Number.isFinite(expected)) expect(actual).toBe(expected);
  else expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(expected)));
};

// Cases from prometheus/prometheus promql/promqltest/testdata/histograms.test (classic `_bucket`
// series, evaluated at 50m where `0+Nx10` loads 10·N). rate() and sum() only scale or add the
// counts, so the expected quantiles hold for the raw counts used here.
describe('bucketQuantile > Prometheus histograms.test', () => {
  const testhistogram = {
    positive: le([0.1, 50], [0.2, 70], [1, 110], [INF, 120]),
    negative: le([-0.2, 10], [-0.1, 20], [0.3, 20], [INF, 30]),
  };
  const testhistogram3 = {
    positive: le([0, 0], [0.1, 50], [0.2, 70], [1, 110], [INF, 110]),
    negative: le([-0.25, 0], [-0.2, 10], [-0.1, 20], [0.3, 20], [INF, 20]),
  };

  it.each([
    [0, 0, -0.25],
    [0.25, 0.055, -0.225],
    [0.5, 0.125, -0.2],
    [0.75, 0.45, -0.15],
    [1, 1, -0.1],
  ])('histogram_quantile(%s, testhistogram3_bucket) = %s / %s', (q, positive, negative) => {
    expectProm(bucketQuantile(q, testhistogram3.positive), positive);
    expectProm(bucketQuantile(q, testhistogram3.negative), negative);
  });

  it.each([
    [-0.1, -Infinity, -Infinity], // quantile too low
    [1.01, Infinity, Infinity], // quantile too high
    [NaN, NaN, NaN], // quantile invalid
    [0, 0, -0.2], // value in lowest bucket
    [1, 1, 0.3], // value in highest bucket
    [0.2, 0.048, -0.2],
    [0.5, 0.15, -0.15],
    [0.8, 0.72, 0.3],
  ])('histogram_quantile(%s, testhistogram_bucket) = %s / %s', (q, positive, negative) => {
    expectProm(bucketQuantile(q, testhistogram.positive), positive);
    expectProm(bucketQuantile(q, testhistogram.negative), negative);
  });

  it('puts q(1/6), q(1/2), q(5/6) in the middle of their buckets (testhistogram2 at 7m)', () => {
    const buckets = le([0, 0], [2, 1], [4, 2], [6, 3], [INF, 3]);
    expectProm(bucketQuantile(1 / 6, buckets), 1);
    expectProm(bucketQuantile(0.5, buckets), 3);
    expectProm(bucketQuantile(5 / 6, buckets), 5);
  });

  it('matches the aggregated request_duration_seconds cases', () => {
    const series = {
      job1ins1: [1, 3, 4],
      job1ins2: [2, 5, 6],
      job2ins1: [3, 4, 6],
      job2ins2: [4, 7, 9],
    };
    const sum = (...names: Array<keyof typeof series>) => {
      const c = [0, 1, 2].map((i) => names.reduce((acc, n) => acc + series[n][i]! * 10, 0));
      return le([0.1, c[0]!], [0.2, c[1]!], [INF, c[2]!]);
    };
    const all = sum('job1ins1', 'job1ins2', 'job2ins1', 'job2ins2');
    expectProm(bucketQuantile(0.3, all), 0.075);
    expectProm(bucketQuantile(0.5, all), 0.1277777777777778);
    expectProm(bucketQuantile(0.3, sum('job1ins1', 'job2ins1')), 0.075);
    expectProm(bucketQuantile(0.3, sum('job1ins2', 'job2ins2')), 0.075);
    expectProm(bucketQuantile(0.5, sum('job1ins1', 'job2ins1')), 0.1333333333333333);
    expectProm(bucketQuantile(0.5, sum('job1ins2', 'job2ins2')), 0.125);
    expectProm(bucketQuantile(0.3, sum('job1ins1', 'job1ins2')), 0.1);
    expectProm(bucketQuantile(0.3, sum('job2ins1', 'job2ins2')), 0.0642857142857143);
    expectProm(bucketQuantile(0.5, sum('job1ins1', 'job1ins2')), 0.14);
    expectProm(bucketQuantile(0.5, sum('job2ins1', 'job2ins2')), 0.1125);
    const each: Array<[keyof typeof series, number, number]> = [
      ['job1ins1', 0.11, 0.15],
      ['job1ins2', 0.09, 0.13333333333333333],
      ['job2ins1', 0.06, 0.1],
      ['job2ins2', 0.0675, 0.11666666666666667],
    ];
    for (const [name, q30, q50] of each) {
      expectProm(bucketQuantile(0.3, sum(name)), q30);
      expectProm(bucketQuantile(0.5, sum(name)), q50);
    }
  });

  it('forces monotonicity like Prometheus (nonmonotonic_bucket)', () => {
    const buckets = le([0.1, 20], [1, 10], [10, 50], [100, 40], [1000, 90], [INF, 80]);
    expectProm(bucketQuantile(0.01, buckets), 0.0045);
    expectProm(bucketQuantile(0.5, buckets), 8.5);
    expectProm(bucketQuantile(0.99, buckets), 979.75);
  });

  it('coalesces different spellings of one bound (mixed_bucket)', () => {
    // le="0.2", "2e-1" and "2.0e-1" are one bound; le="+inf" and "+Inf" too.
    const ins1 = le([0.1, 1], [0.2, 1], [0.2, 1], [0.2, 1], [INF, 4]);
    expectProm(bucketQuantile(0.5, ins1), 0.15);
    expectProm(bucketQuantile(0.75, ins1), 0.2);
    expectProm(bucketQuantile(1, ins1), 0.2);
    expect(bucketQuantile(0.5, le([INF, 0], [INF, 0]))).toBeNaN();
  });

  it('is NaN without observations (empty_bucket, const_histogram rate)', () => {
    expect(bucketQuantile(0.2, le([0.1, 0], [0.2, 0], [INF, 0]))).toBeNaN();
    expect(bucketQuantile(1, le([0, 0], [1, 0], [2, 0], [INF, 0]))).toBeNaN();
  });

  it('is NaN without a +Inf bucket or with fewer than two buckets, and sorts its input', () => {
    expect(bucketQuantile(0.5, le([1, 1], [2, 2]))).toBeNaN();
    expect(bucketQuantile(0.5, le([INF, 5]))).toBeNaN();
    expect(bucketQuantile(0.5, [])).toBeNaN();
    const unsorted = le([INF, 120], [0.2, 70], [1, 110], [0.1, 50]);
    expectProm(bucketQuantile(0.8, unsorted), 0.72);
    expect(unsorted[0]).toEqual({ upperBound: INF, count: 120 }); // the caller's array is untouched
  });

  it('ignores float noise between buckets (smallDeltaTolerance 1e-12)', () => {
    const noisy = le([1, 100], [2, 100 * (1 + 1e-13)], [4, 100], [INF, 100]);
    // Without the tolerance the quantile would interpolate inside (1, 2].
    expectProm(bucketQuantile(1, noisy), 1);
  });
});

describe('explicitBucketQuantile', () => {
  it('converts OTLP per-bucket counts to cumulative buckets with an implicit +Inf', () => {
    expectProm(explicitBucketQuantile(0.8, [0.1, 0.2, 1], [50, 20, 40, 10]), 0.72);
    expectProm(explicitBucketQuantile(0.99, [0.1, 0.2, 1], [50, 20, 40, 10]), 1); // in +Inf: highest bound
    expect(explicitBucketQuantile(0.5, [0.1], [0, 0])).toBeNaN();
  });
});

/** `load 5m` of a classic histogram as OTLP samples: per-bucket counts growing by `perStep`. */
function loadEvery5m(w: BucketWindow, bounds: number[], perStep: number[], steps: number, sumPerStep = 0) {
  for (let k = 0; k <= steps; k++) {
    const bucketCounts = perStep.map((c) => c * k);
    const count = bucketCounts.reduce((a, b) => a + b, 0);
    expect(w.record({ bounds, bucketCounts, count, sum: sumPerStep * k }, T0 + k * 5 * M)).toBe(true);
  }
}

const window15m = () => new BucketWindow({ slotMs: 1 * M, maxWindowMs: 15 * M });

describe('BucketWindow > quantiles of the window delta', () => {
  it('reproduces histogram_quantile(q, rate(testhistogram_bucket[10m])) at 50m', () => {
    const positive = window15m();
    const negative = window15m();
    loadEvery5m(positive, [0.1, 0.2, 1], [5, 2, 4, 1], 10);
    loadEvery5m(negative, [-0.2, -0.1, 0.3], [1, 1, 0, 1], 10);
    const p = positive.stats(T0 + 50 * M, 10 * M)!;
    const n = negative.stats(T0 + 50 * M, 10 * M)!;
    for (const [q, pos, neg] of [
      [0.2, 0.048, -0.2],
      [0.5, 0.15, -0.15],
      [0.8, 0.72, 0.3],
    ] as const) {
      expectProm(p.quantile(q), pos);
      expectProm(n.quantile(q), neg);
    }
  });

  it('reproduces histogram_quantile(q, rate(testhistogram2_bucket[15m])) at 47m', () => {
    const w = window15m();
    loadEvery5m(w, [0, 2, 4, 6], [0, 1, 1, 1, 0], 10);
    const stats = w.stats(T0 + 47 * M, 15 * M)!;
    expectProm(stats.quantile(1 / 6), 1);
    expectProm(stats.quantile(0.5), 3);
    expectProm(stats.quantile(5 / 6), 5);
  });

  it('handles a reset like increase(histogram_with_reset[15m]) at 10m, without extrapolation', () => {
    const w = window15m();
    const bounds = [1, 2, 4, 8];
    const samples: ExplicitHistogramSample[] = [
      { bounds, bucketCounts: [1, 2, 5, 2, 0], count: 10, sum: 36 },
      { bounds, bucketCounts: [3, 0, 2, 1, 0], count: 6, sum: 16 }, // reset
      { bounds, bucketCounts: [9, 0, 3, 6, 0], count: 18, sum: 61 },
    ];
    samples.forEach((s, i) => w.record(s, T0 + i * 5 * M));
    const d = w.delta(T0 + 10 * M, 15 * M)!;
    // Prometheus: {count:27 sum:91.5 buckets:[13.5 0 4.5 9]} = these × 1.5, its extrapolation
    // from the 10m the samples span to the 15m range.
    expect(d).toEqual({ bounds, bucketCounts: [9, 0, 3, 6, 0], count: 18, sum: 61, samples: 3, resets: 1 });
    expect(d.bucketCounts.map((c) => c * 1.5)).toEqual([13.5, 0, 4.5, 9, 0]);
  });
});

describe('BucketWindow > delta', () => {
  const bounds = [10, 100];
  const h = (counts: number[], sum: number, startMs?: number): ExplicitHistogramSample => ({
    bounds,
    bucketCounts: counts,
    count: counts.reduce((a, b) => a + b, 0),
    sum,
    startMs,
  });

  it('gives count, sum, avg and rate of the window', () => {
    const w = window15m();
    w.record(h([1, 1, 0], 55), T0);
    w.record(h([3, 4, 1], 600), T0 + 30 * S);
    expect(w.stats(T0 + 30 * S, 5 * M)).toMatchObject({ count: 6, sum: 545, rate: 6 / 300 });
    expect(w.stats(T0 + 30 * S, 5 * M)!.avg).toBeCloseTo(545 / 6, 12);
  });

  it('detects a reset within a slot and across slots', () => {
    const w = window15m();
    w.record(h([5, 5, 0], 100), T0);
    w.record(h([1, 0, 0], 2), T0 + 10 * S); // reset in the slot: +[1,0,0]
    w.record(h([2, 1, 0], 30), T0 + 20 * S); // +[1,1,0]
    w.record(h([0, 0, 1], 500), T0 + 2 * M); // reset across slots: +[0,0,1]
    expect(w.delta(T0 + 2 * M, 5 * M)).toMatchObject({
      bucketCounts: [2, 1, 1],
      count: 4,
      sum: 2 + 28 + 500,
      resets: 2,
      samples: 4,
    });
  });

  it('treats a new start time after the previous sample as a restart', () => {
    const w = window15m();
    w.record(h([5, 0, 0], 5, T0 - 60 * M), T0);
    w.record(h([6, 1, 0], 30, T0 + 5 * S), T0 + 10 * S);
    expect(w.delta(T0 + 10 * S, 5 * M)).toMatchObject({ bucketCounts: [6, 1, 0], resets: 1 });
  });

  it('restarts on a change of bounds: only samples since the change count', () => {
    const w = window15m();
    w.record(h([1, 0, 0], 1), T0);
    w.record(h([2, 0, 0], 2), T0 + 1 * M);
    const newBounds = [5, 50, 500];
    w.record({ bounds: newBounds, bucketCounts: [4, 0, 0, 0], count: 4, sum: 8 }, T0 + 2 * M);
    w.record({ bounds: newBounds, bucketCounts: [4, 3, 0, 0], count: 7, sum: 80 }, T0 + 3 * M);
    expect(w.delta(T0 + 3 * M, 5 * M)).toEqual({
      bounds: newBounds,
      bucketCounts: [0, 3, 0, 0],
      count: 3,
      sum: 72,
      samples: 2,
      resets: 0,
    });
    // Also when the change happens inside one slot.
    const v = window15m();
    v.record(h([1, 0, 0], 1), T0);
    v.record({ bounds: newBounds, bucketCounts: [4, 0, 0, 0], count: 4, sum: 8 }, T0 + 1 * S);
    v.record({ bounds: newBounds, bucketCounts: [5, 0, 0, 0], count: 5, sum: 9 }, T0 + 2 * S);
    expect(v.delta(T0 + 2 * S, 5 * M)).toMatchObject({
      bounds: newBounds,
      bucketCounts: [1, 0, 0, 0],
      samples: 2,
    });
  });

  it('uses the first sample as a baseline unless the series started after the given time', () => {
    const plain = window15m();
    plain.record(h([3, 0, 0], 9, T0 - 5 * S), T0);
    expect(plain.stats(T0, 5 * M)).toMatchObject({ count: 0 });
    expect(plain.stats(T0, 5 * M)!.quantile(0.5)).toBeNaN();
    expect(plain.stats(T0, 5 * M)!.avg).toBeNaN();

    const fresh = new BucketWindow({ slotMs: M, maxWindowMs: 15 * M, countInitialIfStartedAfterMs: T0 - M });
    fresh.record(h([3, 0, 0], 9, T0 - 5 * S), T0);
    expect(fresh.delta(T0, 5 * M)).toMatchObject({ bucketCounts: [3, 0, 0], count: 3, sum: 9 });
  });

  it('propagates a missing sum as NaN but keeps counts and quantiles', () => {
    const w = window15m();
    w.record(h([0, 0, 0], NaN), T0);
    w.record(h([2, 2, 0], NaN), T0 + 10 * S);
    const stats = w.stats(T0 + 10 * S, 5 * M)!;
    expect(stats.count).toBe(4);
    expect(stats.sum).toBeNaN();
    expectProm(stats.quantile(0.5), 10);
  });

  it('expires a slot exactly when its end leaves the window, and is undefined when empty', () => {
    const w = window15m();
    expect(w.stats(T0, 5 * M)).toBeUndefined();
    w.record(h([0, 0, 0], 0), T0 + 30 * S); // slot [T0, T0 + 1 m)
    w.record(h([1, 0, 0], 1), T0 + 2 * M);
    expect(w.delta(T0 + 1 * M + 5 * M - 1, 5 * M)?.count).toBe(1);
    expect(w.delta(T0 + 1 * M + 5 * M, 5 * M)?.count).toBe(0); // only the T0 + 2 m baseline left
    expect(w.delta(T0 + 3 * M + 5 * M, 5 * M)).toBeUndefined();
  });

  it('rejects malformed and out-of-order samples', () => {
    const w = window15m();
    const bad: ExplicitHistogramSample[] = [
      { bounds: [1, 2], bucketCounts: [1, 1], count: 2, sum: 0 }, // one bucket short
      { bounds: [2, 1], bucketCounts: [1, 1, 0], count: 2, sum: 0 }, // bounds not increasing
      { bounds: [1, 1], bucketCounts: [1, 1, 0], count: 2, sum: 0 },
      { bounds: [1, INF], bucketCounts: [1, 1, 0], count: 2, sum: 0 }, // +Inf is implicit
      { bounds: [1, 2], bucketCounts: [1, -1, 2], count: 2, sum: 0 },
      { bounds: [1, 2], bucketCounts: [1, 1, 0], count: 3, sum: 0 }, // count ≠ Σ buckets
      { bounds: [1, 2], bucketCounts: [1, 1, 0], count: 2, sum: INF },
      { bounds: [1, 2], bucketCounts: [1, NaN, 0], count: 2, sum: 0 },
    ];
    for (const s of bad) expect(w.record(s, T0)).toBe(false);
    expect(w.record(h([1, 0, 0], 1), T0 + 10 * S)).toBe(true);
    expect(w.record(h([2, 0, 0], 1), T0 + 5 * S)).toBe(false); // older than the last sample
    expect(w.rejected).toBe(bad.length + 1);
  });

  it('keeps its own copy of a sample', () => {
    const w = window15m();
    const counts = [1, 0, 0];
    w.record(h(counts, 1), T0);
    counts[0] = 1000;
    w.record(h([2, 0, 0], 2), T0 + 10 * S);
    expect(w.delta(T0 + 10 * S, 5 * M)?.bucketCounts).toEqual([1, 0, 0]);
  });
});
