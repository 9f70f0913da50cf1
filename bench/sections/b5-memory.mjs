// B5: memory per active counter series: the real vigil and a real Pushgateway, each fresh, given
// the same 100k counter series by Prometheus text push (10 groups of 10k series); the growth of
// the process's resident set once settled, divided by the series, and the burst's peak beside
// it. vigil's V8 heap growth (its own vigil_process_memory_usage gauge, no forced GC) alongside.
import { Buffer } from 'node:buffer';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { median, QUICK } from '../lib/measure.mjs';
import { heapGrowth, heapKinds } from '../lib/profile.mjs';
import { send, target } from '../lib/http-load.mjs';
import { pushgatewayVersion, startPushgateway } from '../lib/pushgateway.mjs';
import { rssBytes, startVigil } from '../lib/vigil-process.mjs';

const SERIES = QUICK ? 10_000 : 100_000;
const GROUPS = 10;
const FAMILIES = 10;
const PER_FAMILY = SERIES / GROUPS / FAMILIES;
/** Each run starts two fresh processes and lets them settle: three runs, not five. */
const RUNS = QUICK ? 1 : 3;
/**
 * How long a process is left idle before its RSS is read, at start and after the push. V8's
 * memory reducer gives memory back ~17 s into idleness: vigil's start-up memory (RSS 79 → 68 MiB)
 * and the burst's (132 → 97 MiB). A baseline read before it (1.5 s, as this bench first did)
 * counted the start-up memory that V8 releases later as memory the series did not take: the
 * figure swung 548–606 bytes/series with whether the reducer ran during the push. Go's
 * scavenger, for the Pushgateway, returns memory more slowly still; it gets the same wait.
 */
const SETTLE_MS = QUICK ? 1000 : 25_000;
/** The burst's peak: RSS read this soon after the last push. */
const BURST_MS = 1500;
/**
 * Then the steady state of a scraped sidecar: a GET /metrics every SCRAPE_EVERY_MS, SCRAPES times,
 * RSS read each second through the last interval; its highest reading (a note beside the figure).
 */
const SCRAPE_EVERY_MS = QUICK ? 2000 : 15_000;
const SCRAPES = QUICK ? 2 : 4;
const GOAL_BYTES = 600;

const CONFIG = `listeners:
  ingest: 127.0.0.1:0
  api: 127.0.0.1:0
  metrics: 127.0.0.1:0
log:
  level: info
limits:
  max_request_bytes: 64MiB
  max_series: 400000
  max_series_per_metric: 100000
  series_ttl: 1h
`;

export const METHOD =
  `B5: ${RUNS} runs, each with a fresh vigil and a fresh Pushgateway (in memory, side by side); each ` +
  `gets a small warm-up push, ${SETTLE_MS / 1000} s idle, its VmRSS read; then ${SERIES / 1000}k ` +
  `counter series (${GROUPS} PUTs of ${FAMILIES} families × ${PER_FAMILY} series, 3 labels) as ` +
  `Prometheus text, VmRSS ${BURST_MS} ms after the last (the burst, a note), then one GET /metrics ` +
  `of each, and VmRSS after ${SETTLE_MS / 1000} s idle: (settled − before) / series; then a scrape every ` +
  `${SCRAPE_EVERY_MS / 1000} s (a note). No GC is forced by the bench in either ` +
  "(Go's GC lets its heap reach ~2x live data; V8's is similar in spirit); the wait lets each " +
  "process's own idle-time release run (V8's memory reducer ~17 s into idleness, vigil's idle " +
  "settle 2 s + 6 s after the scrape, Go's background scavenger).";

function body(group) {
  const lines = [];
  for (let f = 0; f < FAMILIES; f++) {
    const name = `bench_requests_${f}_total`;
    lines.push(`# TYPE ${name} counter`);
    for (let i = 0; i < PER_FAMILY; i++)
      lines.push(`${name}{route="/api/v1/items/${i}",method="GET",code="${200 + (i % 5)}"} ${i + group}`);
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}

const warm = Buffer.from('# TYPE bench_warm_total counter\nbench_warm_total{a="1"} 1\n');

async function heapUsed(vigil) {
  const text = await (await globalThis.fetch(`${vigil.metrics}/metrics`)).text();
  const m = /^vigil_process_memory_usage_bytes\{[^}]*kind="heap_used"[^}]*\} (\S+)$/m.exec(text);
  return m ? Number(m[1]) : NaN;
}

async function measure(server, isVigil) {
  const t = target(server.url, { method: 'PUT', contentType: 'text/plain', connections: 1 });
  try {
    await send(t, '/metrics/job/warm', warm);
    await sleep(SETTLE_MS);
    const rss0 = rssBytes(server.pid);
    const heap0 = isVigil ? await heapUsed(server) : NaN;
    for (let g = 0; g < GROUPS; g++) await send(t, `/metrics/job/bench/instance/i${g}`, body(g));
    await sleep(BURST_MS);
    const burst = rssBytes(server.pid);
    // Then a scrape, as every active series gets one: vigil keeps a series' label string from its
    // first scrape, and what a scrape leaves behind (a 10 MiB exposition's garbage, V8's young
    // generation grown by it) is part of a scraped sidecar's steady state.
    /** One GET /metrics; for vigil, its heap_used from that scrape (NaN for the Pushgateway). */
    const scrape = async () => {
      if (isVigil) return heapUsed(server);
      await (await globalThis.fetch(`${server.url}/metrics`)).text();
      return NaN;
    };
    const heap1 = await scrape();
    await sleep(SETTLE_MS - BURST_MS);
    const rss1 = rssBytes(server.pid);
    let scraped = 0;
    for (let s = 0; s < SCRAPES; s++) {
      const started = Date.now();
      await scrape();
      while (Date.now() - started < SCRAPE_EVERY_MS - 1000) {
        await sleep(1000);
        if (s === SCRAPES - 1) scraped = Math.max(scraped, rssBytes(server.pid));
      }
    }
    return {
      rss: (rss1 - rss0) / SERIES,
      burst: (burst - rss0) / SERIES,
      scraped: (scraped - rss0) / SERIES,
      heap: (heap1 - heap0) / SERIES,
      total: rss1,
    };
  } finally {
    t.agent.destroy();
  }
}

/** The same push into a vigil under heap snapshots: what its live heap grew by, per series. */
async function heapProfile() {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-heap-'));
  const vigil = await startVigil(CONFIG, {
    nodeArgs: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`],
  });
  try {
    const t = target(vigil.ingest, { method: 'PUT', contentType: 'text/plain', connections: 1 });
    try {
      await send(t, '/metrics/job/warm', warm);
      await heapUsed(vigil);
      const before = await heapKinds(vigil.pid, dir);
      for (let g = 0; g < GROUPS; g++) await send(t, `/metrics/job/bench/instance/i${g}`, body(g));
      await heapUsed(vigil); // a scrape, as in the measured runs: label strings are cached
      return heapGrowth(before, await heapKinds(vigil.pid, dir), SERIES);
    } finally {
      t.agent.destroy();
    }
  } finally {
    await vigil.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run() {
  const v = [];
  const p = [];
  for (let r = 0; r < RUNS; r++) {
    // Side by side, so that their idle waits overlap; the Pushgateway starts 5 s later, so that
    // its push comes after vigil's push and burst reading (~1–2 s) and the two do not share the
    // cores.
    const vigil = await startVigil(CONFIG);
    const pgw = await startPushgateway();
    try {
      const vigilDone = measure({ url: vigil.ingest, pid: vigil.pid, metrics: vigil.metrics }, true);
      await sleep(5000);
      const [vr, pr] = await Promise.all([vigilDone, measure({ url: pgw.url, pid: pgw.pid }, false)]);
      v.push(vr);
      p.push(pr);
    } finally {
      await vigil.stop();
      await pgw.stop();
    }
  }
  const perSeries = median(v.map((x) => x.rss));
  const mib = (b) => `${(b / 1024 / 1024).toFixed(0)} MiB`;
  const row = {
    bench: 'B5',
    workload: `memory per active counter series, ${SERIES / 1000}k series (text push), RSS growth, settled`,
    unit: 'bytes/series',
    vigil: v.map((x) => x.rss),
    peer: { name: `Pushgateway ${pushgatewayVersion()}`, runs: p.map((x) => x.rss) },
    goal: {
      text: `≤ ${GOAL_BYTES} bytes/series`,
      met: perSeries <= GOAL_BYTES,
      quick: "the goal is for 100k series; 10k are dominated by the runtime's start-up growth",
    },
    notes: [
      `the burst (RSS ${BURST_MS} ms after the push): vigil ${median(v.map((x) => x.burst)).toFixed(0)} ` +
        `bytes/series, the Pushgateway ${median(p.map((x) => x.burst)).toFixed(0)}`,
      `scraped every ${SCRAPE_EVERY_MS / 1000} s after that (${SCRAPES} scrapes; the highest RSS of the last ` +
        `interval): vigil ${median(v.map((x) => x.scraped)).toFixed(0)} bytes/series, the Pushgateway ` +
        `${median(p.map((x) => x.scraped)).toFixed(0)}`,
      `vigil's V8 heap_used growth ${median(v.map((x) => x.heap)).toFixed(0)} bytes/series`,
      `RSS after: vigil ${mib(median(v.map((x) => x.total)))}, the Pushgateway ${mib(median(p.map((x) => x.total)))}`,
    ],
  };
  if (!row.goal.met && !QUICK) {
    row.profile = [
      'live heap growth per series by kind (heap snapshots before and after, self sizes):',
    ].concat(await heapProfile());
    row.close =
      'the live heap is ~270 bytes/series and the rest is what V8 keeps beside it: its young ' +
      'generation (grown to 2 × 16 MiB by the push) and socket write buffers of the scrape, until ' +
      "a GC that V8's own memory reducer does not start for a sidecar that only scavenges. The " +
      'heap compactor\'s idle settle (README "Memory per series") gives them back once ingest ' +
      'and scrapes have been idle 2 s + 6 s; a miss means it did not run (limits.' +
      'compact_after_heap_growth: 0, or no idle spell) or the live heap grew. Next lever: an ' +
      'exposition writer that allocates less per series, so there is less to give back.';
  }
  return [row];
}
