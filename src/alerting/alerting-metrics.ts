import type { Meter } from '@opentelemetry/api';
import type { Alerting } from './alerting.js';

/**
 * Alert delivery health as vigil self-metrics (`vigil_alerting_*` on `/metrics` and OTLP),
 * observed at collection time from the same counters the report shows — modelled on Prometheus's
 * `prometheus_notifications_*` and Alertmanager's `alertmanager_notifications_*`. Every series
 * is labelled `integration` (alertmanager | webhook) and `receiver` (the webhook's name).
 */
export function registerAlertingMetrics(meter: Meter, alerting: () => Alerting): void {
  meter
    .createObservableCounter('vigil.alerting.requests', {
      unit: '{request}',
      description: 'Delivery requests to Alertmanager and webhooks, by outcome (success, failure).',
    })
    .addCallback((obs) => {
      for (const i of alerting().integrations()) {
        const base = { integration: i.integration, receiver: i.receiver };
        obs.observe(i.status.requests_succeeded, { ...base, outcome: 'success' });
        obs.observe(i.status.requests_failed, { ...base, outcome: 'failure' });
      }
    });
  meter
    .createObservableCounter('vigil.alerting.alerts.sent', {
      unit: '{alert}',
      description: 'Alerts delivered (each resend counts).',
    })
    .addCallback((obs) => {
      for (const i of alerting().integrations())
        obs.observe(i.status.alerts_sent, { integration: i.integration, receiver: i.receiver });
    });
  meter
    .createObservableCounter('vigil.alerting.alerts.dropped', {
      unit: '{alert}',
      description: 'Alerts given up on: queue overflow or refused by the receiver (4xx).',
    })
    .addCallback((obs) => {
      for (const i of alerting().integrations())
        obs.observe(i.status.alerts_dropped, { integration: i.integration, receiver: i.receiver });
    });
  meter
    .createObservableGauge('vigil.alerting.consecutive_failures', {
      unit: '{request}',
      description: 'Failed delivery requests since the last success; 0 when delivering.',
    })
    .addCallback((obs) => {
      for (const i of alerting().integrations())
        obs.observe(i.status.consecutive_failures, { integration: i.integration, receiver: i.receiver });
    });
  meter
    .createObservableGauge('vigil.alerting.last_success.timestamp', {
      unit: 's',
      description: 'When a delivery last succeeded, in seconds since the epoch; 0 if never.',
    })
    .addCallback((obs) => {
      for (const i of alerting().integrations())
        obs.observe((i.lastSuccessMs ?? 0) / 1000, { integration: i.integration, receiver: i.receiver });
    });
  meter
    .createObservableGauge('vigil.alerting.queue.length', {
      unit: '{alert}',
      description: 'Alerts waiting to be sent to Alertmanager.',
    })
    .addCallback((obs) => {
      for (const i of alerting().integrations())
        if (i.integration === 'alertmanager')
          obs.observe(i.queueLength, { integration: i.integration, receiver: i.receiver });
    });
  meter
    .createObservableGauge('vigil.alerting.alerts', {
      unit: '{alert}',
      description: 'Open alerts by handling: acknowledged, escalated, resolved_by_hand.',
    })
    .addCallback((obs) => {
      const counts = alerting().status()['alerts'] as Record<string, number>;
      for (const kind of ['acknowledged', 'escalated', 'resolved_by_hand'])
        obs.observe(counts[kind] ?? 0, { kind });
    });
}
