/**
 * Contracts of the series store: what ingest writes into and what exporters read.
 *
 * Attributes travel as flat string arrays `[k0, v0, k1, v1, ...]` — never as objects — so a key
 * such as `__proto__` or `constructor` is plain data everywhere (no prototype magic), and so a
 * series costs a few small strings instead of a hidden-class object.
 */

import type { FamilyType } from './store.js';

/** Flat attribute list `[key0, value0, key1, value1, ...]`; values already rendered as strings. */
export type FlatAttrs = readonly string[];

/** The OTLP data types vigil stores. */
export type MetricKind = 'sum' | 'gauge' | 'histogram' | 'exponential_histogram' | 'summary';

export type Temporality = 'cumulative' | 'delta';

/** What a metric stream is: one (resource, scope, metric name) from one source. */
export interface MetricDescriptor {
  readonly name: string;
  readonly unit: string;
  readonly description: string;
  readonly kind: MetricKind;
  /** For `sum` only; other kinds are false. */
  readonly monotonic: boolean;
  /** For `sum`, `histogram`, `exponential_histogram`; gauges and summaries are 'cumulative'. */
  readonly temporality: Temporality;
  /**
   * Data that arrived with a Prometheus name and type (the Pushgateway-compatible text push):
   * exposed verbatim, so the naming rules add no suffix again (`jobs_total` stays `jobs_total`,
   * an untyped family stays untyped).
   */
  readonly prometheus?: { readonly name: string; readonly type: FamilyType };
}

export interface ScopeInfo {
  readonly name: string;
  readonly version: string;
}

/** A number point (Sum or Gauge). Times in milliseconds since the epoch (0 = unknown). */
export interface NumberPoint {
  startMs: number;
  timeMs: number;
  value: number;
}

/** An explicit-bucket histogram point. `bucketCounts.length === bounds.length + 1`. */
export interface HistogramPoint {
  startMs: number;
  timeMs: number;
  count: number;
  sum: number;
  /** NaN when absent. */
  min: number;
  max: number;
  bounds: readonly number[];
  bucketCounts: readonly number[];
}

/** One side (positive or negative) of an exponential histogram. */
export interface ExpBuckets {
  offset: number;
  counts: number[];
}

export interface ExpHistogramPoint {
  startMs: number;
  timeMs: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  scale: number;
  zeroCount: number;
  zeroThreshold: number;
  positive: ExpBuckets;
  negative: ExpBuckets;
}

export interface SummaryPoint {
  startMs: number;
  timeMs: number;
  count: number;
  sum: number;
  /** `[quantile, value]` pairs, quantile in [0, 1]. */
  quantiles: Array<[number, number]>;
}

/** Why a point was not stored: a short, stable reason used as a metric label and in errors. */
export type RejectReason =
  | 'invalid_value'
  | 'invalid_histogram'
  | 'series_limit'
  | 'series_per_metric_limit'
  | 'type_conflict'
  | 'unsupported'
  | 'invalid_name'
  | 'attribute_count_limit'
  | 'attribute_length_limit';
