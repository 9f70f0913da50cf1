import type { Logger } from 'pino';
import type { AlertmanagerClient } from './alertmanager-client.js';
import { backoffDelayMs, type BackoffOptions } from './backoff.js';
import { DeliveryHealth } from './delivery-health.js';
import { DeliveryError } from './http-delivery.js';
import type { DeliveryStatus, NotifiableAlert, PostableAlert } from './types.js';
import { pairsKey } from '../store/canonical-key.js';

/**
 * Sends alerts to Alertmanager the way Prometheus does (rules/alerting.go needsSending, rules/
 * manager.go SendAlerts, notifier/notifier.go), after every evaluation:
 *
 *   - pending alerts are never sent;
 *   - a firing alert is sent when it starts firing and re-sent once `resendIntervalMs` has passed
 *     since the last send (strictly, as Prometheus's `LastSentAt.Add(resendDelay).Before(ts)`), with
 *     startsAt = when it fired and endsAt = now + 4 × max(evaluation interval, resend interval), so
 *     Alertmanager resolves it by itself if vigil goes away;
 *   - a resolved alert (by its rule or by hand) is sent at once with endsAt = the resolve time and
 *     re-sent every resend interval for `resolvedResendMs` (5 min; Prometheus keeps re-sending for
 *     its 15 min retention, vigil's contract says 5), so a lost resolve is repaired;
 *   - when an alert's label set changes while firing (escalation to critical, a reload changing
 *     external labels), Alertmanager sees a new alert: the old label set is sent resolved.
 *
 * Delivery: one queue keyed by label set (a newer state of an alert replaces an unsent older one),
 * bounded by `queueCapacity` (oldest dropped and counted, as Prometheus's queue), sent in batches
 * of `maxBatchSize` (64, Prometheus's). Prometheus drops a batch that fails; vigil keeps it and
 * retries with exponential backoff capped at the resend interval (waiting longer would only delay
 * state that the next resend carries anyway), so a resolve sent while Alertmanager is down still
 * arrives when it is back.
 */

export interface AlertmanagerNotifierOptions {
  client: AlertmanagerClient;
  clock: () => number;
  log: Logger;
  resendIntervalMs: number;
  evaluationIntervalMs: number;
  queueCapacity: number;
  /** Alerts per request; default 64. */
  maxBatchSize?: number;
  /** How long resolved alerts are re-sent; default 5 min. */
  resolvedResendMs?: number;
  /** Default: 1 s doubling, capped at min(30 s, resend interval). */
  backoff?: BackoffOptions;
  /** Wake-up timer for retries (tests driving the clock by hand pass one that never fires). */
  setTimer?: (fn: () => void, ms: number) => { clear(): void };
}

interface SendState {
  activeAtMs: number;
  lastSentMs: number;
  /** The resolve time carried by the last send; undefined while sent as firing. */
  sentResolvedAtMs: number | undefined;
  labelsKey: string;
  last: PostableAlert;
}

const DEFAULT_BATCH = 64;
const RESOLVED_RESEND_MS = 5 * 60_000;

export function defaultTimer(fn: () => void, ms: number): { clear(): void } {
  const t = setTimeout(fn, ms);
  t.unref();
  return { clear: () => clearTimeout(t) };
}

/** Stable identity of a label set (sorted name=value pairs). */
export function labelSetKey(labels: Readonly<Record<string, string>>): string {
  return pairsKey(
    Object.keys(labels)
      .sort()
      .flatMap((k) => [k, labels[k]!]),
  );
}

export class AlertmanagerNotifier {
  readonly health: DeliveryHealth;
  private readonly sent = new Map<string, SendState>();
  private readonly queue = new Map<string, PostableAlert>();
  private readonly maxBatch: number;
  private readonly resolvedResendMs: number;
  private readonly backoff: BackoffOptions;
  private readonly setTimer: NonNullable<AlertmanagerNotifierOptions['setTimer']>;
  private nextAttemptMs = 0;
  private timer: { clear(): void } | undefined;
  private inflight: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly opts: AlertmanagerNotifierOptions) {
    this.health = new DeliveryHealth(opts.clock);
    this.maxBatch = opts.maxBatchSize ?? DEFAULT_BATCH;
    this.resolvedResendMs = opts.resolvedResendMs ?? RESOLVED_RESEND_MS;
    const maxMs = Math.min(30_000, opts.resendIntervalMs);
    this.backoff = opts.backoff ?? { initialMs: Math.min(1000, maxMs), maxMs };
    this.setTimer = opts.setTimer ?? defaultTimer;
  }

  get queueLength(): number {
    return this.queue.size;
  }

  /** Decide what this evaluation sends (see the class comment) and start sending it. */
  notify(alerts: readonly NotifiableAlert[], nowMs: number): void {
    const seen = new Set<string>();
    const validForMs = 4 * Math.max(this.opts.evaluationIntervalMs, this.opts.resendIntervalMs);
    for (const a of alerts) {
      if (a.status === 'pending' || a.firedAtMs === undefined) continue;
      seen.add(a.fingerprint);
      let st = this.sent.get(a.fingerprint);
      // Another instance of the same fingerprint (it resolved and fired anew): start afresh.
      if (st !== undefined && st.activeAtMs !== a.activeAtMs) st = undefined;
      const key = labelSetKey(a.labels);
      if (st !== undefined && st.labelsKey !== key) {
        if (st.sentResolvedAtMs === undefined)
          this.enqueue({ ...st.last, endsAt: iso(Math.max(nowMs, a.firedAtMs)) });
        st = undefined;
      }
      if (a.status === 'resolved' && nowMs - a.resolvedAtMs! > this.resolvedResendMs) continue;
      if (!this.needsSending(a, st, nowMs)) continue;
      const endsAtMs = a.status === 'resolved' ? a.resolvedAtMs! : nowMs + validForMs;
      const postable: PostableAlert = {
        labels: { ...a.labels },
        annotations: { ...a.annotations },
        startsAt: iso(a.firedAtMs),
        // Alertmanager refuses endsAt before startsAt (HTTP 400).
        endsAt: iso(Math.max(endsAtMs, a.firedAtMs)),
        generatorURL: a.generatorUrl,
      };
      this.enqueue(postable);
      this.sent.set(a.fingerprint, {
        activeAtMs: a.activeAtMs,
        lastSentMs: nowMs,
        sentResolvedAtMs: a.status === 'resolved' ? a.resolvedAtMs : undefined,
        labelsKey: key,
        last: postable,
      });
    }
    for (const fp of this.sent.keys()) if (!seen.has(fp)) this.sent.delete(fp);
    if (this.queue.size > 0) void this.flush();
  }

  private needsSending(a: NotifiableAlert, st: SendState | undefined, nowMs: number): boolean {
    if (st === undefined) return true;
    if (a.status === 'resolved' && st.sentResolvedAtMs !== a.resolvedAtMs) return true;
    if (a.status === 'firing' && st.sentResolvedAtMs !== undefined) return true;
    return st.lastSentMs + this.opts.resendIntervalMs < nowMs;
  }

  private enqueue(alert: PostableAlert): void {
    const key = labelSetKey(alert.labels);
    this.queue.delete(key); // re-inserted at the end: the newest state of an alert goes last
    this.queue.set(key, alert);
    let overflow = this.queue.size - this.opts.queueCapacity;
    if (overflow <= 0) return;
    const dropped = overflow;
    for (const k of this.queue.keys()) {
      if (overflow-- <= 0) break;
      this.queue.delete(k);
    }
    this.health.drop(dropped);
    this.opts.log.warn(
      { dropped, capacity: this.opts.queueCapacity },
      'alertmanager queue full: oldest alerts dropped',
    );
  }

  /**
   * Send what is queued, batch by batch, unless a retry is not due yet. `force` ignores the
   * backoff once (shutdown makes a last attempt). Never rejects.
   */
  flush(force = false): Promise<void> {
    if (this.inflight !== undefined) return this.inflight;
    if (this.queue.size === 0) return Promise.resolve();
    const now = this.opts.clock();
    if (!force && now < this.nextAttemptMs) {
      this.schedule(this.nextAttemptMs - now);
      return Promise.resolve();
    }
    this.inflight = this.drain().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async drain(): Promise<void> {
    while (this.queue.size > 0) {
      const batch: Array<[string, PostableAlert]> = [];
      for (const entry of this.queue) {
        batch.push(entry);
        if (batch.length >= this.maxBatch) break;
      }
      for (const [k] of batch) this.queue.delete(k);
      try {
        await this.opts.client.postAlerts(batch.map(([, a]) => a));
        if (this.health.consecutiveFailures > 0)
          this.opts.log.info(
            { alertmanager: this.opts.client.display, after: this.health.consecutiveFailures },
            'alertmanager reachable again',
          );
        this.health.success(batch.length);
        this.nextAttemptMs = 0;
      } catch (err) {
        const e = err instanceof DeliveryError ? err : new DeliveryError(String(err), true, undefined);
        if (!e.retryable) {
          // Alertmanager validated and refused them; the same request would fail again.
          this.health.failure(e.message, false, batch.length);
          this.opts.log.error(
            { alertmanager: this.opts.client.display, err: e.message, alerts: batch.length },
            'alertmanager refused alerts; dropped',
          );
          continue;
        }
        // Put them back unless a newer state of the same alert was queued meanwhile.
        for (const [k, a] of batch) if (!this.queue.has(k)) this.queue.set(k, a);
        this.health.failure(e.message, true);
        const delay = Math.max(
          e.retryAfterMs ?? 0,
          backoffDelayMs(this.health.consecutiveFailures, this.backoff),
        );
        this.nextAttemptMs = this.opts.clock() + delay;
        // A long outage must not flood the log: the first failure and every tenth.
        const level =
          this.health.consecutiveFailures === 1 || this.health.consecutiveFailures % 10 === 0
            ? 'warn'
            : 'debug';
        this.opts.log[level](
          {
            alertmanager: this.opts.client.display,
            err: e.message,
            queued: this.queue.size,
            retryInMs: delay,
            failures: this.health.consecutiveFailures,
          },
          'cannot send alerts to alertmanager; will retry',
        );
        this.schedule(delay);
        return;
      }
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.timer !== undefined) return;
    this.timer = this.setTimer(() => {
      this.timer = undefined;
      void this.flush();
    }, delayMs);
  }

  status(): DeliveryStatus & { url: string; queue_length: number } {
    return { ...this.health.status(), url: this.opts.client.display, queue_length: this.queue.size };
  }

  /** Resolves when nothing is in flight. */
  idle(): Promise<void> {
    return this.inflight ?? Promise.resolve();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.clear();
    this.timer = undefined;
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
