/**
 * A circuit breaker (seed 003's CLOSED / OPEN / HALF_OPEN) in front of an export backend.
 *
 * CLOSED: requests flow; `failureThreshold` consecutive failures open the circuit.
 * OPEN: no request for `openTimeoutMs`, so a dead backend is not hammered and its state is visible.
 * HALF_OPEN: one trial request at a time; `successThreshold` successes close the circuit, one
 * failure opens it again for another `openTimeoutMs`.
 *
 * Time comes from the injected clock and transitions happen when asked, so tests drive it with a
 * fake clock and no timers.
 */

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit (default 5). */
  failureThreshold: number;
  /** Time the circuit stays open before a trial request, in ms (default 30 s). */
  openTimeoutMs: number;
  /** Successful trial requests needed to close it again (default 2). */
  successThreshold: number;
  clock: () => number;
  /** Told about every state change (logging, self-metrics). */
  onChange?: (from: BreakerState, to: BreakerState) => void;
}

export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private failures = 0;
  private successes = 0;
  private openedMs = 0;

  constructor(private readonly opts: CircuitBreakerOptions) {
    if (!(opts.failureThreshold >= 1)) throw new RangeError('failureThreshold must be at least 1');
    if (!(opts.successThreshold >= 1)) throw new RangeError('successThreshold must be at least 1');
    if (!(opts.openTimeoutMs >= 0)) throw new RangeError('openTimeoutMs must not be negative');
  }

  /** The state now: an open circuit whose timeout has passed reads as half-open. */
  get state(): BreakerState {
    if (this.current === 'open' && this.opts.clock() - this.openedMs >= this.opts.openTimeoutMs)
      this.transition('half_open');
    return this.current;
  }

  /** Consecutive failures counted so far (reset by a success). */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /** When a request may next be attempted (ms since the epoch); now unless the circuit is open. */
  allowedAtMs(): number {
    const now = this.opts.clock();
    return this.state === 'open' ? this.openedMs + this.opts.openTimeoutMs : now;
  }

  /** Whether a request may go out now. */
  allows(): boolean {
    return this.state !== 'open';
  }

  onSuccess(): void {
    const state = this.state;
    this.failures = 0;
    if (state === 'half_open') {
      this.successes++;
      if (this.successes >= this.opts.successThreshold) this.transition('closed');
    }
  }

  onFailure(): void {
    const state = this.state;
    this.failures++;
    if (state === 'half_open' || (state === 'closed' && this.failures >= this.opts.failureThreshold)) {
      this.openedMs = this.opts.clock();
      this.transition('open');
    }
  }

  private transition(to: BreakerState): void {
    const from = this.current;
    if (from === to) return;
    this.current = to;
    this.successes = 0;
    this.opts.onChange?.(from, to);
  }
}
