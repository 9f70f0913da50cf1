// B5: memory per active counter series: the real vigil and a real Pushgateway, each fresh, given
// the same 100k counter series by Prometheus text push (10 groups of 10k series); the growth of
// the process's resident set, divided by the series. vigil's V8 heap growth (its own
// vigil_process_memory_usage gauge, no forced GC) alongside.
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
const SETTLE_MS = QUICK ? 1000 : 1500;
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
  `B5: ${RUNS} runs, each with a fresh vigil and a fresh Pushgateway (in memory); each gets a small ` +
  `warm-up push, ${SETTLE_MS} ms to settle, its VmRSS read; then ${SERIES / 1000}k counter series ` +
  `(${GROUPS} PUTs of ${FAMILIES} families × ${PER_FAMILY} series, 3 labels) as Prometheus text, ` +
  `${SETTLE_MS} ms to settle, VmRSS again: (after − before) / series. No GC is forced in either ` +
  "(Go's GC lets its heap reach ~2x live data; V8's is similar in spirit).";

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
    await sleep(SETTLE_MS);
    const rss1 = rssBytes(server.pid);
    const heap1 = isVigil ? await heapUsed(server) : NaN;
    return { rss: (rss1 - rss0) / SERIES, heap: (heap1 - heap0) / SERIES, total: rss1 };
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
    const vigil = await startVigil(CONFIG);
    try {
      v.push(await measure({ url: vigil.ingest, pid: vigil.pid, metrics: vigil.metrics }, true));
    } finally {
      await vigil.stop();
    }
    const pgw = await startPushgateway();
    try {
      p.push(await measure({ url: pgw.url, pid: pgw.pid }, false));
    } finally {
      await pgw.stop();
    }
  }
  const perSeries = median(v.map((x) => x.rss));
  const mib = (b) => `${(b / 1024 / 1024).toFixed(0)} MiB`;
  const row = {
    bench: 'B5',
    workload: `memory per active counter series, ${SERIES / 1000}k series (text push), RSS growth`,
    unit: 'bytes/series',
    vigil: v.map((x) => x.rss),
    peer: { name: `Pushgateway ${pushgatewayVersion()}`, runs: p.map((x) => x.rss) },
    goal: {
      text: `≤ ${GOAL_BYTES} bytes/series`,
      met: perSeries <= GOAL_BYTES,
      quick: "the goal is for 100k series; 10k are dominated by the runtime's start-up growth",
    },
    notes: [
      `vigil's V8 heap_used growth ${median(v.map((x) => x.heap)).toFixed(0)} bytes/series`,
      `RSS after: vigil ${mib(median(v.map((x) => x.total)))}, the Pushgateway ${mib(median(p.map((x) => x.total)))}`,
    ],
  };
  if (!row.goal.met && !QUICK) {
    row.profile = [
      'live heap growth per series by kind (heap snapshots before and after, self sizes):',
    ].concat(await heapProfile());
    row.close =
      "the RSS growth is about twice the live heap growth when V8 keeps the burst's garbage: vigil " +
      'compacts the heap after a burst of new series (README "Memory per series"), so a miss means ' +
      'the compaction had not finished when RSS was read, or left pages sparse. Live heap: each ' +
      'series is a Series object with three boxed double times, its key string and a Map entry ' +
      'in its stream. Closing it further needs series kept columnar (typed arrays of values and ' +
      'times indexed by series number); V8 flags that trade speed for memory ' +
      '(--optimize-for-size, a smaller young generation) halve histogram ingest (B1).';
  }
  return [row];
}
