/**
 * Retry delays: exponential from `initialMs`, capped at `maxMs`, with up to `jitter` of the delay
 * taken off at random so many sidecars that lost the same Alertmanager do not retry in step.
 */

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Default 2. */
  multiplier?: number;
  /** Fraction (0..1) of the delay that may be removed at random; default 0.2. */
  jitter?: number;
}

/** The delay before retry number `failures` (1 = after the first failure). */
export function backoffDelayMs(
  failures: number,
  opts: BackoffOptions,
  random: () => number = Math.random,
): number {
  const multiplier = opts.multiplier ?? 2;
  const jitter = opts.jitter ?? 0.2;
  const raw = opts.initialMs * multiplier ** Math.max(0, failures - 1);
  const capped = Math.min(opts.maxMs, raw);
  return Math.max(0, Math.round(capped * (1 - jitter * random())));
}

/**
 * `Retry-After` as seconds or an HTTP date, in ms from now; undefined when absent or unreadable.
 * Alertmanager never sends it, but webhook receivers (Slack) do when they rate-limit.
 */
export function retryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}
