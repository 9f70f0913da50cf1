import type { Logger } from 'pino';
import type { ActiveAlert } from '../rules/rule-engine.js';
import { AckBook } from './acks.js';
import { webhookName, type AlertingConfig } from './alerting-config.js';
import { AlertmanagerClient } from './alertmanager-client.js';
import { AlertmanagerNotifier, type AlertmanagerNotifierOptions } from './alertmanager-notifier.js';
import { notifiableAlert } from './alert-view.js';
import { Escalations } from './escalation.js';
import { ManualResolutions } from './manual-resolutions.js';
import { SilenceSync } from './silences.js';
import { restoreAlerting, snapshotAlerting, type AlertingParts } from './alerting-snapshot.js';
import { alertingStatus, integrationHealth, type IntegrationHealth } from './alerting-status.js';
import type { Acknowledgement, NotifiableAlert } from './types.js';
import { WebhookNotifier } from './webhook-notifier.js';

/**
 * The alerting pipeline (SPEC §8), fed after every rule evaluation: acknowledgements, manual
 * resolutions and escalations are applied to the rule engine's alerts, and the result goes to
 * Alertmanager and the webhooks. Also the operations behind the alerts API, the `alerting`
 * section of the report, and the `alerting` part of the state snapshot.
 */

export interface AlertingOptions {
  config: AlertingConfig;
  evaluationIntervalMs: number;
  clock: () => number;
  log: Logger;
  /** vigil's base URL when `external_url` is not set (known once the api listener is bound). */
  defaultExternalUrl: () => string;
  /** Called after an ack or a manual resolution, so it reaches the state snapshot at once. */
  onStateChange?: () => void;
  /** Retry wake-ups for Alertmanager (tests driving the clock by hand pass one that never fires). */
  setTimer?: AlertmanagerNotifierOptions['setTimer'];
}

export type OperationResult =
  { ok: true; alert: NotifiableAlert } | { ok: false; status: 404 | 409; error: string };

export const REPORT_PATH = '/api/v2/diagnostics/reliability';

export class Alerting {
  private config: AlertingConfig;
  private readonly acks = new AckBook();
  private readonly closures = new ManualResolutions();
  private readonly escalations = new Escalations();
  private readonly silences: SilenceSync;
  private alertmanager: AlertmanagerNotifier | undefined;
  private webhooks: WebhookNotifier[] = [];
  private ruleAlerts: readonly ActiveAlert[] = [];
  private labelCache = new Map<string, Readonly<Record<string, string>>>();

  constructor(private readonly opts: AlertingOptions) {
    this.config = opts.config;
    this.silences = new SilenceSync(undefined, {
      clock: opts.clock,
      log: opts.log,
      isCurrent: (ack) => this.acks.get(ack.fingerprint) === ack,
      onChange: () => this.changed(),
    });
    this.configure(opts.config, opts.evaluationIntervalMs);
  }

  /**
   * (Re)load the `alerting` config. Acks, closures and escalations are kept; a webhook whose
   * name, URL and format are unchanged keeps its notification log (no repeat of what it sent);
   * a changed Alertmanager starts afresh, so the new one receives every current alert.
   */
  configure(config: AlertingConfig, evaluationIntervalMs: number): void {
    const prev = this.config;
    this.config = config;
    this.labelCache.clear();
    const amChanged = JSON.stringify(prev.alertmanager) !== JSON.stringify(config.alertmanager);
    if (this.alertmanager === undefined || amChanged) {
      this.alertmanager?.stop();
      const am = config.alertmanager;
      const client =
        am === undefined ? undefined : new AlertmanagerClient(am.url, am.timeout, this.opts.clock);
      this.alertmanager =
        am === undefined || client === undefined
          ? undefined
          : new AlertmanagerNotifier({
              client,
              clock: this.opts.clock,
              log: this.opts.log,
              resendIntervalMs: am.resend_interval,
              evaluationIntervalMs,
              queueCapacity: am.queue_capacity,
              ...(this.opts.setTimer !== undefined ? { setTimer: this.opts.setTimer } : {}),
            });
      this.silences.setClient(client);
    }
    const old = new Map(this.webhooks.map((w) => [w.name, w]));
    this.webhooks = config.webhooks.map((cfg, i) => {
      const name = webhookName(cfg, i);
      const w = new WebhookNotifier({
        name,
        config: cfg,
        clock: this.opts.clock,
        log: this.opts.log,
        externalUrl: () => this.externalUrl(),
      });
      const before = old.get(name);
      if (before !== undefined && before.config.url === cfg.url && before.config.format === cfg.format)
        w.restore(before.toJSON());
      return w;
    });
  }

  externalUrl(): string {
    return (this.config.external_url ?? this.opts.defaultExternalUrl()).replace(/\/+$/, '');
  }

  /** After every rule evaluation: update acks, closures and escalations, then notify. */
  onEvaluation(alerts: readonly ActiveAlert[], nowMs: number): void {
    this.ruleAlerts = alerts;
    const byFp = new Map(alerts.map((a) => [a.fingerprint, a]));
    this.closures.prune((fp, at) => byFp.get(fp)?.activeAt === at);
    const ended = this.acks.prune((fp, at) => {
      const a = byFp.get(fp);
      return (
        a !== undefined &&
        a.activeAt === at &&
        a.state !== 'inactive' &&
        this.closures.get(fp, at) === undefined
      );
    }, nowMs);
    for (const ack of ended) this.endSilence(ack, nowMs);
    if (ended.length > 0) this.changed();
    const escalated = this.escalations.update(
      alerts.map((a) => ({
        fingerprint: a.fingerprint,
        activeAtMs: a.activeAt,
        firedAtMs: a.firedAt,
        ruleSeverity: a.rule.severity,
        firing: a.state === 'firing' && this.closures.get(a.fingerprint, a.activeAt) === undefined,
        acknowledged: this.acks.active(a.fingerprint, a.activeAt, nowMs) !== undefined,
      })),
      this.config.escalate_after,
      nowMs,
    );
    for (const fp of escalated)
      this.opts.log.warn(
        { fingerprint: fp, rule: byFp.get(fp)?.rule.name },
        'unacknowledged warning escalated to critical',
      );
    this.dispatch(nowMs);
  }

  private dispatch(nowMs: number): void {
    // The default config notifies nowhere: building views would be work for nobody.
    if (this.alertmanager !== undefined || this.webhooks.length > 0) {
      const views = this.list(nowMs);
      this.alertmanager?.notify(views, nowMs);
      for (const w of this.webhooks) w.notify(views);
    }
    void this.silences.flush(this.acks.values());
  }

  /** An ack ending before its silence does: expire the silence (the ack's own end is the silence's). */
  private endSilence(ack: Acknowledgement, nowMs: number): void {
    if (ack.silence?.id != null && ack.expiresAtMs > nowMs) this.silences.expire(ack.silence.id);
  }

  /** Every alert the rule engine holds (pending, firing, resolved within 15 min), as notifications see it. */
  list(nowMs = this.opts.clock()): NotifiableAlert[] {
    const generatorUrl = this.externalUrl() + REPORT_PATH;
    // A label set only changes with escalation or a reload: reuse it (kept for present alerts only).
    const labels = new Map<string, Readonly<Record<string, string>>>();
    const views = this.ruleAlerts.map((a) => {
      const escalated = this.escalations.has(a.fingerprint, a.activeAt);
      const key = `${a.fingerprint}${escalated ? '!' : ''}`;
      const view = notifiableAlert(a, {
        externalLabels: this.config.external_labels,
        generatorUrl,
        ack: this.acks.active(a.fingerprint, a.activeAt, nowMs),
        manual: this.closures.get(a.fingerprint, a.activeAt),
        escalated,
        labels: this.labelCache.get(key),
      });
      labels.set(key, view.labels);
      return view;
    });
    this.labelCache = labels;
    return views;
  }

  get(fingerprint: string): NotifiableAlert | undefined {
    return this.list().find((a) => a.fingerprint === fingerprint);
  }

  /**
   * Acknowledge an open alert: stops webhook repeats and escalation; with Alertmanager, a silence
   * on the alert's labels until the ack ends (created before this resolves if Alertmanager
   * answers, else retried). A second ack replaces the first.
   */
  async ack(
    fingerprint: string,
    req: { by: string; comment: string; durationMs?: number },
  ): Promise<OperationResult> {
    const now = this.opts.clock();
    const open = this.openAlert(fingerprint, now);
    if (!open.ok) return open;
    const alert = open.alert;
    const ack: Acknowledgement = {
      fingerprint,
      activeAtMs: alert.activeAtMs,
      by: req.by,
      comment: req.comment,
      atMs: now,
      expiresAtMs: now + (req.durationMs ?? this.config.ack_default_duration),
      silence: this.silences.enabled
        ? { id: null, matchers: { ...alert.labels }, lastError: null }
        : undefined,
    };
    const prev = this.acks.set(ack);
    if (prev !== undefined) this.endSilence(prev, now);
    this.opts.log.info(
      { fingerprint, rule: alert.rule, by: req.by, until: new Date(ack.expiresAtMs).toISOString() },
      'alert acknowledged',
    );
    this.changed();
    await this.silences.create(ack);
    return { ok: true, alert: this.get(fingerprint) ?? alert };
  }

  /** Withdraw an acknowledgement (and expire its silence). */
  unack(fingerprint: string): OperationResult {
    const now = this.opts.clock();
    const alert = this.list(now).find((a) => a.fingerprint === fingerprint);
    if (alert === undefined)
      return { ok: false, status: 404, error: `no alert with fingerprint ${fingerprint}` };
    if (alert.ack === undefined) return { ok: false, status: 409, error: 'alert is not acknowledged' };
    const ack = this.acks.delete(fingerprint);
    if (ack !== undefined) this.endSilence(ack, now);
    this.opts.log.info({ fingerprint, rule: alert.rule }, 'acknowledgement withdrawn');
    this.changed();
    return { ok: true, alert: this.get(fingerprint) ?? alert };
  }

  /** Close an open alert by hand until its rule fires anew; the resolution is sent at once. */
  resolve(fingerprint: string, req: { by: string; comment: string }): OperationResult {
    const now = this.opts.clock();
    const open = this.openAlert(fingerprint, now);
    if (!open.ok) return open;
    this.closures.close({
      fingerprint,
      activeAtMs: open.alert.activeAtMs,
      by: req.by,
      comment: req.comment,
      atMs: now,
    });
    const ack = this.acks.delete(fingerprint);
    if (ack !== undefined) this.endSilence(ack, now);
    this.opts.log.info({ fingerprint, rule: open.alert.rule, by: req.by }, 'alert resolved by hand');
    this.changed();
    this.dispatch(now);
    return { ok: true, alert: this.get(fingerprint) ?? open.alert };
  }

  private openAlert(fingerprint: string, nowMs: number): OperationResult {
    const alert = this.list(nowMs).find((a) => a.fingerprint === fingerprint);
    if (alert === undefined)
      return { ok: false, status: 404, error: `no alert with fingerprint ${fingerprint}` };
    if (alert.status === 'resolved')
      return {
        ok: false,
        status: 409,
        error: alert.manual !== undefined ? 'alert was already resolved by hand' : 'alert is resolved',
      };
    return { ok: true, alert };
  }

  private changed(): void {
    try {
      this.opts.onStateChange?.();
    } catch (err) {
      this.opts.log.error({ err }, 'cannot save alerting state');
    }
  }

  /** Last attempt at delivering what is queued (shutdown): ignores backoff, bounded by `timeoutMs`. */
  async flush(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((r) => {
      timer = setTimeout(r, timeoutMs);
    });
    const work = Promise.all([
      this.alertmanager?.flush(true),
      ...this.webhooks.map((w) => w.flush(true)),
      this.silences.flush(this.acks.values(), true),
    ]).then(() => undefined);
    await Promise.race([work, deadline]);
    clearTimeout(timer);
  }

  /** Resolves when no delivery is in flight (tests await deliveries with it). */
  async idle(): Promise<void> {
    await Promise.all([
      this.alertmanager?.idle(),
      ...this.webhooks.map((w) => w.idle()),
      this.silences.idle(),
    ]);
  }

  stop(): void {
    this.alertmanager?.stop();
  }

  /** The report's `alerting` section: delivery health per integration and what is acknowledged. */
  status(): Record<string, unknown> {
    const now = this.opts.clock();
    const counts = { firing: 0, acknowledged: 0, escalated: 0, resolved_by_hand: 0 };
    // Counted from the books, not from full views: this runs on every report request.
    for (const a of this.ruleAlerts) {
      const manual = this.closures.get(a.fingerprint, a.activeAt) !== undefined;
      if (manual) counts.resolved_by_hand++;
      if (manual || a.state === 'inactive') continue;
      if (this.acks.active(a.fingerprint, a.activeAt, now) !== undefined) counts.acknowledged++;
      if (a.state !== 'firing') continue;
      counts.firing++;
      if (this.escalations.has(a.fingerprint, a.activeAt)) counts.escalated++;
    }
    return alertingStatus(this.parts(), counts);
  }

  /** Per integration, for self-metrics. */
  integrations(): IntegrationHealth[] {
    return integrationHealth(this.parts());
  }

  /** The `alerting` part of the state snapshot (SPEC §9: acknowledgements survive restarts). */
  snapshot(): Record<string, unknown> {
    return snapshotAlerting(this.parts());
  }

  /** Restore a snapshot; malformed entries are skipped. Returns what was restored. */
  restore(json: unknown): { acks: number; closures: number; escalations: number } {
    const n = restoreAlerting(json, this.parts());
    this.opts.log.info(n, 'alerting state restored');
    return n;
  }

  private parts(): AlertingParts {
    return {
      acks: this.acks,
      closures: this.closures,
      escalations: this.escalations,
      silences: this.silences,
      alertmanager: this.alertmanager,
      webhooks: this.webhooks,
    };
  }
}
