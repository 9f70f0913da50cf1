import { ValueType, type Attributes } from '@opentelemetry/api';
import { millisToHrTime } from '@opentelemetry/core';
import {
  AggregationTemporality,
  DataPointType,
  type DataPoint,
  type ExponentialHistogram,
  type Histogram,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import type { ResourceEntry } from '../store/resource.js';
import type { Series } from '../store/series.js';
import type { MetricStream, Store } from '../store/store.js';
import type {
  ExpHistogramPoint,
  FlatAttrs,
  HistogramPoint,
  ScopeInfo,
  SummaryPoint,
} from '../store/types.js';
import type { DeltaConverter } from './delta-converter.js';

/**
 * What the store holds, as OpenTelemetry SDK `MetricData` grouped per source — one resource per
 * source, so each keeps its own identity at the backend. (The SDK's MetricReader path cannot do
 * this: a reader's collection carries one Resource, and metric producers' resources are merged
 * into it.) Summaries have no SDK type; they travel as plain data to `otlp-summary.ts`.
 *
 * The output is cut into batches of at most `maxBatchPoints` points (a metric with more points is
 * split), produced lazily so the caller can serialise one and yield before building the next.
 */

/** A Summary metric, which the SDK data model (and so the official serializers) lacks. */
export interface SummaryMetric {
  name: string;
  description: string;
  unit: string;
  dataPoints: Array<SummaryPoint & { attributes: FlatAttrs }>;
}

export interface ScopeBatch {
  scope: ScopeInfo;
  metrics: MetricData[];
  summaries: SummaryMetric[];
}

export interface ResourceBatch {
  resource: ResourceEntry;
  scopes: ScopeBatch[];
}

export interface ExportBatch {
  points: number;
  resources: ResourceBatch[];
}

export interface BuildOptions {
  /** Which streams are exported (selection by origin: ingested, rules, self). */
  include: (stream: MetricStream) => boolean;
  /** Present for delta temporality: monotonic sums and histograms become deltas. */
  delta: DeltaConverter | undefined;
  nowMs: number;
  /**
   * Start time for cumulative points whose source gave none (0): a fixed time (export start),
   * since a start time that moved would read as a counter reset at the backend.
   */
  defaultStartMs: number;
  maxBatchPoints: number;
}

/** One stream's points in export form. */
type StreamPoints =
  | { kind: 'metric'; make: (points: DataPoint<unknown>[]) => MetricData; points: DataPoint<unknown>[] }
  | { kind: 'summary'; points: SummaryMetric['dataPoints'] };

export function* buildBatches(store: Store, opts: BuildOptions): Generator<ExportBatch> {
  let batch: ExportBatch = { points: 0, resources: [] };
  // The batch's last resource and scope, so consecutive streams of one source share them.
  let lastResource: ResourceBatch | undefined;
  let lastScope: ScopeBatch | undefined;
  for (const stream of store.streams.values()) {
    if (!opts.include(stream)) continue;
    const sp = streamPoints(stream, opts);
    if (sp === undefined || sp.points.length === 0) continue;
    let offset = 0;
    while (offset < sp.points.length) {
      const room = opts.maxBatchPoints - batch.points;
      const take = Math.min(room, sp.points.length - offset);
      if (lastResource?.resource !== stream.resource) {
        lastResource = { resource: stream.resource, scopes: [] };
        batch.resources.push(lastResource);
        lastScope = undefined;
      }
      if (lastScope === undefined || !sameScope(lastScope.scope, stream.scope)) {
        lastScope = { scope: stream.scope, metrics: [], summaries: [] };
        lastResource.scopes.push(lastScope);
      }
      if (sp.kind === 'metric') lastScope.metrics.push(sp.make(sp.points.slice(offset, offset + take)));
      else lastScope.summaries.push(summaryMetric(stream, sp.points.slice(offset, offset + take)));
      offset += take;
      batch.points += take;
      if (batch.points >= opts.maxBatchPoints) {
        yield batch;
        batch = { points: 0, resources: [] };
        lastResource = undefined;
        lastScope = undefined;
      }
    }
  }
  if (batch.points > 0) yield batch;
}

function sameScope(a: ScopeInfo, b: ScopeInfo): boolean {
  return a.name === b.name && a.version === b.version;
}

function summaryMetric(stream: MetricStream, points: SummaryMetric['dataPoints']): SummaryMetric {
  const d = stream.desc;
  return { name: d.name, description: d.description, unit: d.unit, dataPoints: points };
}

/** Attributes as an object; `Object.fromEntries` defines own properties, so `__proto__` stays data. */
export function attributesOf(flat: FlatAttrs): Attributes {
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
  return Object.fromEntries(pairs);
}

const hr = millisToHrTime;

function streamPoints(stream: MetricStream, opts: BuildOptions): StreamPoints | undefined {
  const d = stream.desc;
  const descriptor = { name: d.name, description: d.description, unit: d.unit, valueType: ValueType.DOUBLE };
  // Non-monotonic sums stay cumulative under delta export, as the SDK's delta temporality
  // selector keeps up-down counters cumulative: their deltas would be meaningless to most backends.
  const delta = opts.delta !== undefined && (d.kind !== 'sum' || d.monotonic) ? opts.delta : undefined;
  const temporality = delta !== undefined ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE;
  const now = opts.nowMs;
  const filled = (): Series[] => [...stream.series.values()].filter((s) => s.filled);

  switch (d.kind) {
    case 'gauge':
    case 'sum': {
      const points: DataPoint<number>[] = [];
      for (const s of filled()) {
        if (d.kind === 'sum' && delta !== undefined) {
          const p = delta.sum(s, now);
          if (p !== undefined)
            points.push({
              startTime: hr(p.startMs),
              endTime: hr(p.timeMs),
              attributes: attributesOf(s.attrs),
              value: p.value,
            });
          continue;
        }
        const timeMs = s.timeMs || now;
        points.push({
          startTime: hr(s.startMs || (d.kind === 'sum' ? opts.defaultStartMs : 0)),
          endTime: hr(timeMs),
          attributes: attributesOf(s.attrs),
          value: s.value,
        });
      }
      const make =
        d.kind === 'gauge'
          ? (dataPoints: DataPoint<unknown>[]): MetricData => ({
              descriptor,
              aggregationTemporality: AggregationTemporality.CUMULATIVE,
              dataPointType: DataPointType.GAUGE,
              dataPoints: dataPoints as DataPoint<number>[],
            })
          : (dataPoints: DataPoint<unknown>[]): MetricData => ({
              descriptor,
              aggregationTemporality: temporality,
              dataPointType: DataPointType.SUM,
              isMonotonic: d.monotonic,
              dataPoints: dataPoints as DataPoint<number>[],
            });
      return { kind: 'metric', make, points };
    }
    case 'histogram': {
      const points: DataPoint<Histogram>[] = [];
      for (const s of filled()) {
        const cur = s.point as HistogramPoint;
        const p = delta !== undefined ? delta.histogram(s, cur, now) : cur;
        if (p === undefined) continue;
        const timeMs = p.timeMs || now;
        points.push({
          startTime: hr(p.startMs || opts.defaultStartMs),
          endTime: hr(timeMs),
          attributes: attributesOf(s.attrs),
          value: {
            buckets: { boundaries: [...p.bounds], counts: [...p.bucketCounts] },
            count: p.count,
            sum: p.sum,
            ...(Number.isNaN(p.min) ? {} : { min: p.min }),
            ...(Number.isNaN(p.max) ? {} : { max: p.max }),
          },
        });
      }
      const make = (dataPoints: DataPoint<unknown>[]): MetricData => ({
        descriptor,
        aggregationTemporality: temporality,
        dataPointType: DataPointType.HISTOGRAM,
        dataPoints: dataPoints as DataPoint<Histogram>[],
      });
      return { kind: 'metric', make, points };
    }
    case 'exponential_histogram': {
      const points: DataPoint<ExponentialHistogram>[] = [];
      for (const s of filled()) {
        const cur = s.point as ExpHistogramPoint;
        const p = delta !== undefined ? delta.expHistogram(s, cur, now) : cur;
        if (p === undefined) continue;
        const timeMs = p.timeMs || now;
        points.push({
          startTime: hr(p.startMs || opts.defaultStartMs),
          endTime: hr(timeMs),
          attributes: attributesOf(s.attrs),
          value: {
            count: p.count,
            sum: p.sum,
            scale: p.scale,
            zeroCount: p.zeroCount,
            positive: { offset: p.positive.offset, bucketCounts: [...p.positive.counts] },
            negative: { offset: p.negative.offset, bucketCounts: [...p.negative.counts] },
            ...(Number.isNaN(p.min) ? {} : { min: p.min }),
            ...(Number.isNaN(p.max) ? {} : { max: p.max }),
          },
        });
      }
      const make = (dataPoints: DataPoint<unknown>[]): MetricData => ({
        descriptor,
        aggregationTemporality: temporality,
        dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
        dataPoints: dataPoints as DataPoint<ExponentialHistogram>[],
      });
      return { kind: 'metric', make, points };
    }
    case 'summary': {
      const points: SummaryMetric['dataPoints'] = [];
      for (const s of filled()) {
        const p = s.point as SummaryPoint;
        points.push({ ...p, timeMs: p.timeMs || now, attributes: s.attrs });
      }
      return { kind: 'summary', points };
    }
  }
}
