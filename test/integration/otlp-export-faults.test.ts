import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OtlpBackend, type BackendRequest } from '../helpers/otlp-backend.js';
import { exporterHealth, exporterMetric, pushJson, samples, startSender } from '../helpers/otlp-export.js';
import { attr, flatPoints } from '../helpers/otlp-proto.js';
import { find } from '../helpers/prometheus-text.js';
import { eventually, startVigil, tempDir, testConfig, type VigilProcess } from '../helpers/vigil-process.js';

/**
 * Delivery under faults, against a real receiving vigil behind a real HTTP front that fails on
 * purpose: a backend that goes away and comes back, 503 with Retry-After, 400, a slow backend,
 * a restart during an outage with state.dir, and the circuit breaker.
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function count(sender: VigilProcess, service: string, metric: string, value: number): Promise<void> {
  await pushJson(sender, {
    resource: { 'service.name': service },
    metrics: [{ name: metric, type: 'counter', value }],
  });
}

/** Values of `metric` from `service` in the requests, in the order they were delivered. */
function deliveredValues(
  reqs: BackendRequest[],
  service: string,
  metric: string,
): Array<{ t: number; v: number }> {
  return reqs
    .filter((r) => r.status === 200)
    .flatMap((r) => flatPoints(r.decoded))
    .filter((p) => attr(p.resource, 'service.name') === service && p.metric.name === metric)
    .map((p) => ({ t: p.point.timeUnixNano ?? 0, v: p.point.asDouble ?? NaN }));
}

const hasService = (r: BackendRequest, service: string): boolean =>
  flatPoints(r.decoded).some((p) => attr(p.resource, 'service.name') === service);

describe('OTLP export under faults', () => {
  it('backend down for a while, then back: everything queued arrives, in order', async () => {
    const sender = await startSender(backend.url, {
      export: ['ingested'],
      circuit_breaker: { failure_threshold: 3, open_timeout: '500ms' },
    });
    try {
      await count(sender, 'outage-app', 'outage.jobs', 1);
      await eventually(async () => deliveredValues(backend.requests, 'outage-app', 'outage.jobs').length > 0);
      await backend.down();
      const from = backend.requests.length;
      // Several export cycles' worth of increments while the backend is away.
      const pushed: number[] = [];
      for (let total = 2; total <= 7; total++) {
        await count(sender, 'outage-app', 'outage.jobs', 1);
        pushed.push(total);
        await sleep(350);
      }
      const queued = await exporterMetric(sender, 'vigil_exporter_queue_size');
      expect(queued).toBeGreaterThanOrEqual(5);
      const during = await exporterHealth(sender);
      expect(['retrying', 'circuit_open']).toContain(during.state);
      expect(during.queued_batches).toBeGreaterThanOrEqual(5);
      expect(during.last_error).toMatch(/ECONNREFUSED|ECONNRESET/);
      expect(
        await exporterMetric(sender, 'vigil_exporter_requests_total', { outcome: 'network_error' }),
      ).toBeGreaterThan(0);

      await backend.up();
      await eventually(async () => (await exporterMetric(sender, 'vigil_exporter_queue_size')) === 0, 15_000);
      const after = deliveredValues(backend.requests.slice(from), 'outage-app', 'outage.jobs');
      // Every value the sender held during the outage was delivered...
      for (const v of pushed) expect(after.map((x) => x.v)).toContain(v);
      // ...in time order, cumulative values never going down.
      for (let i = 1; i < after.length; i++) {
        expect(after[i]!.t).toBeGreaterThan(after[i - 1]!.t);
        expect(after[i]!.v).toBeGreaterThanOrEqual(after[i - 1]!.v);
      }
      expect(find(await samples(receiver), 'outage_jobs_total', { job: 'outage-app' })[0]?.value).toBe(7);
      expect(await exporterMetric(sender, 'vigil_exporter_enqueue_failed_points_total')).toBe(0);
      expect(await exporterMetric(sender, 'vigil_exporter_send_failed_points_total')).toBe(0);
      await eventually(async () => (await exporterHealth(sender)).state === 'ok');
    } finally {
      await backend.up();
      expect(await sender.stop()).toBe(0);
    }
  });

  it('drops the oldest batches beyond the queue bound, and counts them', async () => {
    const sender = await startSender(backend.url, {
      export: ['ingested'],
      sending_queue: { queue_size: 3 },
      circuit_breaker: { enabled: false },
    });
    try {
      await backend.down();
      await count(sender, 'bounded-app', 'bounded.jobs', 1);
      await eventually(
        async () =>
          (await exporterMetric(sender, 'vigil_exporter_enqueue_failed_points_total', {
            reason: 'queue_full',
          })) >= 2,
      );
      expect(await exporterMetric(sender, 'vigil_exporter_queue_size')).toBeLessThanOrEqual(3);
      await backend.up();
      await eventually(async () => (await exporterMetric(sender, 'vigil_exporter_queue_size')) === 0);
    } finally {
      await backend.up();
      expect(await sender.stop()).toBe(0);
    }
  });

  it('503 with Retry-After: waits as long as the server asks, then delivers', async () => {
    const sender = await startSender(backend.url, { export: ['ingested'] });
    try {
      backend.respond({ status: 503, headers: { 'retry-after': '2' }, times: 1 });
      const from = backend.requests.length;
      await count(sender, 'retry-after-app', 'ra.jobs', 5);
      const [first, second] = await eventually(async () => {
        const mine = backend.requests.slice(from).filter((r) => hasService(r, 'retry-after-app'));
        return mine.length >= 2 && mine[1]!.status !== 0 && mine;
      }, 10_000);
      expect(first!.status).toBe(503);
      expect(second!.status).toBe(200);
      // The same batch again (not a newer one), and only once the server's delay had passed:
      // the retry policy alone would have retried after 100 ms.
      expect(second!.body.equals(first!.body)).toBe(true);
      expect(second!.atMs - first!.atMs).toBeGreaterThanOrEqual(1_950);
      expect(await exporterMetric(sender, 'vigil_exporter_requests_total', { outcome: '503' })).toBe(1);
      expect(find(await samples(receiver), 'ra_jobs_total', { job: 'retry-after-app' })[0]?.value).toBe(5);
    } finally {
      backend.respond(undefined);
      expect(await sender.stop()).toBe(0);
    }
  });

  it('400: the batch is dropped, counted and never retried; later batches go through', async () => {
    const sender = await startSender(backend.url, { export: ['ingested'] });
    try {
      backend.respond({ status: 400, body: 'malformed', times: 1 });
      const from = backend.requests.length;
      await count(sender, 'bad-app', 'bad.jobs', 1);
      await eventually(
        async () =>
          (await exporterMetric(sender, 'vigil_exporter_send_failed_points_total', {
            reason: 'permanent_error',
          })) > 0,
      );
      await eventually(
        async () => deliveredValues(backend.requests.slice(from), 'bad-app', 'bad.jobs').length >= 2,
      );
      const mine = backend.requests.slice(from).filter((r) => hasService(r, 'bad-app'));
      const rejected = mine.filter((r) => r.status === 400);
      expect(rejected).toHaveLength(1);
      // Never the same bytes again.
      expect(mine.filter((r) => r.body.equals(rejected[0]!.body))).toHaveLength(1);
      expect(await exporterMetric(sender, 'vigil_exporter_requests_total', { outcome: '400' })).toBe(1);
      const health = await exporterHealth(sender);
      expect(health.state).toBe('ok');
    } finally {
      backend.respond(undefined);
      expect(await sender.stop()).toBe(0);
    }
  });

  it('a slow backend times out and is retried, while ingest stays fast', async () => {
    const sender = await startSender(backend.url, {
      export: ['ingested'],
      timeout: '300ms',
      circuit_breaker: { open_timeout: '300ms' },
    });
    try {
      backend.delayMs = 3_000;
      await count(sender, 'slow-app', 'slow.jobs', 1);
      await eventually(
        async () =>
          (await exporterMetric(sender, 'vigil_exporter_requests_total', { outcome: 'timeout' })) >= 2,
      );
      expect((await exporterHealth(sender)).state).not.toBe('ok');
      // Ingest while exports hang: every push answered promptly.
      const latencies: number[] = [];
      for (let i = 0; i < 30; i++) {
        const t = performance.now();
        await count(sender, 'slow-app', 'slow.jobs', 1);
        latencies.push(performance.now() - t);
      }
      latencies.sort((a, b) => a - b);
      expect(latencies.at(-1)).toBeLessThan(250);
      backend.delayMs = 0;
      await eventually(
        async () => find(await samples(receiver), 'slow_jobs_total', { job: 'slow-app' })[0]?.value === 31,
        15_000,
      );
    } finally {
      backend.delayMs = 0;
      expect(await sender.stop()).toBe(0);
    }
  });

  it('a restart during an outage keeps the queue in state.dir and delivers it afterwards', async () => {
    const dir = tempDir('vigil-otlp-state-');
    const otlp = { export: ['ingested'], circuit_breaker: { failure_threshold: 2, open_timeout: '300ms' } };
    const extra = `state:\n  dir: ${dir}\n  snapshot_interval: 1s\n`;
    await backend.down();
    const first = await startSender(backend.url, otlp, { extra, pod: 'restart-pod' });
    await count(first, 'restart-app', 'restart.jobs', 41);
    await eventually(async () => (await exporterMetric(first, 'vigil_exporter_queue_size')) >= 2);
    expect(await first.stop()).toBe(0);
    const file = join(dir, 'vigil-otlp-queue.json');
    expect(existsSync(file)).toBe(true);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { batches: unknown[] };
    expect(saved.batches.length).toBeGreaterThanOrEqual(2);
    expect(first.logs.some((l) => l['msg'] === 'OTLP queue persisted for the next start')).toBe(true);

    // The new process never sees the data again: only the persisted queue can deliver it.
    const second = await startSender(backend.url, otlp, { extra, pod: 'restart-pod' });
    try {
      const restored = second.logs.find((l) => l['msg'] === 'OTLP queue restored');
      expect(restored?.['batches']).toBe(saved.batches.length);
      await sleep(500);
      expect(find(await samples(receiver), 'restart_jobs_total', { job: 'restart-app' })).toEqual([]);
      await backend.up();
      await eventually(
        async () =>
          find(await samples(receiver), 'restart_jobs_total', { job: 'restart-app' })[0]?.value === 41,
        15_000,
      );
      await eventually(async () => (await exporterMetric(second, 'vigil_exporter_queue_size')) === 0);
    } finally {
      await backend.up();
      expect(await second.stop()).toBe(0);
    }
  });

  it('opens the circuit after the configured failures, half-opens after its timeout, closes when the backend recovers', async () => {
    const sender = await startSender(backend.url, {
      export: ['ingested'],
      retry_on_failure: { initial_interval: '50ms', max_interval: '50ms', randomization_factor: 0 },
      circuit_breaker: { failure_threshold: 3, open_timeout: '1500ms', success_threshold: 2 },
    });
    try {
      const from = backend.requests.length;
      backend.respond({ status: 503 });
      await count(sender, 'breaker-app', 'breaker.jobs', 1);
      await eventually(async () => (await exporterHealth(sender)).state === 'circuit_open');
      const openedAt = Date.now();
      expect(await exporterMetric(sender, 'vigil_exporter_circuit_breaker_state')).toBe(2);
      const failed = backend.requests.slice(from).filter((r) => r.status === 503);
      expect(failed).toHaveLength(3);
      // Open: nothing reaches the backend for the timeout.
      await sleep(1_000);
      expect(backend.requests.length - from).toBe(3);
      // Half-open: one trial, which fails → open again.
      await eventually(async () => backend.requests.length - from === 4, 3_000);
      expect(backend.requests.at(-1)!.atMs - openedAt).toBeGreaterThanOrEqual(1_300);
      await sleep(200);
      expect(backend.requests.length - from).toBe(4);
      expect((await exporterHealth(sender)).state).toBe('circuit_open');
      // Backend back: the next trial succeeds, a second success closes the circuit.
      backend.respond(undefined);
      await eventually(async () => (await exporterHealth(sender)).state === 'ok', 5_000);
      expect(await exporterMetric(sender, 'vigil_exporter_circuit_breaker_state')).toBe(0);
      expect(
        sender.logs.filter((l) => l['msg'] === 'OTLP circuit breaker state changed').map((l) => l['to']),
      ).toEqual(['open', 'half_open', 'open', 'half_open', 'closed']);
      expect(find(await samples(receiver), 'breaker_jobs_total', { job: 'breaker-app' })[0]?.value).toBe(1);
    } finally {
      backend.respond(undefined);
      expect(await sender.stop()).toBe(0);
    }
  });
});
