import protobuf from 'protobufjs';

/**
 * An independent encoder of the Prometheus protobuf exposition for tests: protobufjs over
 * prometheus/client_model's metrics.proto (condensed; field numbers and types unchanged; native
 * histogram and exemplar fields left out), written length-delimited as client_golang's `push`
 * package sends it.
 */

const METRICS_PROTO = `
syntax = "proto2";
package io.prometheus.client;
message LabelPair { optional string name = 1; optional string value = 2; }
enum MetricType { COUNTER = 0; GAUGE = 1; SUMMARY = 2; UNTYPED = 3; HISTOGRAM = 4; GAUGE_HISTOGRAM = 5; }
message Gauge { optional double value = 1; }
message Counter { optional double value = 1; }
message Quantile { optional double quantile = 1; optional double value = 2; }
message Summary { optional uint64 sample_count = 1; optional double sample_sum = 2; repeated Quantile quantile = 3; }
message Untyped { optional double value = 1; }
message Bucket { optional uint64 cumulative_count = 1; optional double cumulative_count_float = 4; optional double upper_bound = 2; }
message Histogram {
  optional uint64 sample_count = 1; optional double sample_count_float = 4; optional double sample_sum = 2;
  repeated Bucket bucket = 3; optional sint32 schema = 5;
}
message Metric {
  repeated LabelPair label = 1; optional Gauge gauge = 2; optional Counter counter = 3; optional Summary summary = 4;
  optional Untyped untyped = 5; optional Histogram histogram = 7; optional int64 timestamp_ms = 6;
}
message MetricFamily { optional string name = 1; optional string help = 2; optional MetricType type = 3; repeated Metric metric = 4; }
`;

const root = protobuf.parse(METRICS_PROTO).root;
export const MetricFamily = root.lookupType('io.prometheus.client.MetricFamily');

export const PROTO_CONTENT_TYPE =
  'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

/** MetricFamily objects (protobufjs camelCase field names) → one delimited body. */
export function encodeDelimited(families: Array<Record<string, unknown>>): Buffer {
  const parts: Uint8Array[] = [];
  for (const f of families) {
    const err = MetricFamily.verify(f);
    if (err !== null) throw new Error(err);
    parts.push(MetricFamily.encodeDelimited(MetricFamily.fromObject(f)).finish());
  }
  return Buffer.concat(parts);
}
