import { describe, expect, it } from 'vitest';
import { decodeOtlpProto } from '../../src/ingest/otlp-proto-decode.js';
import { IngestTally } from '../../src/ingest/types.js';
import { familyType, Store } from '../../src/store/store.js';
import type { HistogramPoint } from '../../src/store/types.js';
import { varintBytes } from '../helpers/proto-wire.js';

/**
 * Found by test/fuzz/otlp-proto-decode.test.ts ("re-encodes the real payloads equivalently"):
 * the decoder shares one bounds array between the points of a request whose packed
 * explicit_bounds bytes are equal, but it registered a point's array under the bytes of its FIRST
 * packed run and then kept appending that point's later runs to it. A later point whose bounds
 * were split the same way matched the first run, got the whole array, appended its own second
 * run again, and was rejected as invalid ("4 bucket counts for 5 explicit bounds"). Protobuf
 * lets a sender split a packed field into several runs (or mix packed and unpacked); both must
 * decode as one list.
 */

const len = (field: number, payload: Uint8Array | number[]): Buffer =>
  Buffer.concat([
    Uint8Array.from([(field << 3) | 2, ...varintBytes(payload.length)]),
    Uint8Array.from(payload),
  ]);
const doubles = (...xs: number[]): Buffer => {
  const b = Buffer.alloc(8 * xs.length);
  xs.forEach((x, i) => b.writeDoubleLE(x, 8 * i));
  return b;
};
const fixed64s = (...xs: number[]): Buffer => {
  const b = Buffer.alloc(8 * xs.length);
  xs.forEach((x, i) => b.writeBigUInt64LE(BigInt(x), 8 * i));
  return b;
};

/** A HistogramDataPoint with bounds [1, 2, 3] written as two packed runs, [1] then [2, 3]. */
function splitPoint(route: string, boundsUnpackedTail = false): Buffer {
  const kv = Buffer.concat([len(1, Buffer.from('route')), len(2, len(1, Buffer.from(route)))]);
  return Buffer.concat([
    len(9, kv), // attributes
    Buffer.from([0x21]), // count (fixed64)
    fixed64s(4),
    len(6, fixed64s(1, 1, 1, 1)), // bucket_counts
    len(7, doubles(1)), // explicit_bounds, first run
    boundsUnpackedTail
      ? Buffer.concat([Buffer.from([0x39]), doubles(2), Buffer.from([0x39]), doubles(3)])
      : len(7, doubles(2, 3)), // explicit_bounds, second run
  ]);
}

function request(points: Buffer[]): Buffer {
  const histogram = Buffer.concat([...points.map((p) => len(1, p)), Buffer.from([0x10, 2])]); // cumulative
  const metric = Buffer.concat([len(1, Buffer.from('h')), len(9, histogram)]);
  return len(1, len(2, len(2, metric)));
}

function decode(body: Buffer): { store: Store; tally: IngestTally } {
  const store = new Store({
    limits: { maxSeries: 100, maxSeriesPerMetric: 100, seriesTtlMs: 60_000 },
    clock: () => 0,
    familyOf: (d) => ({ name: d.name, type: familyType(d) }),
  });
  const tally = new IngestTally();
  decodeOtlpProto(body, store, 0, tally);
  return { store, tally };
}

describe('regression: OTLP/protobuf histogram bounds split over several fields', () => {
  it('decodes two points whose bounds are both split into two packed runs', () => {
    const { store, tally } = decode(request([splitPoint('/a'), splitPoint('/b')]));
    expect(tally.messages).toEqual([]);
    expect([tally.accepted, tally.rejected]).toEqual([2, 0]);
    for (const s of [...store.streams.values()][0]!.series.values())
      expect((s.point as HistogramPoint).bounds).toEqual([1, 2, 3]);
  });

  it('decodes a point after one whose bounds continue unpacked', () => {
    const { tally } = decode(request([splitPoint('/a', true), splitPoint('/b')]));
    expect(tally.messages).toEqual([]);
    expect([tally.accepted, tally.rejected]).toEqual([2, 0]);
  });
});
