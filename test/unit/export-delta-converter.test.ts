import { describe, expect, it } from 'vitest';
import { DeltaConverter } from '../../src/export/delta-converter.js';
import { Series } from '../../src/store/series.js';
import type { ExpHistogramPoint, HistogramPoint } from '../../src/store/types.js';

const STARTED = 10_000;

function sum(startMs: number, timeMs: number, value: number, s = new Series('', [], 0)): Series {
  s.startMs = startMs;
  s.timeMs = timeMs;
  s.value = value;
  s.filled = true;
  return s;
}

function hist(startMs: number, timeMs: number, counts: number[], sumValue: number): HistogramPoint {
  return {
    startMs,
    timeMs,
    count: counts.reduce((a, b) => a + b, 0),
    sum: sumValue,
    min: 1,
    max: 100,
    bounds: [10, 50],
    bucketCounts: counts,
  };
}

function exp(
  startMs: number,
  timeMs: number,
  scale: number,
  offset: number,
  counts: number[],
): ExpHistogramPoint {
  return {
    startMs,
    timeMs,
    count: counts.reduce((a, b) => a + b, 0),
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

describe('DeltaConverter.sum', () => {
  it('sends a series that started after export began whole, then differences', () => {
    const d = new DeltaConverter(STARTED);
    const s = sum(STARTED + 1, STARTED + 5_000, 7);
    expect(d.sum(s, 0)).toEqual({ startMs: STARTED + 1, timeMs: STARTED + 5_000, value: 7 });
    sum(STARTED + 1, STARTED + 20_000, 12, s);
    expect(d.sum(s, 0)).toEqual({ startMs: STARTED + 5_000, timeMs: STARTED + 20_000, value: 5 });
  });

  it('uses an older series’ first value as a baseline only (no double counting after a restart)', () => {
    const d = new DeltaConverter(STARTED);
    const s = sum(1_000, STARTED + 5_000, 1_000_000);
    expect(d.sum(s, 0)).toBeUndefined();
    sum(1_000, STARTED + 20_000, 1_000_003, s);
    expect(d.sum(s, 0)).toEqual({ startMs: STARTED + 5_000, timeMs: STARTED + 20_000, value: 3 });
  });

  it('sends nothing when nothing changed, and the next delta covers the whole gap', () => {
    const d = new DeltaConverter(STARTED);
    const s = sum(STARTED, STARTED + 1_000, 5);
    d.sum(s, 0);
    sum(STARTED, STARTED + 2_000, 5, s);
    expect(d.sum(s, 0)).toBeUndefined();
    sum(STARTED, STARTED + 3_000, 9, s);
    expect(d.sum(s, 0)).toEqual({ startMs: STARTED + 1_000, timeMs: STARTED + 3_000, value: 4 });
  });

  it('treats a drop or a new start time as a reset: the new cumulative value is the delta', () => {
    const d = new DeltaConverter(STARTED);
    const s = sum(STARTED, STARTED + 1_000, 50);
    d.sum(s, 0);
    sum(STARTED, STARTED + 2_000, 3, s);
    expect(d.sum(s, 0)).toEqual({ startMs: STARTED, timeMs: STARTED + 2_000, value: 3 });
    sum(STARTED + 2_500, STARTED + 3_000, 4, s);
    expect(d.sum(s, 0)).toEqual({ startMs: STARTED + 2_500, timeMs: STARTED + 3_000, value: 4 });
  });

  it('keeps state per series object: a re-created series starts over', () => {
    const d = new DeltaConverter(STARTED);
    const a = sum(STARTED, STARTED + 1_000, 5);
    const b = sum(STARTED, STARTED + 1_000, 5);
    expect(d.sum(a, 0)?.value).toBe(5);
    expect(d.sum(b, 0)?.value).toBe(5);
  });
});

describe('DeltaConverter.histogram', () => {
  it('differences counts bucket by bucket, without min/max', () => {
    const d = new DeltaConverter(STARTED);
    const s = new Series('', [], 0);
    const first = d.histogram(s, hist(STARTED, STARTED + 1_000, [1, 2, 0], 40), 0);
    expect(first?.count).toBe(3);
    expect(first?.min).toBe(1);
    const second = d.histogram(s, hist(STARTED, STARTED + 2_000, [1, 5, 2], 400), 0);
    expect(second).toMatchObject({
      startMs: STARTED + 1_000,
      timeMs: STARTED + 2_000,
      count: 5,
      sum: 360,
      bucketCounts: [0, 3, 2],
    });
    expect(second?.min).toBeNaN();
    expect(d.histogram(s, hist(STARTED, STARTED + 3_000, [1, 5, 2], 400), 0)).toBeUndefined();
  });

  it('differences a point rewritten in place against what it held at the last export (regression)', () => {
    // The OTLP known-request path rewrites a cumulative histogram's point object in place; the
    // converter kept that very object as its baseline, so every later delta came out empty.
    const d = new DeltaConverter(STARTED);
    const s = new Series('', [], 0);
    const p = hist(STARTED, STARTED + 1_000, [1, 2, 0], 40);
    d.histogram(s, p, 0);
    const next = hist(STARTED, STARTED + 2_000, [1, 5, 2], 400);
    (p.bucketCounts as number[]).splice(0, 3, ...next.bucketCounts);
    Object.assign(p, { ...next, bucketCounts: p.bucketCounts });
    expect(d.histogram(s, p, 0)).toMatchObject({ count: 5, sum: 360, bucketCounts: [0, 3, 2] });
  });

  it('resets on new bounds or a shrinking bucket', () => {
    const d = new DeltaConverter(STARTED);
    const s = new Series('', [], 0);
    d.histogram(s, hist(STARTED, STARTED + 1_000, [4, 4, 4], 100), 0);
    const shrunk = hist(STARTED, STARTED + 2_000, [1, 6, 6], 120);
    expect(d.histogram(s, shrunk, 0)?.bucketCounts).toEqual([1, 6, 6]);
    const rebinned = { ...hist(STARTED, STARTED + 3_000, [2, 6, 7], 150), bounds: [5, 50] };
    expect(d.histogram(s, rebinned, 0)?.count).toBe(15);
  });
});

describe('DeltaConverter.expHistogram', () => {
  it('differences at the coarser scale when the cumulative histogram was downscaled', () => {
    const d = new DeltaConverter(STARTED);
    const s = new Series('', [], 0);
    // Scale 1, buckets 4..7 → at scale 0 these are buckets 2, 2, 3, 3.
    d.expHistogram(s, exp(STARTED, STARTED + 1_000, 1, 4, [1, 1, 1, 1]), 0);
    const delta = d.expHistogram(s, exp(STARTED, STARTED + 2_000, 0, 2, [3, 5]), 0);
    expect(delta).toMatchObject({ scale: 0, count: 4, positive: { offset: 2, counts: [1, 3] } });
  });

  it('trims empty buckets and skips intervals with no new observations', () => {
    const d = new DeltaConverter(STARTED);
    const s = new Series('', [], 0);
    d.expHistogram(s, exp(STARTED, STARTED + 1_000, 2, 0, [5, 1, 1]), 0);
    expect(d.expHistogram(s, exp(STARTED, STARTED + 2_000, 2, 0, [5, 1, 3]), 0)?.positive).toEqual({
      offset: 2,
      counts: [2],
    });
    expect(d.expHistogram(s, exp(STARTED, STARTED + 3_000, 2, 0, [5, 1, 3]), 0)).toBeUndefined();
  });

  it('resets when a bucket went down', () => {
    const d = new DeltaConverter(STARTED);
    const s = new Series('', [], 0);
    d.expHistogram(s, exp(STARTED, STARTED + 1_000, 0, 0, [5, 5]), 0);
    const r = d.expHistogram(s, exp(STARTED, STARTED + 2_000, 0, 0, [1, 20]), 0);
    expect(r?.count).toBe(21);
    expect(r?.startMs).toBe(STARTED);
  });
});
