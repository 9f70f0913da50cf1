import { describe, expect, it } from 'vitest';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { prometheusFamily } from '../../src/export/prometheus-naming.js';
import { SignalEngine } from '../../src/signals/signal-engine.js';
import { SOURCE_STATUS_VALUE, SourceHealth, type SourceState } from '../../src/signals/source-health.js';
import { applyHistogram } from '../../src/store/apply.js';
import { Store } from '../../src/store/store.js';

const T0 = 1_700_000_400_000;
const S = 1000;
const M = 60 * S;
const METRIC = 'http.server.request.duration';

type SourcesInput = NonNullable<ConfigInput['sources']>;

/** A store, a signal engine and the sources' SLA judge, on one injected clock. */
function setup(sources: SourcesInput = {}) {
  let now = T0;
  const clock = () => now;
  const store = new Store({
    limits: { maxSeries: 10_000, maxSeriesPerMetric: 1_000, seriesTtlMs: 60 * M },
    clock,
    familyOf: prometheusFamily,
  });
  const engine = new SignalEngine({ store, clock, observedScope: 'vigil.push' });
  const health = new SourceHealth(configSchema.parse({ sources }).sources);
  engine.configure({}, health.measures());
  const h = {
    store,
    engine,
    health,
    now: () => now,
    at(ms: number) {
      now = T0 + ms;
      return h;
    },
    /** Raw request durations (ms) from `service`, with point attributes. */
    requests(service: string, values: number[], attrs: string[] = [], resource: string[] = []) {
      engine.observe(
        store.resource(['service.name', service, ...resource]),
        METRIC,
        'ms',
        attrs,
        values,
        now,
      );
      return h;
    },
    ok(service: string, n: number, ms = 50) {
      return h.requests(service, Array<number>(n).fill(ms), ['http.response.status_code', '200']);
    },
    failed(service: string, n: number, ms = 50) {
      return h.requests(service, Array<number>(n).fill(ms), ['http.response.status_code', '503']);
    },
    tick() {
      engine.tick(now);
      health.tick(engine, now);
      return h;
    },
    state(name: string): SourceState {
      const s = health.list().find((x) => x.name === name);
      if (s === undefined) throw new Error(`no source ${name}`);
      return s;
    },
  };
  return h;
}

describe('SourceHealth > HEALTHY', () => {
  it('reports requests, success rate, latency percentiles, streak and last seen', () => {
    const h = setup({ sla: { p95: '1s', min_success_rate: 0.9, max_consecutive_failures: 3 } });
    h.at(2 * S)
      .requests('pricing', [10, 20, 30, 40], ['http.response.status_code', '200'])
      .tick();
    expect(h.health.list()).toEqual([
      {
        name: 'pricing',
        status: 'HEALTHY',
        requests: 4,
        success_rate: 1,
        latency_ms: {
          // The sketch's quantile is the order statistic of rank ⌊q·(n−1)⌋, within 1%.
          p50: expect.closeTo(20, -0.4) as number,
          p90: expect.closeTo(30, -0.4) as number,
          p95: expect.closeTo(30, -0.4) as number,
          p99: expect.closeTo(30, -0.4) as number,
        },
        consecutive_failures: 0,
        last_seen: new Date(T0 + 2 * S).toISOString(),
        reasons: [],
      },
    ]);
    expect(SOURCE_STATUS_VALUE).toEqual({ HEALTHY: 0, DEGRADED: 1, FAILED: 2 });
  });

  it('lists every source, sorted by name, and ignores data without the source attribute', () => {
    const h = setup();
    h.ok('zeta', 1).ok('alpha', 1).ok('mid', 1);
    // No service.name attribute (the resource identity's unknown_service is not an attribute).
    h.engine.observe(h.store.resource(['host.name', 'h']), METRIC, 'ms', [], [1], h.now());
    h.tick();
    expect(h.health.list().map((s) => s.name)).toEqual(['alpha', 'mid', 'zeta']);
  });

  it('stays HEALTHY below min_requests, whatever the figures', () => {
    const h = setup({ sla: { min_success_rate: 0.99, p95: '10ms', min_requests: 20 } });
    h.failed('pricing', 5, 5000).ok('pricing', 14, 5000).tick();
    expect(h.state('pricing')).toMatchObject({ status: 'HEALTHY', requests: 19, reasons: [] });
    expect(h.state('pricing').success_rate).toBeCloseTo(14 / 19, 12);
    h.at(1 * S)
      .ok('pricing', 1, 5000)
      .tick();
    expect(h.state('pricing').status).toBe('DEGRADED');
  });

  it('reports nothing when disabled', () => {
    const h = setup({ enabled: false });
    expect(h.health.measures()).toEqual([]);
    h.ok('pricing', 3).tick();
    expect(h.health.list()).toEqual([]);
  });
});

describe('SourceHealth > DEGRADED', () => {
  it('on a success rate below min_success_rate', () => {
    const h = setup({ sla: { min_success_rate: 0.9 } });
    h.ok('pricing', 80).requests('pricing', Array<number>(20).fill(50), ['error.type', 'timeout']).tick();
    const s = h.state('pricing');
    expect(s.status).toBe('DEGRADED');
    expect(s.requests).toBe(100);
    expect(s.success_rate).toBe(0.8);
    expect(s.reasons).toEqual(['success rate 0.8 below 0.9']);
  });

  it('on p95 above its threshold', () => {
    const h = setup({ sla: { p95: '300ms', p99: '10s' } });
    h.ok('pricing', 100, 500).tick();
    expect(h.state('pricing')).toMatchObject({
      status: 'DEGRADED',
      latency_ms: { p95: 500, p99: 500 },
      reasons: ['p95 500 ms above 300 ms'],
    });
  });

  it('on p99 above its threshold while p95 is fine', () => {
    const h = setup({ sla: { p95: '1s', p99: '1s' } });
    h.ok('pricing', 97, 100).ok('pricing', 3, 2000).tick();
    const s = h.state('pricing');
    expect(s.status).toBe('DEGRADED');
    expect(s.latency_ms.p95).toBe(100);
    expect(Math.abs(s.latency_ms.p99! - 2000) / 2000).toBeLessThanOrEqual(0.01);
    expect(s.reasons).toHaveLength(1);
    expect(s.reasons[0]).toMatch(/^p99 \d+(\.\d{1,3})? ms above 1000 ms$/);
  });

  it('lists every reason at once', () => {
    const h = setup({ sla: { p95: '100ms', p99: '100ms', min_success_rate: 0.5 } });
    h.failed('pricing', 10, 900).tick();
    expect(h.state('pricing').reasons).toEqual([
      'success rate 0 below 0.5',
      'p95 900 ms above 100 ms',
      'p99 900 ms above 100 ms',
    ]);
  });

  it('judges latency in ms whatever the metric unit (OTLP histograms in seconds)', () => {
    const h = setup({ sla: { p95: '500ms' } });
    const st = h.store.stream(
      h.store.resource(['service.name', 'feed']),
      { name: 'otel', version: '' },
      {
        name: METRIC,
        unit: 's',
        description: '',
        kind: 'histogram',
        monotonic: false,
        temporality: 'cumulative',
      },
    );
    if (typeof st === 'string') throw new Error(st);
    const s = h.store.series(st, null, ['http.response.status_code', '200']);
    if (typeof s === 'string') throw new Error(s);
    const bounds = [0.25, 0.5, 1];
    const point = (counts: number[], sum: number) => ({
      startMs: T0 - M,
      timeMs: h.now(),
      count: counts.reduce((a, b) => a + b, 0),
      sum,
      min: NaN,
      max: NaN,
      bounds,
      bucketCounts: counts,
    });
    applyHistogram(st, s, point([0, 0, 0, 0], 0), h.now());
    h.tick();
    h.at(5 * S);
    applyHistogram(st, s, point([0, 0, 10, 0], 8), h.now());
    h.tick();
    const state = h.state('feed');
    expect(state.requests).toBe(10);
    expect(state.latency_ms.p95).toBeCloseTo(975, 9); // 500 + 500 · 9.5/10
    expect(state.status).toBe('DEGRADED');
  });
});

describe('SourceHealth > FAILED', () => {
  it('counts consecutive failures across ticks and fails at max_consecutive_failures', () => {
    const h = setup({ sla: { max_consecutive_failures: 3 } });
    h.at(1 * S)
      .failed('dex-uni', 2)
      .tick();
    expect(h.state('dex-uni')).toMatchObject({ status: 'HEALTHY', consecutive_failures: 2 });
    h.at(2 * S).tick(); // no new requests: the streak holds
    expect(h.state('dex-uni')).toMatchObject({ status: 'HEALTHY', consecutive_failures: 2 });
    h.at(3 * S)
      .failed('dex-uni', 1)
      .tick();
    expect(h.state('dex-uni')).toMatchObject({
      status: 'FAILED',
      consecutive_failures: 3,
      reasons: ['3 consecutive failures (max 3)'],
    });
    h.at(4 * S)
      .ok('dex-uni', 1)
      .tick();
    expect(h.state('dex-uni')).toMatchObject({ status: 'HEALTHY', consecutive_failures: 0 });
  });

  // Regression: a reload built a new SourceHealth and every streak restarted from 0.
  it('keeps streaks across a reload (carryOver)', () => {
    const h = setup({ sla: { max_consecutive_failures: 3 } });
    h.at(1 * S)
      .failed('dex-uni', 2)
      .tick();
    const reloaded = new SourceHealth(
      configSchema.parse({ sources: { sla: { max_consecutive_failures: 3 } } }).sources,
    );
    reloaded.carryOver(h.health);
    h.at(2 * S).failed('dex-uni', 1);
    h.engine.tick(h.now());
    reloaded.tick(h.engine, h.now());
    expect(reloaded.list().find((x) => x.name === 'dex-uni')).toMatchObject({
      status: 'FAILED',
      consecutive_failures: 3,
    });
  });

  it('ends the streak on an interval with any success', () => {
    const h = setup({ sla: { max_consecutive_failures: 3 } });
    h.at(1 * S)
      .failed('a', 2)
      .tick();
    h.at(2 * S)
      .failed('a', 5)
      .ok('a', 1)
      .tick();
    expect(h.state('a').consecutive_failures).toBe(0);
    expect(h.state('a').status).toBe('HEALTHY');
  });

  it('takes precedence over DEGRADED and needs no min_requests', () => {
    const h = setup({ sla: { max_consecutive_failures: 2, min_requests: 100, min_success_rate: 0.9 } });
    h.failed('a', 2).tick();
    expect(h.state('a')).toMatchObject({ status: 'FAILED', requests: 2, success_rate: 0 });
  });

  it('tracks streaks per source', () => {
    const h = setup({ sla: { max_consecutive_failures: 2 } });
    h.at(1 * S)
      .failed('a', 2)
      .ok('b', 3)
      .tick();
    expect(h.state('a').status).toBe('FAILED');
    expect(h.state('b').status).toBe('HEALTHY');
  });
});

describe('SourceHealth > what a failure is', () => {
  it('a request failed when error.type is set, or when http.response.status_code >= 500', () => {
    const h = setup();
    h.requests('s', [1], ['error.type', 'timeout'])
      .requests('s', [1], ['error.type', ''])
      .requests('s', [1], ['http.response.status_code', '500'])
      .requests('s', [1], ['http.response.status_code', '599'])
      .requests('s', [1], ['http.response.status_code', '499'])
      .requests('s', [1], ['http.response.status_code', '404'])
      .requests('s', [1], ['http.response.status_code', 'oops'])
      .requests('s', [1], [])
      .tick();
    expect(h.state('s').requests).toBe(8);
    expect(h.state('s').success_rate).toBe(5 / 8);
  });

  it('takes the attributes and the status threshold from the config', () => {
    const h = setup({
      failure_attribute: 'outcome.error',
      status_attribute: 'rpc.code',
      failure_status_min: 400,
    });
    h.requests('s', [1], ['outcome.error', 'x'])
      .requests('s', [1], ['rpc.code', '404'])
      .requests('s', [1], ['error.type', 'ignored'])
      .requests('s', [1], ['http.response.status_code', '503'])
      .tick();
    expect(h.state('s').success_rate).toBe(0.5);
  });

  it('can name sources by another attribute (a point attribute such as collector)', () => {
    const h = setup({ attribute: 'collector' });
    h.requests('ingest', [1, 1], ['collector', 'binance'])
      .requests('ingest', [1], ['collector', 'twitter'])
      .requests('ingest', [1], [])
      .tick();
    expect(h.health.list().map((s) => [s.name, s.requests])).toEqual([
      ['binance', 2],
      ['twitter', 1],
    ]);
  });
});

describe('SourceHealth > presets', () => {
  const cfg: SourcesInput = {
    sla: { p95: '5s', min_success_rate: 0.5, max_consecutive_failures: 10 },
    presets: [
      { match: 'cex-*', p95: '100ms', max_consecutive_failures: 2 },
      { match: 'cex-kraken', p95: '10s' },
      { match: 'tw?tter', min_success_rate: 0.99 },
    ],
  };

  it('applies the first preset whose glob matches, unset keys falling back to sla', () => {
    const h = setup(cfg);
    expect(h.health.slaOf('cex-binance')).toEqual({
      p95: 100,
      min_success_rate: 0.5,
      max_consecutive_failures: 2,
    });
    expect(h.health.slaOf('cex-kraken').p95).toBe(100);
    expect(h.health.slaOf('twitter')).toEqual({
      p95: 5000,
      min_success_rate: 0.99,
      max_consecutive_failures: 10,
    });
    expect(h.health.slaOf('dex-uni')).toEqual({
      p95: 5000,
      min_success_rate: 0.5,
      max_consecutive_failures: 10,
    });
    // Globs are anchored and literal apart from * and ?.
    expect(h.health.slaOf('my-cex-x').p95).toBe(5000);
    expect(h.health.slaOf('twi.tter').min_success_rate).toBe(0.5);
  });

  it('judges each source by its own preset', () => {
    const h = setup(cfg);
    h.ok('cex-binance', 10, 300).ok('dex-uni', 10, 300).ok('twitter', 97).failed('twitter', 3).tick();
    expect(h.state('cex-binance').status).toBe('DEGRADED');
    expect(h.state('dex-uni').status).toBe('HEALTHY');
    expect(h.state('twitter').status).toBe('DEGRADED');
  });
});

describe('SourceHealth > window', () => {
  it('judges only the requests in the window', () => {
    const h = setup({ window: '1m', sla: { min_success_rate: 0.9 } });
    h.at(0).failed('a', 10).tick();
    expect(h.state('a').status).toBe('DEGRADED');
    h.at(30 * S)
      .ok('a', 10)
      .tick();
    expect(h.state('a').requests).toBe(20);
    h.at(61 * S).tick();
    expect(h.state('a')).toMatchObject({ status: 'HEALTHY', requests: 10, success_rate: 1 });
  });
});
