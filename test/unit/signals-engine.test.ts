import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { prometheusFamily } from '../../src/export/prometheus-naming.js';
import { OBSERVATION_RELATIVE_ACCURACY } from '../../src/signals/observation-window.js';
import { SignalEngine, slotMsFor } from '../../src/signals/signal-engine.js';
import { applyExpHistogram, applyHistogram, applyNumber, applySummary } from '../../src/store/apply.js';
import type { ResourceEntry } from '../../src/store/resource.js';
import type { Series } from '../../src/store/series.js';
import { Store, type MetricStream } from '../../src/store/store.js';
import type {
  ExpHistogramPoint,
  FlatAttrs,
  HistogramPoint,
  MetricDescriptor,
  MetricKind,
  Temporality,
} from '../../src/store/types.js';

const T0 = 1_700_000_400_000; // a multiple of 10 min (trend buckets) and of every slot width
const S = 1000;
const M = 60 * S;
const H = 60 * M;
/** The monitored applications started an hour before vigil: their first points are baselines. */
const APP_START = T0 - H;
/** α plus float rounding at a bin's edge. */
const ALPHA = OBSERVATION_RELATIVE_ACCURACY * (1 + 1e-9);

type SignalsInput = NonNullable<ConfigInput['signals']>;

const parseSignals = (signals: SignalsInput) => configSchema.parse({ signals }).signals;

function desc(
  name: string,
  kind: MetricKind,
  unit = '',
  opts: { monotonic?: boolean; temporality?: Temporality } = {},
): MetricDescriptor {
  return {
    name,
    unit,
    description: '',
    kind,
    monotonic: opts.monotonic ?? kind === 'sum',
    temporality: opts.temporality ?? 'cumulative',
  };
}

/** A store, a signal engine over it, and one injected clock. */
class World {
  now = T0;
  readonly store: Store;
  readonly engine: SignalEngine;

  constructor(signals: SignalsInput) {
    const clock = () => this.now;
    this.store = new Store({
      limits: { maxSeries: 10_000, maxSeriesPerMetric: 1_000, seriesTtlMs: 24 * H },
      clock,
      familyOf: prometheusFamily,
    });
    this.engine = new SignalEngine({ store: this.store, clock, observedScope: 'vigil.push' });
    this.engine.configure(parseSignals(signals));
  }

  at(ms: number): this {
    this.now = T0 + ms;
    return this;
  }

  tick(): void {
    this.engine.tick(this.now);
  }

  resource(service: string, extra: string[] = []): ResourceEntry {
    return this.store.resource(['service.name', service, ...extra]);
  }

  stream(d: MetricDescriptor, service = 'svc', scope = 'app', extra: string[] = []): MetricStream {
    const s = this.store.stream(this.resource(service, extra), { name: scope, version: '1' }, d);
    if (typeof s === 'string') throw new Error(s);
    return s;
  }

  series(st: MetricStream, attrs: FlatAttrs = []): Series {
    const s = this.store.series(st, null, attrs);
    if (typeof s === 'string') throw new Error(s);
    return s;
  }

  number(st: MetricStream, s: Series, value: number, startMs = APP_START): void {
    expect(applyNumber(st, s, startMs, this.now, value, this.now)).toBeNull();
  }

  histogram(
    st: MetricStream,
    s: Series,
    p: Omit<HistogramPoint, 'timeMs' | 'startMs' | 'min' | 'max'>,
  ): void {
    const point: HistogramPoint = { startMs: APP_START, timeMs: this.now, min: NaN, max: NaN, ...p };
    expect(applyHistogram(st, s, point, this.now)).toBeNull();
  }

  /** The ungrouped signal's value, or undefined when absent. */
  value(name: string): number | undefined {
    const v = this.engine.signal(name);
    expect(v.length).toBeLessThanOrEqual(1);
    if (v[0] !== undefined) expect(v[0].labels).toEqual([]);
    return v[0]?.value;
  }

  /** A grouped signal as `{ "k=v,k2=v2": value }`. */
  groups(name: string): Record<string, number> {
    return groupsOf(this.engine.signal(name));
  }
}

function groupsOf(
  samples: ReadonlyArray<{ labels: readonly string[]; value: number }>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    const parts: string[] = [];
    for (let i = 0; i < s.labels.length; i += 2) parts.push(`${s.labels[i]}=${s.labels[i + 1]}`);
    out[parts.join(',')] = s.value;
  }
  return out;
}

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Lognormal latencies (median e^mu) by Box-Muller. */
function lognormal(n: number, seed: number, mu = Math.log(100), sigma = 1): number[] {
  const rnd = mulberry32(seed);
  return Array.from({ length: n }, () => {
    let u = 0;
    while (u === 0) u = rnd();
    return Math.exp(mu + sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd()));
  });
}

describe('slotMsFor', () => {
  it('gives ~60 slots to the shortest window and at most 720 to the longest, never under 1 s', () => {
    expect(slotMsFor(5 * M, 5 * M)).toBe(5 * S);
    expect(slotMsFor(1 * M, 5 * M)).toBe(1 * S);
    expect(slotMsFor(10 * S, 10 * S)).toBe(1 * S);
    expect(slotMsFor(1 * M, 24 * H)).toBe(120 * S);
    expect((24 * H) / slotMsFor(1 * M, 24 * H)).toBeLessThanOrEqual(720);
  });
});

describe('SignalEngine > configuration from YAML', () => {
  it('takes signals as the config file writes them, defaults applied', () => {
    const loaded = parseConfigText(
      [
        'signals:',
        '  http_p95_ms:',
        '    metric: http.server.request.duration',
        '    stat: p95',
        '    unit: ms',
        '    by: [service.name]',
        '    where: {http.route: /odds}',
        '  events_per_min: {metric: stream.events, stat: rate, per: 1m}',
      ].join('\n'),
      'config.yaml',
      {},
    );
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const w = new World({});
    w.engine.configure(loaded.config.signals);
    expect(w.engine.wants('http.server.request.duration')).toBe(true);
    const r = w.resource('pricing');
    w.engine.observe(r, 'http.server.request.duration', 's', ['http.route', '/odds'], [0.3, 0.3], w.now);
    w.engine.observe(r, 'http.server.request.duration', 's', ['http.route', '/other'], [9, 9], w.now);
    const st = w.stream(desc('stream.events', 'sum'), 'pricing');
    const ev = w.series(st);
    w.number(st, ev, 0);
    w.tick();
    w.at(30 * S).number(st, ev, 250);
    w.tick();
    expect(w.groups('http_p95_ms')).toEqual({ 'service.name=pricing': 300 });
    expect(w.value('events_per_min')).toBeCloseTo(50, 10); // 250 in a 5m window, per minute
  });
});

describe('SignalEngine > counters', () => {
  const signals: SignalsInput = {
    inc: { metric: 'jobs', stat: 'increase', window: '5m' },
    cnt: { metric: 'jobs', stat: 'count', window: '5m' },
    sum: { metric: 'jobs', stat: 'sum', window: '5m' },
    rate: { metric: 'jobs', stat: 'rate', window: '5m' },
    per_min: { metric: 'jobs', stat: 'rate', window: '5m', per: '1m' },
    last: { metric: 'jobs', stat: 'last', window: '5m' },
    avg: { metric: 'jobs', stat: 'avg', window: '5m' },
    p95: { metric: 'jobs', stat: 'p95', window: '5m' },
  };

  it('answers increase, rate, rate per minute and last from cumulative points', () => {
    const w = new World(signals);
    const st = w.stream(desc('jobs', 'sum'));
    const s = w.series(st, ['queue', 'a']);
    for (let i = 0; i <= 12; i++) {
      w.at(i * 5 * S).number(st, s, 1000 + 10 * i);
      w.tick();
    }
    // The first point (1000) is a baseline: the app counted it before vigil was watching.
    expect(w.value('inc')).toBe(120);
    expect(w.value('cnt')).toBe(120);
    expect(w.value('sum')).toBe(120);
    expect(w.value('rate')).toBeCloseTo(120 / 300, 12);
    expect(w.value('per_min')).toBeCloseTo(24, 10);
    expect(w.value('last')).toBe(1120);
    // Stats a counter cannot answer leave the signal absent.
    expect(w.value('avg')).toBeUndefined();
    expect(w.value('p95')).toBeUndefined();
  });

  it('counts the first point in full when the counter started after vigil', () => {
    const w = new World(signals);
    const st = w.stream(desc('jobs', 'sum'));
    const s = w.series(st);
    w.at(2 * S).number(st, s, 50, T0 + 1 * S);
    w.tick();
    expect(w.value('inc')).toBe(50);
  });

  it('treats a value drop as a reset that counts the new value', () => {
    const w = new World(signals);
    const st = w.stream(desc('jobs', 'sum'));
    const s = w.series(st);
    w.at(0).number(st, s, 500);
    w.tick();
    w.at(5 * S).number(st, s, 530);
    w.tick();
    w.at(10 * S).number(st, s, 20, T0 + 8 * S);
    w.tick();
    expect(w.value('inc')).toBe(50);
  });

  it('slides: only the last 5 minutes count, and data older than the window disappears', () => {
    const w = new World({ inc: { metric: 'jobs', stat: 'increase', window: '5m' } });
    const st = w.stream(desc('jobs', 'sum'));
    const s = w.series(st);
    for (let i = 0; i <= 120; i++) {
      w.at(i * 5 * S).number(st, s, 10 * i); // 2 per second for 10 minutes
      w.tick();
    }
    expect(w.value('inc')).toBe(600);
    // No more points: the last one stays in the window for 5 minutes (increase 0), then goes.
    w.at(600 * S + 5 * M).tick();
    expect(w.value('inc')).toBe(0);
    w.at(600 * S + 5 * M + 5 * S).tick();
    expect(w.value('inc')).toBeUndefined();
    expect(w.engine.signal('inc')).toEqual([]);
  });

  it('accumulates delta sums into a cumulative counter', () => {
    const w = new World(signals);
    const st = w.stream(desc('jobs', 'sum', '', { temporality: 'delta' }));
    const s = w.series(st);
    const deltas = [5, 7, 8, 0, 30];
    deltas.forEach((d, i) => {
      w.at((i + 1) * 5 * S).number(st, s, d, T0 + i * 5 * S);
      w.tick();
    });
    expect(w.value('inc')).toBe(50);
    expect(w.value('last')).toBe(50);
    expect(w.value('rate')).toBeCloseTo(50 / 300, 12);
  });

  it('treats the first delta of a stream that began before vigil as a baseline, as cumulative data', () => {
    const w = new World(signals);
    const st = w.stream(desc('jobs', 'sum', '', { temporality: 'delta' }));
    const s = w.series(st);
    w.at(5 * S).number(st, s, 5, T0 - 10 * S);
    w.tick();
    w.at(10 * S).number(st, s, 7, T0 + 5 * S);
    w.tick();
    expect(w.value('inc')).toBe(7);
  });

  it('sums the series of a group and converts units', () => {
    const w = new World({
      busy_ms: { metric: 'cpu.time', stat: 'increase', window: '5m', unit: 'ms' },
      busy_rate: { metric: 'cpu.time', stat: 'rate', window: '5m', unit: 'ms' },
      busy_count: { metric: 'cpu.time', stat: 'count', window: '5m', unit: 'ms' },
    });
    const st = w.stream(desc('cpu.time', 'sum', 's'));
    const a = w.series(st, ['cpu', '0']);
    const b = w.series(st, ['cpu', '1']);
    w.at(0).number(st, a, 10);
    w.number(st, b, 20);
    w.tick();
    w.at(30 * S).number(st, a, 13);
    w.number(st, b, 21.5);
    w.tick();
    expect(w.value('busy_ms')).toBeCloseTo(4500, 9);
    expect(w.value('busy_rate')).toBeCloseTo(15, 9);
    // count is a number of events: never unit-converted.
    expect(w.value('busy_count')).toBeCloseTo(4.5, 12);
  });
});

describe('SignalEngine > gauges', () => {
  const signals: SignalsInput = {
    last: { metric: 'queue.depth', stat: 'last', window: '1m' },
    avg: { metric: 'queue.depth', stat: 'avg', window: '1m' },
    min: { metric: 'queue.depth', stat: 'min', window: '1m' },
    max: { metric: 'queue.depth', stat: 'max', window: '1m' },
    count: { metric: 'queue.depth', stat: 'count', window: '1m' },
    sum: { metric: 'queue.depth', stat: 'sum', window: '1m' },
    rate: { metric: 'queue.depth', stat: 'rate', window: '1m' },
    p50: { metric: 'queue.depth', stat: 'p50', window: '1m' },
  };

  it('answers last, avg, min, max and count over the samples in the window', () => {
    const w = new World(signals);
    const st = w.stream(desc('queue.depth', 'gauge'));
    const s = w.series(st);
    [10, 40, 20, 30].forEach((v, i) => {
      w.at(i * 10 * S).number(st, s, v);
      w.tick();
    });
    expect(w.value('last')).toBe(30);
    expect(w.value('avg')).toBe(25);
    expect(w.value('min')).toBe(10);
    expect(w.value('max')).toBe(40);
    expect(w.value('count')).toBe(4);
    expect(w.value('sum')).toBe(30);
    expect(w.value('rate')).toBeUndefined();
    expect(w.value('p50')).toBeUndefined();
  });

  it('samples a gauge only when it changed: an unchanged series is not counted twice', () => {
    const w = new World(signals);
    const st = w.stream(desc('queue.depth', 'gauge'));
    const s = w.series(st);
    w.at(0).number(st, s, 10);
    w.tick();
    w.at(1 * S).tick();
    w.at(2 * S).tick();
    expect(w.value('count')).toBe(1);
  });

  it('pools samples across series for avg/min/max and sums the latest values for last', () => {
    const w = new World(signals);
    const st = w.stream(desc('queue.depth', 'gauge'));
    const a = w.series(st, ['queue', 'a']);
    const b = w.series(st, ['queue', 'b']);
    [10, 40, 20, 30].forEach((v, i) => {
      w.at(i * 10 * S).number(st, a, v);
      w.number(st, b, 100);
      w.tick();
    });
    expect(w.value('last')).toBe(130);
    expect(w.value('sum')).toBe(130);
    expect(w.value('avg')).toBe(62.5);
    expect(w.value('min')).toBe(10);
    expect(w.value('max')).toBe(100);
    expect(w.value('count')).toBe(8);
  });

  it('slides: samples older than the window no longer count', () => {
    const w = new World(signals);
    const st = w.stream(desc('queue.depth', 'gauge'));
    const s = w.series(st);
    [10, 40, 20, 30].forEach((v, i) => {
      w.at(i * 10 * S).number(st, s, v);
      w.tick();
    });
    w.at(75 * S).tick(); // window (15 s, 75 s]: the samples at 20 s and 30 s
    expect(w.value('avg')).toBe(25);
    expect(w.value('min')).toBe(20);
    expect(w.value('max')).toBe(30);
    expect(w.value('count')).toBe(2);
    expect(w.value('last')).toBe(30);
    w.at(91 * S).tick();
    expect(w.value('last')).toBeUndefined();
    expect(w.value('count')).toBeUndefined();
  });

  it('reads an UpDownCounter (non-monotonic sum) as a gauge', () => {
    const w = new World(signals);
    const st = w.stream(desc('queue.depth', 'sum', '', { monotonic: false }));
    const s = w.series(st);
    [5, 3, -2].forEach((v, i) => {
      w.at(i * S).number(st, s, v);
      w.tick();
    });
    expect(w.value('last')).toBe(-2);
    expect(w.value('min')).toBe(-2);
    expect(w.value('max')).toBe(5);
  });

  it('converts 1 to % and s to ms, and ignores series in an incompatible unit', () => {
    const w = new World({
      cpu_pct: { metric: 'cpu.utilization', stat: 'last', window: '1m', unit: '%' },
      cpu_avg_pct: { metric: 'cpu.utilization', stat: 'avg', window: '1m', unit: '%' },
      lag_ms: { metric: 'lag', stat: 'max', window: '1m', unit: 'ms' },
    });
    const cpu = w.stream(desc('cpu.utilization', 'gauge', '1'));
    const cs = w.series(cpu);
    const lagS = w.stream(desc('lag', 'gauge', 's'), 'a');
    const lagBytes = w.stream(desc('lag', 'gauge', 'By'), 'b');
    w.at(0).number(cpu, cs, 0.25);
    w.number(lagS, w.series(lagS), 1.5);
    w.number(lagBytes, w.series(lagBytes), 999_999);
    w.tick();
    w.at(1 * S).number(cpu, cs, 0.75);
    w.tick();
    expect(w.value('cpu_pct')).toBe(75);
    expect(w.value('cpu_avg_pct')).toBe(50);
    expect(w.value('lag_ms')).toBe(1500);
  });

  it('leaves a signal absent when its only data is in an incompatible unit', () => {
    const w = new World({ lag_ms: { metric: 'lag', stat: 'last', window: '1m', unit: 'ms' } });
    const st = w.stream(desc('lag', 'gauge', 'By'));
    w.number(st, w.series(st), 3);
    w.tick();
    expect(w.value('lag_ms')).toBeUndefined();
  });

  it('takes a metric without a unit to be in the unit the signal asks for', () => {
    const w = new World({ lag_ms: { metric: 'lag', stat: 'last', window: '1m', unit: 'ms' } });
    const st = w.stream(desc('lag', 'gauge', ''));
    w.number(st, w.series(st), 3);
    w.tick();
    expect(w.value('lag_ms')).toBe(3);
  });
});

describe('SignalEngine > explicit-bucket histograms', () => {
  const stats = ['p50', 'p90', 'p95', 'p99', 'avg', 'count', 'rate', 'sum', 'min', 'max', 'last'] as const;
  const signalsIn = (unit?: string): SignalsInput =>
    Object.fromEntries(
      stats.map((stat) => [
        stat,
        { metric: 'http.server.request.duration', stat, window: '5m', ...(unit ? { unit } : {}) },
      ]),
    );

  /** A baseline point, then 100 more observations: 10 ≤100, 20 in (100,200], 60 in (200,500], 10 in (500,1000]. */
  function feed(w: World, bounds: number[], scale = 1): void {
    const st = w.stream(desc('http.server.request.duration', 'histogram', scale === 1 ? 'ms' : 's'));
    const s = w.series(st, ['http.route', '/odds']);
    w.at(0).histogram(st, s, { bounds, bucketCounts: [5, 5, 5, 5, 0], count: 20, sum: 4000 * scale });
    w.tick();
    w.at(5 * S).histogram(st, s, {
      bounds,
      bucketCounts: [15, 25, 65, 15, 0],
      count: 120,
      sum: (4000 + 40_000) * scale,
    });
    w.tick();
  }

  it('interpolates percentiles within buckets as histogram_quantile does, over the window delta', () => {
    const w = new World(signalsIn());
    feed(w, [100, 200, 500, 1000]);
    expect(w.value('p50')).toBeCloseTo(300, 9); // rank 50 in (200, 500]: 200 + 300 · 20/60
    expect(w.value('p90')).toBeCloseTo(500, 9); // rank 90: the top of (200, 500]
    expect(w.value('p95')).toBeCloseTo(750, 9); // rank 95 in (500, 1000]: 500 + 500 · 5/10
    expect(w.value('p99')).toBeCloseTo(950, 9);
    expect(w.value('avg')).toBe(400);
    expect(w.value('count')).toBe(100);
    expect(w.value('rate')).toBeCloseTo(100 / 300, 12);
    expect(w.value('sum')).toBe(40_000);
    // Buckets carry no exact min/max, and a histogram has no "last".
    expect(w.value('min')).toBeUndefined();
    expect(w.value('max')).toBeUndefined();
    expect(w.value('last')).toBeUndefined();
  });

  it('converts a histogram in seconds to milliseconds', () => {
    const w = new World(signalsIn('ms'));
    feed(w, [0.1, 0.2, 0.5, 1], 0.001);
    expect(w.value('p50')).toBeCloseTo(300, 9);
    expect(w.value('p95')).toBeCloseTo(750, 9);
    expect(w.value('p99')).toBeCloseTo(950, 9);
    expect(w.value('avg')).toBeCloseTo(400, 9);
    expect(w.value('count')).toBe(100);
  });

  it('returns the highest finite bound when the quantile falls in the +Inf bucket', () => {
    const w = new World(signalsIn());
    const st = w.stream(desc('http.server.request.duration', 'histogram', 'ms'));
    const s = w.series(st);
    const bounds = [100, 200];
    w.at(0).histogram(st, s, { bounds, bucketCounts: [0, 0, 0], count: 0, sum: 0 });
    w.tick();
    w.at(5 * S).histogram(st, s, { bounds, bucketCounts: [50, 0, 50], count: 100, sum: 60_000 });
    w.tick();
    expect(w.value('p99')).toBe(200);
  });

  it('merges the bucket deltas of a group and slides them out of the window', () => {
    const w = new World({
      p50: { metric: 'http.server.request.duration', stat: 'p50', window: '1m' },
      count: { metric: 'http.server.request.duration', stat: 'count', window: '1m' },
    });
    const bounds = [100, 200, 400];
    const a = w.stream(desc('http.server.request.duration', 'histogram', 'ms'), 'a');
    const b = w.stream(desc('http.server.request.duration', 'histogram', 'ms'), 'b');
    const sa = w.series(a);
    const sb = w.series(b);
    w.at(0).histogram(a, sa, { bounds, bucketCounts: [0, 0, 0, 0], count: 0, sum: 0 });
    w.histogram(b, sb, { bounds, bucketCounts: [0, 0, 0, 0], count: 0, sum: 0 });
    w.tick();
    w.at(10 * S).histogram(a, sa, { bounds, bucketCounts: [40, 0, 0, 0], count: 40, sum: 2000 });
    w.histogram(b, sb, { bounds, bucketCounts: [0, 0, 60, 0], count: 60, sum: 18_000 });
    w.tick();
    // Merged: 40 in (0,100], 60 in (200,400]; rank 50 → 200 + 200 · 10/60.
    expect(w.value('p50')).toBeCloseTo(200 + 200 / 6, 9);
    expect(w.value('count')).toBe(100);
    w.at(71 * S).tick();
    expect(w.value('p50')).toBeUndefined();
    expect(w.value('count')).toBeUndefined();
  });

  it('accumulates delta histograms', () => {
    const w = new World({ count: { metric: 'd', stat: 'count', window: '5m' } });
    const st = w.stream(desc('d', 'histogram', 'ms', { temporality: 'delta' }));
    const s = w.series(st);
    const bounds = [10];
    w.at(0).histogram(st, s, { bounds, bucketCounts: [1, 1], count: 2, sum: 30 });
    w.tick();
    w.at(5 * S).histogram(st, s, { bounds, bucketCounts: [3, 0], count: 3, sum: 9 });
    w.tick();
    w.at(10 * S).histogram(st, s, { bounds, bucketCounts: [0, 4], count: 4, sum: 80 });
    w.tick();
    // The first accumulated point began before vigil: a baseline; the next two deltas count.
    expect(w.value('count')).toBe(7);
  });

  it('skips histograms of the push scope: their raw values come through observe()', () => {
    const w = new World({ count: { metric: 'lat', stat: 'count', window: '5m' } });
    const st = w.stream(desc('lat', 'histogram', 'ms'), 'svc', 'vigil.push');
    const s = w.series(st);
    const bounds = [10];
    w.at(0).histogram(st, s, { bounds, bucketCounts: [0, 0], count: 0, sum: 0 });
    w.tick();
    w.at(5 * S).histogram(st, s, { bounds, bucketCounts: [3, 0], count: 3, sum: 9 });
    w.engine.observe(st.resource, 'lat', 'ms', [], [1, 2, 6], w.now);
    w.tick();
    expect(w.value('count')).toBe(3);
  });
});

describe('SignalEngine > raw observations', () => {
  const qs = { p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99 } as const;
  const signals: SignalsInput = {
    ...Object.fromEntries(Object.keys(qs).map((p) => [p, { metric: 'lat', stat: p, window: '5m' }])),
    min: { metric: 'lat', stat: 'min', window: '5m' },
    max: { metric: 'lat', stat: 'max', window: '5m' },
    avg: { metric: 'lat', stat: 'avg', window: '5m' },
    count: { metric: 'lat', stat: 'count', window: '5m' },
    sum: { metric: 'lat', stat: 'sum', window: '5m' },
    rate: { metric: 'lat', stat: 'rate', window: '5m' },
    p95_s: { metric: 'lat', stat: 'p95', window: '5m', unit: 's' },
    max_s: { metric: 'lat', stat: 'max', window: '5m', unit: 's' },
  };

  it('gives percentiles within 1% of the exact order statistic on 100k lognormal samples, exact min/max', () => {
    const w = new World(signals);
    const r = w.resource('pricing');
    const values = lognormal(100_000, 42);
    // Ten pushes over 50 s: ten slots merged per query.
    for (let i = 0; i < 10; i++) {
      w.at(i * 5 * S).engine.observe(r, 'lat', 'ms', [], values.slice(i * 10_000, (i + 1) * 10_000), w.now);
      w.tick();
    }
    const sorted = [...values].sort((a, b) => a - b);
    for (const [stat, q] of Object.entries(qs)) {
      const exact = sorted[Math.floor(q * (sorted.length - 1))]!;
      const got = w.value(stat)!;
      expect(Math.abs(got - exact) / exact, stat).toBeLessThanOrEqual(ALPHA);
    }
    expect(w.value('min')).toBe(sorted[0]);
    expect(w.value('max')).toBe(sorted[sorted.length - 1]);
    expect(w.value('count')).toBe(100_000);
    expect(w.value('rate')).toBeCloseTo(100_000 / 300, 9);
    const sum = values.reduce((a, b) => a + b, 0);
    expect(w.value('sum')).toBeCloseTo(sum, 3);
    expect(w.value('avg')).toBeCloseTo(sum / 100_000, 9);
    const exact95 = sorted[Math.floor(0.95 * (sorted.length - 1))]!;
    expect(Math.abs(w.value('p95_s')! - exact95 / 1000) / (exact95 / 1000)).toBeLessThanOrEqual(ALPHA);
    expect(w.value('max_s')).toBeCloseTo(sorted[sorted.length - 1]! / 1000, 12);
  });

  it('slides: observations older than the window disappear, count-like stats of a live stream are 0', () => {
    const w = new World(signals);
    const r = w.resource('pricing');
    w.at(0).engine.observe(r, 'lat', 'ms', [], [1000, 2000], w.now);
    w.tick();
    w.at(60 * S).engine.observe(r, 'lat', 'ms', [], [10, 20], w.now);
    w.tick();
    expect(w.value('max')).toBe(2000);
    expect(w.value('count')).toBe(4);
    w.at(5 * M + 5 * S).tick(); // the slot at 0 s has left the window
    expect(w.value('max')).toBe(20);
    expect(w.value('count')).toBe(2);
    w.at(6 * M + 5 * S).tick();
    expect(w.value('max')).toBeUndefined();
    expect(w.value('p50')).toBeUndefined();
    expect(w.value('count')).toBe(0);
    expect(w.value('rate')).toBe(0);
    // Idle past the longest window (plus two slots): the stream is forgotten.
    w.at(6 * M + 15 * S).tick();
    expect(w.engine.trackerCount).toBe(0);
    expect(w.value('count')).toBeUndefined();
  });

  it('ignores observations of metrics no signal reads', () => {
    const w = new World(signals);
    expect(w.engine.wants('lat')).toBe(true);
    expect(w.engine.wants('other')).toBe(false);
    w.engine.observe(w.resource('x'), 'other', 'ms', [], [1], w.now);
    expect(w.engine.trackerCount).toBe(0);
  });

  it('groups observations by point and resource attributes', () => {
    const w = new World({
      p50: { metric: 'lat', stat: 'p50', window: '5m', by: ['service.name', 'http.route'] },
    });
    w.engine.observe(w.resource('a'), 'lat', 'ms', ['http.route', '/x'], [10, 10, 10], w.now);
    w.engine.observe(w.resource('a'), 'lat', 'ms', ['http.route', '/y'], [20, 20, 20], w.now);
    w.engine.observe(w.resource('b'), 'lat', 'ms', ['http.route', '/x'], [30, 30, 30], w.now);
    w.tick();
    const g = w.groups('p50');
    expect(Object.keys(g).sort()).toEqual([
      'http.route=/x,service.name=a',
      'http.route=/x,service.name=b',
      'http.route=/y,service.name=a',
    ]);
    expect(g['http.route=/x,service.name=a']).toBeCloseTo(10, 0);
    expect(g['http.route=/y,service.name=a']).toBeCloseTo(20, 0);
    expect(g['http.route=/x,service.name=b']).toBeCloseTo(30, 0);
  });

  it('keeps sketches of different units apart: a group keeps the first unit it saw', () => {
    const w = new World({ p50_ms: { metric: 'lat', stat: 'p50', window: '5m', unit: 'ms' } });
    w.engine.observe(w.resource('a'), 'lat', 's', [], [0.1, 0.1, 0.1], w.now);
    w.engine.observe(w.resource('b'), 'lat', 'ms', [], [900, 900, 900], w.now);
    w.tick();
    expect(Math.abs(w.value('p50_ms')! - 100) / 100).toBeLessThanOrEqual(ALPHA);
  });
});

describe('SignalEngine > exponential histograms', () => {
  const signals: SignalsInput = {
    p50: { metric: 'rpc.duration', stat: 'p50', window: '5m' },
    p90: { metric: 'rpc.duration', stat: 'p90', window: '5m' },
    p95: { metric: 'rpc.duration', stat: 'p95', window: '5m' },
    p95_s: { metric: 'rpc.duration', stat: 'p95', window: '5m', unit: 's' },
    min: { metric: 'rpc.duration', stat: 'min', window: '5m' },
    max: { metric: 'rpc.duration', stat: 'max', window: '5m' },
    count: { metric: 'rpc.duration', stat: 'count', window: '5m' },
  };
  const SCALE = 3;
  const base = 2 ** (2 ** -SCALE);
  /** The value the engine stands for bucket `i`: the harmonic midpoint of (base^i, base^(i+1)]. */
  const mid = (i: number) => (2 * base ** i * base) / (1 + base);

  function point(counts: Record<number, number>, zero = 0): ExpHistogramPoint {
    const idx = Object.keys(counts).map(Number);
    const offset = idx.length > 0 ? Math.min(...idx) : 0;
    const top = idx.length > 0 ? Math.max(...idx) : -1;
    const arr: number[] = [];
    for (let i = offset; i <= top; i++) arr.push(counts[i] ?? 0);
    const count = arr.reduce((a, b) => a + b, zero);
    let sum = 0;
    for (const i of idx) sum += mid(i) * counts[i]!;
    return {
      startMs: APP_START,
      timeMs: T0,
      count,
      sum,
      min: NaN,
      max: NaN,
      scale: SCALE,
      zeroCount: zero,
      zeroThreshold: 0,
      positive: { offset, counts: arr },
      negative: { offset: 0, counts: [] },
    };
  }

  function apply(w: World, st: MetricStream, s: Series, p: ExpHistogramPoint) {
    expect(applyExpHistogram(st, s, { ...p, timeMs: w.now }, w.now)).toBeNull();
  }

  const near = (got: number | undefined, want: number) => {
    expect(got).toBeDefined();
    expect(Math.abs(got! - want) / want).toBeLessThanOrEqual(ALPHA);
  };

  it('turns the growth between successive cumulative points into observations', () => {
    const w = new World(signals);
    const st = w.stream(desc('rpc.duration', 'exponential_histogram', 'ms'));
    const s = w.series(st);
    // 53 → ~99 ms, 60 → ~181 ms, 70 → ~431 ms.
    w.at(0);
    apply(w, st, s, point({ 53: 1000, 70: 1000 }));
    w.tick();
    // The first point is only a baseline: a live stream with no observations yet.
    expect(w.value('count')).toBe(0);
    expect(w.value('p50')).toBeUndefined();
    w.at(5 * S);
    apply(w, st, s, point({ 53: 1050, 60: 40, 70: 1010 }));
    w.tick();
    expect(w.value('count')).toBe(100);
    near(w.value('p50'), mid(53));
    near(w.value('p90'), mid(60));
    near(w.value('p95'), mid(70));
    near(w.value('p95_s'), mid(70) / 1000);
    near(w.value('min'), mid(53));
    near(w.value('max'), mid(70));
    // Within half a bucket of the true values (~4.3% at scale 3).
    expect(Math.abs(w.value('p50')! - 100) / 100).toBeLessThan(0.05);
  });

  it('counts zero-bucket growth as observations of 0, and a reset only as a new baseline', () => {
    const w = new World(signals);
    const st = w.stream(desc('rpc.duration', 'exponential_histogram', 'ms'));
    const s = w.series(st);
    w.at(0);
    apply(w, st, s, point({ 60: 10 }, 5));
    w.tick();
    w.at(5 * S);
    apply(w, st, s, point({ 60: 12 }, 8));
    w.tick();
    expect(w.value('count')).toBe(5);
    expect(w.value('min')).toBe(0);
    // A lower count is a restart: nothing is added from it.
    w.at(10 * S);
    apply(w, st, s, { ...point({ 60: 1 }), startMs: T0 + 9 * S });
    w.tick();
    expect(w.value('count')).toBe(5);
    w.at(15 * S);
    apply(w, st, s, { ...point({ 60: 4 }), startMs: T0 + 9 * S });
    w.tick();
    expect(w.value('count')).toBe(8);
  });

  // Regression: a point at a coarser scale (the SDK downscales as values spread) was only a new
  // baseline, so the observations of that interval were lost.
  it('keeps the growth across a scale change by downscaling the previous point', () => {
    const w = new World(signals);
    const st = w.stream(desc('rpc.duration', 'exponential_histogram', 'ms'));
    const s = w.series(st);
    w.at(0);
    apply(w, st, s, point({ 52: 10, 53: 10 }));
    w.tick();
    w.at(5 * S);
    // Scale 2: old buckets 52, 53 are bucket 26; 20 more observations land there.
    apply(w, st, s, { ...point({}), scale: SCALE - 1, count: 40, positive: { offset: 26, counts: [40] } });
    w.tick();
    expect(w.value('count')).toBe(20);
  });

  it('counts the first point in full when the histogram started after vigil', () => {
    const w = new World(signals);
    const st = w.stream(desc('rpc.duration', 'exponential_histogram', 'ms'));
    const s = w.series(st);
    w.at(5 * S);
    apply(w, st, s, { ...point({ 53: 7 }), startMs: w.now - 1000 });
    w.tick();
    expect(w.value('count')).toBe(7);
  });

  it('handles buckets below 1 (negative indices), e.g. seconds converted to ms', () => {
    const w = new World({ p50_ms: { metric: 'rpc.duration', stat: 'p50', window: '5m', unit: 'ms' } });
    const st = w.stream(desc('rpc.duration', 'exponential_histogram', 's'));
    const s = w.series(st);
    w.at(0);
    apply(w, st, s, point({}));
    w.tick();
    w.at(5 * S);
    apply(w, st, s, point({ [-27]: 3 })); // (0.0964, 0.1051] s
    w.tick();
    near(w.value('p50_ms'), mid(-27) * 1000);
    expect(Math.abs(w.value('p50_ms')! - 100) / 100).toBeLessThan(0.05);
  });
});

describe('SignalEngine > summaries', () => {
  it('answers percentiles and avg from the latest point of a single summary, in the asked unit', () => {
    const w = new World({
      p99: { metric: 'gc.pause', stat: 'p99', window: '5m' },
      avg: { metric: 'gc.pause', stat: 'avg', window: '5m' },
      p99_ms: { metric: 'gc.pause', stat: 'p99', window: '5m', unit: 'ms' },
      avg_ms: { metric: 'gc.pause', stat: 'avg', window: '5m', unit: 'ms' },
      p90: { metric: 'gc.pause', stat: 'p90', window: '5m' },
    });
    const st = w.stream(desc('gc.pause', 'summary', 's'));
    const s = w.series(st);
    expect(
      applySummary(
        s,
        {
          startMs: APP_START,
          timeMs: T0,
          count: 10,
          sum: 2,
          quantiles: [
            [0.5, 0.1],
            [0.99, 0.75],
          ],
        },
        w.now,
      ),
    ).toBeNull();
    w.tick();
    expect(w.value('p99')).toBe(0.75);
    expect(w.value('avg')).toBe(0.2);
    expect(w.value('avg_ms')).toBe(200);
    // Regression: the summary's quantile was returned in seconds although `unit: ms` was asked.
    expect(w.value('p99_ms')).toBe(750);
    expect(w.value('p90')).toBeUndefined(); // no such quantile in the point
  });
});

describe('SignalEngine > by and where', () => {
  function world(signals: SignalsInput) {
    const w = new World(signals);
    const add = (service: string, route: string, status: string, extra: string[] = []) => {
      const st = w.stream(desc('http.requests', 'sum'), service, 'app', extra);
      return { st, s: w.series(st, ['http.route', route, 'http.response.status_code', status]) };
    };
    const series = [
      { ...add('pricing', '/odds', '200', ['deployment.environment', 'prod']), inc: 10 },
      { ...add('pricing', '/odds', '500', ['deployment.environment', 'prod']), inc: 1 },
      { ...add('pricing', '/markets', '200', ['deployment.environment', 'prod']), inc: 100 },
      { ...add('feed', '/odds', '200', ['deployment.environment', 'staging']), inc: 1000 },
    ];
    for (const x of series) w.at(0).number(x.st, x.s, 5);
    w.tick();
    for (const x of series) w.at(5 * S).number(x.st, x.s, 5 + x.inc);
    w.tick();
    return w;
  }

  it('groups by a resource attribute (service.name)', () => {
    const w = world({ r: { metric: 'http.requests', stat: 'increase', by: ['service.name'] } });
    expect(w.groups('r')).toEqual({ 'service.name=pricing': 111, 'service.name=feed': 1000 });
  });

  it('groups by point attributes, and by several keys at once (labels sorted by key)', () => {
    const w = world({
      r: { metric: 'http.requests', stat: 'increase', by: ['http.route'] },
      rs: { metric: 'http.requests', stat: 'increase', by: ['service.name', 'http.route'] },
    });
    expect(w.groups('r')).toEqual({ 'http.route=/odds': 1011, 'http.route=/markets': 100 });
    expect(w.groups('rs')).toEqual({
      'http.route=/odds,service.name=pricing': 11,
      'http.route=/markets,service.name=pricing': 100,
      'http.route=/odds,service.name=feed': 1000,
    });
    const labels = w.engine.signal('rs').map((s) => s.labels);
    expect(labels).toContainEqual(['http.route', '/odds', 'service.name', 'feed']);
  });

  it('puts series without the attribute in the group with an empty value', () => {
    const w = world({ r: { metric: 'http.requests', stat: 'increase', by: ['tenant'] } });
    expect(w.groups('r')).toEqual({ 'tenant=': 1111 });
  });

  it('filters with where: exact values, numbers, resource attributes', () => {
    const w = world({
      odds: { metric: 'http.requests', stat: 'increase', where: { 'http.route': '/odds' } },
      ok: { metric: 'http.requests', stat: 'increase', where: { 'http.response.status_code': 200 } },
      prod_odds: {
        metric: 'http.requests',
        stat: 'increase',
        where: { 'deployment.environment': 'prod', 'http.route': '/odds' },
      },
      none: { metric: 'http.requests', stat: 'increase', where: { 'http.route': '/nope' } },
    });
    expect(w.value('odds')).toBe(1011);
    expect(w.value('ok')).toBe(1110);
    expect(w.value('prod_odds')).toBe(11);
    expect(w.value('none')).toBeUndefined();
  });

  it('filters with ~regex, anchored as PromQL =~', () => {
    const w = world({
      errors: { metric: 'http.requests', stat: 'increase', where: { 'http.response.status_code': '~5..' } },
      o_routes: { metric: 'http.requests', stat: 'increase', where: { 'http.route': '~/o.*' } },
      unanchored: { metric: 'http.requests', stat: 'increase', where: { 'http.route': '~odds' } },
      alt: { metric: 'http.requests', stat: 'increase', where: { 'service.name': '~feed|pricing' } },
    });
    expect(w.value('errors')).toBe(1);
    expect(w.value('o_routes')).toBe(1011);
    expect(w.value('unanchored')).toBeUndefined();
    expect(w.value('alt')).toBe(1111);
  });
});

describe('SignalEngine > ratios', () => {
  const signals: SignalsInput = {
    hit_rate: {
      ratio: {
        numerator: { metric: 'cache.operations', stat: 'increase', window: '5m', where: { result: 'hit' } },
        denominator: { metric: 'cache.operations', stat: 'increase', window: '5m' },
      },
    },
    hit_rate_by: {
      ratio: {
        numerator: {
          metric: 'cache.operations',
          stat: 'increase',
          window: '5m',
          where: { result: 'hit' },
          by: ['service.name'],
        },
        denominator: { metric: 'cache.operations', stat: 'increase', window: '5m', by: ['service.name'] },
      },
    },
  };

  function cache(w: World, service: string, results: string[]) {
    const st = w.stream(desc('cache.operations', 'sum'), service);
    const series = new Map(results.map((r) => [r, w.series(st, ['result', r])]));
    return { set: (result: string, v: number) => w.number(st, series.get(result)!, v) };
  }

  it('divides the numerator by the denominator exactly (hits / operations)', () => {
    const w = new World(signals);
    const st = w.stream(desc('cache.operations', 'sum'));
    const hit = w.series(st, ['result', 'hit']);
    const miss = w.series(st, ['result', 'miss']);
    w.at(0).number(st, hit, 40);
    w.number(st, miss, 460);
    w.tick();
    w.at(90 * S).number(st, hit, 140);
    w.number(st, miss, 1360);
    w.tick();
    expect(w.value('hit_rate')).toBe(0.1);
    expect(w.engine.definitions()).toBeDefined();
    const def = [...w.engine.definitions()].find((d) => d.name === 'hit_rate')!;
    expect(def.unit).toBe('1');
    expect(def.ratio).toBe(true);
  });

  it('is 0 with traffic but no hits, whether or not a hit series exists', () => {
    const w = new World(signals);
    const st = w.stream(desc('cache.operations', 'sum'));
    const hit = w.series(st, ['result', 'hit']);
    const miss = w.series(st, ['result', 'miss']);
    w.at(0).number(st, hit, 7);
    w.number(st, miss, 0);
    w.tick();
    w.at(5 * S).number(st, hit, 7);
    w.number(st, miss, 50);
    w.tick();
    expect(w.value('hit_rate')).toBe(0);

    const w2 = new World(signals);
    const st2 = w2.stream(desc('cache.operations', 'sum'));
    const miss2 = w2.series(st2, ['result', 'miss']);
    w2.at(0).number(st2, miss2, 0);
    w2.tick();
    w2.at(5 * S).number(st2, miss2, 50);
    w2.tick();
    expect(w2.value('hit_rate')).toBe(0);
  });

  it('is absent without traffic (0 / 0) and without data', () => {
    const w = new World(signals);
    w.tick();
    expect(w.value('hit_rate')).toBeUndefined();
    const st = w.stream(desc('cache.operations', 'sum'));
    const hit = w.series(st, ['result', 'hit']);
    const miss = w.series(st, ['result', 'miss']);
    w.at(0).number(st, hit, 7);
    w.number(st, miss, 3);
    w.tick();
    w.at(5 * S).number(st, hit, 7);
    w.number(st, miss, 3);
    w.tick();
    expect(w.value('hit_rate')).toBeUndefined();
  });

  it('divides group by group', () => {
    const w = new World(signals);
    const a = cache(w, 'a', ['hit', 'miss']);
    const b = cache(w, 'b', ['miss']);
    w.at(0);
    a.set('hit', 0);
    a.set('miss', 0);
    b.set('miss', 0);
    w.tick();
    w.at(5 * S);
    a.set('hit', 3);
    a.set('miss', 1);
    b.set('miss', 10);
    w.tick();
    expect(w.groups('hit_rate_by')).toEqual({ 'service.name=a': 0.75, 'service.name=b': 0 });
    expect(w.value('hit_rate')).toBeCloseTo(3 / 14, 12);
  });
});

describe('SignalEngine > trends, baseline and reconfiguration', () => {
  const signals: SignalsInput = {
    depth: { metric: 'queue.depth', stat: 'last', window: '1m' },
    depth_by: { metric: 'queue.depth', stat: 'last', window: '1m', by: ['queue'] },
  };

  function fed(values: number[], sig: SignalsInput = signals) {
    const w = new World(sig);
    const st = w.stream(desc('queue.depth', 'gauge'));
    const a = w.series(st, ['queue', 'a']);
    values.forEach((v, i) => {
      w.at(i * 10 * S).number(st, a, v);
      w.tick();
    });
    return { w, st, a };
  }

  it('gives the 24h average of the signal as baseline(), per group', () => {
    const { w } = fed([10, 20, 30, 60]);
    expect(w.engine.baseline('depth')).toEqual([{ labels: [], value: 30 }]);
    expect(w.engine.baseline('depth_by')).toEqual([{ labels: ['queue', 'a'], value: 30 }]);
    expect(w.engine.baseline('nope')).toEqual([]);
    const [g] = [...w.engine.groupTrends('depth')];
    expect(g!.trend.buckets(w.now)).toEqual([{ startMs: T0, avg: 30, min: 10, max: 60, count: 4 }]);
  });

  it('adds to the trend only while the signal has a value', () => {
    const { w } = fed([10, 20]);
    w.at(5 * M).tick(); // absent now
    expect(w.value('depth')).toBeUndefined();
    const [g] = [...w.engine.groupTrends('depth')];
    expect(g!.trend.buckets(w.now)[0]!.count).toBe(2);
    expect(w.engine.baseline('depth')).toEqual([{ labels: [], value: 15 }]);
  });

  it('keeps trends and windows of unchanged signals on reconfigure, drops those of removed signals', () => {
    const { w, st, a } = fed([10, 20, 30, 60]);
    w.engine.configure(
      parseSignals({
        depth: { metric: 'queue.depth', stat: 'last', window: '1m' },
        depth_max: { metric: 'queue.depth', stat: 'max', window: '1m' },
      }),
    );
    expect(w.engine.baseline('depth')).toEqual([{ labels: [], value: 30 }]);
    expect(w.engine.signal('depth_by')).toEqual([]);
    expect(w.engine.baseline('depth_by')).toEqual([]);
    expect(w.engine.snapshotTrends()['depth_by']).toBeUndefined();
    // Same windows for queue.depth: its samples are still there for the new signal.
    w.at(35 * S).tick();
    expect(w.value('depth_max')).toBe(60);
    w.at(40 * S).number(st, a, 50);
    w.tick();
    expect(w.engine.baseline('depth')).toEqual([{ labels: [], value: (10 + 20 + 30 + 60 + 60 + 50) / 6 }]);
  });

  it('starts the windows of a metric afresh when its window sizing changes', () => {
    const { w } = fed([10, 20, 30, 60]);
    w.engine.configure(parseSignals({ depth: { metric: 'queue.depth', stat: 'count', window: '10m' } }));
    w.at(35 * S).tick();
    // The series has not changed since its last feed... but the new tracker is fed its current value once.
    expect(w.value('depth')).toBe(1);
    // The trend of a still-defined signal is kept.
    expect(w.engine.baseline('depth')).toEqual([{ labels: [], value: (10 + 20 + 30 + 60 + 1) / 5 }]);
  });

  it('round-trips trends through snapshotTrends / restoreTrends (via JSON)', () => {
    const { w } = fed([10, 20, 30, 60]);
    w.at(20 * M).tick();
    const snap = JSON.parse(JSON.stringify(w.engine.snapshotTrends())) as unknown;
    expect(Object.keys(snap as object).sort()).toEqual(['depth', 'depth_by']);

    const w2 = new World({
      ...signals,
      other: { metric: 'x', stat: 'last' },
    });
    w2.at(25 * M);
    const withExtra = { ...(snap as Record<string, unknown>), gone: [{ labels: [], trend: {} }] };
    expect(w2.engine.restoreTrends(withExtra, w2.now)).toBe(2);
    w2.tick();
    expect(w2.engine.baseline('depth')).toEqual([{ labels: [], value: 30 }]);
    expect(w2.engine.baseline('depth_by')).toEqual([{ labels: ['queue', 'a'], value: 30 }]);
    expect(w2.engine.snapshotTrends()['gone']).toBeUndefined();
    const [g] = [...w2.engine.groupTrends('depth_by')];
    expect(g!.labels).toEqual(['queue', 'a']);
    expect(g!.trend.buckets(w2.now)).toEqual([{ startMs: T0, avg: 30, min: 10, max: 60, count: 4 }]);
  });

  it('ignores malformed trend snapshots', () => {
    const w = new World(signals);
    expect(w.engine.restoreTrends(null, w.now)).toBe(0);
    expect(w.engine.restoreTrends('x', w.now)).toBe(0);
    expect(w.engine.restoreTrends({ depth: 'x' }, w.now)).toBe(0);
    expect(w.engine.restoreTrends({ depth: [{ labels: [1] }, { labels: 'a' }] }, w.now)).toBe(0);
  });
});
