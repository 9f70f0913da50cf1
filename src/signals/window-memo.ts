import type { HistogramDelta } from './bucket-window.js';
import type { ObservationSketch } from './observation-window.js';
import type { BucketTracker, ObservationTracker } from './trackers.js';

/**
 * Window reads of one evaluation tick, computed once per (tracker, window). Signals that read
 * the same metric over the same window (p95 and p99 of one histogram, its avg and rate, the
 * sources' latency percentiles) then share the slot merges, which dominate a tick's cost
 * (B7 in bench/: ~5× fewer merges with the shipped config's signal mix).
 */
export class WindowMemo {
  private readonly deltas = new Map<number, Map<BucketTracker, HistogramDelta | undefined>>();
  private readonly sketches = new Map<number, Map<ObservationTracker, ObservationSketch | undefined>>();

  constructor(readonly nowMs: number) {}

  /** The tracker's delta histogram over the window (see BucketWindow.delta). */
  bucketDelta(t: BucketTracker, windowMs: number): HistogramDelta | undefined {
    return memo(this.deltas, t, windowMs, () => t.window.delta(this.nowMs, windowMs));
  }

  /** The tracker's observations over the window, merged into one sketch; never mutate it. */
  sketch(t: ObservationTracker, windowMs: number): ObservationSketch | undefined {
    return memo(this.sketches, t, windowMs, () => t.window.mergedSketch(this.nowMs, windowMs));
  }
}

function memo<K, V>(byWindow: Map<number, Map<K, V>>, key: K, windowMs: number, compute: () => V): V {
  let m = byWindow.get(windowMs);
  if (m === undefined) byWindow.set(windowMs, (m = new Map()));
  if (m.has(key)) return m.get(key)!;
  const v = compute();
  m.set(key, v);
  return v;
}
