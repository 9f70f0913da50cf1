import type { SignalConfig } from '../config/schema.js';
import { canonicalPairs } from '../store/canonical-key.js';
import type { ResourceEntry } from '../store/resource.js';
import type { Series } from '../store/series.js';
import type { Store } from '../store/store.js';
import type { FlatAttrs } from '../store/types.js';
import { canonicalLabels } from '../rules/labels.js';
import type { Sample, SignalLookup } from '../rules/types.js';
import { compileMeasure, computeMeasure, ratioSamples, type CompiledMeasure } from './measure.js';
import {
  feedFromSeries,
  observationTracker,
  trackerForStream,
  type Tracker,
  type WindowSizing,
} from './trackers.js';
import { Trend, type TrendSnapshot } from './trend.js';
import { WindowMemo } from './window-memo.js';
import { tupleKey } from '../store/canonical-key.js';

/**
 * The signals of SPEC §4 over the store's live data. At every evaluation tick it feeds the
 * per-series windows of the metrics some signal reads (and only those: compute only what is
 * used), computes every signal's vector, and adds it to the signal's 24h trend. Raw observations
 * pushed as JSON histograms arrive through `observe` and go into sketches (≤ 1% error) instead of
 * the SDK's buckets.
 */

export interface SignalEngineOptions {
  store: Store;
  clock: () => number;
  /** Series of this scope hold JSON-pushed histograms whose raw values come through `observe`. */
  observedScope: string;
}

interface CompiledSignal {
  readonly name: string;
  readonly unit: string;
  readonly measures: readonly CompiledMeasure[];
  readonly ratio: boolean;
  readonly by: readonly string[];
  readonly description: string;
}

/** One group's trend: the same labels as the signal's samples. */
interface GroupTrend {
  labels: readonly string[];
  trend: Trend;
}

/** The data kept per metric name that some measure reads. */
interface MetricTrackers {
  sizing: WindowSizing;
  fromStore: Map<Series, Tracker>;
  observed: Map<string, Tracker>;
}

/** The slot width for windows between `minMs` and `maxMs`: ~60 slots for the shortest, ≤ 720 in all. */
export function slotMsFor(minMs: number, maxMs: number): number {
  return Math.max(1000, Math.ceil(minMs / 60 / 1000) * 1000, Math.ceil(maxMs / 720 / 1000) * 1000);
}

export class SignalEngine implements SignalLookup {
  private signals = new Map<string, CompiledSignal>();
  private readonly metrics = new Map<string, MetricTrackers>();
  private readonly current = new Map<string, Sample[]>();
  private readonly trends = new Map<string, Map<string, GroupTrend>>();
  private readonly startedMs: number;
  /** Extra measures (the sources' SLA inputs) that keep their metrics tracked. */
  private extraMeasures: CompiledMeasure[] = [];
  lastTickMs = 0;
  /** Window reads shared by every measure of the current tick. */
  private memo = new WindowMemo(-1);

  constructor(private readonly opts: SignalEngineOptions) {
    this.startedMs = opts.clock();
  }

  /** (Re)load the signal definitions; windows of metrics still read, and trends of signals still defined, are kept. */
  configure(signals: Record<string, SignalConfig>, extraMeasures: CompiledMeasure[] = []): void {
    const next = new Map<string, CompiledSignal>();
    for (const [name, cfg] of Object.entries(signals)) {
      if (cfg.ratio !== undefined) {
        const num = compileMeasure(cfg.ratio.numerator);
        const den = compileMeasure(cfg.ratio.denominator);
        next.set(name, {
          name,
          unit: '1',
          measures: [num, den],
          ratio: true,
          by: num.by,
          description: cfg.description ?? '',
        });
      } else {
        const m = compileMeasure({ ...cfg, metric: cfg.metric!, stat: cfg.stat! });
        next.set(name, {
          name,
          unit: cfg.unit ?? '',
          measures: [m],
          ratio: false,
          by: m.by,
          description: cfg.description ?? '',
        });
      }
    }
    this.signals = next;
    this.extraMeasures = extraMeasures;
    for (const name of [...this.trends.keys()]) if (!next.has(name)) this.trends.delete(name);
    for (const name of [...this.current.keys()]) if (!next.has(name)) this.current.delete(name);

    const windows = new Map<string, { min: number; max: number }>();
    for (const m of this.allMeasures()) {
      const w = windows.get(m.metric);
      windows.set(m.metric, {
        min: Math.min(w?.min ?? Infinity, m.windowMs),
        max: Math.max(w?.max ?? 0, m.windowMs),
      });
    }
    for (const metric of [...this.metrics.keys()]) if (!windows.has(metric)) this.metrics.delete(metric);
    for (const [metric, w] of windows) {
      const sizing: WindowSizing = {
        slotMs: slotMsFor(w.min, w.max),
        maxWindowMs: w.max,
        startedMs: this.startedMs,
      };
      const old = this.metrics.get(metric);
      if (
        old !== undefined &&
        old.sizing.slotMs === sizing.slotMs &&
        old.sizing.maxWindowMs === sizing.maxWindowMs
      )
        continue;
      // New windows: data kept in the old slots cannot be re-sliced; start afresh for this metric.
      this.metrics.set(metric, { sizing, fromStore: new Map(), observed: new Map() });
    }
  }

  private *allMeasures(): Iterable<CompiledMeasure> {
    for (const s of this.signals.values()) yield* s.measures;
    yield* this.extraMeasures;
  }

  /** Whether some signal (or source) reads a metric whose name starts with `prefix`. */
  readsMetricPrefix(prefix: string): boolean {
    for (const metric of this.metrics.keys()) if (metric.startsWith(prefix)) return true;
    return false;
  }

  /** Whether raw observations of `metric` are wanted (some signal reads it). */
  wants(metric: string): boolean {
    return this.metrics.has(metric);
  }

  /** Raw observations of a JSON-pushed histogram. */
  observe(
    resource: ResourceEntry,
    metric: string,
    unit: string,
    attrs: FlatAttrs,
    values: readonly number[],
    nowMs: number,
  ): void {
    const mt = this.metrics.get(metric);
    if (mt === undefined) return;
    const { key, sorted } = canonicalPairs(attrs);
    const id = tupleKey([resource.key, key]);
    let t = mt.observed.get(id);
    if (t === undefined || t.kind !== 'observations' || t.unit !== unit) {
      t = observationTracker(resource, sorted, unit, mt.sizing, nowMs);
      mt.observed.set(id, t);
    }
    t.lastDataMs = nowMs;
    for (const v of values) if (t.window.record(v, nowMs)) t.total++;
  }

  /** Feed windows from the store, compute every signal, extend trends. */
  tick(nowMs: number): void {
    this.lastTickMs = nowMs;
    this.feed(nowMs);
    this.memo = new WindowMemo(nowMs);
    for (const sig of this.signals.values()) {
      const samples = this.compute(sig, nowMs);
      this.current.set(sig.name, samples);
      let byGroup = this.trends.get(sig.name);
      if (byGroup === undefined) this.trends.set(sig.name, (byGroup = new Map()));
      for (const s of samples) {
        if (!Number.isFinite(s.value)) continue;
        const key = canonicalLabels(s.labels).key;
        let g = byGroup.get(key);
        if (g === undefined) byGroup.set(key, (g = { labels: s.labels, trend: new Trend() }));
        g.trend.add(s.value, nowMs);
      }
      // Groups silent for the whole trend horizon are forgotten.
      for (const [key, g] of byGroup) if (g.trend.buckets(nowMs).length === 0) byGroup.delete(key);
    }
  }

  private feed(nowMs: number): void {
    for (const stream of this.opts.store.streams.values()) {
      const mt = this.metrics.get(stream.desc.name);
      if (mt === undefined) continue;
      const kind = stream.desc.kind;
      if (
        stream.scope.name === this.opts.observedScope &&
        (kind === 'histogram' || kind === 'exponential_histogram')
      )
        continue;
      for (const s of stream.series.values()) {
        if (!s.filled) continue;
        let t = mt.fromStore.get(s);
        if (t === undefined) mt.fromStore.set(s, (t = trackerForStream(stream, s, mt.sizing, nowMs)));
        if (s.updatedMs !== t.fedUpdatedMs) feedFromSeries(t, s, nowMs);
      }
    }
    // Trackers idle for longer than any window hold nothing a signal can read.
    for (const mt of this.metrics.values()) {
      const cutoff = nowMs - mt.sizing.maxWindowMs - 2 * mt.sizing.slotMs;
      for (const [k, t] of mt.fromStore) if (t.lastDataMs < cutoff) mt.fromStore.delete(k);
      for (const [k, t] of mt.observed) if (t.lastDataMs < cutoff) mt.observed.delete(k);
    }
  }

  /** The trackers a measure reads. */
  trackers(metric: string): Iterable<Tracker> {
    const mt = this.metrics.get(metric);
    if (mt === undefined) return [];
    return concat(mt.fromStore.values(), mt.observed.values());
  }

  measure(m: CompiledMeasure, nowMs: number): Sample[] {
    if (this.memo.nowMs !== nowMs) this.memo = new WindowMemo(nowMs);
    return computeMeasure(m, this.trackers(m.metric), nowMs, this.memo);
  }

  private compute(sig: CompiledSignal, nowMs: number): Sample[] {
    if (sig.ratio)
      return ratioSamples(this.measure(sig.measures[0]!, nowMs), this.measure(sig.measures[1]!, nowMs));
    return this.measure(sig.measures[0]!, nowMs);
  }

  /** The signal's vector at the last tick (SignalLookup). */
  signal(name: string): readonly Sample[] {
    return this.current.get(name) ?? [];
  }

  /** The 24h average per group (SignalLookup). */
  baseline(name: string): readonly Sample[] {
    const out: Sample[] = [];
    for (const g of this.trends.get(name)?.values() ?? []) {
      const b = g.trend.baseline(this.lastTickMs);
      if (b !== undefined) out.push({ labels: g.labels, value: b });
    }
    return out;
  }

  definitions(): Iterable<CompiledSignal> {
    return this.signals.values();
  }

  groupTrends(name: string): Iterable<GroupTrend> {
    return this.trends.get(name)?.values() ?? [];
  }

  /** Trackers held, for self-telemetry and the memory bound. */
  get trackerCount(): number {
    let n = 0;
    for (const mt of this.metrics.values()) n += mt.fromStore.size + mt.observed.size;
    return n;
  }

  /** Trends for `state.dir`. */
  snapshotTrends(): Record<string, Array<{ labels: string[]; trend: TrendSnapshot }>> {
    const out: Record<string, Array<{ labels: string[]; trend: TrendSnapshot }>> = {};
    for (const [name, groups] of this.trends) {
      out[name] = [...groups.values()].map((g) => ({ labels: [...g.labels], trend: g.trend.toJSON() }));
    }
    return out;
  }

  /** Restore trends of signals still defined; returns how many group trends came back. */
  restoreTrends(snapshot: unknown, nowMs: number): number {
    if (typeof snapshot !== 'object' || snapshot === null) return 0;
    let restored = 0;
    for (const [name, groups] of Object.entries(snapshot as Record<string, unknown>)) {
      if (!this.signals.has(name) || !Array.isArray(groups)) continue;
      const byGroup = new Map<string, GroupTrend>();
      for (const g of groups as unknown[]) {
        // A null or a number among the groups (a hand-edited or damaged snapshot) is skipped like
        // any other malformed entry: reading `.labels` of null threw, and vigil could not start.
        if (typeof g !== 'object' || g === null) continue;
        const { labels, trend: saved } = g as { labels?: unknown; trend?: unknown };
        if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string')) continue;
        const { trend } = Trend.fromJSON(saved, nowMs);
        const c = canonicalLabels(labels as string[]);
        byGroup.set(c.key, { labels: c.labels, trend });
        restored++;
      }
      this.trends.set(name, byGroup);
    }
    return restored;
  }
}

function* concat<T>(a: Iterable<T>, b: Iterable<T>): Iterable<T> {
  yield* a;
  yield* b;
}
