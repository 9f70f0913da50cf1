// Benchmark data. Every comparison runs vigil and its peer on the same points: the OTel SDK makes
// them once as ResourceMetrics (what the SDK's PrometheusSerializer takes), and
// @opentelemetry/otlp-transformer serialises that to the OTLP/protobuf bytes vigil ingests and
// protobufjs decodes.
//
// Shape: one resource, one scope, 100 metrics x 100 series = 10k series, 3 attributes per series.
// OTLP requests carry 10 metrics (1000 points) each, so 10 requests cycle over all 10k series:
// the steady state of a sidecar whose clients push every known series on every export.
import { Buffer } from 'node:buffer';
import { fileURLToPath, URL } from 'node:url';
import { ValueType } from '@opentelemetry/api';
import { JsonMetricsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import protobuf from 'protobufjs';
import { prometheusFamily } from '../../dist/export/prometheus-naming.js';
import { decodeOtlpProto } from '../../dist/ingest/otlp-proto-decode.js';
import { IngestTally } from '../../dist/ingest/types.js';
import { Store } from '../../dist/store/store.js';

const METRICS = 100;
const SERIES_PER_METRIC = 100;
const SERIES = METRICS * SERIES_PER_METRIC;
const METRICS_PER_REQUEST = 10;
export const POINTS_PER_REQUEST = METRICS_PER_REQUEST * SERIES_PER_METRIC;

/** 12 explicit bounds (13 buckets), spread so that every series fills several of them. */
const BOUNDS = [5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];

/**
 * The kinds of dataset, by the label the figures use:
 * - numbers: 50 int counters (monotonic sums) and 50 double gauges, alternating, as apps export;
 * - counters: 100 int counters;
 * - histograms: 100 explicit-bucket histograms (12 bounds), 5 recordings per series.
 */
export const KINDS = { numbers: 'sums+gauges', counters: 'counters', histograms: 'histograms' };

/** How the data is made, for bench/RESULTS.md. */
export const METHOD =
  `Data: the OTel SDK records ${SERIES / 1000}k series on one resource, ${METRICS} metrics x ` +
  `${SERIES_PER_METRIC} series with 3 attributes (http.route, http.request.method, ` +
  'http.response.status_code), cumulative; sums+gauges = 50 int counters + 50 double gauges, ' +
  `histograms = explicit buckets with ${BOUNDS.length} bounds. @opentelemetry/otlp-transformer ` +
  `serialises them to OTLP/protobuf: ${METRICS / METRICS_PER_REQUEST} requests of ` +
  `${POINTS_PER_REQUEST} points, cycled (B0, B1), or one request of all of them (B4). ` +
  'Each peer gets the same points.';

/** Hands the SDK's collection to us on demand, as an exporter's reader would. */
class CollectingReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  async onShutdown() {}
  async onForceFlush() {}
}

function seriesAttributes(i) {
  return {
    'http.route': `/api/v1/items/${i}`,
    'http.request.method': METHODS[i % METHODS.length],
    'http.response.status_code': 200 + (i % 5),
  };
}

/** The SDK's ResourceMetrics for a dataset of `kind` (a key of KINDS). */
async function collectResourceMetrics(kind) {
  const reader = new CollectingReader();
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'bench', 'service.instance.id': 'bench-1' }),
    readers: [reader],
  });
  const meter = provider.getMeter('bench', '1.0.0');
  for (let m = 0; m < METRICS; m++) {
    if (kind === 'histograms') {
      const h = meter.createHistogram(`bench.latency.${m}`, {
        unit: 'ms',
        description: 'Request latency',
        advice: { explicitBucketBoundaries: BOUNDS },
      });
      for (let i = 0; i < SERIES_PER_METRIC; i++) {
        const attrs = seriesAttributes(i);
        for (let k = 0; k < 5; k++) h.record(((k * 997 + i * 37 + m * 11) % 6000) + 0.5, attrs);
      }
    } else if (kind === 'counters' || m % 2 === 0) {
      const c = meter.createCounter(`bench.requests.${m}`, {
        unit: '{request}',
        description: 'Requests served',
        valueType: ValueType.INT,
      });
      for (let i = 0; i < SERIES_PER_METRIC; i++) c.add(1000 * m + i + 1, seriesAttributes(i));
    } else {
      const g = meter.createGauge(`bench.queue.depth.${m}`, { description: 'Queue depth' });
      for (let i = 0; i < SERIES_PER_METRIC; i++) g.record(((i * 7 + m) % 100) + 0.25, seriesAttributes(i));
    }
  }
  const { resourceMetrics, errors } = await reader.collect();
  await provider.shutdown();
  if (errors.length > 0) throw new Error(`SDK collection failed: ${errors.join('; ')}`);
  const points = resourceMetrics.scopeMetrics.flatMap((sm) => sm.metrics).flatMap((m) => m.dataPoints);
  if (points.length !== SERIES) throw new Error(`expected ${SERIES} points, the SDK made ${points.length}`);
  return resourceMetrics;
}

/**
 * A dataset: the whole ResourceMetrics, the same points as one OTLP/protobuf request (`whole`),
 * and as 10 requests of 1000 points (`requests`, with their OTLP/JSON twins in `jsonRequests`).
 */
export async function makeDataset(kind) {
  const resourceMetrics = await collectResourceMetrics(kind);
  const [scopeMetrics] = resourceMetrics.scopeMetrics;
  const slices = [];
  for (let m = 0; m < METRICS; m += METRICS_PER_REQUEST) {
    slices.push({
      resource: resourceMetrics.resource,
      scopeMetrics: [
        { scope: scopeMetrics.scope, metrics: scopeMetrics.metrics.slice(m, m + METRICS_PER_REQUEST) },
      ],
    });
  }
  const proto = (rm) => Buffer.from(ProtobufMetricsSerializer.serializeRequest(rm));
  return {
    resourceMetrics,
    whole: proto(resourceMetrics),
    requests: slices.map(proto),
    jsonRequests: slices.map((rm) =>
      Buffer.from(JsonMetricsSerializer.serializeRequest(rm)).toString('utf8'),
    ),
  };
}

/**
 * A store wired as vigil's main.ts wires it (Prometheus family naming), holding `bodies`.
 * Throws unless every point was accepted: a benchmark of rejections would measure the wrong path.
 */
export function loadStore(bodies) {
  const store = new Store({
    limits: { maxSeries: 1_000_000, maxSeriesPerMetric: 100_000, seriesTtlMs: 3_600_000 },
    clock: () => Date.now(),
    familyOf: prometheusFamily,
  });
  const tally = new IngestTally();
  for (const body of bodies) decodeOtlpProto(body, store, Date.now(), tally);
  if (tally.rejected !== 0 || store.size !== SERIES)
    throw new Error(
      `store holds ${store.size} series, ${tally.rejected} points rejected: ${tally.messages.join('; ')}`,
    );
  return store;
}

/** protobufjs's type for ExportMetricsServiceRequest, from the .proto next to the benchmarks. */
export function otlpRequestType() {
  const file = fileURLToPath(new URL('../../test/fixtures/otlp/otlp-metrics.proto', import.meta.url));
  return protobuf.loadSync(file).lookupType('otlp.ExportMetricsServiceRequest');
}

/** Data points in a protobufjs-decoded request: proves the peer decoded what vigil did. */
export function countDecodedPoints(request) {
  let n = 0;
  for (const rm of request.resourceMetrics)
    for (const sm of rm.scopeMetrics)
      for (const m of sm.metrics)
        n += (m.sum ?? m.gauge ?? m.histogram ?? { dataPoints: [] }).dataPoints.length;
  return n;
}
