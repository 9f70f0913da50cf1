// B7: reliability report generation from live state, in-process: 1k series over 10 metrics,
// 50 signals and 50 rules, after the engines have ticked. What is timed is buildReport() — what
// GET /api/v2/diagnostics/reliability does per request — and, apart, one evaluation tick.
import { performance } from 'node:perf_hooks';
import { parseConfigText } from '../../dist/config/load.js';
import { prometheusFamily } from '../../dist/export/prometheus-naming.js';
import { buildReport } from '../../dist/report/reliability-report.js';
import { RuleEngine } from '../../dist/rules/rule-engine.js';
import { SignalEngine } from '../../dist/signals/signal-engine.js';
import { SourceHealth } from '../../dist/signals/source-health.js';
import { applyHistogram } from '../../dist/store/apply.js';
import { Store } from '../../dist/store/store.js';
import { collectGarbage, median, QUICK } from '../lib/measure.mjs';
import { profileInProcess } from '../lib/profile.mjs';

const REPORTS = QUICK ? 200 : 500;
const WARMUP_MS = QUICK ? 300 : 1000;
const METRICS = 10;
const SERIES_PER_METRIC = 100;
const SIGNALS = 50;
const STATS = ['p95', 'p99', 'avg', 'rate', 'count'];

export const METHOD =
  `B7: a Store with ${METRICS} histogram metrics × ${SERIES_PER_METRIC} series (10 services × 10 routes), ` +
  `${SIGNALS} signals (p95/p99/avg/rate/count, half grouped by service.name) and ${SIGNALS} rules, ` +
  `fed for 60 simulated seconds; a forced GC, then ${WARMUP_MS} ms of untimed reports, then ` +
  `${REPORTS} buildReport() calls (include_traces=false and true ` +
  'alternating), timed one by one; p50 and p99 reported. The seed platform reported 2,400 ms per ' +
  'report (its own documentation, not run here).';

function config() {
  const lines = ['signals:'];
  for (let i = 0; i < SIGNALS; i++) {
    const by = i % 2 === 0 ? ', by: [service.name]' : '';
    lines.push(
      `  s${i}: {metric: m${i % METRICS}.duration, stat: ${STATS[i % STATS.length]}, window: 5m${by}}`,
    );
  }
  lines.push('rules:');
  for (let i = 0; i < SIGNALS; i++)
    lines.push(`  - {name: R${i}, severity: warning, expr: s${i} > ${i % 3 === 0 ? 0 : 1e9}}`);
  const loaded = parseConfigText(lines.join('\n'), 'b7.yaml');
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  return loaded.config;
}

export async function run() {
  const cfg = config();
  let now = 1_800_000_000_000;
  const clock = () => now;
  const store = new Store({
    limits: { maxSeries: 10_000, maxSeriesPerMetric: 10_000, seriesTtlMs: 3_600_000 },
    clock,
    familyOf: prometheusFamily,
  });
  const signals = new SignalEngine({ store, clock, observedScope: 'vigil.push' });
  const sources = new SourceHealth(cfg.sources);
  signals.configure(cfg.signals, sources.measures());
  const rules = new RuleEngine();
  rules.configure(cfg.rules);
  const bounds = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];
  const series = [];
  for (let m = 0; m < METRICS; m++) {
    for (let i = 0; i < SERIES_PER_METRIC; i++) {
      const r = store.resource(['service.name', `svc-${i % 10}`]);
      const desc = {
        name: `m${m}.duration`,
        unit: 'ms',
        description: '',
        kind: 'histogram',
        monotonic: false,
        temporality: 'cumulative',
      };
      const stream = store.stream(r, { name: 'app', version: '1' }, desc);
      const s = store.series(stream, null, ['http.route', `/r${Math.floor(i / 10)}`]);
      series.push({ stream, s, counts: new Array(bounds.length + 1).fill(0), count: 0, sum: 0 });
    }
  }
  const tickMs = [];
  for (let step = 0; step < 60; step++) {
    for (const x of series) {
      for (let k = 0; k < 5; k++) {
        const v = 20 + ((step * 7 + k * 13) % 400);
        const b = bounds.findIndex((u) => v <= u);
        x.counts[b < 0 ? bounds.length : b]++;
        x.count++;
        x.sum += v;
      }
      applyHistogram(
        x.stream,
        x.s,
        {
          startMs: 1,
          timeMs: now,
          count: x.count,
          sum: x.sum,
          min: NaN,
          max: NaN,
          bounds,
          bucketCounts: x.counts.slice(),
        },
        now,
      );
    }
    const t0 = performance.now();
    signals.tick(now);
    sources.tick(signals, now);
    rules.evaluate(signals, now);
    tickMs.push(performance.now() - t0);
    now += 1000;
  }
  if (store.size !== METRICS * SERIES_PER_METRIC) throw new Error(`store holds ${store.size} series`);
  const input = (includeTraces) => ({
    nowMs: now,
    startedMs: now - 60_000,
    windowMs: cfg.sources.window,
    signals,
    rules,
    sources: sources.list(),
    sections: {},
    ingest: { accepted_points: 0, rejected_points: 0, series: store.size },
    exporters: { otlp: { state: 'disabled', last_success: null } },
    includeTraces,
  });
  // The forced GC first, then the warm-up: the slowest timed reports (6–8 ms, against a p50 of
  // ~1.4) were the first dozen after a forced GC (code and heap settling again), which a server
  // does not do between two reports.
  collectGarbage();
  const warmEnd = performance.now() + WARMUP_MS;
  for (let i = 0; i < 50 || performance.now() < warmEnd; i++) JSON.stringify(buildReport(input(i % 2 === 0)));
  const times = [];
  let firing = 0;
  for (let i = 0; i < REPORTS; i++) {
    const t0 = performance.now();
    const report = JSON.stringify(buildReport(input(i % 2 === 1)));
    times.push(performance.now() - t0);
    if (i === 0) firing = JSON.parse(report).anomalies.length;
  }
  times.sort((a, b) => a - b);
  const p99 = times[Math.floor(times.length * 0.99)];
  const row = {
    bench: 'B7',
    workload: `report generation (incl. JSON), 1k series, ${SIGNALS} signals, ${SIGNALS} rules: p99`,
    unit: 'ms',
    vigil: [p99],
    peer: { name: "the seed's report (documented)", figure: '2400 ms' },
    goal: { text: '≤ 5 ms p99', met: p99 <= 5 },
    notes: [
      `p50 ${median(times).toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${times[times.length - 1].toFixed(2)} ms over ${REPORTS} reports; ${firing} anomalies firing`,
      `one evaluation tick (feed 1k series, 50 signals, sources, 50 rules): median ${median(tickMs.slice(10)).toFixed(2)} ms`,
      "the seed platform's report took 2,400 ms (documented, not run)",
    ],
  };
  if (!row.goal.met) {
    if (!QUICK)
      row.profile = await profileInProcess(async () => {
        for (let i = 0; i < 200; i++) JSON.stringify(buildReport(input(i % 2 === 1)));
      });
    row.close =
      'p50 is well under the goal and p99 is several times p50, so the tail is occasional: GC of ' +
      'the report objects and strings, or this shared machine; caching the report between ' +
      'evaluation ticks (its inputs only change on a tick) would make nearly every request a copy.';
  }
  return [row];
}
