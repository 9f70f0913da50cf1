import { DDSketch, LogCollapsingLowestDenseDDSketch } from '@datadog/sketches-js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  OBSERVATION_RELATIVE_ACCURACY,
  ObservationWindow,
  type ObservationSketch,
} from '../../src/signals/observation-window.js';
import { addCompactSketch, compactSketch, mergeSketchInto } from '../../src/signals/sketch-merge.js';

const T0 = 1_700_000_000_000; // a multiple of 5 s
const S = 1000;
const M = 60 * S;
const QS = [0.5, 0.9, 0.95, 0.99, 0.999];
/** α, give or take float rounding at a bin's edge (α = 0.99% leaves the SPEC's 1% that margin). */
const ALPHA = OBSERVATION_RELATIVE_ACCURACY * (1 + 1e-9);

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Lognormal latencies (median e^mu) by Box-Muller. */
function lognormal(n: number, seed: number, mu = Math.log(100), sigma = 1): number[] {
  const rnd = mulberry32(seed);
  return Array.from({ length: n }, () => {
    let u = 0;
    while (u === 0) u = rnd();
    return Math.exp(mu + sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd()));
  });
}

/** The order statistic DDSketch estimates: rank ⌊q·(n−1)⌋. */
const lowerQuantile = (sorted: readonly number[], q: number) => sorted[Math.floor(q * (sorted.length - 1))]!;
/** Prometheus's `quantile()`: interpolated between neighbouring order statistics. */
function interpolatedQuantile(sorted: readonly number[], q: number): number {
  const rank = q * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! * (1 - (rank - lo)) + sorted[hi]! * (rank - lo);
}
const relErr = (estimate: number, exact: number) => Math.abs(estimate - exact) / exact;

/** The seed's method: Algorithm R reservoir of 1028 samples. */
function reservoir(values: readonly number[], size: number, seed: number): number[] {
  const rnd = mulberry32(seed);
  const kept: number[] = [];
  values.forEach((v, i) => {
    if (i < size) kept.push(v);
    else {
      const j = Math.floor(rnd() * (i + 1));
      if (j < size) kept[j] = v;
    }
  });
  return kept.sort((a, b) => a - b);
}

const window5m = () => new ObservationWindow({ slotMs: 5 * S, maxWindowMs: 5 * M });
function newSketchOf(values: number[]): ObservationSketch {
  const s = new LogCollapsingLowestDenseDDSketch({ relativeAccuracy: OBSERVATION_RELATIVE_ACCURACY });
  for (const v of values) s.accept(v);
  return s;
}

describe('ObservationWindow > accuracy on 100k lognormal latencies', () => {
  const values = lognormal(100_000, 42);
  const sorted = [...values].sort((a, b) => a - b);

  it('keeps p50…p99.9 within 1% in one slot', () => {
    const w = window5m();
    for (const v of values) w.record(v, T0);
    const stats = w.stats(T0, 5 * M)!;
    expect(stats.count).toBe(100_000);
    for (const q of QS) {
      expect(relErr(stats.quantile(q), lowerQuantile(sorted, q))).toBeLessThanOrEqual(ALPHA);
      expect(relErr(stats.quantile(q), interpolatedQuantile(sorted, q))).toBeLessThan(0.01);
    }
  });

  it('keeps the guarantee after merging 60 slots, identical to one sketch of everything', () => {
    const w = window5m();
    const single = new LogCollapsingLowestDenseDDSketch({ relativeAccuracy: OBSERVATION_RELATIVE_ACCURACY });
    values.forEach((v, i) => {
      w.record(v, T0 + Math.floor((i * 5 * M) / values.length)); // spread over 60 slots
      single.accept(v);
    });
    const stats = w.stats(T0 + 5 * M - 1, 5 * M)!;
    expect(stats.count).toBe(100_000);
    expect(stats.sum).toBeCloseTo(single.sum, 6);
    for (const q of QS) {
      expect(stats.quantile(q)).toBe(single.getValueAtQuantile(q));
      expect(relErr(stats.quantile(q), lowerQuantile(sorted, q))).toBeLessThanOrEqual(ALPHA);
    }
  });

  it('is far more accurate than the seed platform’s 1028-sample reservoir', () => {
    const w = window5m();
    for (const v of values) w.record(v, T0);
    const stats = w.stats(T0, 5 * M)!;
    const sketchWorst = Math.max(...QS.map((q) => relErr(stats.quantile(q), lowerQuantile(sorted, q))));
    // Twenty reservoirs with different seeds: the typical error, not one lucky or unlucky draw.
    const reservoirs = Array.from({ length: 20 }, (_, r) => reservoir(values, 1028, 1000 + r));
    const meanErr = (q: number) =>
      reservoirs.reduce((acc, rs) => acc + relErr(lowerQuantile(rs, q), lowerQuantile(sorted, q)), 0) /
      reservoirs.length;
    expect(sketchWorst).toBeLessThan(0.01);
    expect(meanErr(0.99)).toBeGreaterThan(0.05); // measured 10.8%
    expect(meanErr(0.999)).toBeGreaterThan(0.15); // measured 23.3%
    expect(meanErr(0.999)).toBeGreaterThan(20 * sketchWorst);
  });
});

describe('ObservationWindow > record', () => {
  it('accepts zero (exact zero bucket) and rejects NaN, ±Infinity, negatives and bad weights', () => {
    const w = window5m();
    expect(w.record(0, T0)).toBe(true);
    expect(w.record(0, T0)).toBe(true);
    expect(w.record(10, T0)).toBe(true);
    for (const bad of [NaN, Infinity, -Infinity, -1, -0.001]) expect(w.record(bad, T0)).toBe(false);
    expect(w.record(5, T0, 0)).toBe(false);
    expect(w.record(5, T0, NaN)).toBe(false);
    expect(w.rejected).toBe(7);
    const stats = w.stats(T0, 5 * M)!;
    expect(stats).toMatchObject({ count: 3, sum: 10, min: 0, max: 10 });
    expect(stats.quantile(0.5)).toBe(0);
    expect(stats.quantile(1)).toBe(10);
  });

  it('weights an observation', () => {
    const w = window5m();
    w.record(100, T0, 99);
    w.record(1000, T0);
    const stats = w.stats(T0, 5 * M)!;
    expect(stats.count).toBe(100);
    expect(stats.avg).toBe(109);
    expect(relErr(stats.quantile(0.5), 100)).toBeLessThanOrEqual(ALPHA);
  });

  it('rejects a time older than the ring', () => {
    const w = window5m();
    w.record(1, T0 + 10 * M);
    expect(w.record(1, T0)).toBe(false);
    expect(w.rejected).toBe(1);
  });

  it('counts a late observation in a slot that was already compacted', () => {
    const w = window5m();
    w.record(10, T0);
    w.record(20, T0 + 5 * S); // moves on: slot T0 is compacted
    w.record(30, T0 + 1 * S); // late, back into slot T0
    w.record(40, T0 + 10 * S); // compacts slot T0 again (compact + live)
    const stats = w.stats(T0 + 10 * S, 5 * M)!;
    expect(stats).toMatchObject({ count: 4, sum: 100, min: 10, max: 40 });
  });
});

describe('ObservationWindow > stats', () => {
  it('answers q = 0 and q = 1 exactly, and out-of-range q as Prometheus quantile() does', () => {
    const w = window5m();
    for (const v of [3.3, 7.7, 12.1]) w.record(v, T0);
    const stats = w.stats(T0, 5 * M)!;
    expect(stats.quantile(0)).toBe(3.3);
    expect(stats.quantile(1)).toBe(12.1);
    expect(stats.quantile(-0.1)).toBe(-Infinity);
    expect(stats.quantile(1.01)).toBe(Infinity);
    expect(stats.quantile(NaN)).toBeNaN();
    expect(stats.avg).toBeCloseTo(7.7, 12);
  });

  it('is undefined for an empty window', () => {
    const w = window5m();
    expect(w.stats(T0, 5 * M)).toBeUndefined();
    w.record(5, T0);
    expect(w.stats(T0 + 60 * M, 5 * M)).toBeUndefined();
  });

  it('expires a slot exactly when its end leaves the window', () => {
    const w = window5m();
    w.record(100, T0 + 2 * S); // slot [T0, T0 + 5 s)
    w.record(200, T0 + 60 * S);
    const slotEnd = T0 + 5 * S;
    expect(w.stats(slotEnd + 5 * M - 1, 5 * M)?.count).toBe(2);
    expect(w.stats(slotEnd + 5 * M, 5 * M)).toMatchObject({ count: 1, min: 200 });
    expect(w.stats(slotEnd + 1 * M - 1, 1 * M)?.count).toBe(2);
    expect(w.stats(slotEnd + 1 * M, 1 * M)?.count).toBe(1);
  });

  it('forgets everything across a long idle gap and starts afresh', () => {
    const w = window5m();
    for (let i = 0; i < 60; i++) w.record(1000, T0 + i * 5 * S);
    const later = T0 + 10 * 3_600_000;
    expect(w.stats(later, 5 * M)).toBeUndefined();
    w.record(5, later);
    expect(w.stats(later, 5 * M)).toMatchObject({ count: 1, min: 5, max: 5 });
  });

  it('returns a snapshot unaffected by later records', () => {
    const w = window5m();
    w.record(1, T0);
    const stats = w.stats(T0, 5 * M)!;
    w.record(1000, T0);
    expect(stats.quantile(1)).toBe(1);
    expect(stats.count).toBe(1);
  });
});

describe('mergeSketchInto', () => {
  const newSketch = () =>
    new LogCollapsingLowestDenseDDSketch({ relativeAccuracy: OBSERVATION_RELATIVE_ACCURACY });
  const fill = (values: number[]) => {
    const s = newSketch();
    for (const v of values) s.accept(v);
    return s;
  };

  it('merges a sketch whose highest key is 0 (values in (1/γ, 1]), where the library merge corrupts it', () => {
    // Regression for @datadog/sketches-js 2.1.1 DenseStore._extendRange(`secondKey || key`).
    const broken = new DDSketch({ relativeAccuracy: OBSERVATION_RELATIVE_ACCURACY });
    broken.accept(1e-6);
    const src = new DDSketch({ relativeAccuracy: OBSERVATION_RELATIVE_ACCURACY });
    src.accept(0.01);
    src.accept(1);
    broken.merge(src);
    expect(broken.getValueAtQuantile(1)).toBeLessThan(0.5); // the library lost the value 1

    const target = fill([1e-6]);
    mergeSketchInto(target, fill([0.01, 1]));
    expect(relErr(target.getValueAtQuantile(1), 1)).toBeLessThanOrEqual(ALPHA);
    expect(target.store.bins.some((n) => Number.isNaN(n))).toBe(false);
  });

  it('merges negative values, which the library merge drops', () => {
    const lib = new DDSketch();
    lib.accept(5);
    const neg = new DDSketch();
    neg.accept(-5);
    neg.accept(5);
    lib.merge(neg);
    expect(lib.getValueAtQuantile(0)).toBeGreaterThan(0); // the library lost -5

    const target = fill([5]);
    mergeSketchInto(target, fill([-5, 5]));
    expect(target.count).toBe(3);
    expect(relErr(target.getValueAtQuantile(0), -5)).toBeLessThanOrEqual(ALPHA);
  });

  it('equals one sketch fed everything, for any split of the values (property)', () => {
    const value = fc.oneof(
      fc.double({ min: 1e-3, max: 1e3, noNaN: true }),
      fc.double({ min: 0.95, max: 1.05, noNaN: true }), // around key 0
      fc.constant(0),
    );
    fc.assert(
      fc.property(fc.array(fc.array(value, { maxLength: 40 }), { minLength: 1, maxLength: 8 }), (parts) => {
        const merged: ObservationSketch = newSketch();
        for (const part of parts) mergeSketchInto(merged, fill(part));
        const whole = fill(parts.flat());
        expect(merged.count).toBe(whole.count);
        expect(merged.zeroCount).toBe(whole.zeroCount);
        if (whole.count === 0) return;
        for (const q of [0, 0.1, 0.5, 0.9, 0.99, 1]) {
          expect(merged.getValueAtQuantile(q)).toBe(whole.getValueAtQuantile(q));
        }
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it('refuses sketches of different accuracy', () => {
    const other = new LogCollapsingLowestDenseDDSketch({ relativeAccuracy: 0.02 });
    other.accept(1);
    expect(() => mergeSketchInto(newSketch(), other)).toThrow(/accuracy/);
    expect(() => addCompactSketch(newSketch(), compactSketch(other))).toThrow(/accuracy/);
  });
});

describe('compactSketch', () => {
  it('round-trips: a compacted sketch merges exactly like the live one', () => {
    const values = lognormal(5000, 9);
    const live = newSketchOf(values);
    const c = compactSketch(live);
    expect(c.counts).toBeInstanceOf(Uint8Array); // 5000 values over ~500 keys: < 256 a key
    const viaCompact = newSketchOf([0]);
    addCompactSketch(viaCompact, c);
    const viaLive = newSketchOf([0]);
    mergeSketchInto(viaLive, live);
    expect(viaCompact.count).toBe(viaLive.count);
    for (const q of [0, 0.25, 0.5, 0.9, 0.999, 1]) {
      expect(viaCompact.getValueAtQuantile(q)).toBe(viaLive.getValueAtQuantile(q));
    }
  });

  it('picks wider arrays for larger or fractional counts, and refuses negatives', () => {
    const many = newSketchOf([]);
    many.accept(5, 70_000);
    expect(compactSketch(many).counts).toBeInstanceOf(Uint32Array);
    const fractional = newSketchOf([]);
    fractional.accept(5, 0.5);
    expect(compactSketch(fractional).counts).toBeInstanceOf(Float64Array);
    expect(compactSketch(newSketchOf([])).counts).toHaveLength(0);
    expect(() => compactSketch(newSketchOf([-1]))).toThrow(/negative/);
  });
});
