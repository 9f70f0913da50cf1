import { describe, expect, it } from 'vitest';
import { decodeOtlpJson } from '../../src/ingest/otlp-json-decode.js';
import { IngestTally } from '../../src/ingest/types.js';
import { familyType, Store } from '../../src/store/store.js';
import { storeProblems } from '../helpers/store-invariants.js';

/**
 * Found by test/fuzz/otlp-json-decode.test.ts ("keeps the store valid whatever is spliced into
 * the real payloads"): OTLP/JSON integers were read with `Number()` and no range check. A
 * decimal string longer than uint64 (`"999…9"`, 400 digits) became Infinity, so a point was
 * stored with an infinite timestamp, or an exponential histogram with an infinite count that its
 * infinite bucket counts "added up" to; a JSON number such as 1e300 passed as an integer, and a
 * bucket offset of 1e308 was stored. Go's protojson (the collector) refuses values outside the
 * field's type; so does vigil now: uint64 and int64 in their ranges, sint32 scale and offsets in
 * 32 bits. The point is rejected, the rest of the request lands.
 */

const HUGE = '9'.repeat(400);

function decode(points: unknown[], kind: 'gauge' | 'exponentialHistogram' = 'gauge') {
  const store = new Store({
    limits: { maxSeries: 100, maxSeriesPerMetric: 100, seriesTtlMs: 60_000 },
    clock: () => 0,
    familyOf: (d) => ({ name: d.name, type: familyType(d) }),
  });
  const tally = new IngestTally();
  const data = kind === 'gauge' ? { dataPoints: points } : { aggregationTemporality: 2, dataPoints: points };
  decodeOtlpJson(
    { resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'm', [kind]: data }] }] }] },
    store,
    0,
    tally,
  );
  return { store, tally };
}

describe('regression: OTLP/JSON integers outside their protobuf type', () => {
  it('rejects a timestamp beyond uint64 instead of storing an infinite time', () => {
    const { store, tally } = decode([
      { asDouble: 1, timeUnixNano: HUGE, attributes: [{ key: 'a', value: { stringValue: '1' } }] },
      { asDouble: 2, startTimeUnixNano: 1e300 },
      { asDouble: 3, timeUnixNano: '18446744073709551615' }, // uint64's maximum is fine
    ]);
    expect([tally.accepted, tally.rejected]).toEqual([1, 2]);
    expect(storeProblems(store)).toEqual([]);
  });

  it('rejects counts beyond uint64 instead of an exponential histogram with count Infinity', () => {
    const { store, tally } = decode(
      [
        { count: HUGE, positive: { offset: 0, bucketCounts: [HUGE] } },
        { count: 1e300, zeroCount: 1e300 },
      ],
      'exponentialHistogram',
    );
    expect([tally.accepted, tally.rejected]).toEqual([0, 2]);
    expect(storeProblems(store)).toEqual([]);
  });

  it('rejects a scale or bucket offset that is not a 32-bit integer, even with no buckets', () => {
    const { tally } = decode(
      [
        { count: 0, negative: { offset: 1e308 } },
        { count: 0, positive: { offset: '-2147483649' } },
        { count: 0, scale: 2 ** 32 },
        { count: 1, positive: { offset: -2147483648, bucketCounts: [] }, zeroCount: 1 }, // in range
      ],
      'exponentialHistogram',
    );
    expect([tally.accepted, tally.rejected]).toEqual([1, 3]);
  });
});
