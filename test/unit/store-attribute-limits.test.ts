import { describe, expect, it } from 'vitest';
import { prometheusFamily } from '../../src/export/prometheus-naming.js';
import { decodeOtlpJson } from '../../src/ingest/otlp-json-decode.js';
import { parsePrometheusText } from '../../src/ingest/prometheus-text-parse.js';
import { PushGroups } from '../../src/ingest/pushgateway.js';
import { parseGroupingPath } from '../../src/ingest/pushgateway-path.js';
import { IngestTally } from '../../src/ingest/types.js';
import { Store } from '../../src/store/store.js';
import type { MetricDescriptor } from '../../src/store/types.js';
import { checkAttributes, MAX_ATTRIBUTE_KEY_LENGTH } from '../../src/store/validate.js';

const NOW_MS = 1_700_000_000_000;
const LIMITS = { maxAttributes: 3, maxValueLength: 8 };

function newStore(): Store {
  return new Store({
    limits: { maxSeries: 1000, maxSeriesPerMetric: 1000, seriesTtlMs: 60_000, attributes: LIMITS },
    clock: () => NOW_MS,
    familyOf: prometheusFamily,
  });
}

const gauge: MetricDescriptor = {
  name: 'g',
  unit: '',
  description: '',
  kind: 'gauge',
  monotonic: false,
  temporality: 'cumulative',
};

const flat = (n: number, value = 'v'): string[] =>
  Array.from({ length: n }, (_, i) => [`k${i}`, value]).flat();

describe('checkAttributes', () => {
  it('passes points within the limits', () => {
    expect(checkAttributes(flat(3, '12345678'), LIMITS)).toBeNull();
    expect(checkAttributes([], LIMITS)).toBeNull();
  });

  it('rejects a point with more attributes than max_attributes_per_point, naming the limit', () => {
    expect(checkAttributes(flat(4), LIMITS)).toEqual({
      reason: 'attribute_count_limit',
      message: 'a point has 4 attributes, more than limits.max_attributes_per_point (3)',
    });
  });

  it('rejects (does not truncate) a value longer than max_attribute_value_length, and over-long keys', () => {
    expect(checkAttributes(['url', '123456789'], LIMITS)).toEqual({
      reason: 'attribute_length_limit',
      message: 'attribute "url" has a value of 9 characters, more than limits.max_attribute_value_length (8)',
    });
    const key = 'k'.repeat(MAX_ATTRIBUTE_KEY_LENGTH + 1);
    expect(checkAttributes([key, 'v'], LIMITS)?.reason).toBe('attribute_length_limit');
  });
});

describe('Store attribute limits', () => {
  it('refuses a new series over the limits, counts nothing, and never bounds vigil’s own (exempt) series', () => {
    const store = newStore();
    const stream = store.stream(store.resource(['service.name', 's']), { name: '', version: '' }, gauge);
    if (typeof stream === 'string') throw new Error(stream);
    expect(store.series(stream, null, flat(4))).toBe('attribute_count_limit');
    expect(store.series(stream, null, ['a', 'x'.repeat(9)])).toBe('attribute_length_limit');
    expect(store.size).toBe(0);
    expect(typeof store.series(stream, null, flat(4), true)).toBe('object');
    expect(typeof store.series(stream, null, flat(3))).toBe('object');
    expect(store.size).toBe(2);
  });

  it('rejects the point in OTLP partialSuccess with the reason, and keeps the valid points', () => {
    const store = newStore();
    const kv = (key: string, value: string) => ({ key, value: { stringValue: value } });
    const point = (attributes: unknown[]) => ({
      asDouble: 1,
      timeUnixNano: String(NOW_MS * 1e6),
      attributes,
    });
    const tally = new IngestTally();
    decodeOtlpJson(
      {
        resourceMetrics: [
          {
            resource: { attributes: [kv('service.name', 'svc')] },
            scopeMetrics: [
              {
                metrics: [
                  {
                    name: 'm',
                    gauge: {
                      dataPoints: [
                        point([kv('a', '1'), kv('b', '2'), kv('c', '3'), kv('d', '4')]),
                        point([kv('url', 'https://example.com/long')]),
                        point([kv('a', 'ok')]),
                      ],
                    },
                  },
                ],
              },
            ],
          },
        ],
      },
      store,
      NOW_MS,
      tally,
    );
    expect(tally.accepted).toBe(1);
    expect(tally.rejected).toBe(2);
    expect([...tally.reasons]).toEqual([
      ['attribute_count_limit', 1],
      ['attribute_length_limit', 1],
    ]);
    expect(tally.messages).toEqual([
      'a point has 4 attributes, more than limits.max_attributes_per_point (3)',
      'attribute "url" has a value of 24 characters, more than limits.max_attribute_value_length (8)',
    ]);
  });

  it('refuses a Prometheus push over the limits whole, as for the series limits', () => {
    const store = newStore();
    const groups = new PushGroups({ store, clock: () => NOW_MS });
    const where = parseGroupingPath('/metrics/job/j/zone/a');
    if (!where.ok) throw new Error(where.message);
    const body = 'ok_metric 1\nwide_metric{a="1",b="2",c="3"} 1\n'; // + zone from the path: 4
    const outcome = groups.push(where.key, parsePrometheusText(Buffer.from(body)), true);
    expect(outcome.status).toBe(400);
    expect(outcome.message).toMatch(
      /a point has 4 attributes, more than limits\.max_attributes_per_point \(3\)/,
    );
    expect(outcome.tally.reasons.get('attribute_count_limit')).toBe(2);
    expect(store.families.has('ok_metric')).toBe(false);
  });
});
