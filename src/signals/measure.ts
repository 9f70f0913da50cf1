import type { MeasureConfig, SignalStat } from '../config/schema.js';
import { canonicalLabels } from '../rules/labels.js';
import type { FlatLabels, Sample } from '../rules/types.js';
import { attrValue } from '../store/resource.js';
import { explicitBucketQuantile } from './bucket-quantile.js';
import {
  OBSERVATION_BIN_LIMIT,
  OBSERVATION_RELATIVE_ACCURACY,
  type ObservationSketch,
} from './observation-window.js';
import { mergeSketchInto } from './sketch-merge.js';
import type { Tracker } from './trackers.js';
import { WindowMemo } from './window-memo.js';
import { unitFactor } from './units.js';
import { LogCollapsingLowestDenseDDSketch } from '@datadog/sketches-js';

/**
 * One windowed statistic over the trackers of one metric, grouped by attributes: the pure core
 * of a signal (SPEC §4). How each stat reads each kind of data:
 *
 * | stat            | counter            | gauge              | histogram (buckets / observations) |
 * |-----------------|--------------------|--------------------|------------------------------------|
 * | increase, count | exact increase     | samples (count)    | observations in the window         |
 * | rate            | increase / window  | —                  | observations / window              |
 * | sum             | increase           | Σ latest per series| Σ observed values                  |
 * | avg             | —                  | mean of samples    | sum / count                        |
 * | min, max        | —                  | of samples         | observations only (exact)          |
 * | last            | Σ latest values    | Σ latest per series| —                                  |
 * | p50 … p99       | —                  | —                  | sketch (≤1%) / histogram_quantile  |
 *
 * A group's value sums its series where that is meaningful (like PromQL's `sum by`), merges
 * sketches and bucket deltas for percentiles, and pools samples for avg/min/max. "—" and data in
 * an incompatible unit contribute nothing (the group may then be absent); summaries answer
 * percentiles and avg from their latest point when a group holds exactly one.
 */

export interface CompiledMeasure {
  readonly metric: string;
  readonly stat: SignalStat;
  readonly windowMs: number;
  /** Target unit; undefined keeps the metric's own. */
  readonly unit: string | undefined;
  /** For rate: the rate's time unit in ms (default 1000: per second). */
  readonly perMs: number;
  readonly by: readonly string[];
  readonly filter: (t: Tracker) => boolean;
}

/** A tracker's attribute: the point's own attributes first, then its resource's. */
export function trackerAttr(t: Tracker, key: string): string | undefined {
  return attrValue(t.attrs, key) ?? attrValue(t.resource.attrs, key);
}

/** `where` as a predicate: exact values, or `~regex` (anchored, as PromQL's `=~`). */
export function compileWhere(where: Record<string, string | number | boolean>): (t: Tracker) => boolean {
  const tests = Object.entries(where).map(([key, raw]) => {
    const v = String(raw);
    if (v.startsWith('~')) {
      const re = new RegExp(`^(?:${v.slice(1)})$`);
      return (t: Tracker) => re.test(trackerAttr(t, key) ?? '');
    }
    return (t: Tracker) => (trackerAttr(t, key) ?? '') === v;
  });
  return tests.length === 0 ? () => true : (t) => tests.every((test) => test(t));
}

export function compileMeasure(m: MeasureConfig): CompiledMeasure {
  return {
    metric: m.metric,
    stat: m.stat,
    windowMs: m.window,
    unit: m.unit,
    perMs: m.per ?? 1000,
    by: [...m.by],
    filter: compileWhere(m.where),
  };
}

interface GroupAcc {
  labels: FlatLabels;
  total: number;
  count: number;
  min: number;
  max: number;
  contributed: boolean;
  sketch: ObservationSketch | undefined;
  sketchUnit: string | undefined;
  bounds: readonly number[] | undefined;
  buckets: number[] | undefined;
  bucketUnit: string | undefined;
  summaries: number;
  summaryValue: number;
}

const QUANTILES: Partial<Record<SignalStat, number>> = { p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99 };

/** The measure's current vector: one sample per group with data in the window. */
export function computeMeasure(
  m: CompiledMeasure,
  trackers: Iterable<Tracker>,
  nowMs: number,
  memo: WindowMemo = new WindowMemo(nowMs),
): Sample[] {
  const groups = new Map<string, GroupAcc>();
  const q = QUANTILES[m.stat];
  for (const t of trackers) {
    if (!m.filter(t)) continue;
    const factor = m.unit === undefined ? 1 : unitFactor(t.unit, m.unit);
    if (factor === undefined) continue;
    const acc = groupFor(groups, m.by, t);
    if (q !== undefined) addQuantileInput(acc, t, q, m.windowMs, memo, factor);
    else addStat(acc, m, t, factor, memo);
  }
  const out: Sample[] = [];
  for (const acc of groups.values()) {
    const v = finish(acc, m, q);
    if (v !== undefined && !Number.isNaN(v)) out.push({ labels: acc.labels, value: v });
  }
  return out;
}

function groupFor(groups: Map<string, GroupAcc>, by: readonly string[], t: Tracker): GroupAcc {
  const flat: string[] = [];
  for (const key of by) flat.push(key, trackerAttr(t, key) ?? '');
  const c = canonicalLabels(flat);
  let acc = groups.get(c.key);
  if (acc === undefined) {
    acc = {
      labels: c.labels,
      total: 0,
      count: 0,
      min: Infinity,
      max: -Infinity,
      contributed: false,
      sketch: undefined,
      sketchUnit: undefined,
      bounds: undefined,
      buckets: undefined,
      bucketUnit: undefined,
      summaries: 0,
      summaryValue: NaN,
    };
    groups.set(c.key, acc);
  }
  return acc;
}

function addStat(acc: GroupAcc, m: CompiledMeasure, t: Tracker, factor: number, memo: WindowMemo): void {
  const w = m.windowMs;
  const nowMs = memo.nowMs;
  switch (t.kind) {
    case 'counter': {
      if (m.stat === 'last') {
        const g = t.gauge.stats(nowMs, w);
        if (g !== undefined) contribute(acc, g.last * factor, 1);
        return;
      }
      if (m.stat !== 'increase' && m.stat !== 'rate' && m.stat !== 'count' && m.stat !== 'sum') return;
      const inc = t.window.increase(nowMs, w);
      if (inc !== undefined) contribute(acc, inc * (m.stat === 'count' ? 1 : factor), 1);
      return;
    }
    case 'gauge': {
      const g = t.window.stats(nowMs, w);
      if (g === undefined) return;
      switch (m.stat) {
        case 'last':
        case 'sum':
          contribute(acc, g.last * factor, 1);
          return;
        case 'count':
        case 'increase':
          contribute(acc, g.count, 1);
          return;
        case 'avg':
          contribute(acc, g.sum * factor, g.count);
          return;
        case 'min':
        case 'max':
          contribute(acc, 0, 0, g.min * factor, g.max * factor);
          return;
        default:
          return;
      }
    }
    case 'buckets': {
      const d = memo.bucketDelta(t, w);
      if (d === undefined) return;
      addHistogramStat(acc, m.stat, d.count, d.sum * factor, NaN, NaN);
      return;
    }
    case 'observations': {
      const st = memo.sketch(t, w);
      if (st === undefined) {
        // An empty window still says "no requests" for count-like stats of a live stream.
        if (m.stat === 'count' || m.stat === 'increase' || m.stat === 'rate') contribute(acc, 0, 1);
        return;
      }
      addHistogramStat(acc, m.stat, st.count, st.sum * factor, st.min * factor, st.max * factor);
      return;
    }
    case 'summary': {
      const p = t.point;
      if (p === undefined || m.stat !== 'avg' || p.count === 0) return;
      acc.summaries++;
      acc.summaryValue = (p.sum / p.count) * factor;
      acc.contributed = true;
      return;
    }
  }
}

function addHistogramStat(
  acc: GroupAcc,
  stat: SignalStat,
  count: number,
  sum: number,
  min: number,
  max: number,
): void {
  switch (stat) {
    case 'count':
    case 'increase':
    case 'rate':
      contribute(acc, count, 1);
      return;
    case 'sum':
      contribute(acc, sum, 1);
      return;
    case 'avg':
      contribute(acc, sum, count);
      return;
    case 'min':
    case 'max':
      if (!Number.isNaN(min)) contribute(acc, 0, 0, min, max);
      return;
    default:
      return;
  }
}

function contribute(acc: GroupAcc, total: number, count: number, min = Infinity, max = -Infinity): void {
  acc.total += total;
  acc.count += count;
  if (min < acc.min) acc.min = min;
  if (max > acc.max) acc.max = max;
  acc.contributed = true;
}

function addQuantileInput(
  acc: GroupAcc,
  t: Tracker,
  q: number,
  windowMs: number,
  memo: WindowMemo,
  factor: number,
): void {
  if (t.kind === 'observations') {
    // Sketches of different units cannot be merged; the group keeps the first unit it saw.
    if (acc.sketchUnit !== undefined && acc.sketchUnit !== t.unit) return;
    const sk = memo.sketch(t, windowMs);
    if (sk === undefined) return;
    acc.sketch ??= new LogCollapsingLowestDenseDDSketch({
      relativeAccuracy: OBSERVATION_RELATIVE_ACCURACY,
      binLimit: OBSERVATION_BIN_LIMIT,
    });
    acc.sketchUnit = t.unit;
    mergeSketchInto(acc.sketch, sk);
    acc.contributed = true;
  } else if (t.kind === 'buckets') {
    const d = memo.bucketDelta(t, windowMs);
    if (d === undefined || d.count <= 0) return;
    if (acc.buckets === undefined) {
      acc.bounds = d.bounds;
      acc.buckets = [...d.bucketCounts];
      acc.bucketUnit = t.unit;
    } else if (acc.bucketUnit === t.unit && sameBounds(acc.bounds!, d.bounds)) {
      for (let i = 0; i < acc.buckets.length; i++) acc.buckets[i]! += d.bucketCounts[i]!;
    } else return;
    acc.contributed = true;
  } else if (t.kind === 'summary' && t.point !== undefined) {
    const hit = t.point.quantiles.find(([qq]) => Math.abs(qq - q) < 1e-9);
    if (hit === undefined) return;
    acc.summaries++;
    acc.summaryValue = hit[1] * factor;
    acc.contributed = true;
  }
}

function finish(acc: GroupAcc, m: CompiledMeasure, q: number | undefined): number | undefined {
  if (!acc.contributed) return undefined;
  if (q !== undefined) {
    const to = m.unit;
    if (acc.sketch !== undefined) {
      const v = Math.min(acc.sketch.max, Math.max(acc.sketch.min, acc.sketch.getValueAtQuantile(q)));
      return v * (to === undefined ? 1 : (unitFactor(acc.sketchUnit ?? '', to) ?? NaN));
    }
    if (acc.buckets !== undefined) {
      const v = explicitBucketQuantile(q, acc.bounds!, acc.buckets);
      return v * (to === undefined ? 1 : (unitFactor(acc.bucketUnit ?? '', to) ?? NaN));
    }
    return acc.summaries === 1 ? acc.summaryValue : undefined;
  }
  if (acc.summaries > 0) return acc.summaries === 1 ? acc.summaryValue : undefined;
  switch (m.stat) {
    case 'rate':
      return (acc.total / (m.windowMs / 1000)) * (m.perMs / 1000);
    case 'avg':
      return acc.count > 0 ? acc.total / acc.count : undefined;
    case 'min':
      return Number.isFinite(acc.min) ? acc.min : undefined;
    case 'max':
      return Number.isFinite(acc.max) ? acc.max : undefined;
    default:
      return acc.total;
  }
}

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Group-wise `numerator / denominator`; groups whose denominator is 0 or missing are absent. */
export function ratioSamples(num: readonly Sample[], den: readonly Sample[]): Sample[] {
  const byKey = new Map<string, number>();
  for (const d of den) byKey.set(canonicalLabels(d.labels).key, d.value);
  const out: Sample[] = [];
  for (const n of num) {
    const d = byKey.get(canonicalLabels(n.labels).key);
    if (d !== undefined && d !== 0) out.push({ labels: n.labels, value: n.value / d });
  }
  // A group with traffic but no numerator series (no hits at all) has ratio 0, not "absent".
  const seen = new Set(num.map((n) => canonicalLabels(n.labels).key));
  for (const d of den) {
    if (d.value !== 0 && !seen.has(canonicalLabels(d.labels).key)) out.push({ labels: d.labels, value: 0 });
  }
  return out;
}
