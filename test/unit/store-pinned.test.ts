import { describe, expect, it } from 'vitest';
import { applyNumber } from '../../src/store/apply.js';
import { familyType, Store, type MetricStream } from '../../src/store/store.js';
import type { MetricDescriptor } from '../../src/store/types.js';

/** Store capabilities the Pushgateway-compatible push needs: removing a series now, headroom, pinning. */

function setup(limits: Partial<{ maxSeries: number; maxSeriesPerMetric: number; seriesTtlMs: number }> = {}) {
  let now = 1_000_000;
  const store = new Store({
    limits: { maxSeries: 10, maxSeriesPerMetric: 5, seriesTtlMs: 60_000, ...limits },
    clock: () => now,
    familyOf: (d) => d.prometheus ?? { name: d.name, type: familyType(d) },
  });
  return { store, advance: (ms: number) => (now += ms), now: () => now };
}

const gauge = (name: string): MetricDescriptor => ({
  name,
  unit: '',
  description: '',
  kind: 'gauge',
  monotonic: false,
  temporality: 'cumulative',
});

function stream(store: Store, desc: MetricDescriptor, service = 'svc'): MetricStream {
  const s = store.stream(store.resource(['service.name', service]), { name: '', version: '' }, desc);
  if (typeof s === 'string') throw new Error(s);
  return s;
}

function put(store: Store, st: MetricStream, attrs: string[], now: number) {
  const s = store.series(st, null, attrs);
  if (typeof s === 'string') throw new Error(s);
  applyNumber(st, s, 0, now, 1, now);
  return s;
}

describe('Store > removeSeries', () => {
  it('removes one series and updates the counts and the headroom', () => {
    const { store, now } = setup();
    const st = stream(store, gauge('m'));
    const a = put(store, st, ['x', '1'], now());
    put(store, st, ['x', '2'], now());
    expect(store.headroom('m')).toEqual({ total: 8, perMetric: 3 });
    expect(store.removeSeries(st, a)).toBe(true);
    expect(store.size).toBe(1);
    expect(store.headroom('m')).toEqual({ total: 9, perMetric: 4 });
    expect(store.removeSeries(st, a)).toBe(false); // already gone
    expect(store.size).toBe(1);
  });

  it('drops the stream, family and resource with their last series', () => {
    const { store, now } = setup();
    const st = stream(store, gauge('m'));
    const s = put(store, st, [], now());
    store.removeSeries(st, s);
    expect(store.streams.size).toBe(0);
    expect(store.families.size).toBe(0);
    expect(store.resources.size).toBe(0);
    // A new series for the same metric makes a fresh stream.
    expect(stream(store, gauge('m'))).not.toBe(st);
  });

  it('forgets aliases that point at the removed series', () => {
    const { store, now } = setup();
    const st = stream(store, gauge('m'));
    const s = store.series(st, 'raw-key', ['x', '1']);
    if (typeof s === 'string') throw new Error(s);
    applyNumber(st, s, 0, now(), 1, now());
    put(store, st, ['x', '2'], now());
    expect(st.lookup('raw-key')).toBe(s);
    store.removeSeries(st, s);
    expect(st.lookup('raw-key')).toBeUndefined();
  });
});

describe('Store > pinned series', () => {
  it('are never expired by the TTL sweep but count towards the limits', () => {
    const { store, now, advance } = setup({ maxSeries: 2, seriesTtlMs: 1000 });
    const st = stream(store, gauge('m'));
    const pinned = put(store, st, ['x', '1'], now());
    pinned.owner = {};
    put(store, st, ['x', '2'], now());
    expect(store.series(st, null, ['x', '3'])).toBe('series_limit');
    advance(5000);
    expect(store.sweep()).toBe(1);
    expect([...st.series.values()]).toEqual([pinned]);
    expect(store.streams.size).toBe(1);
  });

  it('keep verbatim Prometheus names and types from the descriptor', () => {
    const { store } = setup();
    const st = stream(store, { ...gauge('u'), prometheus: { name: 'u', type: 'untyped' } });
    expect(st.family.type).toBe('untyped');
    expect(store.stream(store.resource(['service.name', 'b']), { name: '', version: '' }, gauge('u'))).toBe(
      'type_conflict',
    );
  });
});
