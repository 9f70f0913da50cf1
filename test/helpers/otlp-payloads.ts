import { readFileSync } from 'node:fs';
import { ValueType } from '@opentelemetry/api';
import { JsonMetricsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  AggregationType,
  MeterProvider,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import { RequestType } from './otlp-proto.js';

/**
 * Real OTLP request bodies to start fuzzing from: opentelemetry-proto's example payload
 * (test/fixtures/otlp/metrics.json, a copy of examples/metrics.json) and what the OpenTelemetry
 * JS SDK exports for every instrument kind, in both encodings of the official serializers.
 */

export interface OtlpPayload {
  name: string;
  proto: Uint8Array;
  /** The same request as OTLP/JSON text. */
  json: string;
}

/** opentelemetry-proto's examples/metrics.json, as JSON and as protobuf (protobufjs). */
export function fixturePayload(): OtlpPayload {
  const json = readFileSync(new URL('../fixtures/otlp/metrics.json', import.meta.url), 'utf8');
  const obj = JSON.parse(json) as Record<string, unknown>;
  return {
    name: 'opentelemetry-proto example',
    proto: RequestType.encode(RequestType.fromObject(obj)).finish(),
    json,
  };
}

class OnDemandReader extends MetricReader {
  constructor(temporality: AggregationTemporality) {
    super({ aggregationTemporalitySelector: () => temporality });
  }
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** One collection of an SDK with every instrument kind, with awkward attributes, serialised by the SDK. */
export async function sdkPayload(temporality = AggregationTemporality.CUMULATIVE): Promise<OtlpPayload> {
  const reader = new OnDemandReader(temporality);
  const provider = new MeterProvider({
    resource: resourceFromAttributes({
      'service.name': 'fuzz-sdk',
      'service.instance.id': 'i-1',
      'host.cores': 4,
    }),
    views: [
      { instrumentName: 'fz.latency.exp', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } },
    ],
    readers: [reader],
  });
  const meter = provider.getMeter('fuzz.scope', '0.1.0');
  const attrSets = [
    { route: '/odds', status: 200, ok: true },
    { tags: ['a', 'b'], ratio: 0.25, 'key with space': 'ü' },
    Object.defineProperty({ constructor: 'c' }, '__proto__', { value: 'p', enumerable: true }),
  ];
  const counter = meter.createCounter('fz.requests', { unit: '{request}' });
  const ints = meter.createCounter('fz.bytes', { unit: 'By', valueType: ValueType.INT });
  const upDown = meter.createUpDownCounter('fz.queue.depth');
  const gauge = meter.createGauge('fz.temperature', { unit: 'Cel' });
  const hist = meter.createHistogram('fz.latency', {
    unit: 'ms',
    advice: { explicitBucketBoundaries: [1, 10, 100] },
  });
  const exp = meter.createHistogram('fz.latency.exp', { unit: 's' });
  for (const [i, a] of attrSets.entries()) {
    counter.add(1.5 + i, a);
    ints.add(1000 * (i + 1), a);
    upDown.add(i === 1 ? -3 : 2, a);
    gauge.record(20 + i, a);
    for (let k = 0; k < 5; k++) {
      hist.record(k * 17 + i, a);
      exp.record(0.001 * (k + 1) * (i + 1), a);
    }
  }
  const { resourceMetrics, errors } = await reader.collect();
  if (errors.length > 0) throw new Error(String(errors[0]));
  await provider.shutdown();
  return {
    name: `SDK (${temporality === AggregationTemporality.DELTA ? 'delta' : 'cumulative'})`,
    proto: ProtobufMetricsSerializer.serializeRequest(resourceMetrics)!,
    json: new TextDecoder().decode(JsonMetricsSerializer.serializeRequest(resourceMetrics)),
  };
}
