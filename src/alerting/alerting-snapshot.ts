import type { AckBook } from './acks.js';
import type { AlertmanagerNotifier } from './alertmanager-notifier.js';
import type { Escalations } from './escalation.js';
import type { ManualResolutions } from './manual-resolutions.js';
import type { SilenceSync } from './silences.js';
import type { WebhookLogEntry, WebhookNotifier } from './webhook-notifier.js';

/**
 * The `alerting` part of the state snapshot (SPEC §9) and its validation on the way back in:
 * acknowledgements (with silence IDs), manual resolutions, escalations, silences still to expire,
 * and each webhook's notification log by webhook name. Malformed entries are skipped one by one,
 * so a damaged snapshot loses what is damaged, not every ack.
 */

/** The pieces of the pipeline that hold state (and their delivery health). */
export interface AlertingParts {
  acks: AckBook;
  closures: ManualResolutions;
  escalations: Escalations;
  silences: SilenceSync;
  alertmanager: AlertmanagerNotifier | undefined;
  webhooks: readonly WebhookNotifier[];
}

export function snapshotAlerting(p: AlertingParts): Record<string, unknown> {
  const webhooks: Record<string, Array<[string, WebhookLogEntry]>> = {};
  for (const w of p.webhooks) webhooks[w.name] = w.toJSON();
  return {
    version: 1,
    acks: p.acks.toJSON(),
    closures: p.closures.toJSON(),
    escalations: p.escalations.toJSON(),
    silences_to_expire: p.silences.toJSON(),
    webhooks,
  };
}

export function restoreAlerting(
  json: unknown,
  p: AlertingParts,
): { acks: number; closures: number; escalations: number } {
  if (typeof json !== 'object' || json === null || (json as Record<string, unknown>)['version'] !== 1)
    return { acks: 0, closures: 0, escalations: 0 };
  const s = json as Record<string, unknown>;
  const acks = p.acks.restore(s['acks']);
  const closures = p.closures.restore(s['closures']);
  const escalations = p.escalations.restore(s['escalations']);
  p.silences.restore(s['silences_to_expire']);
  const hooks = s['webhooks'];
  if (typeof hooks === 'object' && hooks !== null) {
    for (const w of p.webhooks) {
      const entries = (hooks as Record<string, unknown>)[w.name];
      if (Array.isArray(entries)) w.restore(entries.filter(isLogEntry));
    }
  }
  return { acks, closures, escalations };
}

function isLogEntry(e: unknown): e is [string, WebhookLogEntry] {
  if (!Array.isArray(e) || typeof e[0] !== 'string' || typeof e[1] !== 'object' || e[1] === null)
    return false;
  const v = e[1] as Record<string, unknown>;
  return (
    typeof v['activeAtMs'] === 'number' &&
    typeof v['firingSentMs'] === 'number' &&
    typeof v['severity'] === 'string' &&
    typeof v['resolvedSent'] === 'boolean'
  );
}
