import { JsonMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { AggregationTemporality } from '@opentelemetry/sdk-metrics';
import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeOtlpJson } from '../../src/ingest/otlp-json-decode.js';
import { decodeOtlpProto } from '../../src/ingest/otlp-proto-decode.js';
import { DecodeError, IngestTally } from '../../src/ingest/types.js';
import { familyType, Store } from '../../src/store/store.js';
import { expectNoPrototypePollution, fuzzAssert, fuzzTimeout } from '../helpers/fuzz.js';
import { applyJsonMutation, jsonMutation, nastyJsonValue } from '../helpers/json-mutate.js';
import { otlpRequest, type GenRequest } from '../helpers/otlp-arbitraries.js';
import { expectedStore, storeContents, withoutNegativeZero } from '../helpers/otlp-model-store.js';
import { toOtlpJson, toResourceMetrics } from '../helpers/otlp-model-writers.js';
import { fixturePayload, sdkPayload } from '../helpers/otlp-payloads.js';
import { RequestType } from '../helpers/otlp-proto.js';
import { storeProblems } from '../helpers/store-invariants.js';

/**
 * Property and fuzz tests of the OTLP/JSON decoder (src/ingest/otlp-json-decode.ts): generated
 * requests round-trip through JSON text and the official JsonMetricsSerializer and agree with
 * the protobuf decoder; valid points land next to invalid ones; and any JSON value — random, or
 * a real payload with hostile values spliced in — is either decoded (the bad parts rejected and
 * counted) or, only when it is not a request at all, refused with DecodeError.
 */

const NOW_MS = 1_700_000_000_000;

function newStore(): Store {
  return new Store({
    limits: { maxSeries: 1_000_000, maxSeriesPerMetric: 100_000, seriesTtlMs: 300_000 },
    clock: () => NOW_MS,
    familyOf: (d) => ({ name: d.name, type: familyType(d) }),
  });
}

function decode(body: unknown): { store: Store; tally: IngestTally } {
  const store = newStore();
  const tally = new IngestTally();
  decodeOtlpJson(body, store, NOW_MS, tally);
  return { store, tally };
}

/** As the HTTP handler gets it: JSON text parsed, `__proto__` keys as own properties. */
const viaText = (req: GenRequest): unknown => JSON.parse(JSON.stringify(toOtlpJson(req))) as unknown;

let realBodies: unknown[] = [];
beforeAll(async () => {
  realBodies = [fixturePayload(), await sdkPayload(), await sdkPayload(AggregationTemporality.DELTA)].map(
    (p) => JSON.parse(p.json) as unknown,
  );
});

afterEach(() => expectNoPrototypePollution());

describe('decodeOtlpJson > round trips (property)', () => {
  it(
    'stores exactly what a generated request holds, sent as OTLP/JSON text',
    () => {
      fuzzAssert(
        'otlp-json round trip',
        fc.property(otlpRequest(), (req) => {
          const want = expectedStore(req);
          const { store, tally } = decode(viaText(req));
          // JSON has no negative zero: a -0 arrives as 0.
          expect(withoutNegativeZero(storeContents(store))).toEqual(withoutNegativeZero(want.series));
          expect([tally.accepted, tally.rejected]).toEqual([want.accepted, 0]);
        }),
        { runs: 80, seed: 201 },
      );
    },
    fuzzTimeout(60_000),
  );

  it(
    'stores exactly what a generated request holds, serialised by the official JsonMetricsSerializer',
    () => {
      fuzzAssert(
        'otlp-json round trip (otlp-transformer)',
        fc.property(otlpRequest({ sdkOnly: true }), (req) => {
          const want = expectedStore(req);
          // The serializer takes one ResourceMetrics: one request holding all of them.
          const resourceMetrics = toResourceMetrics(req).flatMap(
            (rm) =>
              (
                JSON.parse(new TextDecoder().decode(JsonMetricsSerializer.serializeRequest(rm))) as {
                  resourceMetrics: unknown[];
                }
              ).resourceMetrics,
          );
          const { store, tally } = decode({ resourceMetrics });
          expect(withoutNegativeZero(storeContents(store))).toEqual(withoutNegativeZero(want.series));
          expect([tally.accepted, tally.rejected]).toEqual([want.accepted, 0]);
        }),
        { runs: 60, seed: 202 },
      );
    },
    fuzzTimeout(60_000),
  );

  it(
    'agrees with the protobuf decoder on every generated request, valid points or not',
    () => {
      fuzzAssert(
        'otlp-json agrees with otlp-proto',
        fc.property(otlpRequest({ invalidPoints: true }), (req) => {
          const fromJson = decode(viaText(req));
          const fromProto = newStore();
          const protoTally = new IngestTally();
          decodeOtlpProto(
            RequestType.encode(RequestType.fromObject(toOtlpJson(req))).finish(),
            fromProto,
            NOW_MS,
            protoTally,
          );
          expect(withoutNegativeZero(storeContents(fromJson.store))).toEqual(
            withoutNegativeZero(storeContents(fromProto)),
          );
          expect([fromJson.tally.accepted, fromJson.tally.rejected]).toEqual([
            protoTally.accepted,
            protoTally.rejected,
          ]);
        }),
        { runs: 80, seed: 203 },
      );
    },
    fuzzTimeout(60_000),
  );
});

describe('decodeOtlpJson > valid and invalid points in one request (property)', () => {
  it(
    'applies exactly the valid points and counts every invalid one',
    () => {
      fuzzAssert(
        'otlp-json mixed valid/invalid',
        fc.property(otlpRequest({ invalidPoints: true }), (req) => {
          const want = expectedStore(req);
          const { store, tally } = decode(viaText(req));
          expect(withoutNegativeZero(storeContents(store))).toEqual(withoutNegativeZero(want.series));
          expect([tally.accepted, tally.rejected]).toEqual([want.accepted, want.rejected]);
          expect(store.size).toBe(want.series.length);
        }),
        { runs: 100, seed: 204 },
      );
    },
    fuzzTimeout(60_000),
  );
});

describe('decodeOtlpJson > hostile bodies (fuzz)', () => {
  /**
   * DecodeError only for a body that is not a request at all (README "Ingest": anything
   * malformed deeper rejects the points it affects); otherwise the store holds only valid data.
   */
  const checkHostile = (body: unknown): void => {
    const store = newStore();
    const tally = new IngestTally();
    try {
      decodeOtlpJson(body, store, NOW_MS, tally);
    } catch (e) {
      expect(e).toBeInstanceOf(DecodeError);
      const isObject = typeof body === 'object' && body !== null && !Array.isArray(body);
      const rms = isObject
        ? ((body as Record<string, unknown>)['resourceMetrics'] ??
          (body as Record<string, unknown>)['resource_metrics'])
        : undefined;
      expect(isObject && (rms === undefined || rms === null || Array.isArray(rms))).toBe(false);
      expect(store.size).toBe(0);
      return;
    }
    expect(storeProblems(store)).toEqual([]);
    // Every series holds an accepted point: a rejected one never leaves an empty series behind.
    expect(store.size).toBeLessThanOrEqual(tally.accepted);
  };

  it(
    'throws nothing but DecodeError on random JSON values',
    () => {
      fuzzAssert(
        'otlp-json random values',
        fc.property(nastyJsonValue, (v) => {
          checkHostile(v);
          checkHostile({ resourceMetrics: v });
          checkHostile({ resourceMetrics: [{ scopeMetrics: [{ metrics: [v] }] }] });
        }),
        { runs: 300, seed: 205 },
      );
    },
    fuzzTimeout(60_000),
  );

  it(
    'keeps the store valid whatever is spliced into the real payloads (SDK, opentelemetry-proto example)',
    () => {
      fuzzAssert(
        'otlp-json mutated real payloads',
        fc.property(fc.nat(), fc.array(jsonMutation, { minLength: 1, maxLength: 4 }), (which, mutations) => {
          let body = realBodies[which % realBodies.length];
          for (const m of mutations) body = applyJsonMutation(body, m);
          checkHostile(body);
        }),
        { runs: 250, seed: 206 },
      );
    },
    fuzzTimeout(60_000),
  );

  it(
    'keeps the store valid whatever is spliced into generated requests',
    () => {
      fuzzAssert(
        'otlp-json mutated generated requests',
        fc.property(
          otlpRequest({ invalidPoints: true, maxPoints: 3 }),
          fc.array(jsonMutation, { minLength: 1, maxLength: 4 }),
          (req, mutations) => {
            let body = viaText(req);
            for (const m of mutations) body = applyJsonMutation(body, m);
            checkHostile(body);
          },
        ),
        { runs: 150, seed: 207 },
      );
    },
    fuzzTimeout(60_000),
  );

  it('rejects an attribute nested 100 000 AnyValues deep as one bad point, without recursing into it', () => {
    const depth = 100_000;
    const value = JSON.parse(
      '{"arrayValue":{"values":['.repeat(depth) + '{"stringValue":"x"}' + ']}}'.repeat(depth),
    ) as unknown;
    const points = [{ asDouble: 1, attributes: [{ key: 'k', value }] }, { asDouble: 2 }];
    const body = {
      resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'deep', gauge: { dataPoints: points } }] }] }],
    };
    const { tally } = decode(body);
    expect([tally.accepted, tally.rejected]).toEqual([1, 1]);
    expect(tally.messages[0]).toMatch(/attribute "k": bad value/);
  });
});
