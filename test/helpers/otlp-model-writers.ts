import { ValueType } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { GenAttr, GenMetric, GenPoint, GenRequest, GenValue } from './otlp-arbitraries.js';

/**
 * Writing a generated OTLP request (otlp-arbitraries.ts) the ways senders write it: the OTLP/JSON
 * object shape, and the OpenTelemetry JS SDK's ResourceMetrics for the official serializers.
 */

export const base64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

/** A double as OTLP/JSON writes it: non-finite values as strings. */
function jsonDouble(v: number): number | string {
  return Number.isFinite(v) ? v : String(v);
}

function anyValueJson(v: GenValue): Record<string, unknown> {
  switch (v.t) {
    case 'string':
      return { stringValue: v.v };
    case 'bool':
      return { boolValue: v.v };
    case 'int':
      return { intValue: v.v.toString() };
    case 'double':
      return { doubleValue: jsonDouble(v.v) };
    case 'bytes':
      return { bytesValue: base64(v.v) };
    case 'array':
      return { arrayValue: { values: v.v.map(anyValueJson) } };
    case 'kvlist':
      return { kvlistValue: { values: v.v.map(kvJson) } };
    case 'empty':
      return {};
  }
}

const kvJson = (a: GenAttr) => ({ key: a.key, value: anyValueJson(a.value) });

function pointJson(m: GenMetric, p: GenPoint): Record<string, unknown> {
  const out: Record<string, unknown> = {
    attributes: p.attrs.map(kvJson),
    startTimeUnixNano: p.startNs.toString(),
    timeUnixNano: p.timeNs.toString(),
  };
  if (m.kind === 'gauge' || m.kind === 'sum') {
    const n = p.number!;
    if (n.t === 'double') out['asDouble'] = jsonDouble(n.v);
    else if (n.t === 'int') out['asInt'] = n.v.toString();
  } else if (m.kind === 'histogram') {
    const h = p.histogram!;
    Object.assign(out, {
      count: String(h.count),
      sum: jsonDouble(h.sum),
      bucketCounts: h.counts.map(String),
      explicitBounds: h.bounds.map(jsonDouble),
    });
    if (h.min !== undefined) out['min'] = jsonDouble(h.min);
    if (h.max !== undefined) out['max'] = jsonDouble(h.max);
  } else if (m.kind === 'exponential_histogram') {
    const h = p.exp!;
    Object.assign(out, {
      count: String(h.count),
      sum: jsonDouble(h.sum),
      scale: h.scale,
      zeroCount: String(h.zeroCount),
      zeroThreshold: h.zeroThreshold,
      positive: { offset: h.positive.offset, bucketCounts: h.positive.counts.map(String) },
      negative: { offset: h.negative.offset, bucketCounts: h.negative.counts.map(String) },
    });
    if (h.min !== undefined) out['min'] = jsonDouble(h.min);
    if (h.max !== undefined) out['max'] = jsonDouble(h.max);
  } else {
    const s = p.summary!;
    Object.assign(out, {
      count: String(s.count),
      sum: jsonDouble(s.sum),
      quantileValues: s.quantiles.map(([quantile, value]) => ({
        quantile: jsonDouble(quantile),
        value: jsonDouble(value),
      })),
    });
  }
  return out;
}

function metricJson(m: GenMetric): Record<string, unknown> {
  const dataPoints = m.points.map((p) => pointJson(m, p));
  const data: Record<string, unknown> = { dataPoints };
  if (m.kind === 'sum')
    Object.assign(data, { aggregationTemporality: m.temporality, isMonotonic: m.monotonic });
  if (m.kind === 'histogram' || m.kind === 'exponential_histogram')
    data['aggregationTemporality'] = m.temporality;
  const field = m.kind === 'exponential_histogram' ? 'exponentialHistogram' : m.kind;
  return { name: m.name, unit: m.unit, description: m.description, [field]: data };
}

/**
 * The request as an OTLP/JSON object (lowerCamelCase, int64 as decimal strings, NaN and
 * infinities as strings). `JSON.stringify` of it is an OTLP/JSON body; protobufjs's
 * `RequestType.fromObject` of it gives the protobuf encoding.
 */
export function toOtlpJson(req: GenRequest): { resourceMetrics: unknown[] } {
  return {
    resourceMetrics: req.resources.map((r) => ({
      resource: { attributes: r.attrs.map(kvJson) },
      scopeMetrics: r.scopes.map((s) => ({
        scope: { name: s.name, version: s.version },
        metrics: s.metrics.map(metricJson),
      })),
    })),
  };
}

function sdkValue(v: GenValue): unknown {
  switch (v.t) {
    case 'int':
      return Number(v.v);
    case 'array':
      return v.v.map(sdkValue);
    case 'string':
    case 'bool':
    case 'double':
      return v.v;
    default:
      throw new Error(`no SDK attribute value for ${v.t}`);
  }
}

/** Attributes as the SDK holds them; `__proto__` defined as an own key, as the SDK's callers would. */
function sdkAttrs(attrs: readonly GenAttr[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of attrs)
    Object.defineProperty(out, a.key, { value: sdkValue(a.value), enumerable: true, writable: true });
  return out;
}

const hrTime = (ns: bigint): [number, number] => [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];

/** The request as the SDK's ResourceMetrics (for the official otlp-transformer serializers); sdkOnly models only. */
export function toResourceMetrics(req: GenRequest): ResourceMetrics[] {
  return req.resources.map((r) => ({
    // The serializers read only `attributes` and `schemaUrl` of a Resource.
    resource: { attributes: sdkAttrs(r.attrs), schemaUrl: undefined } as unknown as Resource,
    scopeMetrics: r.scopes.map((s) => ({
      scope: { name: s.name, version: s.version },
      metrics: s.metrics.map((m): MetricData => {
        const ints = m.points.every((p) => p.number?.t === 'int');
        const descriptor = {
          name: m.name,
          unit: m.unit,
          description: m.description,
          valueType: ints ? ValueType.INT : ValueType.DOUBLE,
        };
        const temporality =
          m.temporality === 1 ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE;
        const base = (p: GenPoint) => ({
          startTime: hrTime(p.startNs),
          endTime: hrTime(p.timeNs),
          attributes: sdkAttrs(p.attrs),
        });
        switch (m.kind) {
          case 'gauge':
          case 'sum':
            return {
              descriptor,
              aggregationTemporality: temporality,
              dataPointType: m.kind === 'sum' ? DataPointType.SUM : DataPointType.GAUGE,
              isMonotonic: m.monotonic,
              dataPoints: m.points.map((p) => ({
                ...base(p),
                value: p.number!.t === 'none' ? NaN : Number((p.number as { v: number | bigint }).v),
              })),
            } as MetricData;
          case 'histogram':
            return {
              descriptor,
              aggregationTemporality: temporality,
              dataPointType: DataPointType.HISTOGRAM,
              dataPoints: m.points.map((p) => {
                const h = p.histogram!;
                return {
                  ...base(p),
                  value: {
                    buckets: { boundaries: h.bounds, counts: h.counts },
                    sum: h.sum,
                    count: h.count,
                    min: h.min,
                    max: h.max,
                  },
                };
              }),
            } as MetricData;
          case 'exponential_histogram':
            return {
              descriptor,
              aggregationTemporality: temporality,
              dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
              dataPoints: m.points.map((p) => {
                const h = p.exp!;
                return {
                  ...base(p),
                  value: {
                    count: h.count,
                    sum: h.sum,
                    scale: h.scale,
                    zeroCount: h.zeroCount,
                    positive: { offset: h.positive.offset, bucketCounts: h.positive.counts },
                    negative: { offset: h.negative.offset, bucketCounts: h.negative.counts },
                    min: h.min,
                    max: h.max,
                  },
                };
              }),
            } as MetricData;
          case 'summary':
            throw new Error('the SDK has no summaries');
        }
      }),
    })),
  }));
}
