// B6: detection latency on the real process: the time from pushing the first slow requests to
// `vigil_rule_state{rule="HIGH_P95_LATENCY"} 2` on /metrics, with `for: 0` and the default 1 s
// evaluation interval. /metrics is polled every 20 ms, so figures carry up to 20 ms of polling.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { startVigil } from '../lib/vigil-process.mjs';
import { median, RUNS } from '../lib/measure.mjs';

const POLL_MS = 20;

const CONFIG = `listeners:
  ingest: 127.0.0.1:0
  api: 127.0.0.1:0
  metrics: 127.0.0.1:0
log:
  level: info
evaluation_interval: 1s
signals:
  http_p95_ms: {metric: http.server.request.duration, stat: p95, window: 5m, unit: ms}
rules:
  - {name: HIGH_P95_LATENCY, severity: warning, expr: http_p95_ms > 1500}
`;

export const METHOD =
  `B6: ${RUNS} fresh vigil processes (evaluation_interval 1s, HIGH_P95_LATENCY with for: 0); each ` +
  'gets healthy traffic for 2 s, then one JSON push of 200 observations of 2–3 s; the clock starts ' +
  `before that push and stops when a GET /metrics (polled every ${POLL_MS} ms) shows the rule's state 2.`;

async function push(vigil, values) {
  const res = await globalThis.fetch(`${vigil.ingest}/api/v1/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      resource: { 'service.name': 'pricing' },
      metrics: [{ name: 'http.server.request.duration', type: 'histogram', unit: 'ms', values }],
    }),
  });
  if (res.status !== 200) throw new Error(`push answered ${res.status}`);
}

async function firing(vigil) {
  const text = await (await globalThis.fetch(`${vigil.metrics}/metrics`)).text();
  return /^vigil_rule_state\{[^}]*rule="HIGH_P95_LATENCY"[^}]*\} 2$/m.test(text);
}

export async function run() {
  const latencies = [];
  for (let r = 0; r < RUNS; r++) {
    const vigil = await startVigil(CONFIG);
    try {
      const healthy = Array.from({ length: 20 }, (_, i) => 50 + i * 10);
      for (let i = 0; i < 10; i++) {
        await push(vigil, healthy);
        await sleep(200);
      }
      if (await firing(vigil)) throw new Error('fired on healthy traffic');
      // Random phase against the evaluation tick, as in production.
      await sleep(Math.random() * 1000);
      const slow = Array.from({ length: 200 }, (_, i) => 2000 + i * 5);
      const t0 = performance.now();
      await push(vigil, slow);
      while (!(await firing(vigil))) {
        if (performance.now() - t0 > 30_000) throw new Error('HIGH_P95_LATENCY never fired');
        await sleep(POLL_MS);
      }
      latencies.push(performance.now() - t0);
    } finally {
      await vigil.stop();
    }
  }
  return [
    {
      bench: 'B6',
      workload: 'detection latency: first slow point to vigil_rule_state 2 on /metrics (for: 0)',
      unit: 'ms',
      vigil: latencies,
      peer: { name: 'Prometheus, 15 s scrape + 15 s eval', figure: 'not run' },
      goal: { text: '≤ 1500 ms median', met: median(latencies) <= 1500 },
      notes: [
        `runs ${latencies.map((x) => x.toFixed(0)).join(', ')} ms; the evaluation tick (1 s) bounds it: ` +
          'expected ~0.5 s on average, ≤ 1 s plus a scrape',
        'peer not run (time): a real Prometheus scraping every 15 s and evaluating every 15 s needs a ' +
          'scrape after the push and then an evaluation: 0–30 s, ~15 s on average, by construction',
      ],
    },
  ];
}
