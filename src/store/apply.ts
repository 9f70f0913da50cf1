import { mergeExpHistograms, maxDefined, minDefined } from './exp-histogram.js';
import type { Series } from './series.js';
import type { MetricStream } from './store.js';
import type { ExpHistogramPoint, HistogramPoint, SummaryPoint } from './types.js';
import {
  checkExpHistogram,
  checkHistogram,
  checkNumber,
  checkSummary,
  numberOk,
  type Invalid,
} from './validate.js';

/**
 * Applying a validated point to a series' cumulative state: delta sums and histograms are
 * accumulated (SPEC §3), cumulative points replace the state unless they are older than it.
 * Every ingest path (OTLP protobuf, OTLP JSON, SDK collections) ends here.
 */

export function applyNumber(
  stream: MetricStream,
  s: Series,
  startMs: number,
  timeMs: number,
  value: number,
  nowMs: number,
): Invalid | null {
  const d = stream.desc;
  // The valid case without calling checkNumber: where V8 does not inline that call (a large
  // caller such as the known-request path), passing `value` boxed it, a heap number per point.
  if (!numberOk(value, d.monotonic)) return checkNumber(value, d.monotonic);
  if (d.temporality === 'delta' && d.kind === 'sum') {
    if (s.timeMs === 0) s.startMs = startMs;
    s.value += value;
    s.timeMs = timeMs;
  } else if (timeMs >= s.timeMs || timeMs === 0) {
    s.value = value;
    s.startMs = startMs;
    s.timeMs = timeMs;
  }
  s.updatedMs = nowMs;
  s.filled = true;
  return null;
}

export function applyHistogram(
  stream: MetricStream,
  s: Series,
  p: HistogramPoint,
  nowMs: number,
): Invalid | null {
  const bad = checkHistogram(p);
  if (bad !== null) return bad;
  const prev = s.point as HistogramPoint | undefined;
  if (stream.desc.temporality === 'delta' && prev !== undefined && sameBounds(prev.bounds, p.bounds)) {
    const counts = prev.bucketCounts.slice();
    for (let i = 0; i < counts.length; i++) counts[i]! += p.bucketCounts[i]!;
    s.point = {
      startMs: prev.startMs,
      timeMs: p.timeMs,
      count: prev.count + p.count,
      sum: prev.sum + p.sum,
      min: minDefined(prev.min, p.min),
      max: maxDefined(prev.max, p.max),
      bounds: prev.bounds,
      bucketCounts: counts,
    };
  } else if (prev === undefined || p.timeMs >= prev.timeMs || stream.desc.temporality === 'delta') {
    // A delta point with new bounds restarts the accumulation: buckets cannot be re-binned.
    // Unchanged bounds keep the series' existing array: one array per layout over time, so the
    // exposition's per-layout `le` label cache stays warm and old arrays can be collected.
    if (prev !== undefined && prev.bounds !== p.bounds && sameBounds(prev.bounds, p.bounds))
      (p as { bounds: readonly number[] }).bounds = prev.bounds;
    s.point = p;
  }
  s.updatedMs = nowMs;
  s.filled = true;
  return null;
}

export function applyExpHistogram(
  stream: MetricStream,
  s: Series,
  p: ExpHistogramPoint,
  nowMs: number,
): Invalid | null {
  const bad = checkExpHistogram(p);
  if (bad !== null) return bad;
  const prev = s.point as ExpHistogramPoint | undefined;
  if (stream.desc.temporality === 'delta' && prev !== undefined) s.point = mergeExpHistograms(prev, p);
  else if (prev === undefined || p.timeMs >= prev.timeMs) s.point = p;
  s.updatedMs = nowMs;
  s.filled = true;
  return null;
}

export function applySummary(s: Series, p: SummaryPoint, nowMs: number): Invalid | null {
  const bad = checkSummary(p);
  if (bad !== null) return bad;
  const prev = s.point as SummaryPoint | undefined;
  if (prev === undefined || p.timeMs >= prev.timeMs) s.point = p;
  s.updatedMs = nowMs;
  s.filled = true;
  return null;
}

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
