import type { AlertingParts } from './alerting-snapshot.js';
import type { DeliveryStatus } from './types.js';

/**
 * Alert delivery health, read from the same counters for the report's `alerting` section and for
 * the `vigil_alerting_*` self-metrics (alerting-metrics.ts).
 */

export interface IntegrationHealth {
  integration: 'alertmanager' | 'webhook';
  /** `alertmanager`, or the webhook's name. */
  receiver: string;
  status: DeliveryStatus;
  lastSuccessMs: number | null;
  queueLength: number;
}

/** The report's `alerting` section. */
export interface AlertCounts {
  firing: number;
  acknowledged: number;
  escalated: number;
  resolved_by_hand: number;
}

export function alertingStatus(p: AlertingParts, alerts: AlertCounts): Record<string, unknown> {
  const am = p.alertmanager;
  return {
    alertmanager:
      am === undefined
        ? { state: 'disabled' }
        : { ...am.status(), silences: p.silences.status(p.acks.values()) },
    webhooks: p.webhooks.map((w) => w.status()),
    alerts,
  };
}

export function integrationHealth(p: AlertingParts): IntegrationHealth[] {
  const out: IntegrationHealth[] = [];
  const am = p.alertmanager;
  if (am !== undefined)
    out.push({
      integration: 'alertmanager',
      receiver: 'alertmanager',
      status: am.health.status(),
      lastSuccessMs: am.health.lastSuccessMs,
      queueLength: am.queueLength,
    });
  for (const w of p.webhooks)
    out.push({
      integration: 'webhook',
      receiver: w.name,
      status: w.health.status(),
      lastSuccessMs: w.health.lastSuccessMs,
      queueLength: 0,
    });
  return out;
}
