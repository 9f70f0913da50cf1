import type { ExpHistogramPoint, FlatAttrs, HistogramPoint, SummaryPoint } from './types.js';

/**
 * One time series: a (resource, scope, metric, attributes) stream's current cumulative state.
 *
 * Number series keep their value inline (no point object) because a sidecar may hold 100k of
 * them and every object header counts; the other kinds hold their point.
 */
export class Series {
  /** Canonical key within its stream: sorted attributes joined by control characters. */
  readonly key: string;
  /** Attributes sorted by key. */
  readonly attrs: FlatAttrs;
  startMs = 0;
  timeMs = 0;
  /** Number series: the value (cumulative for sums). */
  value = 0;
  /** Histogram / exponential histogram / summary series: the cumulative point. */
  point: HistogramPoint | ExpHistogramPoint | SummaryPoint | undefined;
  /**
   * Whether a valid point has been applied. A series is created before its first point is
   * validated (the decoders look up identity first); exporters skip it until it holds data.
   */
  filled = false;
  /** Wall-clock time of the last accepted point, for the TTL sweep. */
  updatedMs: number;
  /**
   * Exempt from the TTL sweep: Pushgateway-style groups live until deleted (SPEC §3). Pinned
   * series still count towards the series limits.
   */
  pinned = false;
  /** The raw attribute bytes (latin1) the OTLP decoder last found this series by. */
  rawKey: string | undefined = undefined;
  /** Exposition caches owned by the serialiser (label string); reset when the series is recreated. */
  labels: string | undefined;

  constructor(key: string, attrs: FlatAttrs, nowMs: number) {
    this.key = key;
    this.attrs = attrs;
    this.updatedMs = nowMs;
    this.point = undefined;
    this.labels = undefined;
  }
}

/**
 * Sort a flat attribute list by key (last value wins for duplicate keys) and build the canonical
 * key. \u0001 and \u0002 cannot be confused with attribute text in practice and are cheap to scan.
 */
export function canonicalAttrs(attrs: FlatAttrs): { key: string; sorted: string[] } {
  const n = attrs.length >> 1;
  if (n === 0) return { key: '', sorted: [] };
  const idx: number[] = [];
  for (let i = 0; i < n; i++) idx.push(i);
  idx.sort((a, b) => {
    const ka = attrs[2 * a]!;
    const kb = attrs[2 * b]!;
    return ka < kb ? -1 : ka > kb ? 1 : a - b;
  });
  const sorted: string[] = [];
  for (let j = 0; j < n; j++) {
    const i = idx[j]!;
    const k = attrs[2 * i]!;
    // Duplicate key: the later value replaces the earlier one (as the OTel SDK does).
    if (sorted.length > 0 && sorted[sorted.length - 2] === k) {
      sorted[sorted.length - 1] = attrs[2 * i + 1]!;
    } else {
      sorted.push(k, attrs[2 * i + 1]!);
    }
  }
  return { key: joinKey(sorted), sorted };
}

/**
 * The canonical key of sorted attributes, built with one `join`: concatenating with `+=` leaves a
 * rope of cons strings that the series keeps (measured: ~170 bytes against ~65 for the flat
 * string of a 3-attribute key), and a flat string also hashes without being flattened first.
 */
export function joinKey(sorted: readonly string[]): string {
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; i += 2) parts.push(sorted[i]!, '\u0001', sorted[i + 1]!, '\u0002');
  return parts.join('');
}
