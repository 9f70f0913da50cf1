import type { ResourceEntry } from '../store/resource.js';
import type { Series } from '../store/series.js';
import type { MetricStream } from '../store/store.js';
import { downscaleBuckets } from '../store/exp-histogram.js';
import type {
  ExpBuckets,
  ExpHistogramPoint,
  FlatAttrs,
  HistogramPoint,
  SummaryPoint,
} from '../store/types.js';
import { BucketWindow } from './bucket-window.js';
import { CounterWindow } from './counter-window.js';
import { GaugeWindow } from './gauge-window.js';
import { ObservationWindow } from './observation-window.js';

/**
 * Per-series windows: what one series (or one stream of raw observations) contributed in each
 * time slot. The signal engine feeds them at every evaluation tick from the store's cumulative
 * state, or straight from JSON push for raw observations, and reads windows of them.
 */

/** The shape of the data a tracker keeps, which decides the stats it can answer. */
export type TrackerKind = 'counter' | 'gauge' | 'buckets' | 'observations' | 'summary';

export interface WindowSizing {
  slotMs: number;
  maxWindowMs: number;
  /** Counters/histograms started at or after this count in full on their first sample. */
  startedMs: number;
}

interface TrackerBase {
  readonly kind: TrackerKind;
  readonly attrs: FlatAttrs;
  readonly resource: ResourceEntry;
  /** The metric's unit as the data states it. */
  readonly unit: string;
  /** Last tick (or observation) that brought data; trackers idle past the longest window are dropped. */
  lastDataMs: number;
  /** The series' `updatedMs` when it was last fed, so an unchanged series is not fed twice. */
  fedUpdatedMs: number;
}

export interface CounterTracker extends TrackerBase {
  readonly kind: 'counter';
  readonly window: CounterWindow;
  readonly gauge: GaugeWindow;
}

export interface GaugeTracker extends TrackerBase {
  readonly kind: 'gauge';
  readonly window: GaugeWindow;
}

export interface BucketTracker extends TrackerBase {
  readonly kind: 'buckets';
  readonly window: BucketWindow;
  /** Cumulative observation count, for the sources' per-tick request counting. */
  total: number;
}

export interface ObservationTracker extends TrackerBase {
  readonly kind: 'observations';
  readonly window: ObservationWindow;
  total: number;
  /** Exponential histograms: the previous cumulative point, to turn points into observations. */
  prev: ExpHistogramPoint | undefined;
  /** Exponential histograms started at or after this count in full on their first point. */
  readonly startedMs: number;
}

export interface SummaryTracker extends TrackerBase {
  readonly kind: 'summary';
  point: SummaryPoint | undefined;
}

export type Tracker = CounterTracker | GaugeTracker | BucketTracker | ObservationTracker | SummaryTracker;

/** A new tracker for a store series of `stream`. */
export function trackerForStream(
  stream: MetricStream,
  s: Series,
  sizing: WindowSizing,
  nowMs: number,
): Tracker {
  const base = {
    attrs: s.attrs,
    resource: stream.resource,
    unit: stream.desc.unit,
    lastDataMs: nowMs,
    fedUpdatedMs: -1,
  };
  const ring = { slotMs: sizing.slotMs, maxWindowMs: sizing.maxWindowMs };
  switch (stream.desc.kind) {
    case 'sum':
      if (stream.desc.monotonic)
        return {
          ...base,
          kind: 'counter',
          window: new CounterWindow({ ...ring, countInitialIfStartedAfterMs: sizing.startedMs }),
          gauge: new GaugeWindow(ring),
        };
      return { ...base, kind: 'gauge', window: new GaugeWindow(ring) };
    case 'gauge':
      return { ...base, kind: 'gauge', window: new GaugeWindow(ring) };
    case 'histogram':
      return {
        ...base,
        kind: 'buckets',
        window: new BucketWindow({ ...ring, countInitialIfStartedAfterMs: sizing.startedMs }),
        total: 0,
      };
    case 'exponential_histogram':
      return observationTracker(stream.resource, s.attrs, stream.desc.unit, sizing, nowMs);
    case 'summary':
      return { ...base, kind: 'summary', point: undefined };
  }
}

export function observationTracker(
  resource: ResourceEntry,
  attrs: FlatAttrs,
  unit: string,
  sizing: WindowSizing,
  nowMs: number,
): ObservationTracker {
  return {
    kind: 'observations',
    attrs,
    resource,
    unit,
    lastDataMs: nowMs,
    fedUpdatedMs: -1,
    window: new ObservationWindow({ slotMs: sizing.slotMs, maxWindowMs: sizing.maxWindowMs }),
    total: 0,
    prev: undefined,
    startedMs: sizing.startedMs,
  };
}

/** Feed a store series' current cumulative state into its tracker (called when it changed). */
export function feedFromSeries(t: Tracker, s: Series, nowMs: number): void {
  t.lastDataMs = nowMs;
  t.fedUpdatedMs = s.updatedMs;
  switch (t.kind) {
    case 'counter':
      t.window.record(s.value, nowMs, s.startMs);
      t.gauge.record(s.value, nowMs);
      return;
    case 'gauge':
      t.window.record(s.value, nowMs);
      return;
    case 'buckets': {
      const p = s.point as HistogramPoint;
      t.window.record(p, nowMs);
      t.total = p.count;
      return;
    }
    case 'observations':
      feedExpHistogram(t, s.point as ExpHistogramPoint, nowMs, t.startedMs);
      return;
    case 'summary':
      t.point = s.point as SummaryPoint;
      return;
  }
}

/**
 * An exponential histogram's growth since the previous point, as weighted observations at each
 * bucket's midpoint (relative error at most half a bucket: ~4% at scale 3, 0.3% at scale 8).
 * The SDK lowers the scale of a cumulative histogram as its values spread, so the previous point
 * is downscaled to the new scale before the difference (nothing is lost). The first point counts
 * in full only if the histogram started after vigil did (as counters); a lower count (a reset)
 * or a finer scale only becomes the new baseline.
 */
function feedExpHistogram(
  t: ObservationTracker,
  p: ExpHistogramPoint,
  nowMs: number,
  startedMs: number,
): void {
  const prev = t.prev;
  t.prev = p;
  t.total = p.count;
  let before: { positive: ExpBuckets; zeroCount: number };
  if (prev === undefined) {
    if (!(p.startMs > 0 && p.startMs >= startedMs)) return;
    before = { positive: { offset: 0, counts: [] }, zeroCount: 0 };
  } else {
    if (prev.scale < p.scale || p.count < prev.count) return;
    before = { positive: downscaleBuckets(prev.positive, prev.scale, p.scale), zeroCount: prev.zeroCount };
  }
  const base = Math.pow(2, Math.pow(2, -p.scale));
  const pos = p.positive;
  for (let j = 0; j < pos.counts.length; j++) {
    const index = pos.offset + j;
    const grew = pos.counts[j]! - countAt(before.positive, index);
    if (grew > 0) t.window.record(midpoint(index, base), nowMs, grew);
  }
  const zeroGrew = p.zeroCount - before.zeroCount;
  if (zeroGrew > 0) t.window.record(0, nowMs, zeroGrew);
  // Negative observations are outside what latency-style signals read; the sketch refuses them.
}

function countAt(b: { offset: number; counts: readonly number[] }, index: number): number {
  const i = index - b.offset;
  return i >= 0 && i < b.counts.length ? b.counts[i]! : 0;
}

/** The value in bucket (base^i, base^(i+1)] with the least worst-case relative error. */
function midpoint(index: number, base: number): number {
  const lower = Math.pow(base, index);
  return (2 * lower * base) / (1 + base);
}
