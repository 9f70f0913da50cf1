import { describe, expect, it } from 'vitest';
import { GaugeWindow } from '../../src/signals/gauge-window.js';

const T0 = 1_700_000_000_000; // a multiple of 5 s
const S = 1000;
const M = 60 * S;

const gauge = () => new GaugeWindow({ slotMs: 5 * S, maxWindowMs: 5 * M });

describe('GaugeWindow > stats', () => {
  it('gives last, min, max, unweighted avg, count and sum of the window', () => {
    const g = gauge();
    g.record(40, T0);
    g.record(90, T0 + 1 * S); // held for 1 s, weighs as much as any other sample
    g.record(20, T0 + 2 * M);
    g.record(50, T0 + 4 * M);
    expect(g.stats(T0 + 4 * M, 5 * M)).toEqual({
      last: 50,
      lastTMs: T0 + 4 * M,
      min: 20,
      max: 90,
      avg: 50,
      count: 4,
      sum: 200,
    });
  });

  it('takes the latest sample as last, also when it arrived before an older one in its slot', () => {
    const g = gauge();
    g.record(1, T0 + 3 * S);
    g.record(2, T0 + 1 * S); // late arrival for an earlier time
    expect(g.stats(T0 + 4 * S, 5 * M)).toMatchObject({ last: 1, lastTMs: T0 + 3 * S, count: 2 });
    g.record(3, T0 + 3 * S); // same time, recorded later: wins
    expect(g.stats(T0 + 4 * S, 5 * M)?.last).toBe(3);
  });

  it('expires a slot exactly when its end leaves the window', () => {
    const g = gauge();
    g.record(100, T0 + 4 * S);
    g.record(5, T0 + 30 * S);
    const slotEnd = T0 + 5 * S;
    expect(g.stats(slotEnd + 1 * M - 1, 1 * M)).toMatchObject({ max: 100, count: 2, last: 5 });
    expect(g.stats(slotEnd + 1 * M, 1 * M)).toMatchObject({ max: 5, count: 1, last: 5 });
    expect(g.stats(T0 + 35 * S + 1 * M, 1 * M)).toBeUndefined();
  });

  it('keeps negative values and rejects NaN and ±Infinity', () => {
    const g = gauge();
    expect(g.record(-3, T0)).toBe(true);
    expect(g.record(NaN, T0)).toBe(false);
    expect(g.record(Infinity, T0)).toBe(false);
    expect(g.record(-Infinity, T0)).toBe(false);
    expect(g.rejected).toBe(3);
    expect(g.stats(T0, 5 * M)).toMatchObject({ min: -3, max: -3, count: 1 });
  });

  it('shows nothing after a long idle gap', () => {
    const g = gauge();
    for (let i = 0; i < 61; i++) g.record(i, T0 + i * 5 * S);
    expect(g.stats(T0 + 24 * 3_600_000, 5 * M)).toBeUndefined();
  });
});
