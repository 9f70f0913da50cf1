import { describe, expect, it } from 'vitest';
import { CircuitBreaker, type BreakerState } from '../../src/export/circuit-breaker.js';

function breaker(
  overrides: Partial<{ failureThreshold: number; openTimeoutMs: number; successThreshold: number }> = {},
) {
  const clock = { now: 1_000_000 };
  const changes: Array<[BreakerState, BreakerState]> = [];
  const b = new CircuitBreaker({
    failureThreshold: 3,
    openTimeoutMs: 30_000,
    successThreshold: 2,
    ...overrides,
    clock: () => clock.now,
    onChange: (from, to) => changes.push([from, to]),
  });
  return { b, clock, changes };
}

describe('CircuitBreaker', () => {
  it('opens after the configured consecutive failures, not before', () => {
    const { b, changes } = breaker();
    b.onFailure();
    b.onFailure();
    expect(b.state).toBe('closed');
    expect(b.allows()).toBe(true);
    b.onFailure();
    expect(b.state).toBe('open');
    expect(b.allows()).toBe(false);
    expect(changes).toEqual([['closed', 'open']]);
  });

  it('counts consecutive failures only: a success in between starts over', () => {
    const { b } = breaker();
    b.onFailure();
    b.onFailure();
    b.onSuccess();
    expect(b.consecutiveFailures).toBe(0);
    b.onFailure();
    b.onFailure();
    expect(b.state).toBe('closed');
  });

  it('half-opens once open_timeout has passed, and says when requests may resume', () => {
    const { b, clock } = breaker();
    for (let i = 0; i < 3; i++) b.onFailure();
    const openedAt = clock.now;
    expect(b.allowedAtMs()).toBe(openedAt + 30_000);
    clock.now = openedAt + 29_999;
    expect(b.state).toBe('open');
    clock.now = openedAt + 30_000;
    expect(b.state).toBe('half_open');
    expect(b.allows()).toBe(true);
    expect(b.allowedAtMs()).toBe(clock.now);
  });

  it('closes after success_threshold successful trials', () => {
    const { b, clock, changes } = breaker();
    for (let i = 0; i < 3; i++) b.onFailure();
    clock.now += 30_000;
    b.onSuccess();
    expect(b.state).toBe('half_open');
    b.onSuccess();
    expect(b.state).toBe('closed');
    expect(changes).toEqual([
      ['closed', 'open'],
      ['open', 'half_open'],
      ['half_open', 'closed'],
    ]);
  });

  it('re-opens on a failed trial, for another full timeout', () => {
    const { b, clock } = breaker();
    for (let i = 0; i < 3; i++) b.onFailure();
    clock.now += 30_000;
    b.onSuccess(); // one good trial is not enough
    b.onFailure();
    expect(b.state).toBe('open');
    const reopened = clock.now;
    clock.now = reopened + 29_000;
    expect(b.state).toBe('open');
    clock.now = reopened + 30_000;
    expect(b.state).toBe('half_open');
  });

  it('rejects nonsensical options at construction', () => {
    expect(() => breaker({ failureThreshold: 0 })).toThrow(/failureThreshold/);
    expect(() => breaker({ successThreshold: 0 })).toThrow(/successThreshold/);
  });
});
