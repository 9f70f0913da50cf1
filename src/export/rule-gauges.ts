import type { Attributes, Meter } from '@opentelemetry/api';
import type { OverallStatus } from '../report/reliability-report.js';
import type { FlatLabels } from '../rules/types.js';
import type { RuleEngine } from '../rules/rule-engine.js';
import type { SignalEngine } from '../signals/signal-engine.js';
import { SOURCE_STATUS_VALUE, type SourceState } from '../signals/source-health.js';

/**
 * Rule, signal and source states as OpenTelemetry observable gauges (SPEC §4), so they reach
 * `/metrics` and OTLP exporters like any other instrument. Read at collection time from the last
 * evaluation; nothing is computed here.
 */

export interface RuleGaugeSources {
  rules: () => RuleEngine;
  signals: () => SignalEngine;
  sources: () => readonly SourceState[];
  overall: () => OverallStatus;
}

const OVERALL_VALUE: Readonly<Record<OverallStatus, 0 | 1 | 2>> = { ok: 0, degraded: 1, down: 2 };

/** Labels as attributes; `Object.fromEntries` defines own properties, so no key is prototype magic. */
function attrs(labels: FlatLabels, extra: Record<string, string>): Attributes {
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < labels.length; i += 2) pairs.push([labels[i]!, labels[i + 1]!]);
  return Object.fromEntries([...pairs, ...Object.entries(extra)]);
}

export function registerRuleGauges(meter: Meter, src: RuleGaugeSources): void {
  meter
    .createObservableGauge('vigil.rule.state', {
      description: 'Rule state per group: 0 inactive, 1 pending, 2 firing.',
    })
    .addCallback((obs) => {
      for (const rule of src.rules().list()) {
        const extra = { rule: rule.name, severity: rule.severity };
        const groups = rule.groups.size > 0 ? [...rule.groups.values()] : [[]];
        for (const labels of groups) obs.observe(rule.state.ruleState(labels), attrs(labels, extra));
      }
    });
  meter
    .createObservableGauge('vigil.alerts', {
      description: 'Pending and firing alerts, as Prometheus ALERTS: 1 per alert.',
    })
    .addCallback((obs) => {
      for (const a of src.rules().alerts()) {
        if (a.state === 'inactive') continue;
        obs.observe(
          1,
          attrs(a.labels, { alertname: a.rule.name, alertstate: a.state, severity: a.rule.severity }),
        );
      }
    });
  meter
    .createObservableGauge('vigil.signal.value', { description: "Each signal's current value, per group." })
    .addCallback((obs) => {
      const engine = src.signals();
      for (const def of engine.definitions()) {
        for (const s of engine.signal(def.name)) obs.observe(s.value, attrs(s.labels, { signal: def.name }));
      }
    });
  meter
    .createObservableGauge('vigil.reliability.status', {
      description: 'Overall reliability: 0 ok, 1 degraded, 2 down.',
    })
    .addCallback((obs) => obs.observe(OVERALL_VALUE[src.overall()]));
  meter
    .createObservableGauge('vigil.source.status', {
      description: 'Source SLA status: 0 HEALTHY, 1 DEGRADED, 2 FAILED.',
    })
    .addCallback((obs) => {
      for (const s of src.sources()) obs.observe(SOURCE_STATUS_VALUE[s.status], { source: s.name });
    });
}
