import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { AggregationTemporality } from '@opentelemetry/sdk-metrics';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeOtlpProto } from '../../src/ingest/otlp-proto-decode.js';
import { ProtoReader } from '../../src/ingest/protobuf-reader.js';
import { DecodeError, IngestTally } from '../../src/ingest/types.js';
import { familyType, Store } from '../../src/store/store.js';
import type { ExpHistogramPoint } from '../../src/store/types.js';
import { expectNoPrototypePollution, fuzzAssert, fuzzTimeout } from '../helpers/fuzz.js';
import { otlpRequest, type GenRequest } from '../helpers/otlp-arbitraries.js';
import { expectedStore, storeContents } from '../helpers/otlp-model-store.js';
import { toOtlpJson, toResourceMetrics } from '../helpers/otlp-model-writers.js';
import { fixturePayload, sdkPayload, type OtlpPayload } from '../helpers/otlp-payloads.js';
import { otlpSchema, RequestType } from '../helpers/otlp-proto.js';
import { applyMutation, prng, reencode, varintBytes, wireMutation } from '../helpers/proto-wire.js';
import { storeProblems } from '../helpers/store-invariants.js';

/**
 * Property and fuzz tests of vigil's OTLP/protobuf decoder (src/ingest/otlp-proto-decode.ts):
 * generated requests round-trip through protobufjs and the official serializer; every equivalent
 * wire encoding decodes alike; a request mixing valid and invalid points lands exactly the valid
 * ones; random and corrupted bodies only ever raise DecodeError, before the store is touched, in
 * work linear in the body size, without touching any prototype.
 */

const NOW_MS = 1_700_000_000_000;

function newStore(): Store {
  return new Store({
    limits: { maxSeries: 1_000_000, maxSeriesPerMetric: 100_000, seriesTtlMs: 300_000 },
    clock: () => NOW_MS,
    familyOf: (d) => ({ name: d.name, type: familyType(d) }),
  });
}

function decode(buf: Uint8Array, store: Store): IngestTally {
  const tally = new IngestTally();
  decodeOtlpProto(buf, store, NOW_MS, tally);
  return tally;
}

const unpacked = protobuf.parse(otlpSchema(false)).root.lookupType('otlp.ExportMetricsServiceRequest');
const encode = (req: GenRequest, type = RequestType): Uint8Array =>
  type.encode(type.fromObject(toOtlpJson(req))).finish();

/** Decode `buf` into a fresh store; on DecodeError the store must be untouched. Returns the store or the error. */
function decodeFresh(buf: Uint8Array): { store: Store; tally?: IngestTally; error?: DecodeError } {
  const store = newStore();
  try {
    return { store, tally: decode(buf, store) };
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    // Validation runs before anything is applied: a refused body leaves nothing behind.
    expect([store.size, store.streams.size, store.resources.size]).toEqual([0, 0, 0]);
    return { store, error: e };
  }
}

let payloads: OtlpPayload[] = [];
beforeAll(async () => {
  payloads = [
    fixturePayload(),
    await sdkPayload(AggregationTemporality.CUMULATIVE),
    await sdkPayload(AggregationTemporality.DELTA),
  ];
});

afterEach(() => {
  vi.restoreAllMocks();
  expectNoPrototypePollution();
});

describe('decodeOtlpProto > round trips (property)', () => {
  it(
    'stores exactly what a generated request holds, encoded packed or unpacked by protobufjs',
    () => {
      fuzzAssert(
        'otlp-proto round trip (protobufjs)',
        fc.property(otlpRequest(), fc.boolean(), (req, packed) => {
          const want = expectedStore(req);
          const store = newStore();
          const tally = decode(encode(req, packed ? RequestType : unpacked), store);
          expect(storeContents(store)).toEqual(want.series);
          expect([tally.accepted, tally.rejected]).toEqual([want.accepted, 0]);
          // Once more: the known-series fast paths (raw key, same position) must land the same data.
          const again = decode(encode(req, packed ? RequestType : unpacked), store);
          expect([again.accepted, again.rejected]).toEqual([want.accepted, 0]);
          if (req.resources.every((r) => r.scopes.every((s) => s.metrics.every((m) => m.temporality !== 1))))
            expect(storeContents(store)).toEqual(want.series);
        }),
        { runs: 80, seed: 101 },
      );
    },
    fuzzTimeout(60_000),
  );

  it(
    'stores exactly what a generated request holds, encoded by the official ProtobufMetricsSerializer',
    () => {
      fuzzAssert(
        'otlp-proto round trip (otlp-transformer)',
        fc.property(otlpRequest({ sdkOnly: true }), (req) => {
          const want = expectedStore(req);
          const store = newStore();
          // The serializer takes one ResourceMetrics; concatenated requests are one request with all of them.
          const body = Buffer.concat(
            toResourceMetrics(req).map((rm) => ProtobufMetricsSerializer.serializeRequest(rm)!),
          );
          const tally = decode(body, store);
          expect(storeContents(store)).toEqual(want.series);
          expect([tally.accepted, tally.rejected]).toEqual([want.accepted, 0]);
        }),
        { runs: 60, seed: 102 },
      );
    },
    fuzzTimeout(60_000),
  );

  it(
    'decodes every equivalent wire encoding (field order, split or unpacked repeats, unknown fields) alike',
    () => {
      fuzzAssert(
        'otlp-proto equivalent encodings',
        fc.property(otlpRequest({ invalidPoints: true }), fc.integer({ min: 1 }), (req, seed) => {
          const plain = encode(req);
          const want = decodeFresh(plain);
          const other = decodeFresh(reencode(plain, RequestType, prng(seed)));
          expect(other.error).toBeUndefined();
          expect(storeContents(other.store)).toEqual(storeContents(want.store));
          expect([other.tally?.accepted, other.tally?.rejected]).toEqual([
            want.tally?.accepted,
            want.tally?.rejected,
          ]);
        }),
        { runs: 100, seed: 103 },
      );
    },
    fuzzTimeout(60_000),
  );

  it('re-encodes the real payloads equivalently too', () => {
    for (const p of payloads) {
      const want = storeContents(decodeFresh(p.proto).store);
      for (let seed = 1; seed <= 20; seed++)
        expect(storeContents(decodeFresh(reencode(p.proto, RequestType, prng(seed))).store), p.name).toEqual(
          want,
        );
    }
  });
});

describe('decodeOtlpProto > valid and invalid points in one request (property)', () => {
  it(
    'applies exactly the valid points and counts every invalid one in the tally',
    () => {
      fuzzAssert(
        'otlp-proto mixed valid/invalid',
        fc.property(otlpRequest({ invalidPoints: true }), (req) => {
          const want = expectedStore(req);
          const store = newStore();
          const tally = decode(encode(req), store);
          expect(storeContents(store)).toEqual(want.series);
          expect(tally.accepted).toBe(want.accepted);
          expect(tally.rejected).toBe(want.rejected);
          // No empty series left behind by a rejected point.
          expect(store.size).toBe(want.series.length);
        }),
        { runs: 100, seed: 104 },
      );
    },
    fuzzTimeout(60_000),
  );
});

describe('decodeOtlpProto > delta exponential histograms (property)', () => {
  /** Bucket indexes a double can fall into at `scale` (from the OTLP bucket definition, not src/). */
  const indexRange = (scale: number): [number, number] => {
    const perOctave = 2 ** scale;
    return [Math.ceil(-1074 * perOctave) - 1, Math.ceil(1024 * perOctave) - 1];
  };
  const buckets = (scale: number) =>
    fc
      .record({
        at: fc.double({ min: 0, max: 1, noNaN: true }),
        counts: fc.array(fc.nat(1000), { maxLength: 8 }),
      })
      .map(({ at, counts }) => {
        const [lo, hi] = indexRange(scale);
        const bucketCounts = counts.slice(0, hi - lo + 1);
        return { offset: lo + Math.floor(at * (hi - lo + 1 - bucketCounts.length)), bucketCounts };
      });
  const deltaPoint = fc.integer({ min: -10, max: 20 }).chain((scale) =>
    fc.record({
      scale: fc.constant(scale),
      zeroCount: fc.nat(1000),
      positive: buckets(scale),
      negative: buckets(scale),
    }),
  );
  const total = (p: {
    zeroCount: number;
    positive: { bucketCounts: number[] };
    negative: { bucketCounts: number[] };
  }) => p.zeroCount + [...p.positive.bucketCounts, ...p.negative.bucketCounts].reduce((a, c) => a + c, 0);

  it(
    'accumulates any valid points of one series, whatever their scales and bucket ranges, into at most 160 buckets a side',
    () => {
      fuzzAssert(
        'otlp-proto delta exponential histograms',
        fc.property(fc.array(deltaPoint, { minLength: 2, maxLength: 4 }), (points) => {
          const store = newStore();
          for (const p of points) {
            const body = RequestType.encode(
              RequestType.fromObject({
                resourceMetrics: [
                  {
                    scopeMetrics: [
                      {
                        metrics: [
                          {
                            name: 'e',
                            exponentialHistogram: {
                              aggregationTemporality: 1,
                              dataPoints: [
                                { ...p, count: total(p), sum: 1, timeUnixNano: '1700000000000000000' },
                              ],
                            },
                          },
                        ],
                      },
                    ],
                  },
                ],
              }),
            ).finish();
            expect(decode(body, store).rejected).toBe(0);
          }
          const acc = [...[...store.streams.values()][0]!.series.values()][0]!.point as ExpHistogramPoint;
          expect(acc.count).toBe(points.reduce((a, p) => a + total(p), 0));
          expect(acc.positive.counts.length).toBeLessThanOrEqual(160);
          expect(acc.negative.counts.length).toBeLessThanOrEqual(160);
          expect(acc.scale).toBeLessThanOrEqual(Math.min(...points.map((p) => p.scale)));
          expect(storeProblems(store)).toEqual([]);
        }),
        { runs: 200, seed: 108 },
      );
    },
    fuzzTimeout(60_000),
  );
});

describe('decodeOtlpProto > hostile bodies (fuzz)', () => {
  /**
   * Every field key the decoder reads goes through ProtoReader.tag and takes at least one byte.
   * The decoder walks each message a bounded number of times (validation, then a few passes per
   * level), so the number of keys read is at most a constant times the body size: no input can
   * make it loop or go quadratic.
   */
  const MAX_TAGS_PER_BYTE = 12;
  const checkHostile = (buf: Uint8Array): void => {
    const tags = vi.spyOn(ProtoReader.prototype, 'tag');
    const { store } = decodeFresh(buf);
    expect(tags.mock.calls.length).toBeLessThanOrEqual(MAX_TAGS_PER_BYTE * buf.length + 1);
    tags.mockRestore();
    expect(storeProblems(store)).toEqual([]);
  };

  it(
    'throws nothing but DecodeError on random bytes',
    () => {
      fuzzAssert('otlp-proto random bytes', fc.property(fc.uint8Array({ maxLength: 256 }), checkHostile), {
        runs: 1000,
        seed: 105,
      });
    },
    fuzzTimeout(60_000),
  );

  it(
    'throws nothing but DecodeError on corrupted real payloads (SDK, opentelemetry-proto example)',
    () => {
      fuzzAssert(
        'otlp-proto mutated real payloads',
        fc.property(fc.nat(), fc.array(wireMutation, { minLength: 1, maxLength: 3 }), (which, mutations) => {
          let buf = payloads[which % payloads.length]!.proto;
          for (const m of mutations) buf = applyMutation(buf, RequestType, m);
          checkHostile(buf);
        }),
        { runs: 300, seed: 106 },
      );
    },
    fuzzTimeout(60_000),
  );

  it(
    'throws nothing but DecodeError on corrupted generated requests',
    () => {
      fuzzAssert(
        'otlp-proto mutated generated requests',
        fc.property(
          otlpRequest({ invalidPoints: true, maxPoints: 3 }),
          fc.array(wireMutation, { minLength: 1, maxLength: 3 }),
          (req, mutations) => {
            let buf = encode(req);
            for (const m of mutations) buf = applyMutation(buf, RequestType, m);
            checkHostile(buf);
          },
        ),
        { runs: 150, seed: 107 },
      );
    },
    fuzzTimeout(60_000),
  );

  it('refuses AnyValue nesting beyond 64 messages and decodes it below, at every depth', () => {
    // Written by hand: protobufjs itself refuses to build messages this deep.
    const len = (field: number, payload: Uint8Array): Uint8Array =>
      Buffer.concat([Uint8Array.from([(field << 3) | 2, ...varintBytes(payload.length)]), payload]);
    for (let depth = 0; depth <= 80; depth++) {
      let value = len(1, Buffer.from('leaf')); // AnyValue.string_value
      for (let i = 0; i < depth; i++) value = len(5, len(1, value)); // AnyValue.array_value > ArrayValue.values
      const kv = Buffer.concat([len(1, Buffer.from('k')), len(2, value)]);
      const point = Buffer.concat([Uint8Array.from([0x21, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]), len(7, kv)]); // as_double 1
      const body = len(
        1,
        len(2, len(2, Buffer.concat([len(1, Buffer.from('deep')), len(5, len(1, point))]))),
      );
      const { store, error } = decodeFresh(body);
      // ExportMetricsServiceRequest > ResourceMetrics > ScopeMetrics > Metric > Gauge >
      // NumberDataPoint > KeyValue > AnyValue: the first AnyValue is 7 levels down, each array 2 more.
      if (7 + 2 * depth <= 64) {
        expect(error, `depth ${depth}`).toBeUndefined();
        const s = [...[...store.streams.values()][0]!.series.values()][0]!;
        expect(s.attrs[1]).toBe(depth === 0 ? 'leaf' : `${'['.repeat(depth)}"leaf"${']'.repeat(depth)}`);
      } else expect(error?.message, `depth ${depth}`).toMatch(/nested more than 64 deep/);
    }
  });
});
