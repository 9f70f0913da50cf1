/**
 * When to try a failed export again: the OpenTelemetry Collector's `retry_on_failure`
 * (exporterhelper: initial 5 s, ×1.5, at most 30 s, jitter ±50%, give up after 5 min), with the
 * server's `Retry-After` taking precedence over the computed backoff (OTLP/HTTP specification,
 * "Retryable Response Codes").
 */

export interface RetryPolicyOptions {
  initialIntervalMs: number;
  multiplier: number;
  maxIntervalMs: number;
  /** Jitter: the delay is drawn from [d·(1−f), d·(1+f)] (0 = none). */
  randomizationFactor: number;
  /** Give a batch up after retrying it this long; 0 = never. */
  maxElapsedMs: number;
  /** [0, 1) uniform; injected so tests are deterministic. */
  random?: () => number;
}

export class RetryPolicy {
  private readonly random: () => number;

  constructor(private readonly opts: RetryPolicyOptions) {
    if (!(opts.initialIntervalMs > 0)) throw new RangeError('initialIntervalMs must be positive');
    if (!(opts.multiplier >= 1)) throw new RangeError('multiplier must be at least 1');
    this.random = opts.random ?? Math.random;
  }

  /**
   * The delay before retry number `retry` (1 for the first retry), without jitter: initial ×
   * multiplier^(retry−1), capped at the maximum.
   */
  baseDelayMs(retry: number): number {
    const d = this.opts.initialIntervalMs * Math.pow(this.opts.multiplier, Math.max(0, retry - 1));
    return Math.min(d, this.opts.maxIntervalMs);
  }

  /** The jittered delay before retry number `retry`, or the server's Retry-After when it gave one. */
  delayMs(retry: number, retryAfterMs?: number): number {
    if (retryAfterMs !== undefined) return retryAfterMs;
    const base = this.baseDelayMs(retry);
    const f = this.opts.randomizationFactor;
    return base * (1 - f + 2 * f * this.random());
  }

  /** Whether a batch first tried at `firstAttemptMs` may still be retried at `retryAtMs`. */
  mayRetry(firstAttemptMs: number, retryAtMs: number): boolean {
    return this.opts.maxElapsedMs === 0 || retryAtMs - firstAttemptMs <= this.opts.maxElapsedMs;
  }
}

/**
 * `Retry-After` as delay-seconds or an HTTP-date (RFC 9110 §10.2.3), in ms from `nowMs`;
 * undefined when absent or unreadable. A date in the past means "now".
 */
export function parseRetryAfterMs(header: string | undefined, nowMs: number): number | undefined {
  if (header === undefined) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP-date names its month; Date.parse alone would read "-5" as the year -5.
  if (!/[a-z]{3}/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}
