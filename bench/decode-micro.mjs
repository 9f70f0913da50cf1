// Micro-benchmark of vigil's OTLP/protobuf decoder against protobufjs on the same bytes.
//
//   npx tsc -p tsconfig.json && node bench/decode-micro.mjs [numbers|mixed]
//
// Each scenario runs in its own process (JIT feedback and GC pressure of one would skew the other).
// A request of 1000 number points (10 counters x 100 series, 3 attributes each), made by the
// OTel SDK and serialised by @opentelemetry/otlp-transformer, decoded over and over into a store
// that already knows its series (the steady state of a sidecar). Prints medians of several runs.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ValueType } from '@opentelemetry/api';
import { JsonMetricsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import protobuf from 'protobufjs';
import { decodeOtlpJson } from '../dist/ingest/otlp-json-decode.js';
import { decodeOtlpProto, validateOtlpProto } from '../dist/ingest/otlp-proto-decode.js';
import { IngestTally } from '../dist/ingest/types.js';
import { familyType, Store } from '../dist/store/store.js';

const RUNS = 7;
const RUN_MS = 400;

class Reader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  async onShutdown() {}
  async onForceFlush() {}
}

async function makeRequest({ histograms }) {
  const reader = new Reader();
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'bench', 'service.instance.id': 'bench-1' }),
    readers: [reader],
  });
  const meter = provider.getMeter('bench', '1.0.0');
  for (let m = 0; m < 10; m++) {
    const hist = histograms && m % 2 === 1;
    const inst = hist
      ? meter.createHistogram(`bench.latency.${m}`, { unit: 'ms' })
      : meter.createCounter(`bench.requests.${m}`, { valueType: ValueType.INT });
    for (let i = 0; i < 100; i++) {
      const attrs = {
        'http.route': `/api/v1/items/${i}`,
        'http.request.method': 'GET',
        'http.response.status_code': 200,
      };
      if (hist) for (let k = 0; k < 5; k++) inst.record(k * 37 + i, attrs);
      else inst.add(i + 1, attrs);
    }
  }
  const { resourceMetrics } = await reader.collect();
  await provider.shutdown();
  return {
    proto: Buffer.from(ProtobufMetricsSerializer.serializeRequest(resourceMetrics)),
    json: Buffer.from(JsonMetricsSerializer.serializeRequest(resourceMetrics)).toString('utf8'),
  };
}

function newStore() {
  let now = 1_700_000_000_000;
  return new Store({
    limits: { maxSeries: 100_000, maxSeriesPerMetric: 10_000, seriesTtlMs: 300_000 },
    clock: () => now++,
    familyOf: (d) => ({ name: d.name, type: familyType(d) }),
  });
}

/** Calls per second of `fn`, median of RUNS runs of about RUN_MS each. */
function measure(fn) {
  for (let i = 0; i < 200; i++) fn(); // warm up (and let the JIT settle)
  const rates = [];
  for (let r = 0; r < RUNS; r++) {
    let n = 0;
    const t0 = process.hrtime.bigint();
    let elapsedNs = 0n;
    while (elapsedNs < BigInt(RUN_MS) * 1_000_000n) {
      for (let i = 0; i < 20; i++) fn();
      n += 20;
      elapsedNs = process.hrtime.bigint() - t0;
    }
    rates.push(n / (Number(elapsedNs) / 1e9));
  }
  rates.sort((a, b) => a - b);
  return rates[RUNS >> 1];
}

const PROTO = `
syntax = "proto3";
package otlp;
message ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4;
  ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7; } }
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; string schema_url = 3; }
message ScopeMetrics { InstrumentationScope scope = 1; repeated Metric metrics = 2; string schema_url = 3; }
message Metric { string name = 1; string description = 2; string unit = 3;
  oneof data { Gauge gauge = 5; Sum sum = 7; Histogram histogram = 9; ExponentialHistogram exponential_histogram = 10; Summary summary = 11; }
  repeated KeyValue metadata = 12; }
message Gauge { repeated NumberDataPoint data_points = 1; }
message Sum { repeated NumberDataPoint data_points = 1; int32 aggregation_temporality = 2; bool is_monotonic = 3; }
message Histogram { repeated HistogramDataPoint data_points = 1; int32 aggregation_temporality = 2; }
message ExponentialHistogram { repeated ExponentialHistogramDataPoint data_points = 1; int32 aggregation_temporality = 2; }
message Summary { repeated SummaryDataPoint data_points = 1; }
message NumberDataPoint { repeated KeyValue attributes = 7; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
  oneof value { double as_double = 4; sfixed64 as_int = 6; } repeated Exemplar exemplars = 5; uint32 flags = 8; }
message HistogramDataPoint { repeated KeyValue attributes = 9; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
  fixed64 count = 4; optional double sum = 5; repeated fixed64 bucket_counts = 6; repeated double explicit_bounds = 7;
  repeated Exemplar exemplars = 8; uint32 flags = 10; optional double min = 11; optional double max = 12; }
message ExponentialHistogramDataPoint { repeated KeyValue attributes = 1; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
  fixed64 count = 4; optional double sum = 5; sint32 scale = 6; fixed64 zero_count = 7; Buckets positive = 8; Buckets negative = 9;
  uint32 flags = 10; repeated Exemplar exemplars = 11; optional double min = 12; optional double max = 13; double zero_threshold = 14;
  message Buckets { sint32 offset = 1; repeated uint64 bucket_counts = 2; } }
message SummaryDataPoint { repeated KeyValue attributes = 7; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
  fixed64 count = 4; double sum = 5; repeated ValueAtQuantile quantile_values = 6; uint32 flags = 8;
  message ValueAtQuantile { double quantile = 1; double value = 2; } }
message Exemplar { repeated KeyValue filtered_attributes = 7; fixed64 time_unix_nano = 2;
  oneof value { double as_double = 3; sfixed64 as_int = 6; } bytes span_id = 4; bytes trace_id = 5; }
`;
const RequestType = protobuf.parse(PROTO).root.lookupType('otlp.ExportMetricsServiceRequest');

const fmt = (pointsPerSec) => `${(pointsPerSec / 1e6).toFixed(2)} M points/s`;

async function run(histograms) {
  const { proto, json } = await makeRequest({ histograms });
  const store = newStore();
  const warm = new IngestTally();
  decodeOtlpProto(proto, store, Date.now(), warm);
  const points = warm.accepted;
  if (warm.rejected !== 0 || store.size !== 1000) throw new Error('bench request did not decode cleanly');

  const vigil = measure(() => decodeOtlpProto(proto, store, Date.now(), new IngestTally())) * points;
  const validateOnly = measure(() => validateOtlpProto(proto)) * points;
  const pbjs = measure(() => RequestType.decode(proto)) * points;
  const pbjsObject =
    measure(() => RequestType.toObject(RequestType.decode(proto), { longs: Number })) * points;
  const jsonStore = newStore();
  decodeOtlpJson(JSON.parse(json), jsonStore, Date.now(), new IngestTally());
  const jsonRate =
    measure(() => decodeOtlpJson(JSON.parse(json), jsonStore, Date.now(), new IngestTally())) * points;

  // The validation pass's share of a full decode: its time per request over the decoder's.
  const validationShare = vigil / validateOnly;
  console.log(
    `\n${histograms ? 'mixed: 500 number + 500 histogram points' : '1000 number points'}, 3 attributes each, known series` +
      ` (${proto.length} bytes protobuf, ${json.length} bytes JSON), medians of ${RUNS} runs:`,
  );
  console.log(`  vigil decodeOtlpProto (validate + decode + store)  ${fmt(vigil)}`);
  console.log(
    `  vigil validation pass alone                         ${fmt(validateOnly)}  (${(validationShare * 100).toFixed(0)}% of the full decode time)`,
  );
  console.log(`  protobufjs Type.decode (no store)                   ${fmt(pbjs)}`);
  console.log(`  protobufjs decode + toObject (no store)             ${fmt(pbjsObject)}`);
  console.log(`  vigil JSON.parse + decodeOtlpJson                   ${fmt(jsonRate)}`);
}

const scenario = process.argv[2];
if (scenario === 'numbers' || scenario === 'mixed') {
  await run(scenario === 'mixed');
} else {
  for (const s of ['numbers', 'mixed']) {
    await new Promise((resolve, reject) =>
      fork(fileURLToPath(import.meta.url), [s]).on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`${s}: exit ${code}`)),
      ),
    );
  }
}
