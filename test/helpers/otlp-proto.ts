import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';

/**
 * An independent OTLP decoder for tests: protobufjs over the public opentelemetry-proto schema
 * (test/fixtures/otlp/otlp-metrics.proto: the metrics service messages condensed into one
 * package; field numbers and types unchanged).
 * OTLP/JSON is read through the same message types (`fromObject`), so both encodings come out in
 * one normalised shape and a test can compare them.
 */

/** The schema text; `packed: false` writes repeated numbers unpacked, as some senders do. */
export function otlpSchema(packed = true): string {
  const text = readFileSync(new URL('../fixtures/otlp/otlp-metrics.proto', import.meta.url), 'utf8');
  return packed
    ? text
    : text.replace(/(repeated (?:fixed64|double|uint64) \w+ = \d+);/g, '$1 [packed = false];');
}

const root = protobuf.parse(otlpSchema()).root;
export const RequestType = root.lookupType('otlp.ExportMetricsServiceRequest');
export const ResponseType = root.lookupType('otlp.ExportMetricsServiceResponse');

const TO_OBJECT: protobuf.IConversionOptions = {
  longs: Number,
  enums: String,
  defaults: false,
  arrays: true,
  oneofs: false,
};

// ---- the normalised request shape ----------------------------------------------------------

export interface KV {
  key: string;
  value: Record<string, unknown>;
}
export interface DecodedPoint {
  attributes: KV[];
  startTimeUnixNano?: number;
  timeUnixNano?: number;
  asDouble?: number;
  asInt?: number;
  count?: number;
  sum?: number;
  min?: number;
  max?: number;
  bucketCounts?: number[];
  explicitBounds?: number[];
  scale?: number;
  zeroCount?: number;
  positive?: { offset?: number; bucketCounts?: number[] };
  negative?: { offset?: number; bucketCounts?: number[] };
  quantileValues?: Array<{ quantile?: number; value?: number }>;
}
export interface DecodedData {
  dataPoints: DecodedPoint[];
  aggregationTemporality?: string;
  isMonotonic?: boolean;
}
export interface DecodedMetric {
  name: string;
  description?: string;
  unit?: string;
  gauge?: DecodedData;
  sum?: DecodedData;
  histogram?: DecodedData;
  exponentialHistogram?: DecodedData;
  summary?: DecodedData;
}
export interface DecodedResourceMetrics {
  resource?: { attributes: KV[] };
  scopeMetrics: Array<{ scope?: { name?: string; version?: string }; metrics: DecodedMetric[] }>;
}
export interface DecodedRequest {
  resourceMetrics: DecodedResourceMetrics[];
}

/** Decode an OTLP request body (gzip already removed) of either content type. */
export function decodeRequest(body: Buffer, contentType: string): DecodedRequest {
  const message = contentType.startsWith('application/json')
    ? RequestType.fromObject(JSON.parse(body.toString('utf8')) as Record<string, unknown>)
    : RequestType.decode(body);
  return RequestType.toObject(message, TO_OBJECT) as unknown as DecodedRequest;
}

/** A body as sent: gunzipped when `Content-Encoding: gzip`. */
export function plainBody(body: Buffer, contentEncoding: string | undefined): Buffer {
  return contentEncoding === 'gzip' ? gunzipSync(body) : body;
}

export function attr(kvs: KV[] | undefined, key: string): unknown {
  const kv = kvs?.find((a) => a.key === key);
  if (kv === undefined) return undefined;
  return Object.values(kv.value)[0];
}

/** Every data point of the request, flattened with its resource, scope and metric. */
export interface FlatPoint {
  resource: KV[];
  scope: string;
  metric: DecodedMetric;
  kind: 'gauge' | 'sum' | 'histogram' | 'exponentialHistogram' | 'summary';
  temporality: string | undefined;
  point: DecodedPoint;
}

export function flatPoints(req: DecodedRequest): FlatPoint[] {
  const out: FlatPoint[] = [];
  for (const rm of req.resourceMetrics ?? [])
    for (const sm of rm.scopeMetrics ?? [])
      for (const metric of sm.metrics ?? [])
        for (const kind of ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'] as const) {
          const data = metric[kind];
          if (data === undefined) continue;
          for (const point of data.dataPoints ?? [])
            out.push({
              resource: rm.resource?.attributes ?? [],
              scope: sm.scope?.name ?? '',
              metric,
              kind,
              temporality: data.aggregationTemporality,
              point,
            });
        }
  return out;
}
