import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ValueType, type Attributes } from '@opentelemetry/api';
import { JsonMetricsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
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
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { decodeOtlpJson } from '../../src/ingest/otlp-json-decode.js';
import { decodeOtlpProto, validateOtlpProto } from '../../src/ingest/otlp-proto-decode.js';
import { DecodeError, IngestTally } from '../../src/ingest/types.js';
import { downscaleBuckets } from '../../src/store/exp-histogram.js';
import { canonicalPairs } from '../../src/store/canonical-key.js';
import type { Series } from '../../src/store/series.js';
import { familyType, Store, type StoreLimits } from '../../src/store/store.js';
import type { ExpHistogramPoint, HistogramPoint, SummaryPoint } from '../../src/store/types.js';
import { otlpSchema } from '../helpers/otlp-proto.js';

// --- helpers -------------------------------------------------------------------------------------

const NOW_MS = 1_700_000_000_000;
const LIMITS: StoreLimits = { maxSeries: 100_000, maxSeriesPerMetric: 10_000, seriesTtlMs: 300_000 };

function newStore(limits: Partial<StoreLimits> = {}): Store {
  return new Store({
    limits: { ...LIMITS, ...limits },
    clock: () => NOW_MS,
    familyOf: (d) => ({ name: d.name, type: familyType(d) }),
  });
}

function decode(buf: Uint8Array, store: Store): IngestTally {
  const tally = new IngestTally();
  decodeOtlpProto(buf, store, NOW_MS, tally);
  return tally;
}

function decodeJson(body: unknown, store: Store): IngestTally {
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

/** An SDK with every instrument kind vigil stores; `record(round)` makes distinct, exact values. */
function sdk(...readers: MetricReader[]) {
  const provider = new MeterProvider({
    resource: resourceFromAttributes({
      'service.name': 'pricing',
      'service.namespace': 'shop',
      'service.instance.id': 'pricing-7f9c',
      'host.cores': 8,
    }),
    views: [{ instrumentName: 'latency.exp', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
    readers,
  });
  const meter = provider.getMeter('test.scope', '1.2.3');
  const requests = meter.createCounter('requests', { unit: '1', description: 'Requests served' });
  const bytes = meter.createCounter('bytes', { unit: 'By', valueType: ValueType.INT });
  const depth = meter.createUpDownCounter('queue.depth', { valueType: ValueType.INT });
  const temperature = meter.createGauge('temperature', { unit: 'Cel' });
  const memory = meter.createObservableGauge('memory.used', { unit: 'By' });
  const latency = meter.createHistogram('latency', {
    unit: 'ms',
    advice: { explicitBucketBoundaries: [10, 100, 1000] },
  });
  const latencyExp = meter.createHistogram('latency.exp', { unit: 'ms' });
  let mem = 0;
  memory.addCallback((r) => r.observe(mem, { pool: 'heap' }));
  const attrSets: Attributes[] = [
    { route: '/odds', status: 200, ok: true },
    { route: '/bets', status: 500, ok: false, ratio: 0.25 },
    { tags: ['a', 'b'], sizes: [1, 2.5] },
  ];
  return {
    provider,
    record(round: number): void {
      for (const [i, attrs] of attrSets.entries()) {
        requests.add(round * 3 + i + 0.5, attrs);
        bytes.add(1000 * round + i, attrs);
        depth.add(i === 1 ? -round : round * 2, attrs);
        temperature.record(20 + round + i, attrs);
        for (let k = 1; k <= 5; k++) {
          latency.record(k * 7 * (i + 1) * round, attrs);
          latencyExp.record(k * 3 + i + round, attrs);
        }
      }
      mem = 4096 * round;
    },
  };
}

/** SDK attributes as vigil renders them: scalars as text, arrays as JSON text. */
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

const hrMs = (t: [number, number]): number =>
  Math.floor(Number(BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])) / 1e6);

/** Every point of `rm` is in `store` with exactly the SDK's values (and times when `times`). */
function expectStoreHolds(store: Store, rm: ResourceMetrics, times: boolean): number {
  let checked = 0;
  for (const sm of rm.scopeMetrics) {
    for (const m of sm.metrics) {
      for (const dp of m.dataPoints) {
        const s = findSeries(store, m.descriptor.name, flatAttrs(dp.attributes));
        expect(s, `${m.descriptor.name} ${JSON.stringify(dp.attributes)}`).toBeDefined();
        if (s === undefined) continue;
        // Number series keep their times inline; the other kinds in their point.
        const timeMs = s.point === undefined ? s.timeMs : s.point.timeMs;
        if (times) expect(timeMs).toBe(hrMs(dp.endTime));
        switch (m.dataPointType) {
          case DataPointType.SUM:
          case DataPointType.GAUGE:
            expect(s.value, m.descriptor.name).toBe(dp.value);
            break;
          case DataPointType.HISTOGRAM: {
            const h = dp.value as Histogram;
            const p = s.point as HistogramPoint;
            expect(p.count).toBe(h.count);
            expect(p.sum).toBe(h.sum);
            expect(p.min).toBe(h.min);
            expect(p.max).toBe(h.max);
            expect(p.bounds).toEqual(h.buckets.boundaries);
            expect(p.bucketCounts).toEqual(h.buckets.counts);
            break;
          }
          case DataPointType.EXPONENTIAL_HISTOGRAM: {
            const h = dp.value as ExponentialHistogram;
            const p = s.point as ExpHistogramPoint;
            expect(p.count).toBe(h.count);
            expect(p.sum).toBe(h.sum);
            expect(p.min).toBe(h.min);
            expect(p.max).toBe(h.max);
            expect(p.zeroCount).toBe(h.zeroCount);
            // Merged deltas may keep a finer scale than the SDK (which caps its bucket count):
            // compare at the SDK's scale.
            expect(p.scale).toBeGreaterThanOrEqual(h.scale);
            expect(downscaleBuckets(p.positive, p.scale, h.scale)).toEqual({
              offset: h.positive.offset,
              counts: h.positive.bucketCounts,
            });
            expect(p.negative.counts).toEqual(h.negative.bucketCounts);
            break;
          }
        }
        checked++;
      }
    }
  }
  return checked;
}

/** Everything the store holds, in a stable order: for comparing two decodes. */
function dump(store: Store): unknown {
  const series: unknown[] = [];
  for (const st of store.streams.values()) {
    for (const s of st.series.values()) {
      series.push({
        stream: st.id,
        desc: st.desc,
        scope: st.scope,
        attrs: s.attrs,
        value: s.value,
        startMs: s.startMs,
        timeMs: s.timeMs,
        point: s.point,
      });
    }
  }
  series.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  const resources = [...store.resources.values()].map((r) => ({ key: r.key, attrs: r.attrs }));
  return { series, resources };
}

function toJson(rm: ResourceMetrics): unknown {
  return JSON.parse(new TextDecoder().decode(JsonMetricsSerializer.serializeRequest(rm)));
}

function requestType(packed: boolean): protobuf.Type {
  return protobuf.parse(otlpSchema(packed)).root.lookupType('otlp.ExportMetricsServiceRequest');
}
const Request = requestType(true);
const RequestUnpacked = requestType(false);

/** Encode an OTLP/JSON-shaped request object with protobufjs (an independent encoder). */
function encode(obj: unknown, type: protobuf.Type = Request): Uint8Array {
  return type.encode(type.fromObject(obj as Record<string, unknown>)).finish();
}

function fixturePath(): string {
  // A copy of opentelemetry-proto's examples/metrics.json, kept in the repo so CI has it.
  return fileURLToPath(new URL('../fixtures/otlp/metrics.json', import.meta.url));
}

const str = (key: string, value: string) => ({ key, value: { stringValue: value } });

/** A one-resource, one-scope request around `metrics` (OTLP/JSON shape). */
function request(metrics: unknown[], resourceAttrs = [str('service.name', 'svc')]): unknown {
  return {
    resourceMetrics: [
      {
        resource: { attributes: resourceAttrs },
        scopeMetrics: [{ scope: { name: 's', version: '1' }, metrics }],
      },
    ],
  };
}

const T0 = '1700000000000000000';
const T1 = '1700000001000000000';

function counter(name: string, points: unknown[], temporality = 2): unknown {
  return { name, sum: { aggregationTemporality: temporality, isMonotonic: true, dataPoints: points } };
}

// Hand-written wire bytes, for shapes encoders never produce.
function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
const lenField = (field: number, bytes: number[]): number[] => [
  ...varint((field << 3) | 2),
  ...varint(bytes.length),
  ...bytes,
];
const varintField = (field: number, n: number): number[] => [...varint(field << 3), ...varint(n)];
function fixed64Field(field: number, value: bigint): number[] {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(value);
  return [...varint((field << 3) | 1), ...b];
}
function doubleField(field: number, value: number): number[] {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(value);
  return [...varint((field << 3) | 1), ...b];
}
const utf8 = (s: string): number[] => [...Buffer.from(s)];
const kvBytes = (k: string, v: string): number[] => [
  ...lenField(1, utf8(k)),
  ...lenField(2, lenField(1, utf8(v))),
];

// --- tests ---------------------------------------------------------------------------------------

describe('decodeOtlpProto', () => {
  describe('with SDK-produced requests (otlp-transformer as the encoder)', () => {
    it('stores every cumulative point with the values and times the SDK recorded', async () => {
      const reader = new TestReader(AggregationTemporality.CUMULATIVE);
      const app = sdk(reader);
      app.record(1);
      app.record(2);
      const rm = await collect(reader);
      const store = newStore();
      const tally = decode(ProtobufMetricsSerializer.serializeRequest(rm)!, store);

      expect(tally.rejected).toBe(0);
      const checked = expectStoreHolds(store, rm, true);
      expect(checked).toBe(7 * 3 - 2); // 7 instruments x 3 attribute sets; the observable gauge has 1
      expect(tally.accepted).toBe(checked);
      expect(store.size).toBe(checked);

      const [resource] = [...store.resources.values()];
      expect(resource!.serviceName).toBe('pricing');
      expect(resource!.serviceNamespace).toBe('shop');
      expect(resource!.instanceId).toBe('pricing-7f9c');
      expect(resource!.attrs).toContain('host.cores');
      const stream = [...store.streams.values()].find((s) => s.desc.name === 'requests')!;
      expect(stream.scope).toEqual({ name: 'test.scope', version: '1.2.3' });
      expect(stream.desc).toEqual({
        name: 'requests',
        unit: '1',
        description: 'Requests served',
        kind: 'sum',
        monotonic: true,
        temporality: 'cumulative',
      });
      const kinds = new Map([...store.streams.values()].map((s) => [s.desc.name, s.desc]));
      expect(kinds.get('queue.depth')).toMatchObject({ kind: 'sum', monotonic: false });
      expect(kinds.get('temperature')).toMatchObject({ kind: 'gauge' });
      expect(kinds.get('memory.used')).toMatchObject({ kind: 'gauge' });
      expect(kinds.get('latency')).toMatchObject({ kind: 'histogram', temporality: 'cumulative' });
      expect(kinds.get('latency.exp')).toMatchObject({ kind: 'exponential_histogram' });
      await app.provider.shutdown();
    });

    it('accumulates delta pushes into the state the cumulative SDK reader reports', async () => {
      const cumulative = new TestReader(AggregationTemporality.CUMULATIVE);
      const delta = new TestReader(AggregationTemporality.DELTA);
      const app = sdk(cumulative, delta);
      const store = newStore();

      app.record(1);
      const first = await collect(delta);
      expect(
        first.scopeMetrics[0]!.metrics.find((m) => m.descriptor.name === 'requests')!.aggregationTemporality,
      ).toBe(AggregationTemporality.DELTA);
      expect(decode(ProtobufMetricsSerializer.serializeRequest(first)!, store).rejected).toBe(0);
      app.record(2);
      expect(decode(ProtobufMetricsSerializer.serializeRequest(await collect(delta))!, store).rejected).toBe(
        0,
      );

      const stream = [...store.streams.values()].find((s) => s.desc.name === 'latency')!;
      expect(stream.desc.temporality).toBe('delta');
      expect(expectStoreHolds(store, await collect(cumulative), false)).toBe(19);
      await app.provider.shutdown();
    });

    it('decodes exactly what the JSON decoder does for the same SDK data', async () => {
      const reader = new TestReader(AggregationTemporality.CUMULATIVE);
      const app = sdk(reader);
      app.record(3);
      const rm = await collect(reader);
      const fromProto = newStore();
      const fromJson = newStore();
      decode(ProtobufMetricsSerializer.serializeRequest(rm)!, fromProto);
      const tally = decodeJson(toJson(rm), fromJson);
      expect(tally.rejected).toBe(0);
      expect(dump(fromProto)).toEqual(dump(fromJson));
      await app.provider.shutdown();
    });

    it('finds known series by their raw attribute bytes on later pushes', async () => {
      const reader = new TestReader(AggregationTemporality.CUMULATIVE);
      const app = sdk(reader);
      const store = newStore();
      app.record(1);
      decode(ProtobufMetricsSerializer.serializeRequest(await collect(reader))!, store);
      const stream = [...store.streams.values()].find((s) => s.desc.name === 'requests')!;
      expect(stream.aliases.size).toBe(3);
      app.record(2);
      const rm = await collect(reader);
      decode(ProtobufMetricsSerializer.serializeRequest(rm)!, store);
      expect(store.size).toBe(19);
      expectStoreHolds(store, rm, true);
      await app.provider.shutdown();
    });
  });

  describe('with the opentelemetry-proto example payload', () => {
    const fixture: unknown = JSON.parse(readFileSync(fixturePath(), 'utf8'));

    it('decodes the protobuf form of the fixture exactly as the JSON form', () => {
      for (const type of [Request, RequestUnpacked]) {
        const fromProto = newStore();
        const fromJson = newStore();
        const tally = decode(encode(fixture, type), fromProto);
        decodeJson(fixture, fromJson);
        expect(tally.accepted).toBe(4);
        expect(tally.rejected).toBe(0);
        expect(dump(fromProto)).toEqual(dump(fromJson));
      }
    });

    it('stores the fixture series and values', () => {
      const store = newStore();
      decode(encode(fixture), store);
      const t = 1544712660300;
      const c = findSeries(store, 'my.counter', ['my.counter.attr', 'some value'])!;
      expect([c.value, c.startMs, c.timeMs]).toEqual([5, t, t]);
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
      });
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
      });
      const r = [...store.resources.values()][0]!;
      expect(r.serviceName).toBe('my.service');
      const st = [...store.streams.values()][0]!;
      expect(st.scope).toEqual({ name: 'my.library', version: '1.0.0' });
    });
  });

  describe('malformed bodies', () => {
    async function sdkBody(): Promise<Uint8Array> {
      const reader = new TestReader(AggregationTemporality.CUMULATIVE);
      const app = sdk(reader);
      app.record(1);
      const body = ProtobufMetricsSerializer.serializeRequest(await collect(reader))!;
      await app.provider.shutdown();
      return body;
    }

    it('throws DecodeError for a truncated body and leaves the store empty', async () => {
      const body = await sdkBody();
      for (const cut of [1, 7, body.length >> 1, body.length - 1]) {
        const store = newStore();
        expect(() => decode(body.subarray(0, cut), store)).toThrow(DecodeError);
        expect(store.size).toBe(0);
        expect(store.resources.size).toBe(0);
        expect(store.streams.size).toBe(0);
      }
    });

    it('throws DecodeError for garbage, naming the problem', () => {
      const store = newStore();
      expect(() => decode(Buffer.from('this is not protobuf at all'), store)).toThrow(DecodeError);
      expect(() => decode(Buffer.from([0x0f, 0x01]), store)).toThrow(/wire type 7/);
      expect(() => decode(Buffer.from([0x00]), store)).toThrow(/field number 0/);
      expect(() => decode(Buffer.from([0x08, ...Array(10).fill(0xff), 0x01]), store)).toThrow(
        /overflows 64 bits/,
      );
      expect(() => decode(Buffer.from([0x0b]), store)).toThrow(/wire type 3/);
      expect(store.size).toBe(0);
    });

    it('throws DecodeError when a nested length runs past its parent, even if the body is long enough', () => {
      // ResourceMetrics (3 bytes) claims a 10-byte scope_metrics inside it; the body has 12 more bytes.
      const body = Buffer.from([...lenField(1, [0x12, 10, 0]), ...Array(12).fill(0)]);
      const store = newStore();
      expect(() => decode(body, store)).toThrow(
        /runs past the end of its enclosing message.*ResourceMetrics/,
      );
      expect(store.size).toBe(0);
    });

    it('validates everything before applying anything: a bad last point keeps the good first ones out', () => {
      const good = encode(request([counter('a', [{ asDouble: 1, timeUnixNano: T0 }])]));
      // A second ResourceMetrics whose attribute KeyValue has a truncated key.
      const bad = lenField(
        1,
        lenField(2, lenField(2, lenField(7, lenField(1, lenField(7, [0x0a, 5, 0x61]))))),
      );
      const store = newStore();
      expect(() => decode(Buffer.concat([good, Buffer.from(bad)]), store)).toThrow(DecodeError);
      expect(store.size).toBe(0);
      expect(store.resources.size).toBe(0);
    });

    it('refuses packed fixed64 arrays that are not whole values, and runaway nesting', () => {
      const point = [...fixed64Field(4, 1n), ...lenField(6, [1, 0, 0, 0, 0, 0, 0, 0, 0])];
      const body = lenField(
        1,
        lenField(2, lenField(2, [...lenField(1, utf8('h')), ...lenField(9, lenField(1, point))])),
      );
      expect(() => validateOtlpProto(Buffer.from(body))).toThrow(/not a whole number of 8-byte values/);

      let any = lenField(1, utf8('deep'));
      for (let i = 0; i < 40; i++) any = lenField(5, lenField(1, any)); // AnyValue > ArrayValue > AnyValue ...
      const deep = lenField(1, lenField(1, lenField(1, [...lenField(1, utf8('k')), ...lenField(2, any)])));
      expect(() => validateOtlpProto(Buffer.from(deep))).toThrow(/nested more than 64 deep/);
    });

    it('never throws anything but DecodeError, and never half-applies (property)', async () => {
      const body = Buffer.from(await sdkBody());
      const check = (bytes: Uint8Array): void => {
        const store = newStore();
        try {
          decode(bytes, store);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
          expect(store.size).toBe(0);
          expect(store.resources.size).toBe(0);
        }
      };
      fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), check), { seed: 20240611, numRuns: 400 });
      const mutation = fc.record({
        cut: fc.nat(body.length),
        edits: fc.array(fc.tuple(fc.nat(body.length - 1), fc.integer({ min: 0, max: 255 })), {
          maxLength: 6,
        }),
      });
      fc.assert(
        fc.property(mutation, ({ cut, edits }) => {
          const b = Buffer.from(body.subarray(0, Math.max(cut, body.length - 64)));
          for (const [i, v] of edits) if (i < b.length) b[i] = v;
          check(b);
        }),
        { seed: 7, numRuns: 400 },
      );
    });
  });

  // Regression guards for the positional fast path (a point is matched to the series its position
  // held in the last request when the attribute bytes are equal).
  describe('same series order as last time', () => {
    const pts = (order: string[], value: number) =>
      order.map((route) => ({ asDouble: value, timeUnixNano: T0, attributes: [str('route', route)] }));
    const seriesValue = (store: Store, route: string): number | undefined => {
      for (const st of store.streams.values())
        for (const s of st.series.values()) if (s.attrs[1] === route) return s.value;
      return undefined;
    };

    it('finds the right series when the order changes', () => {
      const store = newStore();
      decode(encode(request([counter('c', pts(['/a', '/b', '/c'], 1))])), store);
      decode(encode(request([counter('c', pts(['/c', '/a', '/b'], 5))])), store);
      expect(['/a', '/b', '/c'].map((r) => seriesValue(store, r))).toEqual([5, 5, 5]);
      expect(store.size).toBe(3);
    });

    it('never writes to a series the store has removed since', () => {
      const store = newStore();
      decode(encode(request([counter('c', pts(['/a', '/b'], 1))])), store);
      const stream = [...store.streams.values()][0]!;
      const a = [...stream.series.values()].find((x) => x.attrs[1] === '/a')!;
      expect(store.removeSeries(stream, a)).toBe(true); // the stream lives on with /b
      decode(encode(request([counter('c', pts(['/a', '/b'], 7))])), store);
      expect(store.size).toBe(2);
      expect(seriesValue(store, '/a')).toBe(7);
      expect(a.value).toBe(1); // the removed series was not touched
    });
  });

  describe('point validation and limits', () => {
    it('lands the valid points of a request and counts the invalid ones with messages', () => {
      const body = encode(
        request([
          counter('ok.counter', [{ asDouble: 1, timeUnixNano: T0, attributes: [str('a', '1')] }]),
          counter('nan.counter', [
            { asDouble: NaN, timeUnixNano: T0, attributes: [str('a', '1')] },
            { asDouble: 2, timeUnixNano: T0, attributes: [str('a', '2')] },
          ]),
          {
            name: 'bad.histogram',
            histogram: {
              aggregationTemporality: 2,
              dataPoints: [
                { timeUnixNano: T0, count: 3, sum: 3, bucketCounts: [1, 2], explicitBounds: [1, 2] },
                {
                  timeUnixNano: T0,
                  count: 3,
                  sum: 3,
                  bucketCounts: [1, 2],
                  explicitBounds: [1],
                  attributes: [str('b', '1')],
                },
              ],
            },
          },
          counter('negative.counter', [{ asInt: -4, timeUnixNano: T0 }]),
        ]),
      );
      const store = newStore();
      const tally = decode(body, store);
      expect(tally.accepted).toBe(3);
      expect(tally.rejected).toBe(3);
      expect(tally.reasons.get('invalid_value')).toBe(2);
      expect(tally.reasons.get('invalid_histogram')).toBe(1);
      expect(tally.messages).toEqual([
        'nan.counter: non-finite value NaN',
        'bad.histogram: 2 bucket counts for 2 explicit bounds (want bounds + 1)',
        'negative.counter: negative value -4 on a monotonic sum',
      ]);
      // Rejected points leave no empty series behind.
      expect(store.size).toBe(3);
      expect(findSeries(store, 'nan.counter', ['a', '1'])).toBeUndefined();
      expect(findSeries(store, 'nan.counter', ['a', '2'])!.value).toBe(2);
    });

    it('rejects the points of a sum or histogram without aggregation temporality as unsupported', () => {
      const body = encode(
        request([
          counter('nt', [{ asDouble: 1 }, { asDouble: 2, attributes: [str('x', 'y')] }], 0),
          { name: 'h', histogram: { dataPoints: [{ count: 0 }] } },
          { name: 'g', gauge: { dataPoints: [{ asDouble: 1 }] } },
        ]),
      );
      const store = newStore();
      const tally = decode(body, store);
      expect(tally.accepted).toBe(1);
      expect(tally.reasons.get('unsupported')).toBe(3);
      expect(tally.messages[0]).toBe(
        'nt: Sum with AGGREGATION_TEMPORALITY_UNSPECIFIED (DELTA or CUMULATIVE required)',
      );
      expect(store.streams.size).toBe(1);
    });

    it('counts series beyond max_series_per_metric as series_per_metric_limit', () => {
      const points = Array.from({ length: 5 }, (_, i) => ({
        asDouble: i,
        attributes: [str('i', String(i))],
      }));
      const store = newStore({ maxSeriesPerMetric: 2 });
      const tally = decode(encode(request([counter('c', points)])), store);
      expect(tally.accepted).toBe(2);
      expect(tally.rejected).toBe(3);
      expect(tally.reasons.get('series_per_metric_limit')).toBe(3);
      expect(tally.messages).toEqual(['series limit per metric (limits.max_series_per_metric) reached']);
      expect(store.size).toBe(2);
    });

    it('rejects every point of a metric whose name is taken by another type', () => {
      const store = newStore();
      decode(encode(request([counter('clash', [{ asDouble: 1 }])])), store);
      const tally = decode(
        encode(request([{ name: 'clash', gauge: { dataPoints: [{ asDouble: 1 }, { asDouble: 2 }] } }])),
        store,
      );
      expect(tally.reasons.get('type_conflict')).toBe(2);
      expect(tally.messages).toEqual(['metric name already used with another type clash']);
    });

    it('skips points flagged NO_RECORDED_VALUE without accepting or rejecting them', () => {
      const store = newStore();
      const tally = decode(
        encode(
          request([
            counter('stale', [
              { flags: 1, asDouble: NaN },
              { asDouble: 3, attributes: [str('k', 'v')] },
            ]),
          ]),
        ),
        store,
      );
      expect([tally.accepted, tally.rejected, store.size]).toEqual([1, 0, 1]);
    });

    it('rejects a number point that carries no value', () => {
      const tally = decode(encode(request([counter('novalue', [{ timeUnixNano: T0 }])])), newStore());
      expect(tally.reasons.get('invalid_value')).toBe(1);
      expect(tally.messages[0]).toMatch(/novalue: data point has neither/);
    });
  });

  describe('attributes', () => {
    it('keeps __proto__ and constructor as plain attribute keys', () => {
      const store = newStore();
      const attrs = [str('__proto__', 'polluted'), str('constructor', 'x'), str('polluted', 'yes')];
      decode(encode(request([counter('p', [{ asDouble: 1, attributes: attrs }])], attrs)), store);
      const s = [...[...store.streams.values()][0]!.series.values()][0]!;
      expect(s.attrs).toEqual(['__proto__', 'polluted', 'constructor', 'x', 'polluted', 'yes']);
      expect([...store.resources.values()][0]!.attrs).toContain('__proto__');
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    });

    it('maps reordered and non-contiguous attributes to the same series', () => {
      const store = newStore();
      const ab = [str('a', '1'), str('b', '2')];
      const ba = [str('b', '2'), str('a', '1')];
      decode(encode(request([counter('r', [{ asDouble: 1, timeUnixNano: T0, attributes: ab }])])), store);
      decode(encode(request([counter('r', [{ asDouble: 5, timeUnixNano: T1, attributes: ba }])])), store);
      expect(store.size).toBe(1);
      expect(findSeries(store, 'r', ['a', '1', 'b', '2'])!.value).toBe(5);

      // A point whose attributes are split by other fields (legal, if unusual).
      const point = [
        ...lenField(7, kvBytes('b', '2')),
        ...fixed64Field(3, 1_700_000_002_000_000_000n),
        ...doubleField(4, 9),
        ...lenField(7, kvBytes('a', '1')),
      ];
      const sum = [...lenField(1, point), ...varintField(2, 2), ...varintField(3, 1)];
      const metric = [...lenField(1, utf8('r')), ...lenField(7, sum)];
      const body = lenField(1, [
        ...lenField(2, [
          ...lenField(1, [...lenField(1, utf8('s')), ...lenField(2, utf8('1'))]),
          ...lenField(2, metric),
        ]),
        ...lenField(1, lenField(1, kvBytes('service.name', 'svc'))),
      ]);
      const tally = decode(Buffer.from(body), store);
      expect(tally.accepted).toBe(1);
      expect(store.size).toBe(1);
      expect(findSeries(store, 'r', ['a', '1', 'b', '2'])!.value).toBe(9);
    });

    it('renders every AnyValue kind as text, identically to the JSON decoder', () => {
      const attributes = [
        str('s', 'text'),
        { key: 'b', value: { boolValue: true } },
        { key: 'i', value: { intValue: '-42' } },
        { key: 'big', value: { intValue: '9007199254740993' } },
        { key: 'min', value: { intValue: '-9223372036854775808' } },
        { key: 'd', value: { doubleValue: 1.5 } },
        { key: 'inf', value: { doubleValue: Infinity } },
        { key: 'bytes', value: { bytesValue: Buffer.from('hi!').toString('base64') } },
        {
          key: 'arr',
          value: {
            arrayValue: {
              values: [
                { stringValue: 'x"y' },
                { intValue: 7 },
                { doubleValue: NaN },
                { boolValue: false },
                {},
              ],
            },
          },
        },
        {
          key: 'kv',
          value: {
            kvlistValue: {
              values: [{ key: '__proto__', value: { arrayValue: { values: [{ intValue: 1 }] } } }],
            },
          },
        },
        { key: 'empty', value: {} },
      ];
      const body = request([counter('v', [{ asDouble: 1, attributes }])]);
      const store = newStore();
      decode(encode(body), store);
      const s = [...[...store.streams.values()][0]!.series.values()][0]!;
      const attrs = new Map<string, string>();
      for (let i = 0; i < s.attrs.length; i += 2) attrs.set(s.attrs[i]!, s.attrs[i + 1]!);
      expect(Object.fromEntries(attrs)).toEqual({
        s: 'text',
        b: 'true',
        i: '-42',
        big: '9007199254740993',
        min: '-9223372036854775808',
        d: '1.5',
        inf: 'Infinity',
        bytes: 'aGkh',
        arr: '["x\\"y",7,"NaN",false,null]',
        kv: '{"__proto__":[1]}',
        empty: '',
      });
      // The JSON decoder sees NaN / Infinity the way OTLP/JSON carries them: as strings.
      const json: unknown = JSON.parse(
        JSON.stringify(body, (_k, v: unknown) =>
          typeof v === 'number' && !Number.isFinite(v) ? String(v) : v,
        ),
      );
      const viaJson = newStore();
      decodeJson(json, viaJson);
      expect(dump(viaJson)).toEqual(dump(store));
    });
  });

  describe('wire layouts', () => {
    it('reads the resource after the scope metrics, and Sum temporality after its points', () => {
      const point = [...fixed64Field(3, 1_700_000_000_000_000_000n), ...doubleField(4, 3)];
      const sum = [...lenField(1, point), ...varintField(2, 1), ...varintField(3, 1)];
      const metric = [...lenField(7, sum), ...lenField(1, utf8('late'))];
      const scopeMetrics = lenField(2, metric);
      const body = lenField(1, [
        ...lenField(2, scopeMetrics),
        ...lenField(1, lenField(1, kvBytes('service.name', 'x'))),
      ]);
      const store = newStore();
      decode(Buffer.from(body), store);
      const st = [...store.streams.values()][0]!;
      expect(st.desc).toMatchObject({ name: 'late', kind: 'sum', temporality: 'delta', monotonic: true });
      expect(st.resource.serviceName).toBe('x');
      decode(Buffer.from(body), store);
      expect([...st.series.values()][0]!.value).toBe(6);
    });

    it('skips unknown fields of every wire type at every level', () => {
      const unknown = [
        ...varintField(99, 5),
        ...fixed64Field(98, 1n),
        ...lenField(97, [1, 2, 3]),
        ...[...varint((96 << 3) | 5), 1, 2, 3, 4],
      ];
      const point = [
        ...unknown,
        ...fixed64Field(3, 1_700_000_000_000_000_000n),
        ...doubleField(4, 8),
        ...unknown,
      ];
      const gauge = [...unknown, ...lenField(1, point)];
      const metric = [...lenField(1, utf8('g')), ...unknown, ...lenField(5, gauge)];
      const body = [
        ...unknown,
        ...lenField(1, [...unknown, ...lenField(2, [...unknown, ...lenField(2, metric)])]),
      ];
      const store = newStore();
      const tally = decode(Buffer.from(body), store);
      expect(tally.accepted).toBe(1);
      expect([...[...store.streams.values()][0]!.series.values()][0]!.value).toBe(8);
    });

    it('decodes exponential histograms with negative scale, offsets and buckets, and summaries', () => {
      const body = request([
        {
          name: 'e',
          exponentialHistogram: {
            aggregationTemporality: 1,
            dataPoints: [
              {
                timeUnixNano: T0,
                count: 7,
                sum: -3.5,
                scale: -2,
                zeroCount: 1,
                zeroThreshold: 0.001,
                positive: { offset: -3, bucketCounts: [1, 0, 2] },
                negative: { offset: 2, bucketCounts: [3] },
                min: -40,
                max: 9,
              },
            ],
          },
        },
        {
          name: 'q',
          summary: {
            dataPoints: [
              {
                timeUnixNano: T0,
                count: 10,
                sum: 55,
                quantileValues: [
                  { quantile: 0.5, value: 5 },
                  { quantile: 0.99, value: 9.9 },
                ],
              },
            ],
          },
        },
      ]);
      for (const type of [Request, RequestUnpacked]) {
        const store = newStore();
        expect(decode(encode(body, type), store).accepted).toBe(2);
        expect(findSeries(store, 'e', [])!.point).toEqual({
          startMs: 0,
          timeMs: 1_700_000_000_000,
          count: 7,
          sum: -3.5,
          min: -40,
          max: 9,
          scale: -2,
          zeroCount: 1,
          zeroThreshold: 0.001,
          positive: { offset: -3, counts: [1, 0, 2] },
          negative: { offset: 2, counts: [3] },
        } satisfies ExpHistogramPoint);
        expect(findSeries(store, 'q', [])!.point).toEqual({
          startMs: 0,
          timeMs: 1_700_000_000_000,
          count: 10,
          sum: 55,
          quantiles: [
            [0.5, 5],
            [0.99, 9.9],
          ],
        } satisfies SummaryPoint);
        const viaJson = newStore();
        decodeJson(body, viaJson);
        expect(dump(viaJson)).toEqual(dump(store));
      }
    });

    it('reads histogram counts and bounds unpacked, and absent min / max / sum as NaN / NaN / 0', () => {
      const body = request([
        {
          name: 'h',
          histogram: {
            aggregationTemporality: 2,
            dataPoints: [{ timeUnixNano: T0, count: 3, bucketCounts: [1, 2, 0], explicitBounds: [0.5, 1] }],
          },
        },
      ]);
      const store = newStore();
      decode(encode(body, RequestUnpacked), store);
      expect(findSeries(store, 'h', [])!.point).toEqual({
        startMs: 0,
        timeMs: 1_700_000_000_000,
        count: 3,
        sum: 0,
        min: NaN,
        max: NaN,
        bounds: [0.5, 1],
        bucketCounts: [1, 2, 0],
      });
    });

    it('reads as_int as a signed 64-bit value', () => {
      const store = newStore();
      decode(
        encode(request([{ name: 'g', gauge: { dataPoints: [{ asInt: '-9007199254740991' }] } }])),
        store,
      );
      expect(findSeries(store, 'g', [])!.value).toBe(-9007199254740991);
    });
  });
});
