import type { SlaConfig, SourcesConfig } from '../config/schema.js';
import { globToRegExp } from '../ingest/views.js';
import type { Sample } from '../rules/types.js';
import { trackerAttr, type CompiledMeasure } from './measure.js';
import type { SignalEngine } from './signal-engine.js';
import type { Tracker } from './trackers.js';

/**
 * Per-source SLA status (SPEC §5, seed 003). A source is a value of `sources.attribute`
 * (default `service.name`); its requests are the observations of `sources.metric` (a request
 * duration histogram), failed when `failure_attribute` is set or `status_attribute` ≥
 * `failure_status_min`. Status:
 * - FAILED when the consecutive failures reach `max_consecutive_failures`;
 * - DEGRADED when, with at least `min_requests` in the window, the success rate is below
 *   `min_success_rate` or p95 / p99 latency is above its threshold;
 * - HEALTHY otherwise (also while there are too few requests to judge).
 * Consecutive failures are counted per evaluation: requests that arrive in an interval with no
 * success among them extend the streak; an interval with any success ends it (a metric carries
 * no order within an interval).
 */

export type SourceStatusName = 'HEALTHY' | 'DEGRADED' | 'FAILED';
export const SOURCE_STATUS_VALUE: Readonly<Record<SourceStatusName, 0 | 1 | 2>> = {
  HEALTHY: 0,
  DEGRADED: 1,
  FAILED: 2,
};

export interface SourceState {
  name: string;
  status: SourceStatusName;
  requests: number;
  success_rate: number | null;
  latency_ms: { p50: number | null; p90: number | null; p95: number | null; p99: number | null };
  consecutive_failures: number;
  last_seen: string | null;
  /** Why the status is not HEALTHY, for the report's notes. */
  reasons: string[];
}

interface Totals {
  requests: number;
  failures: number;
  lastSeenMs: number;
}

const PERCENTILES = ['p50', 'p90', 'p95', 'p99'] as const;

export class SourceHealth {
  private readonly cfg: SourcesConfig;
  private readonly presets: Array<{ re: RegExp; sla: SlaConfig }>;
  private readonly isFailure: (t: Tracker) => boolean;
  private readonly requestMeasures: { all: CompiledMeasure; failed: CompiledMeasure };
  private readonly latency: Record<(typeof PERCENTILES)[number], CompiledMeasure>;
  private prevTotals = new Map<string, Totals>();
  private readonly streaks = new Map<string, number>();
  private states: SourceState[] = [];

  constructor(cfg: SourcesConfig) {
    this.cfg = cfg;
    this.presets = cfg.presets.map((p) => ({ re: globToRegExp(p.match), sla: p }));
    const failAttr = cfg.failure_attribute;
    const statusAttr = cfg.status_attribute;
    this.isFailure = (t) => {
      if (failAttr !== '' && (trackerAttr(t, failAttr) ?? '') !== '') return true;
      if (statusAttr === '') return false;
      const code = Number(trackerAttr(t, statusAttr) ?? NaN);
      return Number.isFinite(code) && code >= cfg.failure_status_min;
    };
    const base = (
      stat: CompiledMeasure['stat'],
      filter: (t: Tracker) => boolean,
      unit?: string,
    ): CompiledMeasure => ({
      metric: cfg.metric,
      stat,
      windowMs: cfg.window,
      unit,
      perMs: 1000,
      by: [cfg.attribute],
      filter,
    });
    const any = (t: Tracker): boolean => (trackerAttr(t, cfg.attribute) ?? '') !== '';
    this.requestMeasures = {
      all: base('count', any),
      failed: base('count', (t) => any(t) && this.isFailure(t)),
    };
    this.latency = {
      p50: base('p50', any, 'ms'),
      p90: base('p90', any, 'ms'),
      p95: base('p95', any, 'ms'),
      p99: base('p99', any, 'ms'),
    };
  }

  /** Keep the failure streaks and last states of the instance this one replaces (a reload). */
  carryOver(prev: SourceHealth): this {
    for (const [k, v] of prev.streaks) this.streaks.set(k, v);
    this.prevTotals = new Map(prev.prevTotals);
    this.states = prev.states;
    return this;
  }

  /** Measures the engine must keep windows for. */
  measures(): CompiledMeasure[] {
    return this.cfg.enabled
      ? [this.requestMeasures.all, this.requestMeasures.failed, ...Object.values(this.latency)]
      : [];
  }

  /** The SLA of a source: the first matching preset over the defaults. */
  slaOf(name: string): SlaConfig {
    const preset = this.presets.find((p) => p.re.test(name));
    return { ...this.cfg.sla, ...(preset === undefined ? {} : definedOnly(preset.sla)) };
  }

  tick(engine: SignalEngine, nowMs: number): void {
    if (!this.cfg.enabled) return;
    const byName = (samples: Sample[]): Map<string, number> => {
      const m = new Map<string, number>();
      for (const s of samples) m.set(s.labels[1] ?? '', s.value);
      return m;
    };
    const requests = byName(engine.measure(this.requestMeasures.all, nowMs));
    const failed = byName(engine.measure(this.requestMeasures.failed, nowMs));
    const lat = Object.fromEntries(
      PERCENTILES.map((p) => [p, byName(engine.measure(this.latency[p], nowMs))]),
    ) as Record<(typeof PERCENTILES)[number], Map<string, number>>;
    const totals = this.totals(engine);
    const states: SourceState[] = [];
    for (const [name, t] of totals) {
      const prev = this.prevTotals.get(name);
      const newReq = t.requests - (prev?.requests ?? 0);
      const newFail = t.failures - (prev?.failures ?? 0);
      let streak = this.streaks.get(name) ?? 0;
      if (newReq > 0 && newFail >= newReq) streak += newFail;
      else if (newReq > newFail && newReq > 0) streak = 0;
      this.streaks.set(name, streak);
      const n = requests.get(name) ?? 0;
      const f = failed.get(name) ?? 0;
      const latency = {
        p50: lat.p50.get(name) ?? null,
        p90: lat.p90.get(name) ?? null,
        p95: lat.p95.get(name) ?? null,
        p99: lat.p99.get(name) ?? null,
      };
      const sla = this.slaOf(name);
      const successRate = n > 0 ? (n - f) / n : null;
      const reasons: string[] = [];
      let status: SourceStatusName = 'HEALTHY';
      if (sla.max_consecutive_failures !== undefined && streak >= sla.max_consecutive_failures) {
        status = 'FAILED';
        reasons.push(`${streak} consecutive failures (max ${sla.max_consecutive_failures})`);
      } else if (n >= (sla.min_requests ?? 0) && n > 0) {
        if (sla.min_success_rate !== undefined && successRate !== null && successRate < sla.min_success_rate)
          reasons.push(`success rate ${round(successRate)} below ${sla.min_success_rate}`);
        if (sla.p95 !== undefined && latency.p95 !== null && latency.p95 > sla.p95)
          reasons.push(`p95 ${round(latency.p95)} ms above ${sla.p95} ms`);
        if (sla.p99 !== undefined && latency.p99 !== null && latency.p99 > sla.p99)
          reasons.push(`p99 ${round(latency.p99)} ms above ${sla.p99} ms`);
        if (reasons.length > 0) status = 'DEGRADED';
      }
      states.push({
        name,
        status,
        requests: n,
        success_rate: successRate,
        latency_ms: latency,
        consecutive_failures: streak,
        last_seen: t.lastSeenMs > 0 ? new Date(t.lastSeenMs).toISOString() : null,
        reasons,
      });
    }
    for (const name of [...this.streaks.keys()]) if (!totals.has(name)) this.streaks.delete(name);
    this.prevTotals = totals;
    this.states = states.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Cumulative requests and failures per source, over the trackers still held. */
  private totals(engine: SignalEngine): Map<string, Totals> {
    const out = new Map<string, Totals>();
    for (const t of engine.trackers(this.cfg.metric)) {
      if (t.kind !== 'buckets' && t.kind !== 'observations') continue;
      const name = trackerAttr(t, this.cfg.attribute) ?? '';
      if (name === '') continue;
      let tot = out.get(name);
      if (tot === undefined) out.set(name, (tot = { requests: 0, failures: 0, lastSeenMs: 0 }));
      tot.requests += t.total;
      if (this.isFailure(t)) tot.failures += t.total;
      if (t.lastDataMs > tot.lastSeenMs) tot.lastSeenMs = t.lastDataMs;
    }
    return out;
  }

  list(): readonly SourceState[] {
    return this.states;
  }
}

function definedOnly(sla: SlaConfig & { match?: string }): Partial<SlaConfig> {
  const out: Partial<SlaConfig> = {};
  for (const k of ['p95', 'p99', 'min_success_rate', 'max_consecutive_failures', 'min_requests'] as const)
    if (sla[k] !== undefined) out[k] = sla[k];
  return out;
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
