import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ValueType, type Attributes } from '@opentelemetry/api';
import { JsonMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  AggregationType,
  DataPointType,
  MeterProvider,
  MetricReader,
  type ExponentialHistogram,
  type Histogram,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { anyValueText, decodeOtlpJson } from '../../src/ingest/otlp-json-decode.js';
import { DecodeError, IngestTally } from '../../src/ingest/types.js';
import { downscaleBuckets } from '../../src/store/exp-histogram.js';
import { canonicalPairs } from '../../src/store/canonical-key.js';
import type { Series } from '../../src/store/series.js';
import { familyType, Store, type StoreLimits } from '../../src/store/store.js';
import type { ExpHistogramPoint, HistogramPoint, SummaryPoint } from '../../src/store/types.js';

const NOW_MS = 1_700_000_000_000;
const LIMITS: StoreLimits = { maxSeries: 100_000, maxSeriesPerMetric: 10_000, seriesTtlMs: 300_000 };

function newStore(limits: Partial<StoreLimits> = {}): Store {
  return new Store({
    limits: { ...LIMITS, ...limits },
    clock: () => NOW_MS,
    familyOf: (d) => ({ name: d.name, type: familyType(d) }),
  });
}

function decode(body: unknown, store: Store): IngestTally {
  const tally = new IngestTally();
  decodeOtlpJson(body, store, NOW_MS, tally);
  return tally;
}

class TestReader extends MetricReader {
  constructor(temporality: AggregationTemporality) {
    super({ aggregationTemporalitySelector: () => temporality });
  }
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

async function collect(reader: MetricReader): Promise<ResourceMetrics> {
  const { resourceMetrics, errors } = await reader.collect();
  expect(errors).toEqual([]);
  return resourceMetrics;
}

function sdk(...readers: MetricReader[]) {
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'pricing', 'service.instance.id': 'p-1' }),
    views: [{ instrumentName: 'latency.exp', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
    readers,
  });
  const meter = provider.getMeter('json.scope', '0.1.0');
  const requests = meter.createCounter('requests');
  const bytes = meter.createCounter('bytes', { valueType: ValueType.INT });
  const depth = meter.createUpDownCounter('queue.depth', { valueType: ValueType.INT });
  const temperature = meter.createGauge('temperature');
  const memory = meter.createObservableGauge('memory.used');
  const latency = meter.createHistogram('latency', { advice: { explicitBucketBoundaries: [5, 50, 500] } });
  const latencyExp = meter.createHistogram('latency.exp');
  let mem = 0;
  memory.addCallback((r) => r.observe(mem));
  const attrSets: Attributes[] = [{ route: '/a', code: 200 }, { route: '/b', ok: false, ratio: 0.5 }, {}];
  return {
    provider,
    record(round: number): void {
      for (const [i, attrs] of attrSets.entries()) {
        requests.add(round + i + 0.25, attrs);
        bytes.add(100 * round + i, attrs);
        depth.add(i === 0 ? round : -round, attrs);
        temperature.record(-5 + round * i, attrs);
        for (let k = 1; k <= 4; k++) {
          latency.record(k * 11 * round + i, attrs);
          latencyExp.record(k * 2 + round + i, attrs);
        }
      }
      mem = 1024 * round;
    },
  };
}

function toJson(rm: ResourceMetrics): unknown {
  return JSON.parse(new TextDecoder().decode(JsonMetricsSerializer.serializeRequest(rm)));
}

function flatAttrs(a: Attributes): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(a)) out.push(k, Array.isArray(v) ? JSON.stringify(v) : String(v));
  return out;
}

function findSeries(store: Store, metric: string, attrs: string[]): Series | undefined {
  const key = canonicalPairs(attrs).key;
  for (const st of store.streams.values()) {
    if (st.desc.name !== metric) continue;
    const s = st.series.get(key);
    if (s !== undefined) return s;
  }
  return undefined;
}

function expectStoreHolds(store: Store, rm: ResourceMetrics): number {
  let checked = 0;
  for (const sm of rm.scopeMetrics) {
    for (const m of sm.metrics) {
      for (const dp of m.dataPoints) {
        const s = findSeries(store, m.descriptor.name, flatAttrs(dp.attributes));
        expect(s, `${m.descriptor.name} ${JSON.stringify(dp.attributes)}`).toBeDefined();
        if (s === undefined) continue;
        if (m.dataPointType === DataPointType.SUM || m.dataPointType === DataPointType.GAUGE) {
          expect(s.value, m.descriptor.name).toBe(dp.value);
        } else if (m.dataPointType === DataPointType.HISTOGRAM) {
          const h = dp.value as Histogram;
          expect(s.point).toMatchObject({
            count: h.count,
            sum: h.sum,
            min: h.min,
            max: h.max,
            bounds: h.buckets.boundaries,
            bucketCounts: h.buckets.counts,
          });
        } else {
          const h = dp.value as ExponentialHistogram;
          const p = s.point as ExpHistogramPoint;
          expect(p).toMatchObject({ count: h.count, sum: h.sum, zeroCount: h.zeroCount });
          // Merged deltas may keep a finer scale than the SDK (which caps its bucket count): compare
          // at the SDK's scale.
          expect(p.scale).toBeGreaterThanOrEqual(h.scale);
          expect(downscaleBuckets(p.positive, p.scale, h.scale)).toEqual({
            offset: h.positive.offset,
            counts: h.positive.bucketCounts,
          });
        }
        checked++;
      }
    }
  }
  return checked;
}

const str = (key: string, value: string) => ({ key, value: { stringValue: value } });
const T0 = '1700000000000000000';

function request(metrics: unknown[], resourceAttrs: unknown = [str('service.name', 'svc')]): unknown {
  return {
    resourceMetrics: [
      {
        resource: { attributes: resourceAttrs },
        scopeMetrics: [{ scope: { name: 's', version: '1' }, metrics }],
      },
    ],
  };
}

function counter(name: string, points: unknown[], temporality: unknown = 2): unknown {
  return { name, sum: { aggregationTemporality: temporality, isMonotonic: true, dataPoints: points } };
}

function fixturePath(): string {
  // A copy of opentelemetry-proto's examples/metrics.json, kept in the repo so CI has it.
  return fileURLToPath(new URL('../fixtures/otlp/metrics.json', import.meta.url));
}

describe('decodeOtlpJson', () => {
  it('stores every point of an SDK request serialised by otlp-transformer', async () => {
    const reader = new TestReader(AggregationTemporality.CUMULATIVE);
    const app = sdk(reader);
    app.record(1);
    app.record(2);
    const rm = await collect(reader);
    const store = newStore();
    const tally = decode(toJson(rm), store);
    expect(tally.rejected).toBe(0);
    expect(expectStoreHolds(store, rm)).toBe(19);
    expect(tally.accepted).toBe(19);
    const stream = [...store.streams.values()].find((s) => s.desc.name === 'requests')!;
    expect(stream.scope).toEqual({ name: 'json.scope', version: '0.1.0' });
    expect(stream.resource.serviceName).toBe('pricing');
    await app.provider.shutdown();
  });

  it('accumulates delta pushes into what the cumulative reader reports', async () => {
    const cumulative = new TestReader(AggregationTemporality.CUMULATIVE);
    const delta = new TestReader(AggregationTemporality.DELTA);
    const app = sdk(cumulative, delta);
    const store = newStore();
    app.record(1);
    expect(decode(toJson(await collect(delta)), store).rejected).toBe(0);
    app.record(3);
    expect(decode(toJson(await collect(delta)), store).rejected).toBe(0);
    expect(expectStoreHolds(store, await collect(cumulative))).toBe(19);
    expect([...store.streams.values()].find((s) => s.desc.name === 'bytes')!.desc.temporality).toBe('delta');
    await app.provider.shutdown();
  });

  it('decodes the opentelemetry-proto example payload', () => {
    const store = newStore();
    const tally = decode(JSON.parse(readFileSync(fixturePath(), 'utf8')), store);
    expect([tally.accepted, tally.rejected]).toEqual([4, 0]);
    const t = 1544712660300;
    const c = findSeries(store, 'my.counter', ['my.counter.attr', 'some value'])!;
    expect([c.value, c.startMs, c.timeMs]).toEqual([5, t, t]);
    const counterStream = [...store.streams.values()].find((s) => s.desc.name === 'my.counter')!;
    expect(counterStream.desc).toEqual({
      name: 'my.counter',
      unit: '1',
      description: 'I am a Counter',
      kind: 'sum',
      monotonic: true,
      temporality: 'delta',
    });
    expect(findSeries(store, 'my.gauge', ['my.gauge.attr', 'some value'])!.value).toBe(10);
    expect(findSeries(store, 'my.histogram', ['my.histogram.attr', 'some value'])!.point).toEqual({
      startMs: t,
      timeMs: t,
      count: 2,
      sum: 2,
      min: 0,
      max: 2,
      bounds: [1],
      bucketCounts: [1, 1],
    } satisfies HistogramPoint);
    expect(
      findSeries(store, 'my.exponential.histogram', ['my.exponential.histogram.attr', 'some value'])!.point,
    ).toEqual({
      startMs: t,
      timeMs: t,
      count: 3,
      sum: 10,
      min: 0,
      max: 5,
      scale: 0,
      zeroCount: 1,
      zeroThreshold: 0,
      positive: { offset: 1, counts: [0, 2] },
      negative: { offset: 0, counts: [] },
    } satisfies ExpHistogramPoint);
    expect([...store.resources.values()][0]!.serviceName).toBe('my.service');
  });

  describe('bodies that are not a request', () => {
    it.each([null, undefined, 'text', 42, true, [], [{ resourceMetrics: [] }]])(
      'throws DecodeError for %j before touching the store',
      (body) => {
        const store = newStore();
        expect(() => decode(body, store)).toThrow(DecodeError);
        expect(store.size).toBe(0);
      },
    );

    it('throws DecodeError when resourceMetrics is not an array', () => {
      const store = newStore();
      expect(() => decode({ resourceMetrics: { resource: {} } }, store)).toThrow(
        /resourceMetrics must be an array/,
      );
      expect(() => decode({ resource_metrics: 'x' }, store)).toThrow(DecodeError);
      expect(store.size + store.resources.size).toBe(0);
    });

    it('accepts an empty request', () => {
      const store = newStore();
      expect(decode({}, store)).toMatchObject({ accepted: 0, rejected: 0 });
      expect(decode({ resourceMetrics: [] }, store)).toMatchObject({ accepted: 0, rejected: 0 });
      expect(store.resources.size).toBe(0);
    });
  });

  describe('collector leniency', () => {
    it('reads snake_case keys, enum names, int64 as numbers or strings, and NaN / Infinity strings', () => {
      const body = {
        resource_metrics: [
          {
            resource: { attributes: [{ key: 'service.name', value: { string_value: 'snake' } }] },
            scope_metrics: [
              {
                scope: { name: 'sc', version: '2' },
                metrics: [
                  {
                    name: 'c',
                    sum: {
                      aggregation_temporality: 'AGGREGATION_TEMPORALITY_CUMULATIVE',
                      is_monotonic: true,
                      data_points: [
                        { as_int: '12', time_unix_nano: T0, start_time_unix_nano: 1_699_999_000_000_000_000 },
                      ],
                    },
                  },
                  {
                    name: 'g',
                    gauge: {
                      dataPoints: [{ asDouble: '2.5e1', attributes: [str('k', 'v')], futureField: 1 }],
                    },
                  },
                  {
                    name: 'h',
                    histogram: {
                      aggregationTemporality: 'AGGREGATION_TEMPORALITY_DELTA',
                      data_points: [
                        {
                          count: '4',
                          sum: '10.5',
                          bucket_counts: ['1', 3],
                          explicit_bounds: [2.5],
                          min: '-Infinity',
                          max: 9,
                          timeUnixNano: 1_700_000_000_000_000_000,
                        },
                      ],
                    },
                  },
                  {
                    name: 'e',
                    exponential_histogram: {
                      aggregation_temporality: 1,
                      data_points: [
                        {
                          count: 3,
                          scale: -1,
                          zero_count: '1',
                          zero_threshold: '0.5',
                          positive: { offset: -2, bucket_counts: ['2'] },
                        },
                      ],
                    },
                  },
                  {
                    name: 'q',
                    summary: {
                      data_points: [
                        { count: '2', sum: 3, quantile_values: [{ quantile: 0.5, value: '1.5' }] },
                      ],
                    },
                  },
                ],
                unknownField: { deep: [1, 2] },
              },
            ],
          },
        ],
      };
      const store = newStore();
      const tally = decode(body, store);
      expect(tally.messages).toEqual([]);
      expect(tally.accepted).toBe(5);
      const c = findSeries(store, 'c', [])!;
      expect([c.value, c.startMs, c.timeMs]).toEqual([12, 1_699_999_000_000, 1_700_000_000_000]);
      expect(findSeries(store, 'g', ['k', 'v'])!.value).toBe(25);
      expect(findSeries(store, 'h', [])!.point).toMatchObject({
        count: 4,
        sum: 10.5,
        min: -Infinity,
        max: 9,
      });
      expect(findSeries(store, 'e', [])!.point).toMatchObject({
        scale: -1,
        zeroCount: 1,
        zeroThreshold: 0.5,
        positive: { offset: -2, counts: [2] },
        sum: 0,
        min: NaN,
      });
      expect((findSeries(store, 'q', [])!.point as SummaryPoint).quantiles).toEqual([[0.5, 1.5]]);
      const descs = new Map([...store.streams.values()].map((s) => [s.desc.name, s.desc]));
      expect(descs.get('c')).toMatchObject({ temporality: 'cumulative', monotonic: true });
      expect(descs.get('h')).toMatchObject({ temporality: 'delta' });
      expect([...store.resources.values()][0]!.serviceName).toBe('snake');
    });
  });

  describe('malformed content below the root', () => {
    it('rejects the affected points with messages and lands the rest', () => {
      const body = request([
        counter('ok', [{ asDouble: 1, timeUnixNano: T0 }]),
        { name: 'not.array', gauge: { dataPoints: { asDouble: 1 } } },
        { name: 'not.object', gauge: 7 },
        counter('wrong.types', [
          { asDouble: {} },
          { asDouble: 'lots' },
          { asInt: 1.5 },
          { asDouble: 1, timeUnixNano: 'yesterday' },
          { asDouble: 1, attributes: { k: 'v' } },
          { asDouble: 1, attributes: [{ key: 5, value: { stringValue: 'x' } }] },
          { asDouble: 1, attributes: [{ key: 'k', value: { stringValue: 5 } }] },
          'not a point',
          { asDouble: 2, attributes: [str('fine', 'yes')] },
        ]),
        {
          name: 'hist',
          histogram: {
            aggregationTemporality: 2,
            dataPoints: [
              { count: 1, bucketCounts: 'many' },
              { count: 1, bucketCounts: [1], explicitBounds: [1] },
              { count: 1, bucketCounts: [1], attributes: [str('k', 'v')] },
            ],
          },
        },
        counter('nan', [{ asDouble: 'NaN' }]),
        null,
      ]);
      const store = newStore();
      const tally = decode(body, store);
      expect(tally.accepted).toBe(3);
      expect(tally.rejected).toBe(14);
      expect(tally.reasons.get('invalid_histogram')).toBe(2);
      expect(tally.messages).toEqual([
        'not.array: dataPoints is not an array',
        'not.object: gauge is not an object',
        'wrong.types: asDouble is not a number',
        'wrong.types: asInt is not an integer',
        'wrong.types: timeUnixNano is not an unsigned integer',
      ]);
      expect(store.size).toBe(3);
      expect(findSeries(store, 'wrong.types', ['fine', 'yes'])!.value).toBe(2);
      expect(findSeries(store, 'nan', [])).toBeUndefined();
    });

    it('rejects every point of a resource whose attributes are malformed', () => {
      const body = request(
        [
          counter('a', [{ asDouble: 1 }, { asDouble: 2, attributes: [str('x', 'y')] }]),
          counter('b', [{ asDouble: 1 }]),
        ],
        [{ key: 'service.name' }, { value: { stringValue: 'keyless' } }],
      );
      const store = newStore();
      const tally = decode(body, store);
      expect(tally.reasons.get('invalid_value')).toBe(3);
      expect(tally.messages).toEqual(['resourceMetrics[0].resource: attribute key is not a string']);
      expect(store.resources.size).toBe(0);
    });

    it('rejects sums and histograms without a usable aggregation temporality as unsupported', () => {
      const store = newStore();
      const tally = decode(
        request([
          counter('zero', [{ asDouble: 1 }], 0),
          counter('named', [{ asDouble: 1 }], 'AGGREGATION_TEMPORALITY_UNSPECIFIED'),
          { name: 'absent', sum: { isMonotonic: true, dataPoints: [{ asDouble: 1 }, { asDouble: 2 }] } },
          counter('weird', [{ asDouble: 1 }], 'SOMETIMES'),
        ]),
        store,
      );
      expect(tally.reasons.get('unsupported')).toBe(5);
      expect(tally.messages[0]).toBe('zero: sum without a DELTA or CUMULATIVE aggregationTemporality');
      expect(store.streams.size).toBe(0);
    });

    it('skips NO_RECORDED_VALUE points without counting them', () => {
      const store = newStore();
      const tally = decode(
        request([counter('stale', [{ flags: 1 }, { flags: 3, asDouble: 'NaN' }, { asDouble: 4 }])]),
        store,
      );
      expect([tally.accepted, tally.rejected]).toEqual([1, 0]);
    });
  });

  describe('attributes', () => {
    it('keeps __proto__ and constructor as plain keys, from raw JSON text', () => {
      const text = `{"resourceMetrics":[{"resource":{"attributes":[{"key":"__proto__","value":{"stringValue":"r"}}]},
        "scopeMetrics":[{"metrics":[{"name":"p","gauge":{"dataPoints":[{"asDouble":1,"__proto__":{"polluted":"yes"},
        "attributes":[{"key":"__proto__","value":{"stringValue":"polluted"}},{"key":"constructor","value":{"kvlistValue":
        {"values":[{"key":"__proto__","value":{"stringValue":"x"}}]}}}]}]}}]}]}]}`;
      const store = newStore();
      const tally = decode(JSON.parse(text), store);
      expect(tally.accepted).toBe(1);
      const s = findSeries(store, 'p', ['__proto__', 'polluted', 'constructor', '{"__proto__":"x"}'])!;
      expect(s.attrs).toEqual(['__proto__', 'polluted', 'constructor', '{"__proto__":"x"}']);
      expect([...store.resources.values()][0]!.attrs).toEqual(['__proto__', 'r']);
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    });

    it('maps reordered attributes to the same series', () => {
      const store = newStore();
      decode(
        request([
          counter('r', [{ asDouble: 1, timeUnixNano: T0, attributes: [str('a', '1'), str('b', '2')] }]),
        ]),
        store,
      );
      decode(
        request([
          counter('r', [{ asDouble: 7, timeUnixNano: T0, attributes: [str('b', '2'), str('a', '1')] }]),
        ]),
        store,
      );
      expect(store.size).toBe(1);
      expect(findSeries(store, 'r', ['a', '1', 'b', '2'])!.value).toBe(7);
    });

    it('counts series beyond max_series_per_metric', () => {
      const store = newStore({ maxSeriesPerMetric: 3 });
      const points = Array.from({ length: 7 }, (_, i) => ({
        asDouble: 1,
        attributes: [str('i', String(i))],
      }));
      const tally = decode(request([counter('c', points)]), store);
      expect([tally.accepted, tally.rejected]).toEqual([3, 4]);
      expect(tally.reasons.get('series_per_metric_limit')).toBe(4);
      expect(tally.messages).toEqual(['series limit per metric (limits.max_series_per_metric) reached']);
    });

    it('rejects a point whose attribute value nests too deeply', () => {
      let v: unknown = { stringValue: 'bottom' };
      for (let i = 0; i < 40; i++) v = { arrayValue: { values: [v] } };
      const store = newStore();
      const tally = decode(
        request([counter('deep', [{ asDouble: 1, attributes: [{ key: 'k', value: v }] }])]),
        store,
      );
      expect(tally.reasons.get('invalid_value')).toBe(1);
      expect(tally.messages[0]).toBe('deep: attribute "k": bad value');
    });
  });

  describe('anyValueText', () => {
    it('renders scalars as text and int64 exactly', () => {
      expect(anyValueText({ stringValue: 'a' })).toBe('a');
      expect(anyValueText({ boolValue: false })).toBe('false');
      expect(anyValueText({ intValue: '007' })).toBe('7');
      expect(anyValueText({ intValue: '+5' })).toBe('5');
      expect(anyValueText({ intValue: 2 ** 60 })).toBe('1152921504606846976');
      expect(anyValueText({ intValue: '-9223372036854775808' })).toBe('-9223372036854775808');
      expect(anyValueText({ intValue: '9223372036854775808' })).toBeUndefined();
      expect(anyValueText({ intValue: '0x10' })).toBeUndefined();
      expect(anyValueText({ doubleValue: 0.1 })).toBe('0.1');
      expect(anyValueText({ doubleValue: '-Infinity' })).toBe('-Infinity');
      expect(anyValueText({ bytesValue: 'AAE=' })).toBe('AAE=');
      expect(anyValueText({})).toBe('');
      expect(anyValueText(null)).toBe('');
      expect(anyValueText('plain')).toBeUndefined();
    });

    it('renders arrays and key-value lists as JSON text', () => {
      expect(
        anyValueText({
          arrayValue: {
            values: [{ intValue: '1' }, { doubleValue: 'NaN' }, { kvlistValue: { values: [] } }, {}],
          },
        }),
      ).toBe('[1,"NaN",{},null]');
      expect(anyValueText({ kvlist_value: { values: [{ key: 'a"b', value: { boolValue: true } }] } })).toBe(
        '{"a\\"b":true}',
      );
      expect(anyValueText({ arrayValue: { values: 'nope' } })).toBeUndefined();
    });
  });
});
