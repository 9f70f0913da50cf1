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
  /**
   * The sorted attributes, kept only when the key cannot give them back (an attribute's text
   * holds one of the key's separators). Otherwise {@link attrs} reads them out of the key: the
   * array and its strings would cost ~100 bytes a series, and the readers (a series' label
   * string, built once; an OTLP export; a new tracker) are not per point.
   */
  private readonly ownAttrs: FlatAttrs | undefined;
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
  /**
   * Wall-clock time of the last accepted point, for the TTL sweep. Initialised here, not only in
   * the constructor: a field that starts as `undefined` (a declared class field does) is stored
   * boxed, and every point's update allocated a heap number (B10's garbage, test in store.test.ts).
   */
  updatedMs = 0;
  /**
   * The Pushgateway-style group that owns the series, if any: owned series are exempt from the
   * TTL sweep, as groups live until deleted (SPEC §3), but still count towards the series limits.
   * The group's only per-series record: it finds its series through their streams.
   */
  owner: object | undefined = undefined;
  /** The raw attribute bytes (latin1) the OTLP decoder last found this series by. */
  rawKey: string | undefined = undefined;
  /** Exposition caches owned by the serialiser (label string); reset when the series is recreated. */
  labels: string | undefined;

  /** `attrs` sorted by key, as {@link canonicalAttrs} gives them with `key`. */
  constructor(key: string, attrs: FlatAttrs, nowMs: number) {
    this.key = key;
    this.ownAttrs = keyHolds(key, attrs.length >> 1) ? undefined : [...attrs];
    this.updatedMs = nowMs;
    this.point = undefined;
    this.labels = undefined;
  }

  /** Attributes sorted by key (a fresh array on each read when they come from the key). */
  get attrs(): FlatAttrs {
    return this.ownAttrs ?? attrsOfKey(this.key);
  }
}

/**
 * Whether a key joined from `pairs` attributes gives them back: it does when it holds exactly one
 * of each separator per pair (an attribute's text holding one would add to the count).
 */
function keyHolds(key: string, pairs: number): boolean {
  let ones = 0;
  let twos = 0;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c === 1) ones++;
    else if (c === 2) twos++;
  }
  return ones === pairs && twos === pairs;
}

/** The attributes a key was joined from: the inverse of {@link joinKey} for text without its separators. */
export function attrsOfKey(key: string): string[] {
  const out: string[] = [];
  let start = 0;
  while (start < key.length) {
    const eq = key.indexOf('\u0001', start);
    const end = key.indexOf('\u0002', eq + 1);
    out.push(key.slice(start, eq), key.slice(eq + 1, end));
    start = end + 1;
  }
  return out;
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
