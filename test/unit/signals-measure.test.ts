import { describe, expect, it } from 'vitest';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { BucketWindow } from '../../src/signals/bucket-window.js';
import { CounterWindow } from '../../src/signals/counter-window.js';
import { GaugeWindow } from '../../src/signals/gauge-window.js';
import {
  compileMeasure,
  compileWhere,
  computeMeasure,
  ratioSamples,
  trackerAttr,
  type CompiledMeasure,
} from '../../src/signals/measure.js';
import {
  observationTracker,
  type BucketTracker,
  type CounterTracker,
  type GaugeTracker,
  type SummaryTracker,
  type Tracker,
  type WindowSizing,
} from '../../src/signals/trackers.js';
import { ResourceEntry } from '../../src/store/resource.js';
import type { SummaryPoint } from '../../src/store/types.js';

const T0 = 1_700_000_400_000;
const S = 1000;
const M = 60 * S;
const SIZING: WindowSizing = { slotMs: 5 * S, maxWindowMs: 5 * M, startedMs: T0 };
const RING = { slotMs: SIZING.slotMs, maxWindowMs: SIZING.maxWindowMs };

type MeasureInput = { metric?: string; stat: string; window?: string; unit?: string } & Record<
  string,
  unknown
>;

/** A measure as the config loader produces it (defaults applied), compiled. */
function measure(m: MeasureInput): CompiledMeasure {
  const signals = configSchema.parse({
    signals: { s: { metric: 'm', window: '5m', ...m } } as ConfigInput['signals'],
  }).signals;
  const sig = signals['s']!;
  return compileMeasure({ ...sig, metric: sig.metric!, stat: sig.stat! });
}

const resource = (service: string, extra: string[] = []) =>
  new ResourceEntry(['service.name', service, ...extra], T0);

function base(attrs: string[], service: string, unit: string) {
  return { attrs, resource: resource(service), unit, lastDataMs: T0, fedUpdatedMs: -1 };
}

function gauge(
  values: Array<[number, number]>,
  attrs: string[] = [],
  service = 'svc',
  unit = '',
): GaugeTracker {
  const t: GaugeTracker = { ...base(attrs, service, unit), kind: 'gauge', window: new GaugeWindow(RING) };
  for (const [v, at] of values) t.window.record(v, T0 + at);
  return t;
}

function counter(
  values: Array<[number, number]>,
  attrs: string[] = [],
  service = 'svc',
  unit = '',
): CounterTracker {
  const t: CounterTracker = {
    ...base(attrs, service, unit),
    kind: 'counter',
    window: new CounterWindow({ ...RING, countInitialIfStartedAfterMs: T0 }),
    gauge: new GaugeWindow(RING),
  };
  for (const [v, at] of values) {
    t.window.record(v, T0 + at, T0 - M);
    t.gauge.record(v, T0 + at);
  }
  return t;
}

function buckets(
  bounds: number[],
  points: Array<[number[], number, number]>,
  attrs: string[] = [],
  service = 'svc',
  unit = '',
): BucketTracker {
  const t: BucketTracker = {
    ...base(attrs, service, unit),
    kind: 'buckets',
    window: new BucketWindow({ ...RING, countInitialIfStartedAfterMs: T0 }),
    total: 0,
  };
  for (const [counts, sum, at] of points) {
    const count = counts.reduce((a, b) => a + b, 0);
    expect(t.window.record({ bounds, bucketCounts: counts, count, sum, startMs: T0 - M }, T0 + at)).toBe(
      true,
    );
    t.total = count;
  }
  return t;
}

function observations(values: number[], attrs: string[] = [], service = 'svc', unit = '', at = 0) {
  const t = observationTracker(resource(service), attrs, unit, SIZING, T0 + at);
  for (const v of values) t.window.record(v, T0 + at);
  t.total = values.length;
  return t;
}

function summary(p: Partial<SummaryPoint>, attrs: string[] = [], service = 'svc', unit = ''): SummaryTracker {
  return {
    ...base(attrs, service, unit),
    kind: 'summary',
    point: { startMs: 0, timeMs: T0, count: 0, sum: 0, quantiles: [], ...p },
  };
}

const NOW = T0 + 60 * S;
const compute = (m: MeasureInput, trackers: Tracker[], now = NOW) =>
  computeMeasure(measure(m), trackers, now);
const single = (m: MeasureInput, trackers: Tracker[], now = NOW) => {
  const out = compute(m, trackers, now);
  expect(out.length).toBeLessThanOrEqual(1);
  return out[0]?.value;
};

describe('trackerAttr', () => {
  it('reads the point attribute first, then the resource attribute', () => {
    const t = gauge([], ['service.name', 'from-point', 'route', '/x'], 'from-resource');
    expect(trackerAttr(t, 'service.name')).toBe('from-point');
    expect(trackerAttr(t, 'route')).toBe('/x');
    expect(trackerAttr(gauge([], [], 'r'), 'service.name')).toBe('r');
    expect(trackerAttr(gauge([]), 'missing')).toBeUndefined();
  });
});

describe('compileWhere', () => {
  const t = gauge([], ['http.route', '/odds', 'code', '200', 'flag', 'true'], 'pricing');

  it('matches everything when empty', () => {
    expect(compileWhere({})(t)).toBe(true);
  });

  it('matches exact values, numbers and booleans by their string form, all keys at once', () => {
    expect(compileWhere({ 'http.route': '/odds' })(t)).toBe(true);
    expect(compileWhere({ 'http.route': '/odd' })(t)).toBe(false);
    expect(compileWhere({ code: 200 })(t)).toBe(true);
    expect(compileWhere({ flag: true })(t)).toBe(true);
    expect(compileWhere({ 'http.route': '/odds', 'service.name': 'pricing' })(t)).toBe(true);
    expect(compileWhere({ 'http.route': '/odds', 'service.name': 'feed' })(t)).toBe(false);
  });

  it('treats a missing attribute as the empty string', () => {
    expect(compileWhere({ missing: '' })(t)).toBe(true);
    expect(compileWhere({ missing: 'x' })(t)).toBe(false);
    expect(compileWhere({ missing: '~.*' })(t)).toBe(true);
  });

  it('anchors ~regex at both ends, as PromQL =~', () => {
    expect(compileWhere({ code: '~2..' })(t)).toBe(true);
    expect(compileWhere({ code: '~5..' })(t)).toBe(false);
    expect(compileWhere({ 'http.route': '~odds' })(t)).toBe(false);
    expect(compileWhere({ 'http.route': '~/o' })(t)).toBe(false);
    expect(compileWhere({ 'http.route': '~.*odds' })(t)).toBe(true);
    // Alternation stays inside the anchors.
    expect(compileWhere({ 'http.route': '~/x|/odds' })(t)).toBe(true);
    expect(compileWhere({ 'http.route': '~/o|x' })(t)).toBe(false);
  });
});

describe('compileMeasure', () => {
  it('takes the config defaults: 5m window, per second, no grouping, the metric unit', () => {
    const m = measure({ stat: 'rate' });
    expect(m).toMatchObject({
      metric: 'm',
      stat: 'rate',
      windowMs: 5 * M,
      unit: undefined,
      perMs: 1000,
      by: [],
    });
    expect(m.filter(gauge([]))).toBe(true);
  });

  it('reads per, window, unit, by and where', () => {
    const m = measure({ stat: 'rate', window: '1m', per: '1m', unit: 'ms', by: ['a'], where: { b: 'x' } });
    expect(m).toMatchObject({ windowMs: M, perMs: M, unit: 'ms', by: ['a'] });
    expect(m.filter(gauge([], ['b', 'x']))).toBe(true);
    expect(m.filter(gauge([], ['b', 'y']))).toBe(false);
  });
});

describe('computeMeasure > counters', () => {
  const c = () =>
    counter([
      [100, 0],
      [130, 10 * S],
      [160, 20 * S],
    ]);

  it('increase, count and sum are the exact increase; rate divides by the window', () => {
    expect(single({ stat: 'increase' }, [c()])).toBe(60);
    expect(single({ stat: 'count' }, [c()])).toBe(60);
    expect(single({ stat: 'sum' }, [c()])).toBe(60);
    expect(single({ stat: 'rate' }, [c()])).toBeCloseTo(60 / 300, 12);
    expect(single({ stat: 'rate', per: '1m' }, [c()])).toBeCloseTo(12, 12);
    expect(single({ stat: 'rate', per: '1h' }, [c()])).toBeCloseTo(720, 9);
    expect(single({ stat: 'rate', window: '1m', per: '1m' }, [c()])).toBeCloseTo(60, 12);
  });

  it('last is the sum of the latest cumulative values', () => {
    expect(single({ stat: 'last' }, [c(), counter([[40, 0]])])).toBe(200);
  });

  it('avg, min, max and percentiles have no meaning for a counter', () => {
    for (const stat of ['avg', 'min', 'max', 'p50', 'p99'])
      expect(single({ stat }, [c()]), stat).toBeUndefined();
  });
});

describe('computeMeasure > gauges', () => {
  const g = () =>
    gauge([
      [4, 0],
      [8, 10 * S],
      [6, 20 * S],
    ]);

  it('answers last, avg, min, max, count and sum (Σ latest per series)', () => {
    expect(single({ stat: 'last' }, [g()])).toBe(6);
    expect(single({ stat: 'avg' }, [g()])).toBe(6);
    expect(single({ stat: 'min' }, [g()])).toBe(4);
    expect(single({ stat: 'max' }, [g()])).toBe(8);
    expect(single({ stat: 'count' }, [g()])).toBe(3);
    expect(single({ stat: 'increase' }, [g()])).toBe(3);
    expect(single({ stat: 'sum' }, [g(), gauge([[1, 0]])])).toBe(7);
  });

  it('converts units (but never count)', () => {
    const pct = gauge([[0.5, 0]], [], 'svc', '1');
    expect(single({ stat: 'last', unit: '%' }, [pct])).toBe(50);
    expect(single({ stat: 'min', unit: '%' }, [pct])).toBe(50);
    expect(single({ stat: 'count', unit: '%' }, [pct])).toBe(1);
  });

  it('drops series in an incompatible unit', () => {
    const bytes = gauge([[1, 0]], [], 'svc', 'By');
    expect(single({ stat: 'last', unit: 'ms' }, [bytes])).toBeUndefined();
    expect(single({ stat: 'last', unit: 'ms' }, [bytes, gauge([[2, 0]], [], 'svc', 's')])).toBe(2000);
  });

  it('has no rate or percentiles', () => {
    expect(single({ stat: 'rate' }, [g()])).toBeUndefined();
    expect(single({ stat: 'p95' }, [g()])).toBeUndefined();
  });
});

describe('computeMeasure > explicit-bucket histograms', () => {
  const bounds = [10, 20, 40];
  const h = (unit = '') =>
    buckets(
      bounds,
      [
        [[1, 1, 1, 0], 30, 0],
        [[11, 6, 6, 2], 430, 10 * S],
      ],
      [],
      'svc',
      unit,
    );

  it('percentiles interpolate within the window delta (10 ≤10, 5 in (10,20], 5 in (20,40], 2 above)', () => {
    // cumulative le: 10→10, 20→15, 40→20, +Inf→22
    expect(single({ stat: 'p50' }, [h()])).toBeCloseTo(10 + 10 * (1 / 5), 12); // rank 11
    expect(single({ stat: 'p90' }, [h()])).toBeCloseTo(20 + 20 * ((19.8 - 15) / 5), 12);
    expect(single({ stat: 'p99' }, [h()])).toBe(40); // in the +Inf bucket
    expect(single({ stat: 'count' }, [h()])).toBe(22);
    expect(single({ stat: 'increase' }, [h()])).toBe(22);
    expect(single({ stat: 'rate' }, [h()])).toBeCloseTo(22 / 300, 12);
    expect(single({ stat: 'sum' }, [h()])).toBe(400);
    expect(single({ stat: 'avg' }, [h()])).toBeCloseTo(400 / 22, 12);
    expect(single({ stat: 'min' }, [h()])).toBeUndefined();
    expect(single({ stat: 'last' }, [h()])).toBeUndefined();
  });

  it('converts the interpolated percentile and the sum, not the count', () => {
    expect(single({ stat: 'p50', unit: 'ms' }, [h('s')])).toBeCloseTo(12_000, 6);
    expect(single({ stat: 'avg', unit: 'ms' }, [h('s')])).toBeCloseTo((400 / 22) * 1000, 6);
    expect(single({ stat: 'count', unit: 'ms' }, [h('s')])).toBe(22);
  });

  it('merges histograms of one group only when bounds and unit agree', () => {
    const other = buckets(
      [5, 10, 40],
      [
        [[0, 0, 0, 0], 0, 0],
        [[100, 0, 0, 0], 100, 10 * S],
      ],
    );
    expect(single({ stat: 'p50' }, [h(), other])).toBeCloseTo(12, 12);
    const same = buckets(bounds, [
      [[0, 0, 0, 0], 0, 0],
      [[22, 0, 0, 0], 100, 10 * S],
    ]);
    // 32 ≤10, 5, 5, 2 (44): rank 22 → (0, 10]: 10 · 22/32
    expect(single({ stat: 'p50' }, [h(), same])).toBeCloseTo((10 * 22) / 32, 12);
    expect(single({ stat: 'p90' }, [h(), same])).toBeCloseTo(20 + 20 * ((39.6 - 37) / 5), 12);
  });

  it('ignores a histogram without observations in the window for percentiles', () => {
    const idle = buckets(bounds, [
      [[1, 1, 1, 0], 30, 0],
      [[1, 1, 1, 0], 30, 10 * S],
    ]);
    expect(single({ stat: 'p50' }, [idle])).toBeUndefined();
    expect(single({ stat: 'count' }, [idle])).toBe(0);
  });
});

describe('computeMeasure > raw observations', () => {
  it('answers count, sum, avg, exact min and max', () => {
    const o = observations([5, 1, 9, 5]);
    expect(single({ stat: 'count' }, [o])).toBe(4);
    expect(single({ stat: 'sum' }, [o])).toBe(20);
    expect(single({ stat: 'avg' }, [o])).toBe(5);
    expect(single({ stat: 'min' }, [o])).toBe(1);
    expect(single({ stat: 'max' }, [o])).toBe(9);
    expect(single({ stat: 'rate', per: '1m' }, [o])).toBeCloseTo(4 / 5, 12);
    expect(single({ stat: 'last' }, [o])).toBeUndefined();
  });

  it('merges sketches of a group and clamps percentiles into [min, max]', () => {
    const a = observations([100, 100, 100]);
    const b = observations([200, 200, 200]);
    expect(Math.abs(single({ stat: 'p99' }, [a, b])! - 200) / 200).toBeLessThanOrEqual(0.01);
    expect(Math.abs(single({ stat: 'p50' }, [a, b])! - 100) / 100).toBeLessThanOrEqual(0.01);
    // A single value: the bin's representative would be off by up to 1%; the clamp makes it exact.
    expect(single({ stat: 'p50' }, [a])).toBe(100);
    expect(single({ stat: 'p99' }, [b])).toBe(200);
    expect(single({ stat: 'max' }, [a, b])).toBe(200);
    expect(single({ stat: 'min' }, [a, b])).toBe(100);
  });

  it('reports 0 for count-like stats of a stream with no observations in the window', () => {
    const idle = observations([1], [], 'svc', '', -10 * M);
    expect(single({ stat: 'count' }, [idle])).toBe(0);
    expect(single({ stat: 'rate' }, [idle])).toBe(0);
    expect(single({ stat: 'increase' }, [idle])).toBe(0);
    expect(single({ stat: 'avg' }, [idle])).toBeUndefined();
    expect(single({ stat: 'p50' }, [idle])).toBeUndefined();
  });

  it('prefers sketches over buckets when a group holds both', () => {
    const o = observations([7, 7, 7]);
    const h = buckets(
      [10],
      [
        [[0, 0], 0, 0],
        [[0, 10], 1000, 10 * S],
      ],
    );
    expect(single({ stat: 'p50' }, [h, o])).toBe(7);
  });
});

describe('computeMeasure > summaries', () => {
  const point = {
    count: 4,
    sum: 2,
    quantiles: [
      [0.5, 0.25],
      [0.99, 1.5],
    ] as Array<[number, number]>,
  };

  it('answers the percentiles the point carries and avg = sum / count, converted', () => {
    expect(single({ stat: 'p50' }, [summary(point)])).toBe(0.25);
    expect(single({ stat: 'p99' }, [summary(point)])).toBe(1.5);
    expect(single({ stat: 'p95' }, [summary(point)])).toBeUndefined();
    expect(single({ stat: 'avg' }, [summary(point)])).toBe(0.5);
    expect(single({ stat: 'avg', unit: 'ms' }, [summary(point, [], 'svc', 's')])).toBe(500);
    // Regression: the quantile was not converted to the signal's unit.
    expect(single({ stat: 'p99', unit: 'ms' }, [summary(point, [], 'svc', 's')])).toBe(1500);
  });

  it('cannot combine two summaries in one group (quantiles do not merge), nor answer other stats', () => {
    expect(single({ stat: 'p50' }, [summary(point), summary(point)])).toBeUndefined();
    expect(single({ stat: 'avg' }, [summary(point), summary(point)])).toBeUndefined();
    expect(single({ stat: 'count' }, [summary(point)])).toBeUndefined();
    expect(single({ stat: 'avg' }, [summary({ count: 0, sum: 0 })])).toBeUndefined();
    // One per group is fine.
    const out = compute({ stat: 'p50', by: ['k'] }, [summary(point, ['k', 'a']), summary(point, ['k', 'b'])]);
    expect(out).toHaveLength(2);
  });
});

describe('computeMeasure > grouping and filtering', () => {
  it('groups by point and resource attributes, labels sorted by key, one sample per group', () => {
    const trackers = [
      gauge([[1, 0]], ['route', '/a'], 'x'),
      gauge([[2, 0]], ['route', '/b'], 'x'),
      gauge([[4, 0]], ['route', '/a'], 'y'),
    ];
    const out = compute({ stat: 'last', by: ['service.name', 'route'] }, trackers);
    expect(out).toEqual([
      { labels: ['route', '/a', 'service.name', 'x'], value: 1 },
      { labels: ['route', '/b', 'service.name', 'x'], value: 2 },
      { labels: ['route', '/a', 'service.name', 'y'], value: 4 },
    ]);
    expect(compute({ stat: 'last', by: ['route'] }, trackers)).toEqual([
      { labels: ['route', '/a'], value: 5 },
      { labels: ['route', '/b'], value: 2 },
    ]);
  });

  it('applies where before grouping', () => {
    const trackers = [gauge([[1, 0]], ['route', '/a'], 'x'), gauge([[2, 0]], ['route', '/b'], 'x')];
    expect(compute({ stat: 'last', where: { route: '~/b' } }, trackers)).toEqual([{ labels: [], value: 2 }]);
  });

  it('is empty without trackers or without data in the window', () => {
    expect(compute({ stat: 'last' }, [])).toEqual([]);
    expect(compute({ stat: 'last' }, [gauge([[1, 0]])], T0 + 10 * M)).toEqual([]);
  });
});

describe('ratioSamples', () => {
  const s = (labels: string[], value: number) => ({ labels, value });

  it('divides matching groups', () => {
    expect(ratioSamples([s(['a', '1'], 3)], [s(['a', '1'], 4)])).toEqual([s(['a', '1'], 0.75)]);
    expect(ratioSamples([s([], 1)], [s([], 10)])).toEqual([s([], 0.1)]);
  });

  it('matches groups by label set whatever the label order', () => {
    expect(ratioSamples([s(['b', '2', 'a', '1'], 1)], [s(['a', '1', 'b', '2'], 2)])).toEqual([
      s(['b', '2', 'a', '1'], 0.5),
    ]);
  });

  it('gives 0 for a group with traffic but no numerator', () => {
    expect(ratioSamples([], [s(['a', '1'], 4)])).toEqual([s(['a', '1'], 0)]);
    expect(ratioSamples([s(['a', '1'], 0)], [s(['a', '1'], 4)])).toEqual([s(['a', '1'], 0)]);
  });

  it('leaves groups without traffic or without a denominator absent', () => {
    expect(ratioSamples([s(['a', '1'], 0)], [s(['a', '1'], 0)])).toEqual([]);
    expect(ratioSamples([], [s(['a', '1'], 0)])).toEqual([]);
    expect(ratioSamples([s(['a', '1'], 3)], [])).toEqual([]);
    expect(ratioSamples([s(['a', '1'], 3)], [s(['a', '2'], 3)])).toEqual([s(['a', '2'], 0)]);
  });
});
