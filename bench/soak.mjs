// vigil's soak test: `npm run soak -- --minutes N` (builds first).
//
//   node bench/soak.mjs [--minutes N | --seconds N] [--rate P] [--series-ttl S] [--out FILE]
//                       [--simulate-loss]
//
// Starts the real vigil (dist/cli.js) on port 0 with the repository's config.yaml (its signals,
// rules and sources) plus a soak signal and rule, `state.dir` in a temp dir and `limits.series_ttl`
// of S seconds (default 6), then runs for the given time a sustained mixed load from a child
// process (bench/lib/soak-load.mjs): OTLP/protobuf (cumulative), OTLP/JSON (delta), JSON push and
// Prometheus text push, about P points/s in all (default 2000), ~1% invalid requests, and series
// churn. Meanwhile it scrapes /metrics every second (vigil's event-loop lag, series), fetches the
// reliability report every 3 s and samples vigil's RSS (/proc/<pid>/status VmRSS) every 2 s.
// At the end it stops the load and checks that every pushed point is accounted for: each tracked
// counter series on /metrics equals what was pushed, vigil's accepted / rejected / request
// counters equal what the generator sent, churned series expired; then stops vigil (exit 0, state
// written). It prints a summary, writes it as JSON to FILE with --out, and exits 1 if any check
// failed or vigil crashed. --simulate-loss makes the generator count one increment it never sent:
// the run must then fail on that one series (the soak's self-test).
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, URL } from 'node:url';
import { parseArgs } from 'node:util';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { find, parseExposition } from './lib/exposition.mjs';
import { median } from './lib/measure.mjs';
import { exchange, quantile } from './lib/soak-http.mjs';
import { rssBytes, startVigil } from './lib/vigil-process.mjs';

const SCRAPE_EVERY_MS = 1000;
const REPORT_EVERY_MS = 3000;
const RSS_EVERY_MS = 2000;
const PROGRESS_EVERY_MS = 10_000;
/** Requests per lane per second is 1000 / INTERVAL_MS; points per request follow from --rate. */
const INTERVAL_MS = 250;
const LANES = 4;
/**
 * How long the final accounting may take to settle after the load stopped; at most half the
 * series TTL, since from then on the tracked series themselves start to expire.
 */
const SETTLE_MS = 10_000;
const MIB = 1024 * 1024;
const USAGE =
  'usage: npm run soak -- [--minutes N | --seconds N] [--rate P] [--series-ttl S] [--out FILE] [--simulate-loss]';
let options;
try {
  options = readOptions();
} catch (err) {
  process.stderr.write(`soak: ${err.message}\n${USAGE}\n`);
  process.exit(2);
}
const summary = await soak(options);
printSummary(summary);
if (options.out !== undefined) writeFileSync(options.out, `${JSON.stringify(summary, null, 2)}\n`);
process.exitCode = summary.ok ? 0 : 1;

function readOptions() {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string' },
      seconds: { type: 'string' },
      rate: { type: 'string', default: '2000' },
      'series-ttl': { type: 'string', default: '6' },
      out: { type: 'string' },
      'simulate-loss': { type: 'boolean', default: false },
    },
  });
  const number = (name, v, min) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min}, got ${v}`);
    return n;
  };
  if (values.minutes !== undefined && values.seconds !== undefined)
    throw new Error('give --minutes or --seconds, not both');
  const seconds =
    values.seconds !== undefined
      ? number('seconds', values.seconds, 5)
      : number('minutes', values.minutes ?? '1', 5 / 60) * 60;
  const rate = number('rate', values.rate, 200);
  const ttlS = number('series-ttl', values['series-ttl'], 3);
  // The tracked series are pushed every INTERVAL_MS whatever the rate: they never expire.
  const seriesPerLane = Math.max(1, Math.round(((rate / 4) * INTERVAL_MS) / 1000 / LANES));
  return {
    seconds,
    rate,
    ttlMs: ttlS * 1000,
    seriesPerLane,
    out: values.out,
    simulateLoss: values['simulate-loss'],
  };
}

/** config.yaml with its listeners on port 0, the soak's state.dir and TTL, and a soak rule. */
function soakConfig(stateDir, ttlMs) {
  const config = parseYaml(readFileSync(fileURLToPath(new URL('../config.yaml', import.meta.url)), 'utf8'));
  config.listeners = { ingest: '127.0.0.1:0', api: '127.0.0.1:0', metrics: '127.0.0.1:0' };
  config.log = { level: 'info' };
  config.limits = { ...config.limits, series_ttl: `${ttlMs}ms` };
  config.state = { dir: stateDir, snapshot_interval: '5s' };
  config.signals.soak_events_per_s = { metric: 'soak.json_push.events', stat: 'rate', window: '1m' };
  // Fires during the load: the rules and the state snapshot have an alert to carry.
  config.rules.push({
    name: 'SOAK_TRAFFIC',
    severity: 'info',
    expr: 'soak_events_per_s > 0',
    summary: 'soak load at {{value}} counter increments/s',
  });
  return stringifyYaml(config);
}

async function soak(opts) {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-soak-'));
  const stateDir = join(dir, 'state');
  const logs = { errors: 0, errorSamples: [], warn: 0 };
  const vigil = await startVigil(soakConfig(stateDir, opts.ttlMs), {
    onLog: (rec) => {
      if (rec.level >= 50) {
        logs.errors++;
        if (logs.errorSamples.length < 5) logs.errorSamples.push(rec.msg);
      } else if (rec.level === 40) logs.warn++;
    },
  });
  const t0 = performance.now();
  const elapsedS = () => (performance.now() - t0) / 1000;
  let crashed;
  let stopping = false;
  vigil.exited.then((code) => {
    if (!stopping) crashed = { exitCode: code, atS: Number(elapsedS().toFixed(1)) };
  });

  const samples = { rss: [], lagP99: [], lagMax: [], series: [] };
  const scrapes = { done: 0, failed: 0, latencies: [] };
  const reports = { done: 0, failed: 0, latencies: [], last: undefined };
  const agent = new Agent({ keepAlive: true, maxSockets: 2 });
  const rss0 = rssBytes(vigil.pid);

  const load = fork(fileURLToPath(new URL('./lib/soak-load.mjs', import.meta.url)), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let progress = { requests: 0, points: 0, errors: 0 };
  let loadGone = false;
  const done = new Promise((resolve, reject) => {
    load.on('message', (m) => {
      if (m.type === 'progress') progress = m;
      if (m.type === 'done') resolve(m);
    });
    load.on('exit', (code) => {
      loadGone = true;
      reject(new Error(`the load generator exited with ${code} before reporting`));
    });
  });
  done.catch(() => {}); // awaited below; a crash of vigil may come first
  load.send({
    cmd: 'start',
    ingest: vigil.ingest,
    lanes: LANES,
    intervalMs: INTERVAL_MS,
    seriesPerLane: opts.seriesPerLane,
    churnGenMs: Math.max(1000, opts.ttlMs / 3),
    simulateLoss: opts.simulateLoss,
  });

  const deadline = t0 + opts.seconds * 1000;
  const running = () => crashed === undefined && !loadGone && performance.now() < deadline;
  const every = async (ms, fn) => {
    for (let due = performance.now(); running(); due += ms) {
      await fn();
      // In short steps: a crash of vigil ends the run at once.
      while (running() && performance.now() < due + ms)
        await sleep(Math.min(100, due + ms - performance.now()));
    }
  };
  const scrape = async () => {
    try {
      const res = await exchange(agent, `${vigil.metrics}/metrics`);
      if (res.status !== 200) throw new Error(`answered ${res.status}`);
      scrapes.done++;
      scrapes.latencies.push(res.ms);
      const m = parseExposition(res.body.toString('utf8'));
      const own = { job: 'vigil' };
      const lag = (stat) => {
        const s = find(m, 'vigil_process_event_loop_delay_seconds', { ...own, stat })[0];
        return s === undefined ? undefined : s.value * 1000;
      };
      if (lag('p99') !== undefined) samples.lagP99.push(lag('p99'));
      if (lag('max') !== undefined) samples.lagMax.push(lag('max'));
      const series = find(m, 'vigil_store_series', own)[0]?.value;
      if (series !== undefined) samples.series.push(series);
      return m;
    } catch {
      if (crashed === undefined) scrapes.failed++;
      return undefined;
    }
  };
  const fetchReport = async () => {
    try {
      const res = await exchange(agent, `${vigil.api}/api/v2/diagnostics/reliability`);
      if (res.status !== 200) throw new Error(`answered ${res.status}`);
      reports.last = JSON.parse(res.body.toString('utf8'));
      reports.done++;
      reports.latencies.push(res.ms);
    } catch {
      if (crashed === undefined) reports.failed++;
    }
  };
  const sampleRss = async () => {
    const rss = rssBytes(vigil.pid);
    if (rss !== undefined) samples.rss.push(rss);
  };
  const printProgress = async () => {
    if (elapsedS() < 1) return;
    process.stderr.write(
      `soak ${elapsedS().toFixed(0)}/${opts.seconds} s: ${progress.requests} requests, ` +
        `${progress.points} points, ${progress.errors} errors; RSS ${(samples.rss.at(-1) / MIB).toFixed(0)} MiB, ` +
        `lag p99 ${samples.lagP99.at(-1)?.toFixed(1) ?? '-'} ms, ${samples.series.at(-1) ?? '-'} series\n`,
    );
  };
  await Promise.all([
    every(SCRAPE_EVERY_MS, scrape),
    every(REPORT_EVERY_MS, fetchReport),
    every(RSS_EVERY_MS, sampleRss),
    every(PROGRESS_EVERY_MS, printProgress),
  ]);
  const loadSeconds = elapsedS();
  const rssEnd = rssBytes(vigil.pid);

  if (load.connected) load.send({ cmd: 'stop' });
  let generated;
  let loadError;
  try {
    generated = await done;
  } catch (err) {
    loadError = err.message;
  }

  // Final accounting: once the load is stopped everything pushed must be on /metrics. OTLP and
  // Prometheus pushes are applied when answered, JSON pushes when a scrape collects them; give
  // it time anyway, and take the first scrape where everything adds up.
  let accounting;
  let settledMs;
  if (crashed === undefined && generated !== undefined) {
    const s0 = performance.now();
    const settleBy = s0 + Math.min(SETTLE_MS, opts.ttlMs / 2);
    while (true) {
      const m = await scrape();
      if (m !== undefined) accounting = account(m, generated, opts);
      if (accounting?.every((c) => c.ok) || performance.now() > settleBy) break;
      await sleep(500);
    }
    settledMs = Math.round(performance.now() - s0);
    await fetchReport();
  }
  // SIGTERM, or after a crash only the clean-up (and the same exit code).
  stopping = true;
  const exitCode = await vigil.stop();
  let snapshot;
  try {
    snapshot = JSON.parse(readFileSync(join(stateDir, 'vigil-state.json'), 'utf8'));
  } catch {
    snapshot = undefined;
  }
  if (load.exitCode === null) load.kill();
  agent.destroy();
  rmSync(dir, { recursive: true, force: true });

  const checks = [
    check(
      'vigil ran to the end',
      crashed === undefined,
      crashed && `exited with ${crashed.exitCode ?? 'a signal'} at ${crashed.atS} s`,
    ),
    check('load generator reported', loadError === undefined, loadError),
    ...(accounting ?? []),
    check('every scrape answered', scrapes.failed === 0 && scrapes.done > 0, `${scrapes.failed} failed`),
    check('every report answered', reports.failed === 0 && reports.done > 0, `${reports.failed} failed`),
    check(
      'rules evaluated on the soak data (SOAK_TRAFFIC firing)',
      reports.last?.anomalies?.some((a) => a.code === 'SOAK_TRAFFIC' && a.state === 'firing') === true,
    ),
    check('no error logged by vigil', logs.errors === 0, `${logs.errors}: ${logs.errorSamples.join('; ')}`),
    check('clean stop (exit 0)', exitCode === 0, `exit code ${exitCode}`),
    check(
      'state snapshot written at shutdown',
      snapshot?.version === 1 && snapshot?.rules?.SOAK_TRAFFIC?.alerts?.[0]?.state === 'firing',
    ),
  ];
  const paths = generated === undefined ? {} : generated.paths;
  const lastScrape = accounting?.scraped;
  return {
    ok: checks.every((c) => c.ok),
    durationS: Number(loadSeconds.toFixed(1)),
    options: { rate: opts.rate, seriesTtlS: opts.ttlMs / 1000, simulateLoss: opts.simulateLoss },
    pointsPerS: Number(
      (Object.values(paths).reduce((n, p) => n + p.validPoints, 0) / loadSeconds).toFixed(0),
    ),
    paths: Object.fromEntries(
      Object.entries(paths).map(([transport, p]) => [transport, pathSummary(transport, p, lastScrape)]),
    ),
    churn: generated && accounting ? accounting.churn : undefined,
    rssMiB: {
      start: mib(rss0),
      end: mib(rssEnd),
      max: mib(Math.max(rss0 ?? 0, rssEnd ?? 0, ...samples.rss)),
    },
    eventLoopLagMs: {
      p99Median: round(samples.lagP99.length ? median(samples.lagP99) : null),
      p99Worst: round(samples.lagP99.length ? Math.max(...samples.lagP99) : null),
      max: round(samples.lagMax.length ? Math.max(...samples.lagMax) : null),
    },
    seriesMax: samples.series.length ? Math.max(...samples.series) : null,
    scrapes: { done: scrapes.done, failed: scrapes.failed, ...latency(scrapes.latencies) },
    reports: { done: reports.done, failed: reports.failed, ...latency(reports.latencies) },
    vigil: { crashed: crashed !== undefined, exitCode, errorLogs: logs.errors, warnLogs: logs.warn },
    settledMs,
    checks: checks.map(({ name, ok, detail }) => ({ name, ok, ...(ok ? {} : { detail }) })),
  };
}

function check(name, ok, detail = '') {
  return { name, ok, detail };
}

/**
 * The accounting checks on the final scrape `m` against what the generator reports it sent (see
 * the top of this file). Returns the checks; `.scraped` and `.churn` carry the figures.
 */
function account(m, generated, opts) {
  const checks = [];
  const scraped = {};
  const sum = (samples) => samples.reduce((n, s) => n + s.value, 0);
  for (const [transport, p] of Object.entries(generated.paths)) {
    const seen = { mismatches: [], trackedSeries: 0, trackedPushed: 0, trackedSeen: 0 };
    for (const lane of p.tracked) {
      lane.totals.forEach((pushed, k) => {
        const got = find(m, p.family, { job: p.job, lane: String(lane.lane), series: String(k) });
        const value = got.length === 1 ? got[0].value : undefined;
        seen.trackedSeries++;
        seen.trackedPushed += pushed;
        seen.trackedSeen += value ?? 0;
        if (value !== pushed)
          seen.mismatches.push(`lane ${lane.lane} series ${k}: pushed ${pushed}, seen ${value}`);
      });
    }
    const self = { transport };
    seen.accepted = sum(find(m, 'vigil_receiver_accepted_points_total', self));
    seen.rejected = sum(find(m, 'vigil_receiver_rejected_points_total', self));
    seen.rejectedReasons = Object.fromEntries(
      find(m, 'vigil_receiver_rejected_points_total', self).map((s) => [s.labels.reason, s.value]),
    );
    seen.status = Object.fromEntries(
      find(m, 'vigil_receiver_requests_total', self).map((s) => [s.labels.code, s.value]),
    );
    scraped[transport] = seen;
    checks.push(
      check(
        `${transport}: every tracked counter equals the sum pushed (${seen.trackedSeries} series)`,
        seen.mismatches.length === 0 && seen.trackedSeries > 0,
        `${seen.mismatches.length} series differ: ${seen.mismatches.slice(0, 5).join('; ')}`,
      ),
      check(
        `${transport}: points pushed = points accepted`,
        seen.accepted === p.validPoints,
        `pushed ${p.validPoints}, vigil accepted ${seen.accepted}`,
      ),
      check(
        `${transport}: invalid points rejected, nothing else`,
        seen.rejected === p.invalidPoints,
        `sent ${p.invalidPoints} invalid points, vigil rejected ${seen.rejected}`,
      ),
      check(
        `${transport}: requests by status as sent, no errors`,
        p.errors === 0 && sameCounts(seen.status, p.status),
        `generator saw ${JSON.stringify(p.status)} and ${p.errors} errors (${p.errorSamples.join('; ')}); ` +
          `vigil counted ${JSON.stringify(seen.status)}`,
      ),
    );
  }
  const churn = churnAccount(m, generated.churn, opts);
  checks.push(...churn.checks);
  checks.scraped = scraped;
  checks.churn = churn.figures;
  return checks;
}

/**
 * Churned series: generations not pushed for longer than the TTL (plus one sweep period and a
 * second of slack) must be gone from /metrics, the last one pushed must still be there, and the
 * Pushgateway groups are exactly those not deleted.
 */
function churnAccount(m, churn, opts) {
  const now = performance.timeOrigin + performance.now();
  const sweepMs = Math.max(250, Math.min(opts.ttlMs / 4, 15_000));
  const gens = Object.entries(churn.lastPushMs).map(([gen, at]) => ({ gen, at }));
  const expired = gens.filter((g) => g.at < now - opts.ttlMs - sweepMs - 1000).map((g) => g.gen);
  const fresh = gens.filter((g) => g.at > now - opts.ttlMs + 1000).map((g) => g.gen);
  const checks = [];
  const figures = { generations: gens.length, expiredExpected: expired.length };
  for (const family of ['soak_churn_otlp_proto', 'soak_churn_otlp_json', 'soak_churn_json_push']) {
    const present = new Set(find(m, family, { job: 'soak-churn' }).map((s) => s.labels.gen));
    const stale = expired.filter((g) => present.has(g));
    const missing = fresh.filter((g) => !present.has(g));
    figures[family] = { present: present.size };
    checks.push(
      check(
        `${family}: churned series expired after the TTL, live ones kept`,
        stale.length === 0 && missing.length === 0,
        `generations still present: [${stale}], missing: [${missing}]`,
      ),
    );
  }
  const groups = new Set(
    find(m, 'soak_churn_prom_push', { job: 'soak-churn-prom' }).map((s) => s.labels.gen),
  );
  const want = churn.promGroups.map(String);
  figures.promGroups = { present: groups.size, expected: want.length };
  checks.push(
    check(
      'soak_churn_prom_push: deleted groups gone, the others kept',
      groups.size === want.length && want.every((g) => groups.has(g)),
      `present [${[...groups]}], expected [${want}]`,
    ),
  );
  return { checks, figures };
}

function sameCounts(a, b) {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => (a[k] ?? 0) === (b[k] ?? 0));
}

function pathSummary(transport, p, scraped) {
  const seen = scraped?.[transport];
  return {
    requests: p.requests,
    status: p.status,
    pointsPushed: p.validPoints,
    pointsSeen: seen?.accepted ?? null,
    trackedSeries: seen?.trackedSeries ?? null,
    trackedSumPushed: seen?.trackedPushed ?? null,
    trackedSumSeen: seen?.trackedSeen ?? null,
    trackedMismatches: seen?.mismatches.length ?? null,
    invalidBodies: p.invalidBodies,
    invalidPoints: p.invalidPoints,
    rejectedSeen: seen?.rejected ?? null,
    errors: p.errors,
    latencyMs: { p50: round(p.latencyMs.p50), p99: round(p.latencyMs.p99), max: round(p.latencyMs.max) },
  };
}

function latency(values) {
  return {
    p99Ms: round(quantile(values, 0.99)),
    maxMs: round(values.length ? Math.max(...values) : null),
  };
}

function mib(bytes) {
  return bytes === undefined ? null : Number((bytes / MIB).toFixed(1));
}

function round(x) {
  return x === null || x === undefined ? null : Number(x.toFixed(1));
}

function printSummary(s) {
  const lines = [
    `soak ${s.ok ? 'PASSED' : 'FAILED'}: ${s.durationS} s at ${s.pointsPerS} points/s (--rate ${s.options.rate}), ` +
      `series TTL ${s.options.seriesTtlS} s${s.options.simulateLoss ? ', SIMULATED LOSS' : ''}`,
    '',
    'path             requests  points pushed / seen   tracked series: sum pushed / seen (mismatches)  invalid bodies / points / rejected  errors  latency p99 / max ms',
  ];
  for (const [t, p] of Object.entries(s.paths))
    lines.push(
      `${t.padEnd(16)} ${String(p.requests).padStart(8)}  ${`${p.pointsPushed} / ${p.pointsSeen}`.padEnd(21)}  ` +
        `${`${p.trackedSeries}: ${p.trackedSumPushed} / ${p.trackedSumSeen} (${p.trackedMismatches})`.padEnd(46)}  ` +
        `${`${p.invalidBodies} / ${p.invalidPoints} / ${p.rejectedSeen}`.padEnd(34)}  ${String(p.errors).padStart(6)}  ` +
        `${p.latencyMs.p99} / ${p.latencyMs.max}`,
    );
  lines.push(
    '',
    `RSS MiB: start ${s.rssMiB.start}, end ${s.rssMiB.end}, max ${s.rssMiB.max}; event-loop lag ms: ` +
      `p99 median ${s.eventLoopLagMs.p99Median}, worst p99 ${s.eventLoopLagMs.p99Worst}, max ${s.eventLoopLagMs.max}; ` +
      `series max ${s.seriesMax}`,
    `scrapes ${s.scrapes.done} (failed ${s.scrapes.failed}, p99 ${s.scrapes.p99Ms} ms, max ${s.scrapes.maxMs} ms); ` +
      `reports ${s.reports.done} (failed ${s.reports.failed}, p99 ${s.reports.p99Ms} ms, max ${s.reports.maxMs} ms)`,
    s.churn === undefined
      ? 'churn: not checked'
      : `churn: ${s.churn.generations} generations, ${s.churn.expiredExpected} past their TTL (gone); ` +
          `Pushgateway groups ${s.churn.promGroups.present} of ${s.churn.promGroups.expected} expected`,
    `vigil: crashed ${s.vigil.crashed}, exit ${s.vigil.exitCode}, ${s.vigil.errorLogs} error / ${s.vigil.warnLogs} warn log lines; ` +
      `accounting settled after ${s.settledMs ?? '-'} ms`,
    '',
    ...s.checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}${c.ok ? '' : `: ${c.detail}`}`),
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}
