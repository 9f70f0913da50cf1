// The soak's load generator, a child process of bench/soak.mjs (forked, with IPC): a sustained
// mixed load on vigil's four ingest paths, with counters whose every increment is known, so the
// parent can check afterwards that vigil accounted for each one.
//
// Per path, `lanes` async loops (each on its own keep-alive connection) own `seriesPerLane`
// tracked counter series each and send one request every `intervalMs` carrying one increment
// (1..9) for every series of the lane. A lane waits for each answer before the next request, so
// its cumulative values never arrive out of order:
//   otlp_proto       POST /v1/metrics (protobuf): cumulative monotonic Sum, the running totals;
//   otlp_json        POST /v1/metrics (JSON): delta monotonic Sum, the increments (vigil sums them);
//   json_push        POST /api/v1/push: `counter` items (increments), plus a histogram and a gauge
//                    so that the default config's signals and source SLA have data;
//   prometheus_push  PUT /metrics/job/soak-prom-push/lane/<lane>: counter samples, the totals.
// Totals advance only when vigil answers 200 without rejecting anything. One request in 100 of a
// path is followed by an invalid one, alternating between a body refused whole (400) and a body
// whose only point is invalid (rejected in the answer; for the Pushgateway API a 400 as well).
// A churn loop pushes gauges under a new `gen` label every `churnGenMs` on the three paths with
// TTL expiry, and one Pushgateway group per generation (the one two generations back is DELETEd).
//
// IPC in: {cmd: 'start', ...options}, {cmd: 'stop'}. Out: {type: 'progress', ...} every 5 s and
// {type: 'done', paths, churn} once every lane has stopped.
import { Buffer } from 'node:buffer';
import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { clearInterval, setInterval } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { ValueType } from '@opentelemetry/api';
import { JsonMetricsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType } from '@opentelemetry/sdk-metrics';
import { exchange, quantile } from './soak-http.mjs';

/** One invalid request per INVALID_EVERY valid ones of a path (~1%). */
const INVALID_EVERY = 100;
/** Series per churn generation, per path. */
const CHURN_SERIES = 20;
const PROGRESS_MS = 5000;

const epochMs = () => performance.timeOrigin + performance.now();
const hrTime = (ms) => [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];

let stopping = false;
let reported = false;
process.on('message', (m) => {
  if (m.cmd === 'start') void run(m);
  if (m.cmd === 'stop') stopping = true;
});
// The parent gone before the report (killed, crashed): nothing left to report to.
process.on('disconnect', () => process.exit(reported ? 0 : 1));

/** Sleeps until `epoch` (ms) or until the load is stopped, whichever is first. */
async function sleepUntil(epoch) {
  while (!stopping) {
    const left = epoch - epochMs();
    if (left <= 0) return;
    await sleep(Math.min(left, 200));
  }
}

/** Per path: what was sent, what vigil answered, and the tracked totals. */
function newStats(transport, job, family) {
  return {
    transport,
    job,
    family,
    requests: 0,
    validPoints: 0,
    invalidBodies: 0,
    invalidPoints: 0,
    status: {},
    errors: 0,
    errorSamples: [],
    latencies: [],
    tracked: [],
  };
}

function recordError(stats, message) {
  stats.errors++;
  if (stats.errorSamples.length < 10) stats.errorSamples.push(message);
}

/** Sends `req`, counts it; resolves with the answer, or undefined after a network error. */
async function send(stats, agent, req) {
  stats.requests++;
  try {
    const res = await exchange(agent, req.url, req);
    stats.status[res.status] = (stats.status[res.status] ?? 0) + 1;
    stats.latencies.push(res.ms);
    return res;
  } catch (err) {
    recordError(stats, `${req.method} ${req.url}: ${err.message}`);
    return undefined;
  }
}

// --- request bodies --------------------------------------------------------------------------

function resourceMetrics(attributes, metrics) {
  return {
    resource: resourceFromAttributes(attributes),
    scopeMetrics: [{ scope: { name: 'vigil.soak', version: '1' }, metrics }],
  };
}

function sumMetric(name, temporality, dataPoints) {
  return {
    descriptor: { name, description: 'Soak counter', unit: '{event}', valueType: ValueType.INT },
    aggregationTemporality: temporality,
    dataPointType: DataPointType.SUM,
    isMonotonic: true,
    dataPoints,
  };
}

function gaugeMetric(name, dataPoints) {
  return {
    descriptor: { name, description: 'Soak churn', unit: '', valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.GAUGE,
    dataPoints,
  };
}

const otlpRequest = (ingest, proto, rm) => ({
  method: 'POST',
  url: `${ingest}/v1/metrics`,
  headers: { 'Content-Type': proto ? 'application/x-protobuf' : 'application/json' },
  body: Buffer.from(
    proto ? ProtobufMetricsSerializer.serializeRequest(rm) : JsonMetricsSerializer.serializeRequest(rm),
  ),
});

const jsonPushRequest = (ingest, resource, metrics) => ({
  method: 'POST',
  url: `${ingest}/api/v1/push`,
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ resource, metrics }),
});

const promRequest = (ingest, method, group, text) => ({
  method,
  url: `${ingest}/metrics/job/${group}`,
  headers: { 'Content-Type': 'text/plain; version=0.0.4' },
  body: text,
});

/** Rejected points in an OTLP answer (0 when there is no partialSuccess). */
function otlpRejected(proto, body) {
  const reply = proto
    ? ProtobufMetricsSerializer.deserializeResponse(new Uint8Array(body))
    : JsonMetricsSerializer.deserializeResponse(new Uint8Array(body));
  return Number(reply.partialSuccess?.rejectedDataPoints ?? 0);
}

/**
 * The four paths: `job` and `family` name the tracked series on /metrics; `valid(lane, next,
 * incs, now)` builds a lane's request from its next totals and increments; `accepted(res,
 * points)` says whether vigil took all of it; `invalid[k](now)` builds the k-th kind of invalid
 * request, with the answer it must get and the points it must reject.
 */
function paths(ingest) {
  const resource = (service) => ({ 'service.name': service, 'service.instance.id': 'soak-1' });
  const otlpOk = (proto) => (res) => res.status === 200 && otlpRejected(proto, res.body) === 0;
  const attrs = (lane, k) => ({ lane: String(lane.index), series: String(k) });
  return {
    otlp_proto: {
      job: 'soak-otlp-proto',
      family: 'soak_otlp_proto_events_total',
      valid: (lane, next, _incs, now) =>
        otlpRequest(
          ingest,
          true,
          resourceMetrics(resource('soak-otlp-proto'), [
            sumMetric(
              'soak.otlp_proto.events',
              AggregationTemporality.CUMULATIVE,
              next.map((value, k) => ({
                startTime: hrTime(lane.startMs),
                endTime: hrTime(now),
                attributes: attrs(lane, k),
                value,
              })),
            ),
          ]),
        ),
      accepted: otlpOk(true),
      invalid: [
        // Field 1 (resource_metrics) with a length far beyond the body: undecodable.
        () => ({
          request: {
            method: 'POST',
            url: `${ingest}/v1/metrics`,
            headers: { 'Content-Type': 'application/x-protobuf' },
            body: Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]),
          },
          status: 400,
          rejected: 0,
        }),
        (now) => ({
          request: otlpRequest(
            ingest,
            true,
            resourceMetrics(resource('soak-invalid'), [
              sumMetric('soak.invalid', AggregationTemporality.CUMULATIVE, [
                { startTime: hrTime(now - 1000), endTime: hrTime(now), attributes: {}, value: -1 },
              ]),
            ]),
          ),
          status: 200,
          rejected: 1,
          check: (res) => otlpRejected(true, res.body) === 1,
        }),
      ],
    },
    otlp_json: {
      job: 'soak-otlp-json',
      family: 'soak_otlp_json_events_total',
      valid: (lane, _next, incs, now) =>
        otlpRequest(
          ingest,
          false,
          resourceMetrics(resource('soak-otlp-json'), [
            sumMetric(
              'soak.otlp_json.events',
              AggregationTemporality.DELTA,
              incs.map((value, k) => ({
                startTime: hrTime(lane.lastMs),
                endTime: hrTime(now),
                attributes: attrs(lane, k),
                value,
              })),
            ),
          ]),
        ),
      accepted: otlpOk(false),
      invalid: [
        () => ({
          request: {
            method: 'POST',
            url: `${ingest}/v1/metrics`,
            headers: { 'Content-Type': 'application/json' },
            body: '{"resourceMetrics": [{"scopeMetrics": [',
          },
          status: 400,
          rejected: 0,
        }),
        (now) => ({
          request: otlpRequest(
            ingest,
            false,
            resourceMetrics(resource('soak-invalid'), [
              sumMetric('soak.invalid', AggregationTemporality.DELTA, [
                { startTime: hrTime(now - 1000), endTime: hrTime(now), attributes: {}, value: -1 },
              ]),
            ]),
          ),
          status: 200,
          rejected: 1,
          check: (res) => otlpRejected(false, res.body) === 1,
        }),
      ],
    },
    json_push: {
      job: 'soak-json-push',
      family: 'soak_json_push_events_total',
      valid: (lane, _next, incs) =>
        jsonPushRequest(ingest, resource('soak-json-push'), [
          ...incs.map((value, k) => ({
            name: 'soak.json_push.events',
            type: 'counter',
            value,
            attributes: attrs(lane, k),
          })),
          {
            name: 'http.server.request.duration',
            type: 'histogram',
            unit: 'ms',
            values: [20, 45, 80, 150, 320].map((v) => v + lane.index),
            attributes: { 'http.route': `/lane/${lane.index}`, 'http.response.status_code': 200 },
          },
          { name: 'process.cpu.utilization', type: 'gauge', unit: '1', value: 0.3 },
        ]),
      /** Counter items, the histogram's 5 observations and the gauge. */
      extraPoints: 6,
      accepted: (res, points) => {
        if (res.status !== 200) return false;
        const reply = JSON.parse(res.body.toString('utf8'));
        return reply.accepted === points && reply.rejected === 0;
      },
      invalid: [
        () => ({
          request: { ...jsonPushRequest(ingest, {}, []), body: '[1, 2, 3]' },
          status: 400,
          rejected: 0,
        }),
        () => ({
          request: jsonPushRequest(ingest, resource('soak-invalid'), [
            { name: 'soak.invalid', type: 'counter', value: -5 },
          ]),
          status: 200,
          rejected: 1,
          check: (res) => {
            const reply = JSON.parse(res.body.toString('utf8'));
            return reply.accepted === 0 && reply.rejected === 1;
          },
        }),
      ],
    },
    prometheus_push: {
      job: 'soak-prom-push',
      family: 'soak_prom_push_events_total',
      valid: (lane, next) =>
        promRequest(
          ingest,
          'PUT',
          `soak-prom-push/lane/${lane.index}`,
          '# TYPE soak_prom_push_events_total counter\n' +
            next.map((v, k) => `soak_prom_push_events_total{series="${k}"} ${v}\n`).join(''),
        ),
      accepted: (res) => res.status === 200,
      invalid: [
        () => ({
          request: promRequest(ingest, 'PUT', 'soak-invalid', 'soak_invalid{ 1\n'),
          status: 400,
          rejected: 0,
        }),
        // A timestamp: parsed, then refused whole, its one point counted as rejected.
        () => ({
          request: promRequest(ingest, 'PUT', 'soak-invalid', 'soak_invalid 1 1700000000000\n'),
          status: 400,
          rejected: 1,
        }),
      ],
    },
  };
}

// --- loops -----------------------------------------------------------------------------------

function lcg(seed) {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x;
  };
}

/** One lane: its series, its connection, its schedule; until stopped. */
async function laneLoop(path, stats, lane, opts, afterValid) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const random = lcg(lane.seed);
  let due = lane.firstDueMs;
  try {
    while (true) {
      await sleepUntil(due);
      if (stopping) return;
      const now = epochMs();
      // A lane that fell behind (a slow answer) resumes its cadence instead of bursting.
      due = Math.max(due + opts.intervalMs, now);
      const incs = lane.totals.map(() => 1 + (random() % 9));
      const next = lane.totals.map((t, k) => t + incs[k]);
      const points = incs.length + (path.extraPoints ?? 0);
      const res = await send(stats, agent, path.valid(lane, next, incs, now));
      lane.lastMs = now;
      if (res === undefined) continue;
      if (!path.accepted(res, points)) {
        recordError(stats, `answered ${res.status}: ${res.body.toString('utf8').slice(0, 200)}`);
        continue;
      }
      lane.totals = next;
      stats.validPoints += points;
      await afterValid(agent);
    }
  } finally {
    agent.destroy();
  }
}

/** The invalid request that follows every INVALID_EVERY-th valid one of a path. */
function invalidSender(path, stats) {
  let valid = 0;
  let kind = 0;
  return async (agent) => {
    // The 50th, 150th, 250th...: a 15 s run already has one of each kind.
    if (++valid % INVALID_EVERY !== INVALID_EVERY / 2) return;
    const bad = path.invalid[kind++ % path.invalid.length](epochMs());
    const res = await send(stats, agent, bad.request);
    if (res === undefined) return;
    if (res.status !== bad.status || (bad.check !== undefined && !bad.check(res))) {
      recordError(
        stats,
        `invalid request answered ${res.status} (expected ${bad.status}): ${res.body.toString('utf8').slice(0, 200)}`,
      );
      return;
    }
    if (bad.status >= 400) stats.invalidBodies++;
    stats.invalidPoints += bad.rejected;
  };
}

/**
 * Churn: series that come and go. Every second, the current generation's gauges on the three
 * paths with TTL expiry; on a new generation, a Pushgateway group for it, and a DELETE of the
 * group two generations back.
 */
async function churnLoop(ingest, stats, opts, churn) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const resource = { 'service.name': 'soak-churn', 'service.instance.id': 'soak-1' };
  const gauge = (name, gen, now) =>
    resourceMetrics(resource, [
      gaugeMetric(
        name,
        Array.from({ length: CHURN_SERIES }, (_, i) => ({
          startTime: hrTime(now),
          endTime: hrTime(now),
          attributes: { gen: String(gen), i: String(i) },
          value: gen + i / 10,
        })),
      ),
    ]);
  const ok = async (transport, req, check = (res) => res.status === 200) => {
    const res = await send(stats[transport], agent, req);
    if (res !== undefined && !check(res))
      recordError(
        stats[transport],
        `churn answered ${res.status}: ${res.body.toString('utf8').slice(0, 200)}`,
      );
    return res !== undefined && check(res);
  };
  let promGen = -1;
  try {
    for (let due = churn.startMs; !stopping; due += 1000) {
      await sleepUntil(due);
      if (stopping) return;
      const now = epochMs();
      const gen = Math.floor((now - churn.startMs) / opts.churnGenMs);
      const okProto = await ok(
        'otlp_proto',
        otlpRequest(ingest, true, gauge('soak.churn.otlp_proto', gen, now)),
      );
      const okJson = await ok(
        'otlp_json',
        otlpRequest(ingest, false, gauge('soak.churn.otlp_json', gen, now)),
      );
      const items = Array.from({ length: CHURN_SERIES }, (_, i) => ({
        name: 'soak.churn.json_push',
        type: 'gauge',
        value: gen + i / 10,
        attributes: { gen: String(gen), i: String(i) },
      }));
      const okPush = await ok('json_push', jsonPushRequest(ingest, resource, items), (res) => {
        const reply = res.status === 200 ? JSON.parse(res.body.toString('utf8')) : {};
        return reply.accepted === CHURN_SERIES && reply.rejected === 0;
      });
      for (const [good, transport] of [
        [okProto, 'otlp_proto'],
        [okJson, 'otlp_json'],
        [okPush, 'json_push'],
      ])
        if (good) stats[transport].validPoints += CHURN_SERIES;
      churn.lastPushMs[gen] = epochMs();
      if (gen !== promGen) {
        promGen = gen;
        const text =
          '# TYPE soak_churn_prom_push gauge\n' +
          Array.from({ length: CHURN_SERIES }, (_, i) => `soak_churn_prom_push{i="${i}"} ${gen}\n`).join('');
        if (await ok('prometheus_push', promRequest(ingest, 'PUT', `soak-churn-prom/gen/${gen}`, text))) {
          stats.prometheus_push.validPoints += CHURN_SERIES;
          churn.promGroups.push(gen);
        }
        const old = gen - 2;
        if (churn.promGroups.includes(old)) {
          const gone = promRequest(ingest, 'DELETE', `soak-churn-prom/gen/${old}`);
          delete gone.body;
          if (await ok('prometheus_push', gone, (res) => res.status === 202))
            churn.promGroups.splice(churn.promGroups.indexOf(old), 1);
        }
      }
    }
  } finally {
    agent.destroy();
  }
}

function summary(stats) {
  const { latencies, ...rest } = stats;
  return {
    ...rest,
    latencyMs: {
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      max: latencies.length === 0 ? null : latencies[latencies.length - 1],
    },
  };
}

async function run(opts) {
  const defs = paths(opts.ingest);
  const t0 = epochMs();
  const stats = {};
  const loops = [];
  const progress = setInterval(() => {
    const all = Object.values(stats);
    process.send({
      type: 'progress',
      requests: all.reduce((n, s) => n + s.requests, 0),
      points: all.reduce((n, s) => n + s.validPoints, 0),
      errors: all.reduce((n, s) => n + s.errors, 0),
    });
  }, PROGRESS_MS);
  Object.entries(defs).forEach(([transport, path], p) => {
    const s = (stats[transport] = newStats(transport, path.job, path.family));
    const afterValid = invalidSender(path, s);
    for (let l = 0; l < opts.lanes; l++) {
      const lane = {
        index: l,
        seed: 1 + p * 1000 + l,
        startMs: t0,
        lastMs: t0,
        totals: new Array(opts.seriesPerLane).fill(0),
        // Spread the lanes of all paths over the interval, so requests arrive evenly.
        firstDueMs: t0 + ((p * opts.lanes + l) / (4 * opts.lanes)) * opts.intervalMs,
      };
      s.tracked.push(lane);
      loops.push(laneLoop(path, s, lane, opts, afterValid));
    }
  });
  const churn = { startMs: t0, lastPushMs: {}, promGroups: [] };
  loops.push(churnLoop(opts.ingest, stats, opts, churn));
  await Promise.all(loops);
  clearInterval(progress);
  if (opts.simulateLoss) stats.otlp_proto.tracked[0].totals[0] += 1; // the self-test: a point "lost"
  const paths_ = {};
  for (const [transport, s] of Object.entries(stats)) {
    paths_[transport] = summary({
      ...s,
      tracked: s.tracked.map((lane) => ({ lane: lane.index, totals: lane.totals })),
    });
  }
  reported = true;
  process.send({ type: 'done', paths: paths_, churn }, () => process.disconnect());
}
