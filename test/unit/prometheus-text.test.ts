import { describe, expect, it } from 'vitest';
import { labelName, metricName, prometheusFamily } from '../../src/export/prometheus-naming.js';
import {
  escapeLabelValue,
  expHistogramBuckets,
  negotiateFormat,
  writeExposition,
} from '../../src/export/prometheus-text.js';
import { applyHistogram, applyNumber } from '../../src/store/apply.js';
import { Store } from '../../src/store/store.js';
import type { HistogramPoint, MetricDescriptor } from '../../src/store/types.js';

/** OTel → Prometheus naming and the exposition writer, on a real store. */

const desc = (over: Partial<MetricDescriptor>): MetricDescriptor => ({
  name: 'm',
  unit: '',
  description: '',
  kind: 'gauge',
  monotonic: false,
  temporality: 'cumulative',
  ...over,
});

describe('metricName (otlptranslator with suffixes)', () => {
  it.each([
    [
      { name: 'http.server.request.duration', unit: 's', kind: 'histogram' },
      'http_server_request_duration_seconds',
    ],
    [{ name: 'stream.events', unit: '', kind: 'sum', monotonic: true }, 'stream_events_total'],
    [{ name: 'jobs.total', unit: '', kind: 'sum', monotonic: true }, 'jobs_total'],
    [{ name: 'inflight', unit: '{request}', kind: 'sum', monotonic: false }, 'inflight'],
    [{ name: 'process.cpu.utilization', unit: '1', kind: 'gauge' }, 'process_cpu_utilization_ratio'],
    [{ name: 'cache.size', unit: 'By', kind: 'gauge' }, 'cache_size_bytes'],
    [{ name: 'net.io', unit: 'By/s', kind: 'gauge' }, 'net_io_bytes_per_second'],
    [{ name: 'latency_seconds', unit: 's', kind: 'histogram' }, 'latency_seconds'],
    [{ name: '9lives', unit: '', kind: 'gauge' }, '_9lives'],
    [{ name: 'disk.usage', unit: '%', kind: 'gauge' }, 'disk_usage_percent'],
  ] as const)('%o → %s', (d, want) => {
    expect(metricName(desc(d))).toBe(want);
  });

  it('keeps a pushed Prometheus name verbatim', () => {
    const d = desc({
      name: 'jobs',
      kind: 'sum',
      monotonic: true,
      prometheus: { name: 'jobs', type: 'counter' },
    });
    expect(prometheusFamily(d)).toEqual({ name: 'jobs', type: 'counter' });
  });
});

describe('labelName', () => {
  it.each([
    ['http.route', 'http_route'],
    ['2xx', 'key_2xx'],
    ['_private', 'key_private'],
    ['__proto__', '__proto__'],
    ['a-b/c', 'a_b_c'],
  ])('%s → %s', (key, want) => {
    expect(labelName(key)).toBe(want);
  });
});

describe('escaping and negotiation', () => {
  it('escapes backslash, quote and newline in label values', () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    expect(escapeLabelValue('plain')).toBe('plain');
  });

  it('picks OpenMetrics only when the scraper lists it with a non-zero weight', () => {
    expect(negotiateFormat(undefined).openMetrics).toBe(false);
    expect(
      negotiateFormat('application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5')
        .openMetrics,
    ).toBe(true);
    expect(negotiateFormat('application/openmetrics-text;q=0,text/plain').openMetrics).toBe(false);
  });
});

describe('expHistogramBuckets', () => {
  it('turns exponential buckets into increasing cumulative le bounds, negatives and zeros first', () => {
    const buckets = expHistogramBuckets({
      startMs: 0,
      timeMs: 0,
      count: 6,
      sum: 0,
      min: NaN,
      max: NaN,
      scale: 0,
      zeroCount: 1,
      zeroThreshold: 0,
      positive: { offset: 0, counts: [2, 0, 1] }, // (1,2] ×2, (4,8] ×1
      negative: { offset: 1, counts: [2] }, // (-4,-2] ×2
    });
    expect(buckets).toEqual([
      [-2, 2],
      [0, 3],
      [2, 5],
      [8, 6],
    ]);
  });
});

async function exposition(store: Store, openMetrics = false): Promise<string> {
  let text = '';
  await writeExposition(store, { write: (c) => void (text += c) }, { openMetrics });
  return text;
}

describe('writeExposition', () => {
  const newStore = () =>
    new Store({
      limits: { maxSeries: 100, maxSeriesPerMetric: 100, seriesTtlMs: 60_000 },
      clock: () => 1000,
      familyOf: prometheusFamily,
    });

  it('writes job/instance, scope labels, one target_info per source, and # EOF for OpenMetrics', async () => {
    const store = newStore();
    const r = store.resource([
      'service.name',
      'pricing',
      'service.namespace',
      'shop',
      'service.instance.id',
      'p-1',
      'region',
      'eu',
    ]);
    const st = store.stream(
      r,
      { name: 'app', version: '1.2' },
      desc({ name: 'quotes', kind: 'sum', monotonic: true }),
    );
    if (typeof st === 'string') throw new Error(st);
    const s = store.series(st, null, ['http.route', '/odds']);
    if (typeof s === 'string') throw new Error(s);
    applyNumber(st, s, 1, 1, 42, 1000);
    const text = await exposition(store);
    expect(text).toContain(
      'quotes_total{job="shop/pricing",instance="p-1",otel_scope_name="app",otel_scope_version="1.2",http_route="/odds"} 42\n',
    );
    expect(text).toContain('# TYPE quotes_total counter\n');
    expect(text).toContain('target_info{job="shop/pricing",instance="p-1",region="eu"} 1\n');
    const om = await exposition(store, true);
    expect(om).toContain('# TYPE quotes counter\n');
    expect(om.endsWith('# EOF\n')).toBe(true);
  });

  it('skips a series that holds no point yet', async () => {
    const store = newStore();
    const st = store.stream(
      store.resource(['service.name', 'x']),
      { name: '', version: '' },
      desc({ name: 'g' }),
    );
    if (typeof st === 'string') throw new Error(st);
    store.series(st, null, []);
    expect(await exposition(store)).toBe('');
  });

  /** A store of `n` gauge series, each a line of ~40 characters. */
  function gauges(n: number): Store {
    const store = new Store({
      limits: { maxSeries: n + 10, maxSeriesPerMetric: n + 10, seriesTtlMs: 60_000 },
      clock: () => 1000,
      familyOf: prometheusFamily,
    });
    const st = store.stream(
      store.resource(['service.name', 'x']),
      { name: '', version: '' },
      desc({ name: 'g' }),
    );
    if (typeof st === 'string') throw new Error(st);
    for (let i = 0; i < n; i++) {
      const s = store.series(st, null, ['i', String(i)]);
      if (typeof s === 'string') throw new Error(s);
      applyNumber(st, s, 1, 1, i, 1000);
    }
    return store;
  }

  it('writes no more while the sink holds enough, and goes on once it wants more', async () => {
    // A scraper reading slower than vigil writes: the socket's write() returns false, and
    // vigil used to queue the rest of the exposition in memory regardless.
    const store = gauges(2000);
    const whole = await exposition(store);
    let text = '';
    let release: (() => void) | undefined;
    const writing = writeExposition(
      store,
      {
        write: (c) => {
          text += c;
          return new Promise<void>((resolve) => (release = resolve));
        },
      },
      { openMetrics: false, chunkChars: 1000 },
    );
    for (let chunk = 1; chunk <= 3; chunk++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      // One chunk per release: nothing more is produced while the sink waits.
      expect(text.length).toBeGreaterThan(1000 * chunk - 1);
      expect(text.length).toBeLessThan(1000 * chunk + 100);
      release!();
    }
    const done = (async () => {
      for (;;) {
        await new Promise((resolve) => setImmediate(resolve));
        release?.();
        if (text.length === whole.length) return;
      }
    })();
    await Promise.all([writing, done]);
    expect(text).toBe(whole);
  });

  it('stops once the sink is closed (the scraper went away)', async () => {
    const store = gauges(2000);
    let text = '';
    const sink = {
      closed: false,
      write(c: string): void {
        text += c;
        if (text.length > 3000) this.closed = true;
      },
    };
    await writeExposition(store, sink, { openMetrics: false, chunkChars: 1000 });
    expect(text.length).toBeLessThan(3000 + 1100);
  });

  // Regression guard for the per-layout `le` cache: a new bucket layout renders its own bounds.
  it('renders the current bounds after a histogram changes its bucket layout', async () => {
    const store = newStore();
    const st = store.stream(
      store.resource(['service.name', 'x']),
      { name: '', version: '' },
      desc({ name: 'h', unit: 's', kind: 'histogram' }),
    );
    if (typeof st === 'string') throw new Error(st);
    const s = store.series(st, null, []);
    if (typeof s === 'string') throw new Error(s);
    const point = (bounds: number[], counts: number[], timeMs: number): HistogramPoint => ({
      startMs: 1,
      timeMs,
      count: counts.reduce((a, b) => a + b, 0),
      sum: 1,
      min: NaN,
      max: NaN,
      bounds,
      bucketCounts: counts,
    });
    expect(applyHistogram(st, s, point([1, 2], [1, 1, 0], 10), 1000)).toBeNull();
    expect(await exposition(store)).toContain('h_seconds_bucket{job="x",le="2"} 2\n');
    expect(applyHistogram(st, s, point([1, 2], [2, 1, 0], 20), 1000)).toBeNull();
    expect(await exposition(store)).toContain('h_seconds_bucket{job="x",le="1"} 2\n');
    expect(applyHistogram(st, s, point([0.5, 5], [1, 1, 1], 30), 1000)).toBeNull();
    const text = await exposition(store);
    expect(text).toContain('h_seconds_bucket{job="x",le="0.5"} 1\n');
    expect(text).toContain('h_seconds_bucket{job="x",le="5"} 2\n');
    expect(text).not.toContain('le="2"');
    expect(text).toContain('h_seconds_bucket{job="x",le="+Inf"} 3\n');
  });
});
