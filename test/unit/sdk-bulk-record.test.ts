import type { Attributes, Meter } from '@opentelemetry/api';
import {
  AggregationTemporality,
  AggregationType,
  createAllowListAttributesProcessor,
  InstrumentType,
  MeterProvider,
  MetricReader,
  type ViewOptions,
} from '@opentelemetry/sdk-metrics';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bulkRecorder, type RecordAll } from '../../src/ingest/sdk-bulk-record.js';

/**
 * src/ingest/sdk-bulk-record.ts reads the SDK's internals to record many values with one
 * attribute lookup. Two MeterProviders get the same batches, one through recordAll and one value
 * by value through the public API; what their readers collect must be equal after every batch,
 * for every instrument type, through views, the cardinality limit's overflow and both
 * temporalities. And the pinned SDK must take the fast path (an SDK upgrade that changes its
 * internals fails here, not silently in the bench).
 */

class OnDemandReader extends MetricReader {
  constructor(temporality: AggregationTemporality, cardinalityLimit: number) {
    super({ aggregationTemporalitySelector: () => temporality, cardinalitySelector: () => cardinalityLimit });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

type Kind = 'counter' | 'updowncounter' | 'gauge' | 'histogram' | 'exponential' | 'filtered';

const VIEWS: ViewOptions[] = [
  {
    instrumentName: 'exponential',
    instrumentType: InstrumentType.HISTOGRAM,
    aggregation: {
      type: AggregationType.EXPONENTIAL_HISTOGRAM,
      options: { maxSize: 20, recordMinMax: true },
    },
  },
  // A view that keeps only `route`: the cell is found under the processed attributes.
  {
    instrumentName: 'filtered',
    attributesProcessors: [createAllowListAttributesProcessor(['route'])],
    aggregation: { type: AggregationType.SUM },
  },
];

interface Side {
  reader: OnDemandReader;
  record: Map<Kind, { bulk: RecordAll; one: (v: number, a: Attributes) => void; isBulk: boolean }>;
}

function side(temporality: AggregationTemporality, cardinalityLimit: number): Side {
  const reader = new OnDemandReader(temporality, cardinalityLimit);
  const provider = new MeterProvider({ views: VIEWS, readers: [reader] });
  const meter: Meter = provider.getMeter('test');
  const record: Side['record'] = new Map();
  const add = (kind: Kind, instrument: object, one: (v: number, a: Attributes) => void) => {
    const { recordAll, bulk } = bulkRecorder(instrument, one);
    record.set(kind, { bulk: recordAll, one, isBulk: bulk });
  };
  const c = meter.createCounter('counter');
  add('counter', c, (v, a) => c.add(v, a));
  const u = meter.createUpDownCounter('updowncounter');
  add('updowncounter', u, (v, a) => u.add(v, a));
  const g = meter.createGauge('gauge');
  add('gauge', g, (v, a) => g.record(v, a));
  const h = meter.createHistogram('histogram', { advice: { explicitBucketBoundaries: [1, 10, 100] } });
  add('histogram', h, (v, a) => h.record(v, a));
  const e = meter.createHistogram('exponential');
  add('exponential', e, (v, a) => e.record(v, a));
  const f = meter.createCounter('filtered');
  add('filtered', f, (v, a) => f.add(v, a));
  return { reader, record };
}

/** What a reader collected, without the times (the two sides collect a few µs apart). */
async function collected(reader: OnDemandReader): Promise<unknown> {
  const { resourceMetrics, errors } = await reader.collect();
  expect(errors).toEqual([]);
  return resourceMetrics.scopeMetrics.flatMap((sm) =>
    sm.metrics.map((m) => ({
      name: m.descriptor.name,
      points: m.dataPoints
        .map((p) => ({ attributes: p.attributes, value: p.value }))
        .sort((a, b) => JSON.stringify(a.attributes).localeCompare(JSON.stringify(b.attributes))),
    })),
  );
}

const ATTRS: Attributes[] = [
  {},
  { route: '/a' },
  { route: '/b', code: 200 },
  { code: 500, route: '/b' },
  { route: '/c', ok: true },
];

interface Batch {
  kind: Kind;
  attrs: number;
  values: number[];
  collectAfter: boolean;
}

const batch: fc.Arbitrary<Batch> = fc.record({
  kind: fc.constantFrom<Kind>('counter', 'updowncounter', 'gauge', 'histogram', 'exponential', 'filtered'),
  attrs: fc.nat({ max: ATTRS.length - 1 }),
  values: fc.array(fc.double({ min: 0, max: 1e6, noNaN: true, noDefaultInfinity: true }), {
    minLength: 0,
    maxLength: 30,
  }),
  collectAfter: fc.boolean(),
});

describe('bulkRecorder', () => {
  it('takes the one-lookup path for every instrument type with the pinned SDK', () => {
    const { record } = side(AggregationTemporality.CUMULATIVE, 100);
    for (const [kind, r] of record) expect([kind, r.isBulk]).toEqual([kind, true]);
  });

  it('falls back to the public API for an object that is not an SDK instrument', () => {
    const seen: number[] = [];
    const { recordAll, bulk } = bulkRecorder({}, (v) => seen.push(v));
    recordAll([1, 2, 3], {});
    expect(bulk).toBe(false);
    expect(seen).toEqual([1, 2, 3]);
  });

  for (const temporality of [AggregationTemporality.CUMULATIVE, AggregationTemporality.DELTA]) {
    it(`collects what value-by-value recording collects (${AggregationTemporality[temporality]}, overflow at 3 attribute sets)`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(batch, { minLength: 1, maxLength: 40 }), async (batches) => {
          // A cardinality limit of 3: the third attribute set of an instrument and later go to
          // the overflow cell, where the bulk path must fall back.
          const bulk = side(temporality, 3);
          const plain = side(temporality, 3);
          for (const b of batches) {
            // The values cross the test's negative/positive line only where the type allows it.
            const values =
              b.kind === 'updowncounter' || b.kind === 'gauge'
                ? b.values.map((v, i) => (i % 2 ? -v : v))
                : b.values;
            bulk.record.get(b.kind)!.bulk(values, ATTRS[b.attrs]!);
            for (const v of values) plain.record.get(b.kind)!.one(v, ATTRS[b.attrs]!);
            if (b.collectAfter) expect(await collected(bulk.reader)).toEqual(await collected(plain.reader));
          }
          expect(await collected(bulk.reader)).toEqual(await collected(plain.reader));
        }),
        { seed: 20261125, numRuns: 150 },
      );
    });
  }
});
