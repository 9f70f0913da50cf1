import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { applyExpHistogram, applyHistogram, applyNumber } from '../../src/store/apply.js';
import { MAX_EXP_BUCKETS, mergeExpHistograms } from '../../src/store/exp-histogram.js';
import { canonicalPairs, isJoinedKey, pairsOfKey } from '../../src/store/canonical-key.js';
import { familyType, Store, type MetricStream } from '../../src/store/store.js';
import type { ExpHistogramPoint, MetricDescriptor } from '../../src/store/types.js';

function makeStore(
  limits: Partial<{ maxSeries: number; maxSeriesPerMetric: number; seriesTtlMs: number }> = {},
) {
  let now = 1_000_000;
  const store = new Store({
    limits: { maxSeries: 100, maxSeriesPerMetric: 100, seriesTtlMs: 60_000, ...limits },
    clock: () => now,
    familyOf: (d) => ({ name: d.name, type: familyType(d) }),
  });
  return { store, advance: (ms: number) => (now += ms), now: () => now };
}

const counter = (name: string, temporality: 'delta' | 'cumulative' = 'cumulative'): MetricDescriptor => ({
  name,
  unit: '',
  description: '',
  kind: 'sum',
  monotonic: true,
  temporality,
});

function stream(store: Store, desc: MetricDescriptor, service = 'svc'): MetricStream {
  const s = store.stream(store.resource(['service.name', service]), { name: 'scope', version: '' }, desc);
  if (typeof s === 'string') throw new Error(s);
  return s;
}

describe('Store identity', () => {
  it('keeps two sources with the same metric name apart, in one family', () => {
    const { store } = makeStore();
    const a = stream(store, counter('jobs'), 'a');
    const b = stream(store, counter('jobs'), 'b');
    expect(a).not.toBe(b);
    expect(store.families.get('jobs')?.streams.size).toBe(2);
  });

  it('maps reordered attributes to one series and keeps __proto__ as data', () => {
    const { store } = makeStore();
    const st = stream(store, counter('c'));
    const x = store.series(st, null, ['b', '2', '__proto__', 'p', 'a', '1']);
    const y = store.series(st, 'raw', ['a', '1', 'b', '2', '__proto__', 'p']);
    expect(x).toBe(y);
    expect(typeof x !== 'string' && x.attrs).toEqual(['__proto__', 'p', 'a', '1', 'b', '2']);
    expect(st.lookup('raw')).toBe(x);
    expect(({} as Record<string, unknown>)['p']).toBeUndefined();
  });

  it('gives a series its attributes back from its key, and keeps them when the key cannot', () => {
    const { store } = makeStore();
    const st = stream(store, counter('c'));
    const plain = store.series(st, null, ['route', '/a', 'empty', '', '', 'no-key']);
    if (typeof plain === 'string') throw new Error(plain);
    expect(plain.attrs).toEqual(['', 'no-key', 'empty', '', 'route', '/a']);
    expect(isJoinedKey(plain.key)).toBe(true);
    expect(pairsOfKey(plain.key)).toEqual(plain.attrs);
    // Text holding the key's separators: an escaped key, which does not give attributes back.
    const odd = ['a\u0001b', 'v\u0002w', 'k', '\u0001'];
    const held = store.series(st, null, odd);
    if (typeof held === 'string') throw new Error(held);
    expect(held.attrs).toEqual(['a\u0001b', 'v\u0002w', 'k', '\u0001']);
    expect(isJoinedKey(held.key)).toBe(false);
    // Regression: {a: "x U+0002 b U+0001 y"} and {a: "x", b: "y"} were joined into one key, so
    // one series: a push of either overwrote the other's value.
    const two = store.series(st, null, ['a', 'x', 'b', 'y']);
    const one = store.series(st, null, ['a', 'x\u0002b\u0001y']);
    if (typeof two === 'string' || typeof one === 'string') throw new Error('refused');
    expect(one).not.toBe(two);
    expect(one.attrs).toEqual(['a', 'x\u0002b\u0001y']);
    expect(two.attrs).toEqual(['a', 'x', 'b', 'y']);
    const none = store.series(st, null, []);
    expect(typeof none !== 'string' && none.attrs).toEqual([]);
  });

  it('lets a later duplicate attribute key win', () => {
    expect(canonicalPairs(['k', 'first', 'k', 'second']).sorted).toEqual(['k', 'second']);
  });

  it('refuses a family type conflict', () => {
    const { store } = makeStore();
    stream(store, counter('x'));
    const res = store.resource(['service.name', 'other']);
    const g = store.stream(
      res,
      { name: 's', version: '' },
      { ...counter('x'), kind: 'gauge', monotonic: false },
    );
    expect(g).toBe('type_conflict');
  });
});

describe('Store limits and expiry', () => {
  it('refuses new series past max_series_per_metric and max_series, never merging', () => {
    const { store } = makeStore({ maxSeries: 3, maxSeriesPerMetric: 2 });
    const st = stream(store, counter('m'));
    expect(typeof store.series(st, null, ['k', '1'])).not.toBe('string');
    expect(typeof store.series(st, null, ['k', '2'])).not.toBe('string');
    expect(store.series(st, null, ['k', '3'])).toBe('series_per_metric_limit');
    // Known series still accepted at the limit.
    expect(typeof store.series(st, null, ['k', '1'])).not.toBe('string');
    const other = stream(store, counter('n'));
    expect(typeof store.series(other, null, [])).not.toBe('string');
    expect(store.series(other, null, ['k', 'x'])).toBe('series_limit');
    // Exempt series (vigil's own) are never refused.
    expect(typeof store.series(other, null, ['k', 'y'], true)).not.toBe('string');
  });

  it('expires series on the TTL and frees their limit', () => {
    const { store, advance, now } = makeStore({ maxSeriesPerMetric: 1, seriesTtlMs: 1000 });
    const st = stream(store, counter('m'));
    const s = store.series(st, 'raw', ['k', '1']);
    if (typeof s === 'string') throw new Error(s);
    advance(500);
    applyNumber(st, s, 0, now(), 1, now());
    advance(999);
    expect(store.sweep()).toBe(0);
    advance(2);
    expect(store.sweep()).toBe(1);
    expect(store.size).toBe(0);
    expect(store.streams.size).toBe(0);
    expect(store.families.size).toBe(0);
    expect(store.resources.size).toBe(0);
    expect(st.lookup('raw')).toBeUndefined();
    const st2 = stream(store, counter('m'));
    expect(typeof store.series(st2, null, ['k', '2'])).not.toBe('string');
  });
});

describe('point application', () => {
  it('accumulates delta sums and replaces cumulative ones', () => {
    const { store } = makeStore();
    const d = stream(store, counter('d', 'delta'));
    const c = stream(store, counter('c'));
    const sd = store.series(d, null, []);
    const sc = store.series(c, null, []);
    if (typeof sd === 'string' || typeof sc === 'string') throw new Error();
    applyNumber(d, sd, 1, 2, 3, 10);
    applyNumber(d, sd, 2, 3, 4, 11);
    expect(sd.value).toBe(7);
    expect(sd.startMs).toBe(1);
    applyNumber(c, sc, 1, 2, 3, 10);
    applyNumber(c, sc, 1, 3, 4, 11);
    applyNumber(c, sc, 1, 1, 100, 12); // older than what we hold: ignored
    expect(sc.value).toBe(4);
  });

  it('rejects non-finite values and negative counter values', () => {
    const { store } = makeStore();
    const c = stream(store, counter('c'));
    const s = store.series(c, null, []);
    if (typeof s === 'string') throw new Error();
    expect(applyNumber(c, s, 0, 1, NaN, 1)?.reason).toBe('invalid_value');
    expect(applyNumber(c, s, 0, 1, Infinity, 1)?.reason).toBe('invalid_value');
    expect(applyNumber(c, s, 0, 1, -1, 1)?.reason).toBe('invalid_value');
  });

  it('adds delta histograms bucket-wise and validates bucket/bound counts', () => {
    const { store } = makeStore();
    const h = stream(store, { ...counter('h', 'delta'), kind: 'histogram', monotonic: false });
    const s = store.series(h, null, []);
    if (typeof s === 'string') throw new Error();
    const p = (counts: number[]) => ({
      startMs: 0,
      timeMs: 1,
      count: counts.reduce((a, b) => a + b, 0),
      sum: 1,
      min: NaN,
      max: NaN,
      bounds: [1, 2],
      bucketCounts: counts,
    });
    expect(applyHistogram(h, s, p([1, 0, 1]), 1)).toBeNull();
    expect(applyHistogram(h, s, p([0, 2, 0]), 2)).toBeNull();
    expect(s.point).toMatchObject({ count: 4, sum: 2, bucketCounts: [1, 2, 1] });
    expect(applyHistogram(h, s, { ...p([1, 1]), count: 2 }, 3)?.reason).toBe('invalid_histogram');
    expect(applyHistogram(h, s, { ...p([1, 1, 1]), count: 5 }, 3)?.reason).toBe('invalid_histogram');
  });
});

describe('exponential histogram merge', () => {
  const point = (scale: number, offset: number, counts: number[]): ExpHistogramPoint => ({
    startMs: 0,
    timeMs: 1,
    count: counts.reduce((a, b) => a + b, 0),
    sum: 0,
    min: NaN,
    max: NaN,
    scale,
    zeroCount: 0,
    zeroThreshold: 0,
    positive: { offset, counts },
    negative: { offset: 0, counts: [] },
  });

  it('downscales the finer point to the common scale before adding', () => {
    // scale 1 buckets 4,5 (values in (2^2, 2^2.5], (2^2.5, 2^3]) are scale-0 bucket 2.
    const merged = mergeExpHistograms(point(0, 2, [1]), point(1, 4, [2, 3]));
    expect(merged.scale).toBe(0);
    expect(merged.positive).toEqual({ offset: 2, counts: [6] });
    expect(merged.count).toBe(6);
  });

  it('accumulates delta exponential histograms in the store', () => {
    const { store } = makeStore();
    const h = stream(store, { ...counter('e', 'delta'), kind: 'exponential_histogram', monotonic: false });
    const s = store.series(h, null, []);
    if (typeof s === 'string') throw new Error();
    expect(applyExpHistogram(h, s, point(2, -1, [1, 1]), 1)).toBeNull();
    expect(applyExpHistogram(h, s, point(2, 0, [5]), 2)).toBeNull();
    expect((s.point as ExpHistogramPoint).positive).toEqual({ offset: -1, counts: [1, 6] });
    expect(applyExpHistogram(h, s, { ...point(2, 0, [1]), count: 7 }, 3)?.reason).toBe('invalid_histogram');
  });

  // Regression: accumulating deltas that drift apart grew the buckets without bound.
  it('downscales an accumulated histogram to at most MAX_EXP_BUCKETS buckets, keeping the counts', () => {
    let acc = point(4, 0, [1]);
    for (let i = 1; i <= 40; i++) acc = mergeExpHistograms(acc, point(4, i * 50, [1]));
    expect(acc.positive.counts.length).toBeLessThanOrEqual(MAX_EXP_BUCKETS);
    expect(acc.scale).toBeLessThan(4);
    expect(acc.positive.counts.reduce((a, b) => a + b, 0)).toBe(41);
    expect(acc.count).toBe(41);
  });
});

describe('store regressions', () => {
  it('updates a series in place: applying a point allocates nothing (regression)', () => {
    // Series.updatedMs was a declared-only class field, so it started as `undefined` and V8 kept
    // every later number in it boxed: each point allocated a heap number that lived as long as
    // the series (old-space garbage under steady ingest). 2M points boxed are 32 MB: ~30 minor
    // GCs; in place, the script's own few. Run on the built code in a fresh process, where the
    // count is not blurred by the test runner's allocations.
    const script = `
      import { PerformanceObserver, constants } from 'node:perf_hooks';
      const { Series } = await import(${JSON.stringify(new URL('../../dist/store/series.js', import.meta.url).href)});
      const { applyNumber } = await import(${JSON.stringify(new URL('../../dist/store/apply.js', import.meta.url).href)});
      const stream = { desc: { monotonic: false, temporality: 'cumulative', kind: 'gauge' } };
      const series = new Series('k', ['k', 'v'], 0);
      let minor = 0;
      const obs = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
      });
      obs.observe({ entryTypes: ['gc'] });
      const T = 1_795_000_000_000;
      for (let i = 0; i < 2_000_000; i++) applyNumber(stream, series, T, T + i, i + 0.5, T + i);
      await new Promise((r) => setTimeout(r, 50));
      obs.disconnect();
      process.stdout.write(JSON.stringify({ minor, updatedMs: series.updatedMs }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    const { minor, updatedMs } = JSON.parse(out) as { minor: number; updatedMs: number };
    expect(updatedMs).toBe(1_795_000_000_000 + 1_999_999);
    expect(minor).toBeLessThan(12);
  });

  it('sweeps without allocating per series (regression)', () => {
    // sweep() iterated each stream's Map with for-of destructuring: unoptimised (it runs every
    // few seconds), that allocated an entry and an iterator result per series, 6 MiB a sweep at
    // 100k series, the only large allocation of an idle vigil, which kept V8 from shrinking its
    // young generation when the heap compactor settled it. Measured in a fresh process on the
    // built code: heap used after the sweep minus before, with a young generation of 64 MiB so
    // that no scavenge in the span can hide an allocation.
    const script = `
      import { setFlagsFromString } from 'node:v8';
      const { Store, familyType } = await import(${JSON.stringify(new URL('../../dist/store/store.js', import.meta.url).href)});
      let now = 1_000_000;
      const store = new Store({
        limits: { maxSeries: 200_000, maxSeriesPerMetric: 200_000, seriesTtlMs: 3_600_000 },
        clock: () => now,
        familyOf: (d) => ({ name: d.name, type: familyType(d) }),
      });
      const desc = { name: 'jobs', unit: '', description: '', kind: 'sum', monotonic: true, temporality: 'cumulative' };
      const stream = store.stream(store.resource(['service.name', 'svc']), { name: 'scope', version: '' }, desc);
      for (let i = 0; i < 100_000; i++) store.series(stream, 'k=' + i, ['k', String(i)]);
      globalThis.gc();
      const before = process.memoryUsage().heapUsed;
      const removed = store.sweep();
      const grew = process.memoryUsage().heapUsed - before;
      process.stdout.write(JSON.stringify({ removed, grew, size: store.size }));`;
    const out = execFileSync(
      process.execPath,
      ['--expose-gc', '--min-semi-space-size=64', '--input-type=module', '-e', script],
      {
        encoding: 'utf8',
      },
    );
    const { removed, grew, size } = JSON.parse(out) as { removed: number; grew: number; size: number };
    expect(removed).toBe(0);
    expect(size).toBe(100_000);
    expect(grew).toBeLessThan(1024 * 1024); // per series it was ~66 bytes: 6.3 MiB
  });

  it('finds an attribute-less series by its empty raw key', () => {
    const { store } = makeStore();
    const c = stream(store, counter('plain'));
    const s = store.series(c, '', []);
    expect(c.lookup('')).toBe(s);
  });

  // Regression: a source whose points were all refused kept its resource entry forever.
  it('expires resource entries that never got a stream', () => {
    const { store, advance } = makeStore({ seriesTtlMs: 1000 });
    store.resource(['service.name', 'all-refused']);
    expect(store.resources.size).toBe(1);
    advance(2000);
    store.sweep();
    expect(store.resources.size).toBe(0);
  });
});
