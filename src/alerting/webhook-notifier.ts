import type { Logger } from 'pino';
import type { WebhookConfig } from './alerting-config.js';
import { backoffDelayMs, type BackoffOptions } from './backoff.js';
import { DeliveryHealth } from './delivery-health.js';
import { DeliveryError, parseTarget, sendJson, type Target } from './http-delivery.js';
import { jsonMessage, slackMessage, type WebhookItem, type WebhookReason } from './webhook-format.js';
import { SEVERITY_RANK, type DeliveryStatus, type NotifiableAlert, type Severity } from './types.js';

/**
 * One webhook. After every evaluation it works out which alerts are due and sends them as ONE
 * message (so an incident that trips five rules is one message, not five):
 *
 *   - a firing alert at or above `min_severity` the webhook has not been told about (a new alert,
 *     or a new firing of the same fingerprint after it resolved) — reason `new`;
 *   - one whose severity changed since it was sent (escalation) — `escalated`;
 *   - one sent at least `repeat_interval` ago, still firing and not acknowledged — `repeat`
 *     (throttling is per fingerprint, as Alertmanager's nflog; an ack stops repeats);
 *   - a resolution (by the rule or by hand) of an alert whose firing this webhook was sent, once.
 *
 * What was sent is kept per fingerprint (the notification log, saved in the state snapshot so a
 * restart does not page again). A failed message changes nothing in the log, so the same
 * alerts are due again: retried at the next evaluation after an exponential backoff, honouring
 * `Retry-After`. A 4xx other than 408/429 is permanent: logged, counted as dropped, not retried.
 */

export interface WebhookLogEntry {
  activeAtMs: number;
  firingSentMs: number;
  severity: Severity;
  resolvedSent: boolean;
}

export interface WebhookNotifierOptions {
  name: string;
  config: WebhookConfig;
  clock: () => number;
  log: Logger;
  /** Base URL of vigil, for the message's links. */
  externalUrl: () => string;
  /** Default: 1 s doubling to 30 s. */
  backoff?: BackoffOptions;
}

export class WebhookNotifier {
  readonly name: string;
  readonly health: DeliveryHealth;
  private readonly target: Target;
  private readonly backoff: BackoffOptions;
  private readonly sentLog = new Map<string, WebhookLogEntry>();
  private latest: readonly NotifiableAlert[] = [];
  private nextAttemptMs = 0;
  private inflight: Promise<void> | undefined;

  constructor(private readonly opts: WebhookNotifierOptions) {
    this.name = opts.name;
    this.health = new DeliveryHealth(opts.clock);
    this.target = parseTarget(opts.config.url);
    this.backoff = opts.backoff ?? { initialMs: 1000, maxMs: 30_000 };
  }

  get config(): WebhookConfig {
    return this.opts.config;
  }

  /** After an evaluation: forget alerts that are gone, then send what is due. */
  notify(alerts: readonly NotifiableAlert[]): void {
    this.latest = alerts;
    const present = new Set(alerts.map((a) => a.fingerprint));
    for (const fp of this.sentLog.keys()) if (!present.has(fp)) this.sentLog.delete(fp);
    void this.flush();
  }

  /** The alerts the next message would carry. */
  due(alerts: readonly NotifiableAlert[], nowMs: number): WebhookItem[] {
    const cfg = this.opts.config;
    const items: WebhookItem[] = [];
    for (const a of alerts) {
      const prev = this.sentLog.get(a.fingerprint);
      const e = prev !== undefined && prev.activeAtMs === a.activeAtMs ? prev : undefined;
      let reason: WebhookReason | undefined;
      if (a.status === 'firing') {
        if (SEVERITY_RANK[a.severity] < SEVERITY_RANK[cfg.min_severity]) continue;
        if (e === undefined || e.resolvedSent || e.severity !== a.severity)
          reason = a.escalated ? 'escalated' : 'new';
        else if (a.ack === undefined && nowMs - e.firingSentMs >= cfg.repeat_interval) reason = 'repeat';
      } else if (a.status === 'resolved' && e !== undefined && !e.resolvedSent) {
        reason = 'resolved';
      }
      if (reason !== undefined) items.push({ alert: a, reason });
    }
    return items;
  }

  /** Send one message with whatever is due, unless one is in flight or a retry is not due yet. Never rejects. */
  flush(force = false): Promise<void> {
    if (this.inflight !== undefined) return this.inflight;
    const now = this.opts.clock();
    if (!force && now < this.nextAttemptMs) return Promise.resolve();
    const items = this.due(this.latest, now);
    if (items.length === 0) return Promise.resolve();
    this.inflight = this.send(items, now).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async send(items: WebhookItem[], startedMs: number): Promise<void> {
    const ctx = { receiver: this.name, externalUrl: this.opts.externalUrl() };
    const body = this.opts.config.format === 'slack' ? slackMessage(items, ctx) : jsonMessage(items, ctx);
    try {
      await sendJson(this.target.base, {
        body,
        timeoutMs: this.opts.config.timeout,
        headers: this.target.headers,
        clock: this.opts.clock,
      });
      if (this.health.consecutiveFailures > 0)
        this.opts.log.info(
          { webhook: this.name, after: this.health.consecutiveFailures },
          'webhook reachable again',
        );
      this.health.success(items.length);
      this.nextAttemptMs = 0;
      this.record(items, startedMs);
    } catch (err) {
      const e = err instanceof DeliveryError ? err : new DeliveryError(String(err), true, undefined);
      if (!e.retryable) {
        this.health.failure(e.message, false, items.length);
        this.record(items, startedMs);
        this.opts.log.error(
          { webhook: this.name, target: this.target.display, err: e.message, alerts: items.length },
          'webhook refused the message; dropped',
        );
        return;
      }
      this.health.failure(e.message, true);
      const delay = Math.max(
        e.retryAfterMs ?? 0,
        backoffDelayMs(this.health.consecutiveFailures, this.backoff),
      );
      this.nextAttemptMs = this.opts.clock() + delay;
      // A receiver down for hours must not flood the log: the first failure and every tenth.
      const n = this.health.consecutiveFailures;
      this.opts.log[n === 1 || n % 10 === 0 ? 'warn' : 'debug'](
        {
          webhook: this.name,
          target: this.target.display,
          err: e.message,
          alerts: items.length,
          retryInMs: delay,
          failures: n,
        },
        'cannot deliver webhook message; will retry',
      );
    }
  }

  private record(items: readonly WebhookItem[], sentMs: number): void {
    for (const { alert, reason } of items) {
      if (reason === 'resolved') {
        const e = this.sentLog.get(alert.fingerprint);
        if (e !== undefined) e.resolvedSent = true;
      } else {
        this.sentLog.set(alert.fingerprint, {
          activeAtMs: alert.activeAtMs,
          firingSentMs: sentMs,
          severity: alert.severity,
          resolvedSent: false,
        });
      }
    }
  }

  status(): DeliveryStatus & { name: string; target: string; format: string } {
    return {
      name: this.name,
      target: this.target.display,
      format: this.opts.config.format,
      ...this.health.status(),
    };
  }

  /** Resolves when nothing is in flight. */
  idle(): Promise<void> {
    return this.inflight ?? Promise.resolve();
  }

  toJSON(): Array<[string, WebhookLogEntry]> {
    return [...this.sentLog];
  }

  restore(entries: ReadonlyArray<[string, WebhookLogEntry]>): void {
    for (const [fp, e] of entries) this.sentLog.set(fp, { ...e });
  }
}
