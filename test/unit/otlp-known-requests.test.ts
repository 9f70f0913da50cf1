import { execFileSync } from 'node:child_process';
import { ValueType } from '@opentelemetry/api';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KnownRequests } from '../../src/ingest/otlp-known-requests.js';
import { decodeOtlpProto } from '../../src/ingest/otlp-proto-decode.js';
import { IngestTally } from '../../src/ingest/types.js';
import { familyType, Store } from '../../src/store/store.js';
import protobuf from 'protobufjs';
import { otlpSchema } from '../helpers/otlp-proto.js';

/**
 * The OTLP request type for hand-made requests. protobufjs writes repeated numbers (bucket
 * counts, bounds) unpacked, as some senders do; the SDK test above covers the packed form.
 */
const RequestType = protobuf.parse(otlpSchema()).root.lookupType('otlp.ExportMetricsServiceRequest');

// Every test runs requests through two stores: one decoded in full every time, one through
// KnownRequests; after every request both must hold exactly the same state and tally.

const T0 = 1_700_000_000_000;

function newStore(clock: () => number): Store {
  return new Store({
    limits: { maxSeries: 1000, maxSeriesPerMetric: 1000, seriesTtlMs: 60_000 },
    clock,
    familyOf: (d) => ({ name: d.name, type: familyType(d) }),
  });
}

/** Everything a point leaves in the store, in a comparable form. */
function state(store: Store): string[] {
  const out: string[] = [];
  for (const st of store.streams.values())
    for (const s of st.series.values())
      out.push(
        `${st.id}|${s.key}|${st.desc.temporality}|${s.value}|${s.startMs}|${s.timeMs}|${s.updatedMs}|${s.filled}|${JSON.stringify(s.point)}`,
      );
  for (const r of store.resources.values()) out.push(`resource ${r.key} ${r.updatedMs} ${r.attrs.join(',')}`);
  return out.sort();
}

function tallyOf(t: IngestTally): string {
  return JSON.stringify({ a: t.accepted, r: t.rejected, reasons: [...t.reasons], m: t.messages });
}

function pair() {
  let now = T0;
  const clock = (): number => now;
  const full = newStore(clock);
  const fast = newStore(clock);
  const known = new KnownRequests(4);
  let hits = 0;
  return {
    known,
    hits: () => hits,
    advance: (ms: number) => (now += ms),
    sweep: () => {
      full.sweep();
      fast.sweep();
    },
    send(buf: Uint8Array): void {
      const a = new IngestTally();
      const b = new IngestTally();
      decodeOtlpProto(buf, full, now, a);
      const before = known.size;
      const matched = known.apply(buf, fast, now, b);
      if (matched) hits++;
      else decodeOtlpProto(buf, fast, now, b, known);
      expect(tallyOf(b)).toBe(tallyOf(a));
      expect(state(fast)).toEqual(state(full));
      if (matched) expect(known.size).toBe(before);
    },
  };
}

class TestReader extends MetricReader {
  constructor(temporality: AggregationTemporality) {
    super({ aggregationTemporalitySelector: () => temporality });
  }
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

describe('KnownRequests', () => {
  for (const temporality of [AggregationTemporality.CUMULATIVE, AggregationTemporality.DELTA]) {
    it(`reads only the values of the OTel SDK's repeated exports (${AggregationTemporality[temporality]})`, async () => {
      const reader = new TestReader(temporality);
      const provider = new MeterProvider({
        resource: resourceFromAttributes({ 'service.name': 'pricing', 'host.cores': 8 }),
        readers: [reader],
      });
      const meter = provider.getMeter('scope', '1.0.0');
      const requests = meter.createCounter('requests');
      const bytes = meter.createCounter('bytes', { valueType: ValueType.INT });
      const depth = meter.createUpDownCounter('queue.depth', { valueType: ValueType.INT });
      const temperature = meter.createGauge('temperature');
      const latency = meter.createHistogram('latency', { advice: { explicitBucketBoundaries: [10, 100] } });
      const t = pair();
      for (let round = 1; round <= 6; round++) {
        for (const route of ['/a', '/b', '/c']) {
          requests.add(round + 0.5, { route, ok: true });
          bytes.add(1000 * round, { route });
          depth.add(round % 2 === 0 ? -round : round * 2, { route });
          temperature.record(20 + round, { route, sensor: 1.5 });
          for (let k = 0; k < round; k++) latency.record(7 * k * round, { route });
        }
        const { resourceMetrics } = await reader.collect();
        t.advance(1000);
        t.send(ProtobufMetricsSerializer.serializeRequest(resourceMetrics)!);
      }
      // The first request is decoded in full; the next five match its shape.
      expect(t.hits()).toBe(5);
      await provider.shutdown();
    });
  }

  it('agrees with the full decoder on any sequence of values, shapes, expiries and rejections', () => {
    const shape = fc.record({
      route: fc.constantFrom('a', 'b'),
      asInt: fc.boolean(),
      monotonic: fc.boolean(),
      temporality: fc.constantFrom(1, 2),
      withStart: fc.boolean(),
      histogram: fc.constantFrom('none' as const, 'min-max' as const, 'plain' as const),
      bounds: fc.constantFrom([10, 100], [1, 5]),
    });
    const value = fc.oneof(
      { weight: 12, arbitrary: fc.integer({ min: 0, max: 1e6 }) },
      { weight: 4, arbitrary: fc.double({ min: -10, max: 1e9, noNaN: true }) },
      { weight: 1, arbitrary: fc.constantFrom(NaN, Infinity, -1) },
    );
    // Mostly the same shape again with new values (what an SDK sends), sometimes another shape
    // (another route, int or double, temporality...), sometimes an expiry of every series.
    const step = fc.oneof(
      {
        weight: 8,
        arbitrary: fc.record({
          kind: fc.constant('request' as const),
          // null: the same shape again (fc.option's `freq` would make null the rare case).
          shape: fc.oneof({ weight: 5, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: shape }),
          values: fc.array(value, { minLength: 2, maxLength: 2 }),
          buckets: fc.array(fc.nat(50), { minLength: 3, maxLength: 3 }),
          countError: fc.oneof(
            { weight: 5, arbitrary: fc.constant(0) },
            { weight: 1, arbitrary: fc.constant(1) },
          ),
          time: fc.integer({ min: 0, max: 5_000_000 }),
        }),
      },
      { weight: 1, arbitrary: fc.constant({ kind: 'expire' as const }) },
    );
    let hits = 0;
    fc.assert(
      fc.property(shape, fc.array(step, { minLength: 1, maxLength: 25 }), (first, steps) => {
        const t = pair();
        let current = first;
        for (const s of steps) {
          if (s.kind === 'expire') {
            // Past the TTL: both stores drop every series, and known shapes must not outlive them.
            t.advance(120_000);
            t.sweep();
          } else {
            t.advance(1000);
            current = s.shape ?? current;
            t.send(
              encode({
                ...current,
                values: s.values,
                time: s.time,
                buckets: s.buckets,
                countError: s.countError,
              }),
            );
          }
        }
        hits += t.hits();
      }),
      { seed: 7, numRuns: 400 },
    );
    // Not vacuous: many requests took the known path (and agreed with the full decoder).
    expect(hits).toBeGreaterThan(50);
  });

  it('finds each request among shapes of the same length and layout, whichever was recorded last', () => {
    // An SDK exporting more series than fit one request cycles through requests that differ only
    // in attribute bytes: they share a length and a slot layout, and `apply` zeroes a request
    // once for all of them, then compares it with each (the matching one recorded first, so last
    // tried).
    const t = pair();
    const spec = (route: string, round: number): RequestSpec => ({
      route,
      asInt: false,
      monotonic: true,
      temporality: 2,
      values: [round, round * 2],
      time: round,
      withStart: true,
      histogram: 'min-max',
      buckets: [round, 1, 2],
    });
    const routes = ['a', 'b', 'c', 'd'];
    for (let round = 1; round <= 5; round++) for (const route of routes) t.send(encode(spec(route, round)));
    expect(new Set(routes.map((r) => encode(spec(r, 1)).length)).size).toBe(1);
    expect(t.known.size).toBe(4);
    // Round 1 decoded in full; every later request matched its own shape.
    expect(t.hits()).toBe(4 * routes.length);
  });

  // Numbers: each point's value was boxed into a heap number where the known path called
  // checkNumber (not inlined into its large caller): 22 KB per request. Histograms: a new point
  // object per point, until the series' point was rewritten in place: 330 KB per request.
  // Counted by V8's sampling heap profiler on the built code in a fresh process, over the
  // benchmarks' own requests.
  it.each(['numbers', 'histograms'])(
    'applies a known 1000-point request of %s with next to no garbage (regression)',
    (kind) => {
      const dist = (f: string): string => JSON.stringify(new URL(`../../dist/${f}`, import.meta.url).href);
      const script = `
      import { Session } from 'node:inspector/promises';
      const { decodeOtlpProto } = await import(${dist('ingest/otlp-proto-decode.js')});
      const { KnownRequests } = await import(${dist('ingest/otlp-known-requests.js')});
      const { IngestTally } = await import(${dist('ingest/types.js')});
      const { loadStore, makeDataset } = await import(${JSON.stringify(new URL('../../bench/lib/data.mjs', import.meta.url).href)});
      const { requests } = await makeDataset('${kind}');
      const store = loadStore(requests);
      const known = new KnownRequests();
      const send = (i) => { const t = new IngestTally(); decodeOtlpProto(requests[i % requests.length], store, Date.now(), t, known); return t.accepted; };
      for (let i = 0; i < 2000; i++) send(i);
      const session = new Session();
      session.connect();
      await session.post('HeapProfiler.startSampling', { samplingInterval: 512, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true });
      let accepted = 0;
      for (let i = 0; i < 1000; i++) accepted += send(i);
      const { profile } = await session.post('HeapProfiler.stopSampling');
      let bytes = 0;
      const walk = (n) => { if (/otlp-known-requests|apply[.]js|validate[.]js/.test(n.callFrame.url)) bytes += n.selfSize; n.children.forEach(walk); };
      walk(profile.head);
      process.stdout.write(JSON.stringify({ accepted, hits: known.size, bytesPerRequest: bytes / 1000 }));`;
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
      const { accepted, bytesPerRequest } = JSON.parse(out) as { accepted: number; bytesPerRequest: number };
      expect(accepted).toBe(1000 * 1000);
      expect(bytesPerRequest).toBeLessThan(5000);
    },
  );

  it('keeps at most its bound of shapes, dropping the oldest', () => {
    const t = pair();
    for (let i = 0; i < 10; i++)
      t.send(
        encode({
          route: `r${i}`,
          asInt: false,
          monotonic: false,
          temporality: 2,
          values: [1, 2],
          time: 1,
          withStart: true,
        }),
      );
    expect(t.known.size).toBe(4);
  });
});

interface RequestSpec {
  route: string;
  asInt: boolean;
  monotonic: boolean;
  temporality: number;
  values: number[];
  time: number;
  withStart: boolean;
  /** A histogram metric too: with min and max, without, or none. */
  histogram?: 'none' | 'min-max' | 'plain';
  bounds?: readonly number[];
  buckets?: number[];
  /** Added to the histogram's count: 1 makes it invalid (count ≠ sum of buckets). */
  countError?: number;
}

/** One resource, one sum with two points (two routes) and maybe a histogram, encoded by protobufjs. */
function encode(r: RequestSpec): Uint8Array {
  const timeNanos = String(BigInt(T0 + r.time) * 1_000_000n);
  const points = r.values.map((v, i) => ({
    attributes: [
      { key: 'route', value: { stringValue: `${r.route}${i}` } },
      { key: 'method', value: { stringValue: 'GET' } },
    ],
    ...(r.withStart ? { startTimeUnixNano: String(BigInt(T0) * 1_000_000n) } : {}),
    timeUnixNano: timeNanos,
    ...(r.asInt && Number.isSafeInteger(v) ? { asInt: v } : { asDouble: v }),
  }));
  return RequestType.encode(
    RequestType.fromObject({
      resourceMetrics: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
          scopeMetrics: [
            {
              scope: { name: 's' },
              metrics: [
                {
                  name: 'm',
                  sum: {
                    dataPoints: points,
                    aggregationTemporality: r.temporality,
                    isMonotonic: r.monotonic,
                  },
                },
                ...(r.histogram === undefined || r.histogram === 'none' ? [] : [histogram(r, timeNanos)]),
              ],
            },
          ],
        },
      ],
    }),
  ).finish();
}

function histogram(r: RequestSpec, timeNanos: string): Record<string, unknown> {
  const buckets = r.buckets ?? [1, 2, 3];
  const count = buckets.reduce((a, b) => a + b, 0) + (r.countError ?? 0);
  return {
    name: 'h',
    histogram: {
      aggregationTemporality: r.temporality,
      dataPoints: [0, 1].map((i) => ({
        attributes: [{ key: 'route', value: { stringValue: `${r.route}${i}` } }],
        ...(r.withStart ? { startTimeUnixNano: String(BigInt(T0) * 1_000_000n) } : {}),
        timeUnixNano: timeNanos,
        count: String(count + i),
        sum: (r.values[i] ?? 0) * 1.5,
        ...(r.histogram === 'min-max' ? { min: 0.5, max: 200 + i } : {}),
        bucketCounts: buckets.map((b, k) => String(k === 0 ? b + i : b)),
        explicitBounds: r.bounds ?? [10, 100],
      })),
    },
  };
}
