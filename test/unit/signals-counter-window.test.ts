import { describe, expect, it } from 'vitest';
import { CounterWindow, type CounterWindowOptions } from '../../src/signals/counter-window.js';

const T0 = 1_700_000_000_000; // a multiple of 5 s
const S = 1000;
const M = 60 * S;

const counter = (options: Partial<CounterWindowOptions> = {}) =>
  new CounterWindow({ slotMs: 5 * S, maxWindowMs: 15 * M, ...options });

describe('CounterWindow > increase from cumulative samples', () => {
  it('is the exact difference between the first and last samples in the window', () => {
    const c = counter();
    c.record(0, T0);
    c.record(100, T0 + 10 * S);
    c.record(250, T0 + 60 * S);
    expect(c.stats(T0 + 60 * S, 5 * M)).toEqual({
      increase: 250,
      rate: 250 / 300,
      samples: 3,
      deltas: 0,
      resets: 0,
    });
  });

  it('gives exact ratios: 100 hits out of 1000 operations is 0.1', () => {
    const hits = counter();
    const ops = counter();
    hits.record(40, T0);
    ops.record(500, T0);
    hits.record(140, T0 + 90 * S);
    ops.record(1500, T0 + 90 * S);
    expect(hits.increase(T0 + 90 * S, 5 * M)! / ops.increase(T0 + 90 * S, 5 * M)!).toBe(0.1);
  });

  it('does not extrapolate to the window edges as PromQL increase() does', () => {
    const c = counter();
    // A sample every 60 s, 10 per minute: PromQL's increase(x[5m]) would scale 40 up to ~50.
    for (let i = 0; i <= 4; i++) c.record(i * 10, T0 + i * M);
    expect(c.increase(T0 + 4 * M + 30 * S, 5 * M)).toBe(40);
  });

  it('counts only samples inside the window: the step into the window is not counted', () => {
    const c = counter();
    c.record(1000, T0); // slot [T0, T0 + 5 s) leaves a 1 m window at T0 + 65 s
    c.record(1100, T0 + 30 * S);
    c.record(1150, T0 + 64 * S);
    expect(c.increase(T0 + 65 * S - 1, 1 * M)).toBe(150);
    expect(c.increase(T0 + 65 * S, 1 * M)).toBe(50);
  });

  it('treats a drop as a reset and adds the new value, within a slot and across slots', () => {
    const c = counter();
    c.record(100, T0);
    c.record(150, T0 + 1 * S);
    c.record(20, T0 + 2 * S); // reset inside the slot: +20
    c.record(50, T0 + 20 * S); // +30
    c.record(10, T0 + 40 * S); // reset across slots: +10
    c.record(15, T0 + 41 * S); // +5
    expect(c.stats(T0 + 41 * S, 5 * M)).toMatchObject({ increase: 50 + 20 + 30 + 10 + 5, resets: 2 });
  });

  it('treats a new start time after the previous sample as a restart, even without a drop', () => {
    const c = counter();
    c.record(100, T0, T0 - 3_600_000);
    // Restarted at T0 + 10 s and already counted 130 > 100 by T0 + 20 s.
    c.record(130, T0 + 20 * S, T0 + 10 * S);
    expect(c.stats(T0 + 20 * S, 5 * M)).toMatchObject({ increase: 130, resets: 1 });
  });

  it('ignores start-time jitter and a source clock ahead of vigil', () => {
    const c = counter();
    c.record(100, T0, T0 - 3_600_000);
    c.record(110, T0 + 10 * S, T0 - 3_600_000 + 2); // jitter: earlier than the previous sample
    // Unchanged start time that looks "after" our previous sample (skewed clock): no reset.
    const d = counter();
    d.record(5, T0, T0 + 30 * S);
    d.record(9, T0 + 10 * S, T0 + 30 * S);
    expect(c.stats(T0 + 10 * S, 5 * M)).toMatchObject({ increase: 10, resets: 0 });
    expect(d.stats(T0 + 10 * S, 5 * M)).toMatchObject({ increase: 4, resets: 0 });
  });

  it('uses a series’ first sample only as a baseline, unless it started after the given time', () => {
    const startedAt = T0 - 10 * S;
    const baseline = counter();
    baseline.record(100, T0, startedAt);
    expect(baseline.increase(T0, 5 * M)).toBe(0);

    const fresh = counter({ countInitialIfStartedAfterMs: T0 - M });
    fresh.record(100, T0, startedAt); // began after vigil did: all 100 happened in the window
    fresh.record(130, T0 + 10 * S, startedAt);
    expect(fresh.increase(T0 + 10 * S, 5 * M)).toBe(130);
    // Only while that first sample is inside the window.
    expect(fresh.increase(T0 + 5 * S + 1 * M, 1 * M)).toBe(0);

    const old = counter({ countInitialIfStartedAfterMs: T0 - M });
    old.record(100, T0, T0 - 2 * M); // began before vigil: a baseline
    old.record(100, T0 + 1 * S); // unknown start: never counted in full
    expect(old.increase(T0 + 1 * S, 5 * M)).toBe(0);
  });

  it('is 0 with one sample and undefined with none', () => {
    const c = counter();
    expect(c.stats(T0, 5 * M)).toBeUndefined();
    c.record(7, T0);
    expect(c.stats(T0, 5 * M)).toMatchObject({ increase: 0, rate: 0, samples: 1 });
    expect(c.increase(T0 + 10 * M, 5 * M)).toBeUndefined();
  });

  it('rejects non-finite, negative and out-of-order samples', () => {
    const c = counter();
    expect(c.record(10, T0 + 10 * S)).toBe(true);
    expect(c.record(NaN, T0 + 11 * S)).toBe(false);
    expect(c.record(Infinity, T0 + 11 * S)).toBe(false);
    expect(c.record(-1, T0 + 11 * S)).toBe(false);
    expect(c.record(20, T0 + 9 * S)).toBe(false); // older than the last sample
    expect(c.record(20, T0 + 11 * S, NaN)).toBe(false);
    expect(c.rejected).toBe(5);
    expect(c.increase(T0 + 11 * S, 5 * M)).toBe(0);
  });
});

describe('CounterWindow > deltas', () => {
  it('sums pushed increments and expires them with their slot', () => {
    const c = counter();
    c.addDelta(3, T0 + 1 * S);
    c.addDelta(4, T0 + 6 * S);
    c.addDelta(0, T0 + 7 * S);
    expect(c.stats(T0 + 7 * S, 5 * M)).toEqual({
      increase: 7,
      rate: 7 / 300,
      samples: 0,
      deltas: 3,
      resets: 0,
    });
    expect(c.increase(T0 + 5 * S + 5 * M - 1, 5 * M)).toBe(7);
    expect(c.increase(T0 + 5 * S + 5 * M, 5 * M)).toBe(4);
    expect(c.increase(T0 + 10 * S + 5 * M, 5 * M)).toBeUndefined();
  });

  it('rejects negative and non-finite deltas', () => {
    const c = counter();
    expect(c.addDelta(-1, T0)).toBe(false);
    expect(c.addDelta(NaN, T0)).toBe(false);
    expect(c.addDelta(Infinity, T0)).toBe(false);
    expect(c.rejected).toBe(3);
    expect(c.stats(T0, 5 * M)).toBeUndefined();
  });

  it('adds deltas and cumulative samples when a source sends both', () => {
    const c = counter();
    c.record(10, T0);
    c.addDelta(5, T0 + 1 * S);
    c.record(12, T0 + 2 * S);
    expect(c.increase(T0 + 2 * S, 5 * M)).toBe(7);
  });

  it('rate is the increase per second of window', () => {
    const c = counter();
    for (let i = 0; i < 60; i++) c.addDelta(10, T0 + i * 5 * S); // 10 every 5 s = 2/s
    expect(c.rate(T0 + 5 * M - 1, 5 * M)).toBe(2);
    expect(c.rate(T0 + 5 * M - 1, 1 * M)).toBe((13 * 10) / 60); // 13 slots overlap the minute
  });
});
