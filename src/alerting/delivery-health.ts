import type { DeliveryStatus } from './types.js';

/**
 * What one integration (an Alertmanager, a webhook) has delivered and how it failed, kept as
 * counters and times so the report and `/metrics` read the same numbers.
 */
export class DeliveryHealth {
  private lastSuccess: number | null = null;
  private lastFailureMs: number | null = null;
  private lastError: string | null = null;
  private consecutive = 0;
  private state: DeliveryStatus['state'] = 'ok';
  private okRequests = 0;
  private failedRequests = 0;
  private sent = 0;
  private dropped = 0;

  constructor(private readonly clock: () => number) {}

  success(alerts: number): void {
    this.lastSuccess = this.clock();
    this.consecutive = 0;
    this.state = 'ok';
    this.okRequests++;
    this.sent += alerts;
  }

  /** A failed request; `retrying` false means its alerts were given up on (and counted as dropped). */
  failure(error: string, retrying: boolean, droppedAlerts = 0): void {
    this.lastFailureMs = this.clock();
    this.lastError = error;
    this.consecutive++;
    this.failedRequests++;
    this.state = retrying ? 'retrying' : 'failed';
    this.dropped += droppedAlerts;
  }

  /** Alerts dropped without a request (queue overflow, retention over before delivery). */
  drop(alerts: number): void {
    this.dropped += alerts;
  }

  /** Epoch ms of the last delivery, null before the first. */
  get lastSuccessMs(): number | null {
    return this.lastSuccess;
  }

  get consecutiveFailures(): number {
    return this.consecutive;
  }

  status(): DeliveryStatus {
    const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
    return {
      state: this.state,
      last_success: iso(this.lastSuccess),
      last_failure: iso(this.lastFailureMs),
      last_error: this.lastError,
      consecutive_failures: this.consecutive,
      requests_succeeded: this.okRequests,
      requests_failed: this.failedRequests,
      alerts_sent: this.sent,
      alerts_dropped: this.dropped,
    };
  }
}
