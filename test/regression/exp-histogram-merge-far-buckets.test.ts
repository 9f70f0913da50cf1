import { describe, expect, it } from 'vitest';
import { MAX_EXP_BUCKETS, mergeExpHistograms } from '../../src/store/exp-histogram.js';
import type { ExpHistogramPoint } from '../../src/store/types.js';
import { checkExpHistogram } from '../../src/store/validate.js';

/**
 * Found while writing test/fuzz/otlp-proto-decode.test.ts (its property "accumulates any valid
 * points of one series ..." runs the worker out of memory on the old code): accumulating two delta points of one series built the union of their bucket ranges at the
 * finer scale first and only then downscaled it. Two valid points far apart — one observation
 * near 1e-280 and one near 1e280 at scale 20, indexes about -1e9 and +1e9 — made a 2-billion
 * element array: the process ran out of memory (35 s of a blocked event loop, then a fatal
 * error) on one pair of requests. The scale is now chosen from the index ranges alone.
 */

function point(scale: number, offset: number, counts: number[]): ExpHistogramPoint {
  const count = counts.reduce((a, c) => a + c, 0);
  return {
    startMs: 0,
    timeMs: 1,
    count,
    sum: 0,
    min: NaN,
    max: NaN,
    scale,
    zeroCount: 0,
    zeroThreshold: 0,
    positive: { offset, counts },
    negative: { offset: 0, counts: [] },
  };
}

describe('regression: merging delta exponential histograms whose buckets are far apart', () => {
  it('downscales two valid scale-20 points a billion buckets apart without building the span', () => {
    const a = point(20, -1_000_000_000, [1]);
    const b = point(20, 1_000_000_000, [2]);
    expect([checkExpHistogram(a), checkExpHistogram(b)]).toEqual([null, null]);
    const m = mergeExpHistograms(a, b);
    expect(m.count).toBe(3);
    expect(m.positive.counts.length).toBeLessThanOrEqual(MAX_EXP_BUCKETS);
    expect(m.positive.counts.reduce((x, c) => x + c, 0)).toBe(3);
    // 2e9 indexes at scale 20 fit in 160 buckets once downscaled by 2^24: scale -4.
    expect(m.scale).toBe(-4);
    expect(checkExpHistogram(m)).toBeNull();
  });
});
