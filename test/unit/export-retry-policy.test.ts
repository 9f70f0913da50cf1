import { describe, expect, it } from 'vitest';
import { parseRetryAfterMs, RetryPolicy } from '../../src/export/retry-policy.js';

const collector = {
  initialIntervalMs: 5_000,
  multiplier: 1.5,
  maxIntervalMs: 30_000,
  randomizationFactor: 0.5,
  maxElapsedMs: 300_000,
};

describe('RetryPolicy', () => {
  it('backs off as the collector does: 5 s × 1.5 up to 30 s', () => {
    const p = new RetryPolicy(collector);
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => p.baseDelayMs(n))).toEqual([
      5_000, 7_500, 11_250, 16_875, 25_312.5, 30_000, 30_000,
    ]);
  });

  it('jitters within ±randomization_factor', () => {
    const low = new RetryPolicy({ ...collector, random: () => 0 });
    const high = new RetryPolicy({ ...collector, random: () => 0.999999 });
    const mid = new RetryPolicy({ ...collector, random: () => 0.5 });
    expect(low.delayMs(1)).toBe(2_500);
    expect(high.delayMs(1)).toBeCloseTo(7_500, 0);
    expect(mid.delayMs(2)).toBe(7_500);
    const none = new RetryPolicy({ ...collector, randomizationFactor: 0, random: () => 0.9 });
    expect(none.delayMs(3)).toBe(11_250);
  });

  it('lets the server’s Retry-After win over the computed backoff', () => {
    const p = new RetryPolicy({ ...collector, random: () => 0 });
    expect(p.delayMs(1, 42_000)).toBe(42_000);
    expect(p.delayMs(6, 0)).toBe(0);
  });

  it('gives up after max_elapsed_time since the first attempt; 0 never gives up', () => {
    const p = new RetryPolicy(collector);
    expect(p.mayRetry(1_000, 1_000 + 300_000)).toBe(true);
    expect(p.mayRetry(1_000, 1_000 + 300_001)).toBe(false);
    const forever = new RetryPolicy({ ...collector, maxElapsedMs: 0 });
    expect(forever.mayRetry(0, 1e12)).toBe(true);
  });
});

describe('parseRetryAfterMs', () => {
  const now = Date.parse('2026-11-22T10:00:00Z');
  it('reads delay-seconds and HTTP-dates', () => {
    expect(parseRetryAfterMs('120', now)).toBe(120_000);
    expect(parseRetryAfterMs(' 0 ', now)).toBe(0);
    expect(parseRetryAfterMs('Sun, 22 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
  });
  it('treats a past date as now and garbage as absent', () => {
    expect(parseRetryAfterMs('Sun, 22 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfterMs('soon', now)).toBeUndefined();
    expect(parseRetryAfterMs('-5', now)).toBeUndefined();
    expect(parseRetryAfterMs(undefined, now)).toBeUndefined();
  });
});
