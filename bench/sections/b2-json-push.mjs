// B2: JSON push of raw histogram observations into the real vigil: POST /api/v1/push over
// loopback with keep-alive connections, 1000 observations per request (10 items of 100 values,
// 10 attribute sets). No peer: no other sidecar takes this format.
import { Buffer } from 'node:buffer';
import { collectGarbage, median, QUICK, RUNS } from '../lib/measure.mjs';
import { loadFor, target } from '../lib/http-load.mjs';
import { profileVigil } from '../lib/profile.mjs';
import { BENCH_CONFIG, startVigil } from '../lib/vigil-process.mjs';

const CONNECTIONS = 4;
const ITEMS = 10;
const VALUES = 100;
const OBSERVATIONS = ITEMS * VALUES;
const BODIES = 20;
const WARMUP_MS = QUICK ? 500 : 2000;
const RUN_MS = QUICK ? 1000 : 2000;
const GOAL = 300_000;

export const METHOD =
  `B2: \`node dist/cli.js serve\` (listeners on 127.0.0.1:0, default views); ${BODIES} pre-encoded ` +
  `JSON bodies of ${ITEMS} histogram items × ${VALUES} values (lognormal-ish latencies in ms; ` +
  `http.server.request.duration over 10 routes), cycled on ${CONNECTIONS} keep-alive connections; ` +
  `${WARMUP_MS / 1000} s warm-up, then ${RUNS} runs of ${RUN_MS / 1000} s; every reply must accept all ` +
  'items.';

function bodies() {
  let seed = 1;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  return Array.from({ length: BODIES }, () => ({
    path: '/api/v1/push',
    body: Buffer.from(
      JSON.stringify({
        resource: { 'service.name': 'bench', 'service.instance.id': 'bench-1' },
        metrics: Array.from({ length: ITEMS }, (_, i) => ({
          name: 'http.server.request.duration',
          type: 'histogram',
          unit: 'ms',
          attributes: { 'http.route': `/api/v1/items/${i}`, 'http.response.status_code': 200 },
          values: Array.from({ length: VALUES }, () => Math.round(Math.exp(3 + 2 * rnd()) * 10) / 10),
        })),
      }),
    ),
  }));
}

const check = (_status, text) => {
  const reply = JSON.parse(text);
  return reply.accepted === OBSERVATIONS && reply.rejected === 0
    ? undefined
    : `partial: ${text.slice(0, 200)}`;
};

export async function run() {
  const requests = bodies();
  const drive = async (vigil, ms) => {
    const t = target(vigil.ingest, { contentType: 'application/json', connections: CONNECTIONS });
    try {
      return await loadFor(t, requests, ms, { pid: vigil.pid, check });
    } finally {
      t.agent.destroy();
    }
  };
  const vigil = await startVigil();
  const runs = [];
  let counted;
  try {
    let requestsSent = (await drive(vigil, WARMUP_MS)).requests;
    for (let r = 0; r < RUNS; r++) {
      collectGarbage();
      const l = await drive(vigil, RUN_MS);
      requestsSent += l.requests;
      runs.push({
        rate: (l.requests * OBSERVATIONS) / l.seconds,
        cores: l.serverCpu / l.seconds,
        own: l.ownCpu / l.seconds,
      });
    }
    // Accepted is not enough: every observation must be in the histograms vigil exposes.
    counted = await exposedCount(vigil);
    if (counted !== requestsSent * OBSERVATIONS)
      throw new Error(
        `B2: /metrics counts ${counted} observations, ${requestsSent * OBSERVATIONS} were accepted`,
      );
  } finally {
    await vigil.stop();
  }
  const rate = median(runs.map((x) => x.rate));
  const met = rate >= GOAL;
  const row = {
    bench: 'B2',
    workload: `POST /api/v1/push (loopback), histograms, ${OBSERVATIONS} observations/request`,
    unit: 'observations/s',
    vigil: runs.map((x) => x.rate),
    goal: { text: '≥ 0.30 M observations/s', met },
    notes: [
      `${(requests[0].body.length / 1024).toFixed(0)} KiB per request; vigil used ` +
        `${median(runs.map((x) => x.cores)).toFixed(2)} cores, the load generator ${median(runs.map((x) => x.own)).toFixed(2)}; ` +
        `afterwards /metrics counted all ${counted.toLocaleString('en-US')} observations pushed`,
    ],
  };
  if (!met) {
    if (!QUICK)
      row.profile = await profileVigil(BENCH_CONFIG, async (v) => {
        await drive(v, 1000);
        await drive(v, 2000);
      });
    row.close =
      'the SDK attribute lookup is once per item (src/ingest/sdk-bulk-record.ts); what is left is ' +
      'JSON.parse of the body, HTTP, the per-value checks and the signal sketch per value: a ' +
      'schema-specific JSON reader that validates values as it reads them would cut the first three.';
  }
  return [row];
}

/** The sum of the pushed histogram's `_count` samples on vigil's /metrics. */
async function exposedCount(vigil) {
  const text = await (await globalThis.fetch(`${vigil.metrics}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n'))
    if (line.startsWith('http_server_request_duration_milliseconds_count{'))
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}
