import { labelsObject } from '../rules/labels.js';
import type { ActiveAlert, RuleEngine } from '../rules/rule-engine.js';
import type { SignalEngine } from '../signals/signal-engine.js';
import type { Trend } from '../signals/trend.js';
import type { SourceState } from '../signals/source-health.js';
import { pairsKey } from '../store/canonical-key.js';

/**
 * The reliability report (SPEC §6), built from live state on request: signals, rules and
 * sources are already computed at each evaluation tick, so this only reads and shapes them
 * (the seed took 2.4 s collecting; this takes well under a millisecond for typical configs).
 */

export type OverallStatus = 'ok' | 'degraded' | 'down';

export interface ExporterHealth {
  state: 'ok' | 'retrying' | 'circuit_open' | 'disabled';
  last_success: string | null;
  /** Batches waiting in the sending queue (src/export/otlp-exporter.ts). */
  queued_batches?: number;
  /** Why the last failed attempt failed, while retrying or until the next success. */
  last_error?: string | null;
}

export interface ReportInput {
  nowMs: number;
  startedMs: number;
  /** The sources' window, reported as `window_seconds`. */
  windowMs: number;
  signals: SignalEngine;
  rules: RuleEngine;
  sources: readonly SourceState[];
  sections: Record<string, Record<string, string>>;
  ingest: { accepted_points: number; rejected_points: number; series: number };
  exporters: { otlp: ExporterHealth };
  /** Alert delivery health and handling (src/alerting/alerting.ts `status()`). */
  alerting?: Record<string, unknown>;
  includeTraces: boolean;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Times in the report repeat: trend bucket starts are multiples of 10 minutes shared by every
 * signal, and alerts that became active at one evaluation share its time. Formatting each once
 * instead of per bucket or alert per report was a tenth of the report's cost. Bounded.
 */
const isoTexts = new Map<number, string>();
function isoCached(ms: number): string {
  let text = isoTexts.get(ms);
  if (text === undefined) {
    if (isoTexts.size >= 4096) isoTexts.clear();
    isoTexts.set(ms, (text = iso(ms)));
  }
  return text;
}

type GroupTrendView = { labels: readonly string[]; trend: Trend };

/** `{{value}}` (and `{{ $value }}`, as Prometheus writes it) in a rule's text. */
export function renderTemplate(text: string, value: number): string {
  const v = Number.isInteger(value) ? String(value) : String(Math.round(value * 1000) / 1000);
  return text.replace(/\{\{\s*\$?value\s*\}\}/g, v);
}

/** SPEC §6: down on a firing critical or a FAILED source; degraded on a firing warning or a DEGRADED source. */
export function overallStatus(
  alerts: readonly ActiveAlert[],
  sources: readonly SourceState[],
): OverallStatus {
  const firing = alerts.filter((a) => a.state === 'firing');
  if (firing.some((a) => a.rule.severity === 'critical') || sources.some((s) => s.status === 'FAILED'))
    return 'down';
  if (firing.some((a) => a.rule.severity === 'warning') || sources.some((s) => s.status === 'DEGRADED'))
    return 'degraded';
  return 'ok';
}

function finite(v: number | undefined): number | null {
  return v !== undefined && Number.isFinite(v) ? v : null;
}

export function buildReport(input: ReportInput): Record<string, unknown> {
  const t0 = performance.now();
  const { nowMs, signals, rules } = input;
  const alerts = rules.alerts();
  const active = alerts.filter((a) => a.state !== 'inactive');

  const signalsOut: Record<string, unknown> = {};
  const noData: string[] = [];
  for (const def of signals.definitions()) {
    const samples = signals.signal(def.name);
    const grouped = def.by.length > 0;
    const trends = new Map<string, GroupTrendView>();
    for (const g of signals.groupTrends(def.name)) trends.set(pairsKey(g.labels), g);
    const trendOf = (labels: readonly string[]) => {
      const g = trends.get(pairsKey(labels));
      if (g === undefined) return { direction: 'flat', buckets: [] };
      return {
        direction: g.trend.direction(nowMs),
        buckets: g.trend.buckets(nowMs).map((b) => ({
          start: isoCached(b.startMs),
          avg: b.avg,
          min: b.min,
          max: b.max,
          count: b.count,
        })),
      };
    };
    if (samples.length === 0) noData.push(def.name);
    signalsOut[def.name] = {
      value: grouped ? null : finite(samples[0]?.value),
      unit: def.unit,
      groups: grouped
        ? samples.map((s) => ({
            labels: labelsObject(s.labels),
            value: finite(s.value),
            trend: trendOf(s.labels),
          }))
        : [],
      trend: trendOf([]),
    };
  }

  const sections: Record<string, Record<string, unknown>> = {};
  for (const [section, fields] of Object.entries(input.sections)) {
    const out: Record<string, unknown> = {};
    for (const [field, signal] of Object.entries(fields)) {
      const entry = signalsOut[signal] as { value: number | null; groups: unknown[] } | undefined;
      out[field] = entry === undefined ? null : entry.groups.length > 0 ? entry.groups : entry.value;
    }
    sections[section] = out;
  }

  const anomalies = active.map((a) => ({
    code: a.rule.name,
    severity: a.rule.severity,
    state: a.state,
    active_since: isoCached(a.activeAt),
    value: finite(a.value),
    labels: labelsObject(a.labels),
    fingerprint: a.fingerprint,
    description: renderTemplate(
      a.rule.config.summary || a.rule.config.description || a.rule.config.expr,
      a.value,
    ),
    recommendation: a.rule.config.recommendation,
  }));

  const notes: string[] = [];
  for (const s of input.sources) for (const r of s.reasons) notes.push(`source ${s.name} ${s.status}: ${r}`);
  if (noData.length > 0) notes.push(`no data in window for signals: ${noData.join(', ')}`);
  for (const r of rules.list())
    if (r.trace?.error !== undefined) notes.push(`rule ${r.name} failed: ${r.trace.error}`);

  const report: Record<string, unknown> = {
    timestamp: iso(nowMs),
    overall_status: overallStatus(alerts, input.sources),
    report_version: 'v1',
    generation_time_ms: 0,
    uptime_seconds: Math.floor((nowMs - input.startedMs) / 1000),
    window_seconds: Math.round(input.windowMs / 1000),
    sources: input.sources.map((s) => ({
      name: s.name,
      status: s.status,
      requests: s.requests,
      success_rate: s.success_rate,
      latency_ms: s.latency_ms,
      consecutive_failures: s.consecutive_failures,
      last_seen: s.last_seen,
    })),
    signals: signalsOut,
    sections,
    anomalies,
    notes,
    ingest: input.ingest,
    exporters: input.exporters,
    ...(input.alerting !== undefined ? { alerting: input.alerting } : {}),
  };
  if (input.includeTraces)
    report['traces'] = rules.list().map((r) => r.trace ?? { rule: r.name, expr: r.config.expr });
  report['generation_time_ms'] = Math.round((performance.now() - t0) * 1000) / 1000;
  return report;
}

/**
 * The same state in the IETF health-check format (`application/health+json`): pass / warn /
 * fail from the overall status, one check per rule and per source.
 */
export function healthReport(report: Record<string, unknown>, version: string): Record<string, unknown> {
  const status = { ok: 'pass', degraded: 'warn', down: 'fail' }[report['overall_status'] as OverallStatus];
  const time = report['timestamp'] as string;
  const checks: Record<string, unknown[]> = {};
  for (const a of report['anomalies'] as Array<Record<string, unknown>>) {
    const sev = a['severity'];
    const st = a['state'] !== 'firing' || sev === 'info' ? 'pass' : sev === 'critical' ? 'fail' : 'warn';
    (checks[`${String(a['code'])}:value`] ??= []).push({
      componentType: 'rule',
      observedValue: a['value'],
      status: st,
      time,
      output: a['description'],
    });
  }
  for (const s of report['sources'] as Array<Record<string, unknown>>) {
    const st = s['status'] === 'HEALTHY' ? 'pass' : s['status'] === 'DEGRADED' ? 'warn' : 'fail';
    const lat = s['latency_ms'] as Record<string, number | null>;
    checks[`${String(s['name'])}:latency`] = [
      { componentType: 'source', observedValue: lat['p95'], observedUnit: 'ms', status: st, time },
    ];
    checks[`${String(s['name'])}:successRate`] = [
      { componentType: 'source', observedValue: s['success_rate'], status: st, time },
    ];
  }
  return {
    status,
    version: '1',
    releaseId: version,
    serviceId: 'vigil',
    description: 'vigil reliability report',
    notes: report['notes'],
    checks,
  };
}
