import type { NotifiableAlert } from './types.js';

/**
 * Webhook message bodies, pure. `json` is Alertmanager's webhook payload (version 4), so
 * receivers written for Alertmanager read vigil's messages unchanged; each alert also carries
 * `reason`. `slack` is a Slack incoming-webhook message (also read by Mattermost and Rocket.Chat).
 */

/** Why an alert is in a message. */
export type WebhookReason = 'new' | 'repeat' | 'escalated' | 'resolved';

export interface WebhookItem {
  readonly alert: NotifiableAlert;
  readonly reason: WebhookReason;
}

export interface MessageContext {
  receiver: string;
  externalUrl: string;
}

/** Alertmanager writes this for "no end time" on firing alerts. */
const ZERO_TIME = '0001-01-01T00:00:00Z';
/** Slack shows at most 100 attachments; long messages are cut well before that. */
export const SLACK_MAX_ATTACHMENTS = 50;

const iso = (ms: number | undefined): string => (ms === undefined ? ZERO_TIME : new Date(ms).toISOString());

function common(maps: ReadonlyArray<Readonly<Record<string, string>>>): Record<string, string> {
  const out: Record<string, string> = {};
  const [first, ...rest] = maps;
  if (first === undefined) return out;
  for (const [k, v] of Object.entries(first)) if (rest.every((m) => m[k] === v)) out[k] = v;
  return out;
}

export function jsonMessage(items: readonly WebhookItem[], ctx: MessageContext): Record<string, unknown> {
  const firing = items.some((i) => i.alert.status === 'firing');
  return {
    version: '4',
    groupKey: `vigil:${ctx.receiver}`,
    truncatedAlerts: 0,
    status: firing ? 'firing' : 'resolved',
    receiver: ctx.receiver,
    groupLabels: {},
    commonLabels: common(items.map((i) => i.alert.labels)),
    commonAnnotations: common(items.map((i) => i.alert.annotations)),
    externalURL: ctx.externalUrl,
    alerts: items.map(({ alert, reason }) => ({
      status: alert.status === 'firing' ? 'firing' : 'resolved',
      labels: alert.labels,
      annotations: alert.annotations,
      startsAt: iso(alert.firedAtMs),
      endsAt: alert.status === 'resolved' ? iso(alert.resolvedAtMs) : ZERO_TIME,
      generatorURL: alert.generatorUrl,
      fingerprint: alert.fingerprint,
      reason,
    })),
  };
}

/** Slack's three control characters (https://api.slack.com/reference/surfaces/formatting#escaping). */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const COLOURS = { resolved: '#2eb886', critical: '#d50200', warning: '#daa038', info: '#439fe0' } as const;

export function slackMessage(items: readonly WebhookItem[], ctx: MessageContext): Record<string, unknown> {
  const firing = items.filter((i) => i.alert.status === 'firing');
  const resolved = items.length - firing.length;
  const counts = [
    firing.length > 0 ? `FIRING:${firing.length}` : '',
    resolved > 0 ? `RESOLVED:${resolved}` : '',
  ].filter((s) => s !== '');
  const rules = [...new Set(items.map((i) => i.alert.rule))].join(', ');
  const shown = items.slice(0, SLACK_MAX_ATTACHMENTS);
  const attachments: Array<Record<string, unknown>> = shown.map(({ alert, reason }) => {
    const tag = reason === 'resolved' ? 'RESOLVED' : reason === 'escalated' ? 'ESCALATED' : 'FIRING';
    const sev = alert.escalated ? `${alert.severity}, escalated from ${alert.ruleSeverity}` : alert.severity;
    const labels = Object.entries(alert.labels)
      .filter(([k]) => k !== 'alertname' && k !== 'severity')
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
    const lines = [alert.annotations['summary'] ?? ''];
    const rec = alert.annotations['recommendation'];
    if (rec !== undefined && alert.status === 'firing') lines.push(`_${rec}_`);
    return {
      color: alert.status === 'resolved' ? COLOURS.resolved : COLOURS[alert.severity],
      title: slackEscape(`[${tag}] ${alert.rule} (${sev})${reason === 'repeat' ? ' — still firing' : ''}`),
      title_link: alert.generatorUrl,
      text: slackEscape(lines.filter((l) => l !== '').join('\n')),
      fields: labels === '' ? [] : [{ title: 'Labels', value: slackEscape(labels), short: false }],
      footer: `vigil · ${alert.fingerprint}`,
      ts: Math.floor((alert.status === 'resolved' ? alert.resolvedAtMs! : (alert.firedAtMs ?? 0)) / 1000),
    };
  });
  if (items.length > shown.length)
    attachments.push({ color: '#999999', text: `…and ${items.length - shown.length} more alerts` });
  return {
    text: slackEscape(`[${counts.join(', ')}] ${ctx.receiver}: ${rules}`),
    attachments,
  };
}
