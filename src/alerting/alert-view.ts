import { labelName } from '../export/prometheus-naming.js';
import { renderTemplate } from '../report/reliability-report.js';
import type { ActiveAlert } from '../rules/rule-engine.js';
import type { Acknowledgement, ManualResolution, NotifiableAlert, Severity } from './types.js';

/**
 * A rule-engine alert as notifications see it, pure. Labels are built as Prometheus builds an
 * alert's labels — the group's labels, then the rule's `labels` over them, then `alertname` and
 * `severity`, then `external_labels` where not already set — with names translated as on
 * `/metrics` (`service.name` → `service_name`), because Alertmanager refuses any other label name.
 * Empty values are left out (an empty label is an absent label to Prometheus and Alertmanager).
 */

export interface ViewContext {
  externalLabels: Readonly<Record<string, string>>;
  /** Where `generatorURL` points: the reliability report. */
  generatorUrl: string;
  ack: Acknowledgement | undefined;
  manual: ManualResolution | undefined;
  escalated: boolean;
  /** The alert's label set from an earlier view of it, if still valid. */
  labels?: Readonly<Record<string, string>> | undefined;
}

export function formatValue(value: number): string {
  return Number.isFinite(value) ? renderTemplate('{{value}}', value) : String(value);
}

export function alertLabels(a: ActiveAlert, severity: Severity, external: Readonly<Record<string, string>>) {
  const labels: Record<string, string> = {};
  const put = (k: string, v: string): void => {
    const name = labelName(k);
    if (name !== '' && v !== '') labels[name] = v;
  };
  for (let i = 0; i + 1 < a.labels.length; i += 2) put(a.labels[i]!, a.labels[i + 1]!);
  for (const [k, v] of Object.entries(a.rule.config.labels)) put(k, v);
  labels['alertname'] = a.rule.name;
  labels['severity'] = severity;
  for (const [k, v] of Object.entries(external)) if (!(k in labels) && v !== '') labels[k] = v;
  return labels;
}

export function notifiableAlert(a: ActiveAlert, ctx: ViewContext): NotifiableAlert {
  const ruleSeverity = a.rule.severity;
  const escalated = ctx.escalated && ruleSeverity === 'warning';
  const severity: Severity = escalated ? 'critical' : ruleSeverity;
  const cfg = a.rule.config;
  const annotations: Record<string, string> = {
    summary: renderTemplate(cfg.summary || cfg.description || `${a.rule.name}: ${cfg.expr}`, a.value),
  };
  if (cfg.description !== '') annotations['description'] = renderTemplate(cfg.description, a.value);
  if (cfg.recommendation !== '') annotations['recommendation'] = renderTemplate(cfg.recommendation, a.value);
  annotations['value'] = formatValue(a.value);
  if (escalated) annotations['escalated_from'] = ruleSeverity;
  const manual = ctx.manual;
  const status = manual !== undefined || a.state === 'inactive' ? 'resolved' : a.state;
  return {
    fingerprint: a.fingerprint,
    rule: a.rule.name,
    status,
    severity,
    ruleSeverity,
    escalated,
    labels: ctx.labels ?? alertLabels(a, severity, ctx.externalLabels),
    annotations,
    activeAtMs: a.activeAt,
    firedAtMs: a.firedAt,
    resolvedAtMs: manual !== undefined ? manual.atMs : a.resolvedAt,
    value: a.value,
    generatorUrl: ctx.generatorUrl,
    ack: status === 'resolved' ? undefined : ctx.ack,
    manual,
  };
}
