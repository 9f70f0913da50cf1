import type { Logger } from 'pino';
import type { CircuitBreaker } from './circuit-breaker.js';
import type { BatchQueue, QueuedBatch } from './otlp-queue.js';
import type { TransportResult } from './otlp-transport.js';
import type { RetryPolicy } from './retry-policy.js';

/**
 * Delivery of the queue's head batch, one attempt at a time, in order (a single consumer keeps
 * cumulative points of a series in time order at the backend). Decides, after each attempt,
 * whether the batch is done (sent, or dropped for good) or when to try it again, from the retry
 * policy, the server's Retry-After and the circuit breaker.
 *
 * It owns no timer: `step()` makes one attempt if one is due and `nextAttemptAtMs()` says when
 * the next is due, so the exporter schedules it and tests drive it with a fake clock.
 */

export type SendFn = (batch: QueuedBatch, timeoutMs: number) => Promise<TransportResult>;

/** Why points were given up (the `reason` of `vigil_exporter_send_failed_points_total`). */
export type SendFailReason = 'permanent_error' | 'retries_exhausted' | 'rejected';

export interface SenderEvents {
  /** One HTTP exchange ended: status code, or `timeout` / `network_error`. */
  request(outcome: string): void;
  sent(points: number): void;
  failed(points: number, reason: SendFailReason): void;
}

export interface SenderOptions {
  queue: BatchQueue;
  send: SendFn;
  timeoutMs: number;
  /** Undefined when `retry_on_failure.enabled` is false: a failed batch is dropped at once. */
  retry: RetryPolicy | undefined;
  /** Undefined when `circuit_breaker.enabled` is false. */
  breaker: CircuitBreaker | undefined;
  clock: () => number;
  log: Logger;
  events: SenderEvents;
}

interface HeadState {
  batch: QueuedBatch;
  attempts: number;
  firstAttemptMs: number;
  nextAttemptMs: number;
}

export class OtlpSender {
  private head: HeadState | undefined;
  private lastSuccessMs: number | undefined;
  private lastError = '';
  private sending: QueuedBatch | undefined;

  constructor(private readonly opts: SenderOptions) {}

  /** When the head batch may next be tried (ms since the epoch); undefined with an empty queue. */
  nextAttemptAtMs(): number | undefined {
    const batch = this.opts.queue.peek();
    if (batch === undefined) return undefined;
    const retryAt = this.head?.batch === batch ? this.head.nextAttemptMs : this.opts.clock();
    return Math.max(retryAt, this.opts.breaker?.allowedAtMs() ?? 0);
  }

  /** True while a failed batch waits for its retry (the report's `retrying`). */
  get retrying(): boolean {
    return this.head !== undefined && this.head.attempts > 0 && this.head.batch === this.opts.queue.peek();
  }

  /** The error of the latest failed attempt ('' after a success). */
  get lastAttemptError(): string {
    return this.lastError;
  }

  get lastSuccess(): number | undefined {
    return this.lastSuccessMs;
  }

  /** The batch on the wire right now, if any: the queue must not drop it. */
  get inFlight(): QueuedBatch | undefined {
    return this.sending;
  }

  /**
   * One attempt at the head batch if it is due, with at most `timeoutMs` (or less, to meet
   * `deadlineMs`). Returns false when nothing was due.
   */
  async step(deadlineMs?: number): Promise<boolean> {
    if (this.sending !== undefined) return false;
    const batch = this.opts.queue.peek();
    if (batch === undefined) return false;
    const now = this.opts.clock();
    const due = this.nextAttemptAtMs();
    if (due === undefined || due > now) return false;
    if (this.opts.breaker !== undefined && !this.opts.breaker.allows()) return false;
    if (this.head?.batch !== batch)
      this.head = { batch, attempts: 0, firstAttemptMs: now, nextAttemptMs: now };
    const head = this.head;
    const timeoutMs =
      deadlineMs === undefined
        ? this.opts.timeoutMs
        : Math.max(1, Math.min(this.opts.timeoutMs, deadlineMs - now));

    this.sending = batch;
    let result: TransportResult;
    try {
      result = await this.opts.send(batch, timeoutMs);
    } catch (err) {
      // A bug in the transport must not wedge the queue: treat it like a network error.
      result = { kind: 'retryable', error: (err as Error).message };
    } finally {
      this.sending = undefined;
    }
    head.attempts++;
    this.opts.events.request(
      result.status !== undefined
        ? String(result.status)
        : result.kind !== 'success' && /timed out/.test(result.error)
          ? 'timeout'
          : 'network_error',
    );
    const at = this.opts.clock();

    this.lastError = result.kind === 'success' ? '' : result.error;
    if (result.kind === 'success') {
      this.done(batch);
      this.lastSuccessMs = at;
      this.opts.breaker?.onSuccess();
      const rejected = Math.min(result.rejectedPoints, batch.points);
      if (rejected > 0) {
        this.opts.events.failed(rejected, 'rejected');
        this.opts.log.warn(
          { rejectedPoints: rejected, message: result.errorMessage },
          'OTLP backend rejected part of a batch',
        );
      }
      this.opts.events.sent(batch.points - rejected);
      return true;
    }
    if (result.kind === 'permanent') {
      // The backend answered: it is up, so this says nothing about its health (the breaker
      // counts unavailability only). Retrying the same bytes would fail the same way.
      this.opts.breaker?.onSuccess();
      this.done(batch);
      this.opts.events.failed(batch.points, 'permanent_error');
      this.opts.log.error(
        { status: result.status, error: result.error, points: batch.points },
        'OTLP export failed permanently; batch dropped',
      );
      return true;
    }

    this.opts.breaker?.onFailure();
    const retry = this.opts.retry;
    const delay = retry?.delayMs(head.attempts, result.retryAfterMs) ?? 0;
    const nextMs = at + delay;
    if (retry === undefined || !retry.mayRetry(head.firstAttemptMs, nextMs)) {
      this.done(batch);
      this.opts.events.failed(batch.points, 'retries_exhausted');
      this.opts.log.error(
        { attempts: head.attempts, error: result.error, points: batch.points },
        'OTLP export given up; batch dropped',
      );
      return true;
    }
    head.nextAttemptMs = nextMs;
    this.opts.log.warn(
      {
        attempts: head.attempts,
        status: result.status,
        error: result.error,
        retryInMs: Math.round(delay),
        retryAfterMs: result.retryAfterMs,
        breaker: this.opts.breaker?.state,
      },
      'OTLP export failed; will retry',
    );
    return true;
  }

  private done(batch: QueuedBatch): void {
    if (this.opts.queue.peek() === batch) this.opts.queue.shift();
    this.head = undefined;
  }
}
