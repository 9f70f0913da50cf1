import { describe, expect, it } from 'vitest';
import { decodeOtlpJson } from '../../src/ingest/otlp-json-decode.js';
import { decodeOtlpProto } from '../../src/ingest/otlp-proto-decode.js';
import { IngestTally } from '../../src/ingest/types.js';
import { familyType, Store } from '../../src/store/store.js';
import { expBucketIndexRange } from '../../src/store/validate.js';
import { RequestType } from '../helpers/otlp-proto.js';

/**
 * Found while writing the OTLP fuzz tests (reading the delta merge, then confirmed with these
 * inputs): exponential-histogram bucket offsets were only checked to be integers. Two delta
 * points of one series with buckets at sint32's extremes (offsets -2^31 and 2^31-1) made the
 * accumulation allocate a 2^32-element array: a RangeError in the middle of the request, which
 * answered 500 after applying the points before it (a retry then counted them twice). No double
 * falls into such buckets; they are now refused as invalid_histogram like any other malformed
 * point, and the rest of the request lands.
 */

function store(): Store {
  return new Store({
    limits: { maxSeries: 100, maxSeriesPerMetric: 100, seriesTtlMs: 60_000 },
    clock: () => 0,
    familyOf: (d) => ({ name: d.name, type: familyType(d) }),
  });
}

function request(offset: number, scale = 0): Record<string, unknown> {
  return {
    resourceMetrics: [
      {
        scopeMetrics: [
          {
            metrics: [
              { name: 'ok', gauge: { dataPoints: [{ asDouble: 1 }] } },
              {
                name: 'e',
                exponentialHistogram: {
                  aggregationTemporality: 1,
                  dataPoints: [{ count: 1, scale, positive: { offset, bucketCounts: [1] } }],
                },
              },
            ],
          },
        ],
      },
    ],
  };
}

describe('regression: exponential histogram buckets beyond the range of doubles', () => {
  it('gives the range of bucket indexes a double can fall into, per scale', () => {
    expect(expBucketIndexRange(0)).toEqual([-1075, 1023]); // 2^-1074 is in (2^-1075, 2^-1074]
    expect(expBucketIndexRange(20)).toEqual([-1074 * 2 ** 20 - 1, 2 ** 30 - 1]);
    expect(expBucketIndexRange(-10)).toEqual([-2, 0]);
  });

  it('refuses the point (OTLP/protobuf, two delta requests) and keeps the rest of the request', () => {
    const s = store();
    for (const offset of [-(2 ** 31), 2 ** 31 - 1]) {
      const tally = new IngestTally();
      decodeOtlpProto(RequestType.encode(RequestType.fromObject(request(offset))).finish(), s, 0, tally);
      expect([tally.accepted, tally.rejected]).toEqual([1, 1]);
      expect(tally.messages[0]).toMatch(/^e: buckets .* outside the range of doubles at scale 0/);
    }
  });

  it('refuses the point in OTLP/JSON too, where an offset can be any integer', () => {
    const s = store();
    for (const offset of [-(2 ** 31), 2 ** 31 - 1, 1e300]) {
      const tally = new IngestTally();
      decodeOtlpJson(request(offset), s, 0, tally);
      expect([tally.accepted, tally.rejected]).toEqual([1, 1]);
    }
  });

  it('accepts the extreme buckets a double does fall into', () => {
    const tally = new IngestTally();
    decodeOtlpJson(request(1023), store(), 0, tally);
    decodeOtlpJson(request(-1075), store(), 0, tally);
    expect([tally.accepted, tally.rejected]).toEqual([4, 0]);
  });
});
