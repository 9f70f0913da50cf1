import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OtlpBackend } from '../helpers/otlp-backend.js';
import {
  exporterHealth,
  exporterMetric,
  nowNs,
  pushJson,
  pushOtlpJson,
  samples,
  startSender,
  str,
} from '../helpers/otlp-export.js';
import { attr, flatPoints, type FlatPoint } from '../helpers/otlp-proto.js';
import { find, promtoolCheckMetrics, type Sample } from '../helpers/prometheus-text.js';
import { eventually, startVigil, testConfig, type VigilProcess } from '../helpers/vigil-process.js';

/**
 * vigil → vigil: a sender vigil exports over OTLP/HTTP to a second, real vigil process (the
 * receiver), through a recording front whose copies of the requests are decoded independently
 * (protobufjs over the opentelemetry-proto schema). What the receiver shows on /metrics must equal
 * what the sender shows, source by source, in both protocols and both temporalities.
 */

let receiver: VigilProcess;
let backend: OtlpBackend;
beforeAll(async () => {
  receiver = await startVigil(testConfig());
  backend = await OtlpBackend.start(`${receiver.ingest}/v1/metrics`);
});
afterAll(async () => {
  await backend.close();
  expect(await receiver.stop()).toBe(0);
});

/** The families a source pushes in these tests, as Prometheus names them. */
const FAMILIES = [
  'orders_total',
  'inflight',
  'cpu_utilization_ratio',
  'checkout_duration_milliseconds_bucket',
  'checkout_duration_milliseconds_count',
  'checkout_duration_milliseconds_sum',
  'rpc_latency_seconds_bucket',
  'rpc_latency_seconds_count',
  'rpc_latency_seconds_sum',
  'gc_pause_seconds',
  'gc_pause_seconds_count',
  'gc_pause_seconds_sum',
  'jobs_processed_total',
  'target_info',
];

/** A job's series of the families above, as comparable text. */
function seriesOf(all: Sample[], job: string): string[] {
  return all
    .filter((s) => FAMILIES.includes(s.name) && s.labels['job'] === job)
    .map((s) => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())} ${s.value}`)
    .sort();
}

const startNs: Record<string, string> = {};

/** Two sources over JSON push, one over OTLP/JSON (exponential histogram, summary, delta sum). */
async function pushRound(sender: VigilProcess, tag: string, round: number): Promise<void> {
  for (const [name, instance] of [
    [`${tag}-checkout`, 'c-1'],
    [`${tag}-billing`, 'b-1'],
  ] as const) {
    await pushJson(sender, {
      resource: {
        'service.name': name,
        'service.instance.id': instance,
        'deployment.environment.name': 'test',
      },
      metrics: [
        { name: 'orders', type: 'counter', value: 3 * round, attributes: { region: 'eu' } },
        { name: 'inflight', type: 'updowncounter', value: round === 1 ? 5 : -2 },
        { name: 'cpu.utilization', type: 'gauge', unit: '1', value: 0.1 * round },
        { name: 'checkout.duration', type: 'histogram', unit: 'ms', values: [12, 80 * round, 900] },
      ],
    });
  }
  // Cumulative points keep one start time: a new one would mean the source restarted (a reset).
  startNs[tag] ??= nowNs();
  const time = { startTimeUnixNano: startNs[tag], timeUnixNano: nowNs() };
  const deltaTime = { startTimeUnixNano: nowNs(), timeUnixNano: nowNs() };
  await pushOtlpJson(sender, {
    resourceMetrics: [
      {
        resource: { attributes: [str('service.name', `${tag}-worker`), str('service.instance.id', 'w-1')] },
        scopeMetrics: [
          {
            scope: { name: 'worker', version: '1.0' },
            metrics: [
              {
                name: 'rpc.latency',
                unit: 's',
                exponentialHistogram: {
                  aggregationTemporality: 2,
                  dataPoints: [
                    {
                      ...time,
                      count: String(4 * round),
                      sum: 2 * round,
                      scale: 1,
                      zeroCount: '0',
                      positive: { offset: -2, bucketCounts: [String(round), String(3 * round)] },
                    },
                  ],
                },
              },
              {
                name: 'gc.pause',
                unit: 's',
                summary: {
                  dataPoints: [
                    {
                      ...time,
                      count: String(10 * round),
                      sum: round,
                      quantileValues: [
                        { quantile: 0.5, value: 0.01 * round },
                        { quantile: 0.99, value: 0.2 },
                      ],
                    },
                  ],
                },
              },
              {
                name: 'jobs.processed',
                sum: {
                  aggregationTemporality: 1,
                  isMonotonic: true,
                  dataPoints: [{ ...deltaTime, asInt: String(7) }],
                },
              },
            ],
          },
        ],
      },
    ],
  });
}

const JOBS = (tag: string): string[] => [`${tag}-checkout`, `${tag}-billing`, `${tag}-worker`];

describe.each([
  ['http/protobuf', 'cumulative'],
  ['http/protobuf', 'delta'],
  ['http/json', 'cumulative'],
  ['http/json', 'delta'],
] as const)('vigil → vigil over %s, %s temporality', (protocol, temporality) => {
  const tag = `${protocol === 'http/json' ? 'json' : 'proto'}-${temporality}`;
  let sender: VigilProcess;
  beforeAll(async () => {
    sender = await startSender(
      backend.url,
      { protocol, temporality },
      {
        pod: `sender-${tag}`,
        extra: `signals:\n  cpu: {metric: cpu.utilization, stat: last, window: 1m}\nrules:\n  - {name: CPU_HIGH, expr: cpu > 0.9}\n`,
      },
    );
  });
  afterAll(async () => {
    expect(await sender.stop()).toBe(0);
  });

  it('delivers every source with its own resource and the same values as the sender holds', async () => {
    const first = backend.requests.length;
    await pushRound(sender, tag, 1);
    // Let at least one export happen between the rounds, so deltas really are deltas.
    await eventually(async () =>
      backend.requests
        .slice(first)
        .some((r) => flatPoints(r.decoded).some((p) => attr(p.resource, 'service.name') === `${tag}-worker`)),
    );
    await pushRound(sender, tag, 2);

    // The receiver ends up with exactly the sender's series, source by source.
    for (const job of JOBS(tag)) {
      const expected = seriesOf(await samples(sender), job);
      expect(expected.length).toBeGreaterThan(3);
      await eventually(async () => {
        const got = seriesOf(await samples(receiver), job);
        return JSON.stringify(got) === JSON.stringify(expected) && got;
      }, 15_000).catch(async (err: unknown) => {
        expect(seriesOf(await samples(receiver), job)).toEqual(expected);
        throw err;
      });
    }
    const r = await samples(receiver);
    expect(find(r, 'orders_total', { job: `${tag}-checkout`, instance: 'c-1', region: 'eu' })[0]?.value).toBe(
      9,
    );
    expect(find(r, 'inflight', { job: `${tag}-billing` })[0]?.value).toBe(3);
    expect(find(r, 'jobs_processed_total', { job: `${tag}-worker` })[0]?.value).toBe(14);
    expect(find(r, 'gc_pause_seconds', { job: `${tag}-worker`, quantile: '0.5' })[0]?.value).toBe(0.02);
    expect(find(r, 'target_info', { job: `${tag}-checkout` })[0]?.labels['deployment_environment_name']).toBe(
      'test',
    );

    // The wire content, read by the independent decoder.
    const mine = backend
      .delivered()
      .slice(first)
      .filter((req) =>
        flatPoints(req.decoded).some((p) => String(attr(p.resource, 'service.name')).startsWith(tag)),
      );
    expect(mine.length).toBeGreaterThan(1);
    for (const req of mine) {
      expect(req.headers['content-type']).toBe(
        protocol === 'http/json' ? 'application/json' : 'application/x-protobuf',
      );
      expect(req.headers['content-encoding']).toBe('gzip');
      expect(req.path).toBe('/v1/metrics');
    }
    const points = mine.flatMap((req) => flatPoints(req.decoded));
    const ofJob = (job: string, metric: string): FlatPoint[] =>
      points.filter((p) => attr(p.resource, 'service.name') === job && p.metric.name === metric);
    // Every point carries its source's resource attributes.
    for (const p of points.filter((x) => String(attr(x.resource, 'service.name')).startsWith(tag))) {
      const job = String(attr(p.resource, 'service.name'));
      expect(attr(p.resource, 'service.instance.id')).toBe(
        job.endsWith('worker') ? 'w-1' : job.endsWith('checkout') ? 'c-1' : 'b-1',
      );
      if (!job.endsWith('worker')) expect(attr(p.resource, 'deployment.environment.name')).toBe('test');
    }
    const orders = ofJob(`${tag}-checkout`, 'orders');
    const wanted =
      temporality === 'delta' ? 'AGGREGATION_TEMPORALITY_DELTA' : 'AGGREGATION_TEMPORALITY_CUMULATIVE';
    expect(new Set(orders.map((p) => p.temporality))).toEqual(new Set([wanted]));
    expect(new Set(ofJob(`${tag}-worker`, 'rpc.latency').map((p) => p.temporality))).toEqual(
      new Set([wanted]),
    );
    // Up-down counters stay cumulative whatever the temporality (as the SDK's delta selector).
    expect(new Set(ofJob(`${tag}-checkout`, 'inflight').map((p) => p.temporality))).toEqual(
      new Set(['AGGREGATION_TEMPORALITY_CUMULATIVE']),
    );
    const values = orders.map((p) => p.point.asDouble ?? 0);
    if (temporality === 'delta') {
      // The deltas add up to the total, none is repeated.
      expect(values.reduce((a, b) => a + b, 0)).toBe(9);
      expect(values).toEqual([3, 6]);
    } else {
      // Cumulative values never go down, and end at the total.
      for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1]!);
      expect(values.at(-1)).toBe(9);
    }
    const gc = ofJob(`${tag}-worker`, 'gc.pause').at(-1)!;
    expect(gc.kind).toBe('summary');
    expect(gc.point.quantileValues).toEqual([
      { quantile: 0.5, value: 0.02 },
      { quantile: 0.99, value: 0.2 },
    ]);
  });

  it('exports vigil’s own telemetry and rule states under the sender’s own resource', async () => {
    const instance = `sender-${tag}`;
    const r = await eventually(async () => {
      const all = await samples(receiver);
      const sent = find(all, 'vigil_exporter_sent_points_total', { job: 'vigil', instance });
      const rule = find(all, 'vigil_rule_state', { job: 'vigil', instance, rule: 'CPU_HIGH' });
      return sent.length > 0 && rule.length > 0 && all;
    });
    expect(
      find(r, 'vigil_rule_state', { job: 'vigil', instance, rule: 'CPU_HIGH' })[0]?.labels['otel_scope_name'],
    ).toBe('vigil.rules');
    expect(find(r, 'vigil_store_series', { job: 'vigil', instance }).length).toBe(1);
    expect(await exporterMetric(sender, 'vigil_exporter_sent_points_total')).toBeGreaterThan(0);
    expect(await exporterMetric(sender, 'vigil_exporter_queue_capacity')).toBe(1000);
    expect(await exporterMetric(sender, 'vigil_exporter_circuit_breaker_state')).toBe(0);
    const own = await samples(sender);
    for (const name of ['vigil_exporter_queue_usage_bytes', 'vigil_exporter_last_success_timestamp_seconds'])
      expect(find(own, name, { exporter: 'otlp' })).toHaveLength(1);
    expect(find(own, 'vigil_exporter_last_success_timestamp_seconds')[0]!.value).toBeGreaterThan(
      Date.now() / 1000 - 10,
    );
    // The exporter's own families pass promtool (the pushed test data is in ms, which promtool lints).
    const exposition = (await (await fetch(`${sender.metrics}/metrics`)).text())
      .split('\n')
      .filter((l) => /^(# (HELP|TYPE|UNIT) )?vigil_exporter_/.test(l))
      .join('\n');
    expect(exposition).toMatch(/^# TYPE vigil_exporter_sent_points_total counter$/m);
    const check = promtoolCheckMetrics(`${exposition}\n`);
    expect(check.output).toBe('');
    expect(check.status).toBe(0);
    const health = await exporterHealth(sender);
    expect(health.state).toBe('ok');
    expect(Date.parse(health.last_success ?? '')).toBeGreaterThan(Date.now() - 10_000);
  });
});

describe('export selection and environment', () => {
  it('honours OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_EXPORTER_OTLP_HEADERS, and `export: [ingested]`', async () => {
    const base = backend.url.replace(/\/v1\/metrics$/, '');
    const sender = await startSender(
      undefined,
      { export: ['ingested'] },
      {
        pod: 'sender-env',
        env: {
          OTEL_EXPORTER_OTLP_ENDPOINT: base,
          OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20t0k3n,x-scope-orgid=acme',
        },
      },
    );
    try {
      const first = backend.requests.length;
      await pushJson(sender, {
        resource: { 'service.name': 'env-app' },
        metrics: [{ name: 'hits', type: 'counter', value: 2 }],
      });
      const req = await eventually(async () =>
        backend.requests
          .slice(first)
          .find((r) => flatPoints(r.decoded).some((p) => attr(p.resource, 'service.name') === 'env-app')),
      );
      expect(req.path).toBe('/v1/metrics');
      expect(req.headers['authorization']).toBe('Bearer t0k3n');
      expect(req.headers['x-scope-orgid']).toBe('acme');
      expect(req.headers['user-agent']).toMatch(/^vigil\//);
      // Only ingested data: nothing from vigil's own resource.
      await new Promise((r) => setTimeout(r, 600));
      const services = backend.requests
        .slice(first)
        .flatMap((r) => flatPoints(r.decoded))
        .filter(
          (p) =>
            attr(p.resource, 'service.instance.id') === 'sender-env' ||
            attr(p.resource, 'service.name') === 'env-app',
        )
        .map((p) => attr(p.resource, 'service.name'));
      expect(new Set(services)).toEqual(new Set(['env-app']));
    } finally {
      expect(await sender.stop()).toBe(0);
    }
  });

  it('flushes on SIGTERM: data pushed after the last export still arrives', async () => {
    // An interval so long that only the shutdown flush can deliver.
    const sender = await startSender(backend.url, { interval: '1h' }, { pod: 'sender-sigterm' });
    await pushJson(sender, {
      resource: { 'service.name': 'late-app' },
      metrics: [{ name: 'late.events', type: 'counter', value: 11 }],
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(find(await samples(receiver), 'late_events_total', { job: 'late-app' })).toEqual([]);
    const t0 = Date.now();
    expect(await sender.stop()).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(find(await samples(receiver), 'late_events_total', { job: 'late-app' })[0]?.value).toBe(11);
  });
});
