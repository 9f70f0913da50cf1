import { z } from 'zod';
import { durationMs } from '../config/value-schemas.js';

/**
 * The `alerting` config key (SPEC §8). Kept beside the code that uses it and plugged into the one
 * config schema (src/config/schema.ts), so `check-config` reports its problems with
 * `file:line:col` like every other key. Durations come out in ms.
 */

const duration = (min: number, what: string) => durationMs(min, what);

const httpUrl = z.string().refine((v) => {
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}, 'must be an http:// or https:// URL');

/** Prometheus's label-name rule; Alertmanager 0.25 answers 400 to anything else. */
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export const SEVERITIES = ['info', 'warning', 'critical'] as const;

const alertmanagerSchema = z
  .object({
    /** Base URL (a path prefix is kept: `http://am:9093/alertmanager`); user:password becomes basic auth. */
    url: httpUrl,
    /** Firing alerts are re-sent this often (Prometheus's --rules.alert.resend-delay). */
    resend_interval: duration(100, 'resend_interval').default(60_000),
    /** Per request, as Prometheus's alertmanager_config timeout. */
    timeout: duration(100, 'timeout').default(10_000),
    /** Alerts waiting to be sent; the oldest are dropped beyond it (Prometheus's notification queue). */
    queue_capacity: z.number().int().min(1).default(10_000),
  })
  .strict();

const webhookSchema = z
  .object({
    /** Shown in the report and self-metrics instead of the URL (webhook URLs are often secrets). */
    name: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/, 'webhook names are letters, digits, _ . -')
      .optional(),
    url: httpUrl,
    format: z.enum(['json', 'slack']).default('json'),
    /** Alerts below this (effective) severity are not sent to this webhook. */
    min_severity: z.enum(SEVERITIES).default('warning'),
    /** A still-firing, unacknowledged alert is repeated this often (Alertmanager's repeat_interval). */
    repeat_interval: duration(1000, 'repeat_interval').default(4 * 3_600_000),
    timeout: duration(100, 'timeout').default(10_000),
  })
  .strict();

export const alertingSchema = z
  .object({
    alertmanager: alertmanagerSchema.optional(),
    webhooks: z.array(webhookSchema).default([]),
    /** Added to every alert that does not carry the label already (Prometheus's external_labels). */
    external_labels: z
      .record(z.string(), z.string())
      .default({})
      .superRefine((labels, ctx) => {
        for (const name of Object.keys(labels))
          if (!LABEL_NAME.test(name) || name.startsWith('__'))
            ctx.addIssue({
              code: 'custom',
              path: [name],
              message: 'label names are [a-zA-Z_][a-zA-Z0-9_]* and not __reserved',
            });
      }),
    /** Base of `generatorURL` and of webhook links; default http://<api host>:<port>. */
    external_url: httpUrl.optional(),
    /** A warning firing this long without an acknowledgement is sent as critical; unset: never. */
    escalate_after: duration(1000, 'escalate_after').optional(),
    /** How long an acknowledgement lasts when the request gives no `duration`. */
    ack_default_duration: duration(1000, 'ack_default_duration').default(24 * 3_600_000),
  })
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.webhooks.forEach((w, i) => {
      const name = webhookName(w, i);
      if (seen.has(name))
        ctx.addIssue({
          code: 'custom',
          path: ['webhooks', i, 'name'],
          message: `duplicate webhook name ${name}`,
        });
      seen.add(name);
    });
  });

export type AlertingConfig = z.output<typeof alertingSchema>;
export type AlertmanagerConfig = z.output<typeof alertmanagerSchema>;
export type WebhookConfig = z.output<typeof webhookSchema>;

/** The name a webhook is known by in the report, logs and metrics. */
export function webhookName(w: { name?: string | undefined }, index: number): string {
  return w.name ?? `webhook-${index}`;
}
