import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../src/export/circuit-breaker.js';
import { BatchQueue, type QueuedBatch } from '../../src/export/otlp-queue.js';
import { OtlpSender, type SendFailReason } from '../../src/export/otlp-sender.js';
import type { TransportResult } from '../../src/export/otlp-transport.js';
import { RetryPolicy } from '../../src/export/retry-policy.js';

/**
 * The delivery state machine with an injected clock: the transport is a script of outcomes (what
 * a backend would answer), so retry timing, Retry-After, give-up and the breaker are checked to
 * the millisecond without timers.
 */

const ok: TransportResult = { kind: 'success', status: 200, rejectedPoints: 0, errorMessage: '' };
const unavailable = (retryAfterMs?: number): TransportResult => ({
  kind: 'retryable',
  status: 503,
  retryAfterMs,
  error: 'HTTP 503',
});
const refused: TransportResult = { kind: 'retryable', error: 'ECONNREFUSED' };
const badRequest: TransportResult = { kind: 'permanent', status: 400, error: 'HTTP 400' };

function setup(opts: { breaker?: boolean; retry?: boolean; maxElapsedMs?: number } = {}) {
  const clock = { now: 1_000_000 };
  const queue = new BatchQueue({ maxBatches: 100, maxBytes: 1e6 });
  const script: TransportResult[] = [];
  const attempts: Array<{ atMs: number; batch: number; timeoutMs: number }> = [];
  const counts = { sent: 0, failed: new Map<SendFailReason, number>(), requests: [] as string[] };
  const breaker =
    opts.breaker === false
      ? undefined
      : new CircuitBreaker({
          failureThreshold: 3,
          openTimeoutMs: 30_000,
          successThreshold: 1,
          clock: () => clock.now,
        });
  const sender = new OtlpSender({
    queue,
    timeoutMs: 10_000,
    retry:
      opts.retry === false
        ? undefined
        : new RetryPolicy({
            initialIntervalMs: 5_000,
            multiplier: 1.5,
            maxIntervalMs: 30_000,
            randomizationFactor: 0,
            maxElapsedMs: opts.maxElapsedMs ?? 300_000,
          }),
    breaker,
    clock: () => clock.now,
    log: pino({ level: 'silent' }),
    send: (b, timeoutMs) => {
      attempts.push({ atMs: clock.now, batch: b.createdMs, timeoutMs });
      return Promise.resolve(script.shift() ?? ok);
    },
    events: {
      request: (o) => counts.requests.push(o),
      sent: (n) => (counts.sent += n),
      failed: (n, reason) => counts.failed.set(reason, (counts.failed.get(reason) ?? 0) + n),
    },
  });
  const add = (id: number, points = 10): QueuedBatch => {
    const b: QueuedBatch = {
      createdMs: id,
      points,
      contentType: 'application/x-protobuf',
      contentEncoding: undefined,
      body: Buffer.from([id]),
    };
    queue.push(b);
    return b;
  };
  /** Advance to the next due attempt and make it. */
  const next = async (): Promise<void> => {
    const at = sender.nextAttemptAtMs();
    if (at === undefined) throw new Error('nothing queued');
    clock.now = Math.max(clock.now, at);
    expect(await sender.step()).toBe(true);
  };
  return { clock, queue, script, attempts, counts, sender, breaker, add, next };
}

describe('OtlpSender', () => {
  it('sends in order and counts points', async () => {
    const t = setup();
    t.add(1, 5);
    t.add(2, 7);
    await t.next();
    await t.next();
    expect(t.attempts.map((a) => a.batch)).toEqual([1, 2]);
    expect(t.counts.sent).toBe(12);
    expect(t.queue.size).toBe(0);
    expect(t.sender.nextAttemptAtMs()).toBeUndefined();
    expect(t.sender.lastSuccess).toBe(t.clock.now);
  });

  it('retries the head batch with the backoff schedule, later batches wait behind it', async () => {
    const t = setup({ breaker: false });
    t.add(1);
    t.add(2);
    t.script.push(refused, refused, refused);
    const start = t.clock.now;
    for (let i = 0; i < 4; i++) await t.next();
    expect(t.attempts.map((a) => [a.atMs - start, a.batch])).toEqual([
      [0, 1],
      [5_000, 1],
      [12_500, 1],
      [23_750, 1],
    ]);
    expect(t.sender.retrying).toBe(false);
    await t.next();
    expect(t.attempts.at(-1)?.batch).toBe(2);
    expect(t.counts.sent).toBe(20);
    expect(t.counts.requests).toEqual(['network_error', 'network_error', 'network_error', '200', '200']);
  });

  it('waits for Retry-After instead of its own backoff', async () => {
    const t = setup({ breaker: false });
    t.add(1);
    t.script.push(unavailable(42_000));
    await t.next();
    expect(t.sender.retrying).toBe(true);
    expect(t.sender.nextAttemptAtMs()).toBe(t.attempts[0]!.atMs + 42_000);
    // Not due a millisecond early.
    t.clock.now = t.attempts[0]!.atMs + 41_999;
    expect(await t.sender.step()).toBe(false);
    await t.next();
    expect(t.attempts[1]!.atMs - t.attempts[0]!.atMs).toBe(42_000);
    expect(t.counts.sent).toBe(10);
  });

  it('drops a batch answered 400 at once, counted, and moves on (no retry)', async () => {
    const t = setup();
    t.add(1, 3);
    t.add(2, 4);
    t.script.push(badRequest);
    await t.next();
    expect(t.counts.failed.get('permanent_error')).toBe(3);
    expect(t.queue.size).toBe(1);
    // The next batch goes out immediately, not after a backoff.
    expect(t.sender.nextAttemptAtMs()).toBe(t.clock.now);
    await t.next();
    expect(t.attempts.map((a) => a.batch)).toEqual([1, 2]);
    // A backend that answers is up: a 400 is not counted against it.
    expect(t.breaker?.consecutiveFailures).toBe(0);
  });

  it('gives a batch up after max_elapsed_time, counted as retries_exhausted', async () => {
    const t = setup({ breaker: false, maxElapsedMs: 20_000 });
    t.add(1, 6);
    t.add(2, 1);
    t.script.push(refused, refused, refused, refused);
    await t.next(); // t=0, next at 5 s
    await t.next(); // t=5 s, next at 12.5 s
    await t.next(); // t=12.5 s, next would be 23.75 s > 20 s: given up
    expect(t.counts.failed.get('retries_exhausted')).toBe(6);
    expect(t.queue.peek()?.createdMs).toBe(2);
  });

  it('without retry_on_failure a failed batch is dropped at once', async () => {
    const t = setup({ retry: false, breaker: false });
    t.add(1, 2);
    t.script.push(unavailable());
    await t.next();
    expect(t.counts.failed.get('retries_exhausted')).toBe(2);
    expect(t.queue.size).toBe(0);
  });

  it('counts points a backend rejected in a partial success', async () => {
    const t = setup();
    t.add(1, 10);
    t.script.push({ kind: 'success', status: 200, rejectedPoints: 4, errorMessage: 'bad points' });
    await t.next();
    expect(t.counts.sent).toBe(6);
    expect(t.counts.failed.get('rejected')).toBe(4);
  });

  it('opens the breaker after the threshold, sends nothing while open, trials after the timeout', async () => {
    const t = setup();
    t.add(1);
    t.script.push(unavailable(), unavailable(), unavailable(), unavailable());
    await t.next();
    await t.next();
    expect(t.breaker?.state).toBe('closed');
    await t.next();
    expect(t.breaker?.state).toBe('open');
    const openedAt = t.clock.now;
    // The backoff alone would allow an attempt at +11.25 s; the open circuit holds it to +30 s.
    expect(t.sender.nextAttemptAtMs()).toBe(openedAt + 30_000);
    t.clock.now = openedAt + 20_000;
    expect(await t.sender.step()).toBe(false);
    await t.next();
    expect(t.attempts.at(-1)!.atMs).toBe(openedAt + 30_000);
    // The trial failed: open again for a full timeout.
    expect(t.breaker?.state).toBe('open');
    expect(t.sender.nextAttemptAtMs()).toBe(t.clock.now + 30_000);
    await t.next(); // trial succeeds
    expect(t.breaker?.state).toBe('closed');
    expect(t.counts.sent).toBe(10);
  });

  it('shortens the attempt timeout to meet a deadline', async () => {
    const t = setup();
    t.add(1);
    expect(await t.sender.step(t.clock.now + 2_500)).toBe(true);
    expect(t.attempts[0]!.timeoutMs).toBe(2_500);
  });

  it('treats a transport that throws like a network error', async () => {
    const t = setup({ breaker: false });
    t.add(1);
    const sender = new OtlpSender({
      queue: t.queue,
      timeoutMs: 1000,
      retry: new RetryPolicy({
        initialIntervalMs: 100,
        multiplier: 2,
        maxIntervalMs: 1000,
        randomizationFactor: 0,
        maxElapsedMs: 0,
      }),
      breaker: undefined,
      clock: () => t.clock.now,
      log: pino({ level: 'silent' }),
      send: () => Promise.reject(new Error('boom')),
      events: { request: () => undefined, sent: () => undefined, failed: () => undefined },
    });
    expect(await sender.step()).toBe(true);
    expect(sender.retrying).toBe(true);
    expect(sender.lastAttemptError).toBe('boom');
    expect(t.queue.size).toBe(1);
  });
});
