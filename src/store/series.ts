import { isJoinedKey, pairsOfKey } from './canonical-key.js';
import type { ExpHistogramPoint, FlatAttrs, HistogramPoint, SummaryPoint } from './types.js';

/**
 * One time series: a (resource, scope, metric, attributes) stream's current cumulative state.
 *
 * Number series keep their value inline (no point object) because a sidecar may hold 100k of
 * them and every object header counts; the other kinds hold their point.
 */
export class Series {
  /** Canonical key within its stream: the sorted attributes' {@link pairsKey}. */
  readonly key: string;
  /**
   * The sorted attributes, kept only when the key cannot give them back (an escaped key: an
   * attribute's text holds a control character). Otherwise {@link attrs} reads them out of the key: the
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

  /** `attrs` sorted by key, as {@link canonicalPairs} gives them with `key`. */
  constructor(key: string, attrs: FlatAttrs, nowMs: number) {
    this.key = key;
    this.ownAttrs = isJoinedKey(key) ? undefined : [...attrs];
    this.updatedMs = nowMs;
    this.point = undefined;
    this.labels = undefined;
  }

  /** Attributes sorted by key (a fresh array on each read when they come from the key). */
  get attrs(): FlatAttrs {
    return this.ownAttrs ?? pairsOfKey(this.key);
  }
}
