import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';

/**
 * An independent OTLP decoder for tests: protobufjs over the public opentelemetry-proto schema
 * (collector/metrics/v1/metrics_service.proto, metrics/v1/metrics.proto, common/v1/common.proto,
 * resource/v1/resource.proto, condensed into one package; field numbers and types unchanged).
 * OTLP/JSON is read through the same message types (`fromObject`), so both encodings come out in
 * one normalised shape and a test can compare them.
 */

const OTLP_PROTO = `
syntax = "proto3";
package otlp;
message ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
message ExportMetricsServiceResponse { ExportMetricsPartialSuccess partial_success = 1; }
message ExportMetricsPartialSuccess { int64 rejected_data_points = 1; string error_message = 2; }
message AnyValue {
  oneof value {
    string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4;
    ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; string schema_url = 3; }
message ScopeMetrics { InstrumentationScope scope = 1; repeated Metric metrics = 2; string schema_url = 3; }
message Metric {
  string name = 1; string description = 2; string unit = 3;
  oneof data { Gauge gauge = 5; Sum sum = 7; Histogram histogram = 9; ExponentialHistogram exponential_histogram = 10; Summary summary = 11; }
  repeated KeyValue metadata = 12;
}
enum AggregationTemporality {
  AGGREGATION_TEMPORALITY_UNSPECIFIED = 0; AGGREGATION_TEMPORALITY_DELTA = 1; AGGREGATION_TEMPORALITY_CUMULATIVE = 2;
}
message Gauge { repeated NumberDataPoint data_points = 1; }
message Sum { repeated NumberDataPoint data_points = 1; AggregationTemporality aggregation_temporality = 2; bool is_monotonic = 3; }
message Histogram { repeated HistogramDataPoint data_points = 1; AggregationTemporality aggregation_temporality = 2; }
message ExponentialHistogram { repeated ExponentialHistogramDataPoint data_points = 1; AggregationTemporality aggregation_temporality = 2; }
message Summary { repeated SummaryDataPoint data_points = 1; }
message NumberDataPoint {
  repeated KeyValue attributes = 7; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
  oneof value { double as_double = 4; sfixed64 as_int = 6; }
  repeated Exemplar exemplars = 5; uint32 flags = 8;
}
message HistogramDataPoint {
  repeated KeyValue attributes = 9; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
  fixed64 count = 4; optional double sum = 5; repeated fixed64 bucket_counts = 6;
  repeated double explicit_bounds = 7; repeated Exemplar exemplars = 8; uint32 flags = 10;
  optional double min = 11; optional double max = 12;
}
message ExponentialHistogramDataPoint {
  repeated KeyValue attributes = 1; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
  fixed64 count = 4; optional double sum = 5; sint32 scale = 6; fixed64 zero_count = 7;
  Buckets positive = 8; Buckets negative = 9; uint32 flags = 10; repeated Exemplar exemplars = 11;
  optional double min = 12; optional double max = 13; double zero_threshold = 14;
  message Buckets { sint32 offset = 1; repeated uint64 bucket_counts = 2; }
}
message SummaryDataPoint {
  repeated KeyValue attributes = 7; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
  fixed64 count = 4; double sum = 5; repeated ValueAtQuantile quantile_values = 6; uint32 flags = 8;
  message ValueAtQuantile { double quantile = 1; double value = 2; }
}
message Exemplar {
  repeated KeyValue filtered_attributes = 7; fixed64 time_unix_nano = 2;
  oneof value { double as_double = 3; sfixed64 as_int = 6; } bytes span_id = 4; bytes trace_id = 5;
}
`;

const root = protobuf.parse(OTLP_PROTO).root;
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
