// B1: OTLP/protobuf ingest end to end: the real vigil process, POST /v1/metrics over loopback
// with keep-alive connections, requests of 1000 points cycling over 10k known series. The peer,
// measured in the load generator's process in slices between slices of load, is protobufjs
// decoding the same bytes: no HTTP and no store, so a floor rather than a like-for-like server.
//
// After the histogram variant, one real scrape: GET /metrics of the same vigil, now holding the
// 10k histogram series.
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { URL } from 'node:url';
import { countDecodedPoints, KINDS, makeDataset, otlpRequestType, POINTS_PER_REQUEST } from '../lib/data.mjs';
import { callFor, collectGarbage, median, ownCpuSeconds, QUICK, RUNS } from '../lib/measure.mjs';
import { profileVigil } from '../lib/profile.mjs';
import { BENCH_CONFIG, cpuAccount, startVigil } from '../lib/vigil-process.mjs';

/** Concurrent keep-alive connections: enough to keep vigil busy while a response is in flight. */
const CONNECTIONS = 4;
const WARMUP_MS = QUICK ? 1000 : 2000;
/**
 * A run alternates load and peer in slices: this machine's speed drifts within seconds, and
 * alternating keeps both sides of a run's ratio on the same footing.
 */
const SLICES = QUICK ? 2 : 4;
const LOAD_SLICE_MS = 500;
const PEER_SLICE_MS = 100;

export const METHOD =
  'B1: `node dist/cli.js serve` with its listeners on 127.0.0.1:0; every series sent once, ' +
  `${WARMUP_MS / 1000} s of warm-up load, then ${RUNS} runs of POST /v1/metrics on ${CONNECTIONS} ` +
  `keep-alive connections, each run ${SLICES} slices of ${LOAD_SLICE_MS} ms of load, each followed ` +
  `by ${PEER_SLICE_MS} ms of the protobufjs decode (no HTTP, no store) in the load generator ` +
  '(while vigil idles). vigil and the load generator share the machine. Then, in the histogram run, ' +
  `${RUNS} timed GET /metrics of the idle vigil after one untimed (which fills its label caches).`;

export async function run(kind) {
  const { rows, requests } = await measure(kind);
  if (!rows[0].goal.met) await profile(requests, rows[0]);
  return rows;
}

async function measure(kind) {
  const { requests } = await makeDataset(kind);
  const Request = otlpRequestType();
  const decodedPoints = countDecodedPoints(Request.decode(requests[0]));
  if (decodedPoints !== POINTS_PER_REQUEST) throw new Error(`protobufjs decoded ${decodedPoints} points`);

  const vigil = await startVigil();
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  try {
    const target = { agent, ...hostPort(vigil.ingest), path: '/v1/metrics' };
    // First sight of a series takes the decoder's slow path: create all 10k before timing.
    for (const body of requests) await post(target, body);
    await load(target, requests, WARMUP_MS, vigil.pid);

    const decode = (i) => Request.decode(requests[i % requests.length]);
    const runs = [];
    for (let r = 0; r < RUNS; r++) {
      collectGarbage();
      const sum = {
        requests: 0,
        seconds: 0,
        vigilCpu: 0,
        vigilWaited: 0,
        ownCpu: 0,
        peerCalls: 0,
        peerMs: 0,
      };
      for (let slice = 0; slice < SLICES; slice++) {
        const l = await load(target, requests, LOAD_SLICE_MS, vigil.pid);
        for (const k of ['requests', 'seconds', 'vigilCpu', 'vigilWaited', 'ownCpu']) sum[k] += l[k];
        const p = callFor(decode, PEER_SLICE_MS, sum.peerCalls);
        sum.peerCalls += p.calls;
        sum.peerMs += p.ms;
      }
      runs.push({
        pointsPerSec: (sum.requests * POINTS_PER_REQUEST) / sum.seconds,
        vigilCores: sum.vigilCpu / sum.seconds,
        vigilWaited: sum.vigilWaited / sum.seconds,
        clientCores: sum.ownCpu / sum.seconds,
        peerPointsPerSec: (sum.peerCalls * POINTS_PER_REQUEST) / (sum.peerMs / 1000),
      });
    }
    const notes = [
      `${CONNECTIONS} keep-alive connections, ${(requests[0].length / 1024).toFixed(0)} KiB per request`,
    ];
    const vigilCores = median(runs.map((x) => x.vigilCores));
    if (!Number.isNaN(vigilCores)) {
      const perCpuSecond = median(runs.map((x) => x.pointsPerSec / x.vigilCores));
      const waited = median(runs.map((x) => x.vigilWaited));
      notes.push(
        `vigil used ${vigilCores.toFixed(2)} cores (${fmtPoints(perCpuSecond)} per CPU-second), ` +
          `the load generator ${median(runs.map((x) => x.clientCores)).toFixed(2)}`,
        `vigil's event loop was runnable but waiting for a CPU ${(waited * 100).toFixed(0)}% of the time`,
      );
    }
    const goalRate = kind === 'numbers' ? 1_000_000 : 300_000;
    const rate = median(runs.map((x) => x.pointsPerSec));
    const ratio = median(runs.map((x) => x.pointsPerSec / x.peerPointsPerSec));
    const rows = [
      {
        goal: {
          text: `≥ ${(goalRate / 1e6).toFixed(2)} M points/s, ≥ 2x the decode alone`,
          met: rate >= goalRate && ratio >= 2,
        },
        bench: 'B1',
        workload: `POST /v1/metrics (loopback), 1000 points/request, ${KINDS[kind]}`,
        unit: 'points/s',
        vigil: runs.map((x) => x.pointsPerSec),
        peer: { name: 'protobufjs decode (in-process)', runs: runs.map((x) => x.peerPointsPerSec) },
        notes,
      },
    ];
    if (kind === 'histograms') rows.push(...(await scrapes(vigil.metrics)));
    return { rows, requests };
  } finally {
    agent.destroy();
    await vigil.stop();
  }
}

/** For a missed goal: the same load on a vigil under --cpu-prof; its top frames. */
async function profile(requests, row) {
  if (!QUICK)
    row.profile = await profileVigil(BENCH_CONFIG, async (v) => {
      const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
      try {
        const target = { agent, ...hostPort(v.ingest), path: '/v1/metrics' };
        for (const body of requests) await post(target, body);
        await load(target, requests, 3000, v.pid);
      } finally {
        agent.destroy();
      }
    });
  row.close =
    'vigil is bound by one core (its event loop; the load generator takes much of the other). ' +
    "Its top frame applies a known request: stores into the request's 1000 series (of 10k), " +
    'memory-bound (the same code runs about twice as fast in a process that does nothing else); ' +
    "then the reply's writev (the kernel's loopback send) and HTTP parsing. Series state in flat " +
    'arrays per stream would cut the memory traffic; decoding on a worker thread would use the ' +
    'second core, but on this 2-core machine the load generator needs it too.';
}

function hostPort(url) {
  const { hostname, port } = new URL(url);
  return { host: hostname, port: Number(port) };
}

/** One POST; resolves with the status and the response's size (0 when every point was accepted). */
function post(target, body) {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        ...target,
        method: 'POST',
        headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': body.length },
      },
      (res) => {
        let bytes = 0;
        res.on('data', (chunk) => (bytes += chunk.length));
        res.on('end', () => {
          // A rejection (or partial success) means the run measured something else: stop here.
          if (res.statusCode !== 200 || bytes !== 0)
            reject(new Error(`vigil answered ${res.statusCode} with a ${bytes}-byte body`));
          else resolve();
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Posts `bodies` in turn on CONNECTIONS connections for `ms` milliseconds (requests under way
 * then finish, on the clock). The requests made, the seconds they took, and the CPU seconds vigil
 * and this process used meanwhile.
 */
async function load(target, bodies, ms, pid) {
  let next = 0;
  let requests = 0;
  const t0 = performance.now();
  const deadline = t0 + ms;
  const vigil0 = cpuAccount(pid);
  const ownCpu0 = ownCpuSeconds();
  const connection = async () => {
    while (performance.now() < deadline) {
      await post(target, bodies[next++ % bodies.length]);
      requests++;
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, connection));
  const seconds = (performance.now() - t0) / 1000;
  const vigil1 = cpuAccount(pid);
  return {
    requests,
    seconds,
    vigilCpu: vigil1 ? vigil1.cpu - vigil0.cpu : NaN,
    vigilWaited: vigil1 ? vigil1.waited - vigil0.waited : NaN,
    ownCpu: ownCpuSeconds() - ownCpu0,
  };
}

/** GET /metrics, timed from the request to the last byte; the body's size on the wire. */
function scrape(url, headers) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(url, { headers }, (res) => {
      let bytes = 0;
      res.on('data', (chunk) => (bytes += chunk.length));
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`GET /metrics answered ${res.statusCode}`));
        else resolve({ ms: performance.now() - t0, bytes });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Scrapes of the idle vigil: plain text, and what Prometheus asks for (OpenMetrics, gzip). */
async function scrapes(metricsUrl) {
  const url = `${metricsUrl}/metrics`;
  const kinds = [
    { what: 'text', headers: {} },
    {
      what: 'OpenMetrics + gzip',
      headers: {
        Accept: 'application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4',
        'Accept-Encoding': 'gzip',
      },
    },
  ];
  // The first scrape fills vigil's label caches; time the steady state.
  await scrape(url, {});
  const results = kinds.map(() => []);
  for (let r = 0; r < RUNS; r++) {
    for (const [k, { headers }] of kinds.entries()) results[k].push(await scrape(url, headers));
  }
  return kinds.map(({ what }, k) => ({
    bench: 'B1',
    workload: `GET /metrics (real scrape), 10k histograms, ${what}`,
    unit: 'ms',
    vigil: results[k].map((x) => x.ms),
    notes: [
      `${(median(results[k].map((x) => x.bytes)) / 1024 / 1024).toFixed(1)} MiB on the wire; ` +
        `includes vigil's own telemetry series`,
    ],
  }));
}

const fmtPoints = (points) => `${(points / 1e6).toFixed(2)} M points`;
