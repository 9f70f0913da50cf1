import { describe, expect, it } from 'vitest';
import { DeltaConverter } from '../../src/export/delta-converter.js';
import { serializeBatch } from '../../src/export/otlp-serialize.js';
import { prometheusFamily } from '../../src/export/prometheus-naming.js';
import { buildBatches, type ExportBatch } from '../../src/export/resource-metrics.js';
import { decodeOtlpJson } from '../../src/ingest/otlp-json-decode.js';
import { IngestTally } from '../../src/ingest/types.js';
import { Store } from '../../src/store/store.js';
import { attr, decodeRequest, flatPoints, type FlatPoint } from '../helpers/otlp-proto.js';

/**
 * Store → one ResourceMetrics per source → official serializers (protobuf and JSON) → the
 * independent protobufjs decoder: every point comes back with its source's resource and its values.
 */

const T0 = 1_700_000_000_000;
const ns = (ms: number): string => String(BigInt(ms) * 1_000_000n);
const str = (key: string, value: string) => ({ key, value: { stringValue: value } });

function store(): Store {
  return new Store({
    limits: { maxSeries: 1000, maxSeriesPerMetric: 1000, seriesTtlMs: 60_000 },
    clock: () => T0,
    familyOf: prometheusFamily,
  });
}

/** An OTLP/JSON request from a source: every data type the store keeps. */
function sourceRequest(service: string, instance: string, k: number, atMs: number): unknown {
  const time = { startTimeUnixNano: ns(T0 - 60_000), timeUnixNano: ns(atMs) };
  return {
    resourceMetrics: [
      {
        resource: {
          attributes: [
            str('service.name', service),
            str('service.instance.id', instance),
            str('deployment.environment.name', 'test'),
          ],
        },
        scopeMetrics: [
          {
            scope: { name: 'shop', version: '2.0' },
            metrics: [
              {
                name: 'orders',
                unit: '{order}',
                sum: {
                  aggregationTemporality: 2,
                  isMonotonic: true,
                  dataPoints: [{ ...time, asDouble: 10 * k, attributes: [str('region', 'eu')] }],
                },
              },
              {
                name: 'queue.depth',
                sum: {
                  aggregationTemporality: 2,
                  isMonotonic: false,
                  dataPoints: [{ ...time, asInt: String(5 * k) }],
                },
              },
              { name: 'cpu', unit: '1', gauge: { dataPoints: [{ ...time, asDouble: 0.25 * k }] } },
              {
                name: 'latency',
                unit: 's',
                histogram: {
                  aggregationTemporality: 2,
                  dataPoints: [
                    {
                      ...time,
                      count: String(3 * k),
                      sum: 1.5 * k,
                      min: 0.1,
                      max: 0.9,
                      bucketCounts: [String(k), String(k), String(k)],
                      explicitBounds: [0.25, 0.5],
                    },
                  ],
                },
              },
              {
                name: 'rpc.latency',
                unit: 's',
                exponentialHistogram: {
                  aggregationTemporality: 2,
                  dataPoints: [
                    {
                      ...time,
                      count: String(2 * k),
                      sum: 3 * k,
                      scale: 2,
                      zeroCount: '0',
                      positive: { offset: 3, bucketCounts: [String(k), String(k)] },
                    },
                  ],
                },
              },
              {
                name: 'gc.pause',
                unit: 's',
                summary: {
                  dataPoints: [
                    {
                      ...time,
                      count: String(4 * k),
                      sum: 0.4 * k,
                      quantileValues: [
                        { quantile: 0.5, value: 0.05 },
                        { quantile: 0.99, value: 0.2 * k },
                      ],
                    },
                  ],
                },
              },
            ],
          },
        ],
      },
    ],
  };
}

function ingest(s: Store, body: unknown): void {
  const tally = new IngestTally();
  decodeOtlpJson(body, s, T0, tally);
  expect(tally.rejected).toBe(0);
}

function exportAll(
  s: Store,
  protocol: 'http/protobuf' | 'http/json',
  opts: Partial<{ delta: DeltaConverter; max: number }> = {},
) {
  const batches: ExportBatch[] = [
    ...buildBatches(s, {
      include: () => true,
      delta: opts.delta,
      nowMs: T0,
      defaultStartMs: T0 - 1,
      maxBatchPoints: opts.max ?? 8192,
    }),
  ];
  const contentType = protocol === 'http/protobuf' ? 'application/x-protobuf' : 'application/json';
  return batches.map((b) => ({ batch: b, decoded: decodeRequest(serializeBatch(b, protocol), contentType) }));
}

const of = (points: FlatPoint[], service: string, metric: string): FlatPoint | undefined =>
  points.find((p) => attr(p.resource, 'service.name') === service && p.metric.name === metric);

describe.each(['http/protobuf', 'http/json'] as const)('export serialisation (%s)', (protocol) => {
  it('keeps every source’s resource and every value, all data types', () => {
    const s = store();
    ingest(s, sourceRequest('checkout', 'c-1', 1, T0 - 1000));
    ingest(s, sourceRequest('billing', 'b-7', 2, T0 - 1000));
    const out = exportAll(s, protocol);
    expect(out).toHaveLength(1);
    const req = out[0]!.decoded;
    // One ResourceMetrics per source for the SDK types, plus one per source for summaries.
    expect(req.resourceMetrics).toHaveLength(4);
    const points = flatPoints(req);
    expect(points).toHaveLength(12);
    expect(out[0]!.batch.points).toBe(12);
    for (const [service, instance, k] of [
      ['checkout', 'c-1', 1],
      ['billing', 'b-7', 2],
    ] as const) {
      for (const p of points.filter((x) => attr(x.resource, 'service.name') === service)) {
        expect(attr(p.resource, 'service.instance.id')).toBe(instance);
        expect(attr(p.resource, 'deployment.environment.name')).toBe('test');
        expect(p.scope).toBe('shop');
      }
      const orders = of(points, service, 'orders')!;
      expect(orders.kind).toBe('sum');
      expect(orders.metric.sum?.isMonotonic).toBe(true);
      expect(orders.temporality).toBe('AGGREGATION_TEMPORALITY_CUMULATIVE');
      expect(orders.point.asDouble).toBe(10 * k);
      expect(attr(orders.point.attributes, 'region')).toBe('eu');
      expect(orders.point.startTimeUnixNano).toBe(Number(ns(T0 - 60_000)));
      expect(orders.point.timeUnixNano).toBe(Number(ns(T0 - 1000)));
      expect(orders.metric.unit).toBe('{order}');
      expect(of(points, service, 'queue.depth')!.point.asDouble).toBe(5 * k);
      expect(of(points, service, 'cpu')!.point.asDouble).toBe(0.25 * k);
      const lat = of(points, service, 'latency')!;
      expect(lat.point).toMatchObject({
        count: 3 * k,
        sum: 1.5 * k,
        min: 0.1,
        max: 0.9,
        bucketCounts: [k, k, k],
        explicitBounds: [0.25, 0.5],
      });
      const rpc = of(points, service, 'rpc.latency')!;
      expect(rpc.kind).toBe('exponentialHistogram');
      expect(rpc.point).toMatchObject({
        count: 2 * k,
        sum: 3 * k,
        scale: 2,
        positive: { offset: 3, bucketCounts: [k, k] },
      });
      const gc = of(points, service, 'gc.pause')!;
      expect(gc.kind).toBe('summary');
      expect(gc.point.count).toBe(4 * k);
      expect(gc.point.sum).toBeCloseTo(0.4 * k, 12);
      expect(gc.point.quantileValues).toEqual([
        { quantile: 0.5, value: 0.05 },
        { quantile: 0.99, value: 0.2 * k },
      ]);
      expect(gc.point.startTimeUnixNano).toBe(Number(ns(T0 - 60_000)));
    }
  });

  it('cuts batches at max_batch_points without losing or repeating a point', () => {
    const s = store();
    for (let i = 0; i < 7; i++) ingest(s, sourceRequest(`svc-${i}`, `i-${i}`, i + 1, T0 - 1000));
    const out = exportAll(s, protocol, { max: 5 });
    expect(out.map((o) => o.batch.points)).toEqual([5, 5, 5, 5, 5, 5, 5, 5, 2]);
    const all = out.flatMap((o) => flatPoints(o.decoded));
    expect(all).toHaveLength(42);
    const keys = all.map((p) => `${String(attr(p.resource, 'service.name'))}/${p.metric.name}`);
    expect(new Set(keys).size).toBe(42);
  });

  it('exports deltas for monotonic sums and histograms, keeps up-down sums cumulative', () => {
    const s = store();
    const delta = new DeltaConverter(T0 - 120_000);
    ingest(s, sourceRequest('checkout', 'c-1', 1, T0 - 2000));
    const first = flatPoints(exportAll(s, protocol, { delta })[0]!.decoded);
    // Started after export began: sent whole.
    expect(of(first, 'checkout', 'orders')!.point.asDouble).toBe(10);
    ingest(s, sourceRequest('checkout', 'c-1', 3, T0 - 1000));
    const second = flatPoints(exportAll(s, protocol, { delta })[0]!.decoded);
    const orders = of(second, 'checkout', 'orders')!;
    expect(orders.temporality).toBe('AGGREGATION_TEMPORALITY_DELTA');
    expect(orders.point.asDouble).toBe(20);
    expect(orders.point.startTimeUnixNano).toBe(Number(ns(T0 - 2000)));
    const depth = of(second, 'checkout', 'queue.depth')!;
    expect(depth.temporality).toBe('AGGREGATION_TEMPORALITY_CUMULATIVE');
    expect(depth.point.asDouble).toBe(15);
    const lat = of(second, 'checkout', 'latency')!;
    expect(lat.temporality).toBe('AGGREGATION_TEMPORALITY_DELTA');
    expect(lat.point).toMatchObject({ count: 6, bucketCounts: [2, 2, 2] });
    expect(lat.point.min).toBeUndefined();
    const rpc = of(second, 'checkout', 'rpc.latency')!;
    expect(rpc.point).toMatchObject({ count: 4, positive: { offset: 3, bucketCounts: [2, 2] } });
    // Gauges and summaries are as they are.
    expect(of(second, 'checkout', 'cpu')!.point.asDouble).toBe(0.75);
    expect(of(second, 'checkout', 'gc.pause')!.point.count).toBe(12);
    // Nothing new: no sum or histogram point at all.
    const third = flatPoints(exportAll(s, protocol, { delta })[0]!.decoded);
    expect(third.map((p) => p.metric.name).sort()).toEqual(['cpu', 'gc.pause', 'queue.depth']);
  });
});

describe('export selection', () => {
  it('takes only the streams the filter admits', () => {
    const s = store();
    ingest(s, sourceRequest('checkout', 'c-1', 1, T0 - 1000));
    ingest(s, sourceRequest('billing', 'b-1', 1, T0 - 1000));
    const batches = [
      ...buildBatches(s, {
        include: (st) => st.resource.serviceName === 'billing' && st.desc.kind !== 'summary',
        delta: undefined,
        nowMs: T0,
        defaultStartMs: T0,
        maxBatchPoints: 100,
      }),
    ];
    const points = flatPoints(
      decodeRequest(serializeBatch(batches[0]!, 'http/protobuf'), 'application/x-protobuf'),
    );
    expect(points).toHaveLength(5);
    expect(new Set(points.map((p) => attr(p.resource, 'service.name')))).toEqual(new Set(['billing']));
  });
});
