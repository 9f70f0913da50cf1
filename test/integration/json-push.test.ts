import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { find, parseExposition } from '../helpers/prometheus-text.js';
import { startVigil, testConfig, type VigilProcess } from '../helpers/vigil-process.js';

/** The JSON push API records into OpenTelemetry SDK instruments with the configured views. */

let vigil: VigilProcess;
beforeAll(async () => {
  vigil = await startVigil(
    testConfig(`views:
  - instrument_name: 'queue.wait'
    aggregation: exponential_histogram
    max_size: 160
  - instrument_name: 'batch.size'
    aggregation: explicit_bucket_histogram
    boundaries: [10, 100]
limits:
  max_series_per_metric: 3
`),
  );
});
afterAll(async () => {
  expect(await vigil.stop()).toBe(0);
});

async function push(
  body: unknown,
): Promise<{ accepted: number; rejected: number; errors: Array<{ index: number; message: string }> }> {
  const res = await fetch(`${vigil.ingest}/api/v1/push`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json' },
  });
  expect(res.status).toBe(200);
  return res.json() as never;
}

async function samples() {
  return parseExposition(await (await fetch(`${vigil.metrics}/metrics`)).text());
}

describe('POST /api/v1/push', () => {
  it('records the SPEC example and shows it on /metrics', async () => {
    const reply = await push({
      resource: { 'service.name': 'pricing', 'service.instance.id': 'pricing-7f9c' },
      metrics: [
        {
          name: 'http.server.request.duration',
          type: 'histogram',
          unit: 'ms',
          value: 123.4,
          attributes: { 'http.route': '/odds', 'http.response.status_code': 200 },
        },
        { name: 'http.server.request.duration', type: 'histogram', unit: 'ms', values: [12.5, 40, 1800] },
        { name: 'stream.events', type: 'counter', value: 250 },
        { name: 'stream.recompute_backlog', type: 'gauge', value: 1200 },
        { name: 'cache.operations', type: 'counter', value: 1, attributes: { result: 'hit' } },
        { name: 'cache.operations', type: 'counter', value: 1, attributes: { result: 'hit' } },
        { name: 'inflight', type: 'updowncounter', value: 5 },
        { name: 'inflight', type: 'updowncounter', value: -2 },
      ],
    });
    expect(reply).toEqual({ accepted: 10, rejected: 0, errors: [] });
    const s = await samples();
    const sel = { job: 'pricing', instance: 'pricing-7f9c', otel_scope_name: 'vigil.push' };
    const route = { ...sel, http_route: '/odds', http_response_status_code: '200' };
    expect(find(s, 'http_server_request_duration_milliseconds_count', route)[0]?.value).toBe(1);
    expect(
      find(s, 'http_server_request_duration_milliseconds_bucket', { ...route, le: '200' })[0]?.value,
    ).toBe(1);
    expect(
      find(s, 'http_server_request_duration_milliseconds_bucket', { ...route, le: '100' })[0]?.value,
    ).toBe(0);
    // Default latency boundaries (SPEC §3) on the attribute-less series.
    const plain = find(s, 'http_server_request_duration_milliseconds_bucket', sel).filter(
      (x) => x.labels['http_route'] === undefined,
    );
    expect(plain.map((b) => b.labels['le'])).toEqual([
      '25',
      '50',
      '100',
      '200',
      '350',
      '500',
      '750',
      '1000',
      '1500',
      '2500',
      '5000',
      '+Inf',
    ]);
    expect(plain.map((b) => b.value)).toEqual([1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3]);
    expect(find(s, 'stream_events_total', sel)[0]?.value).toBe(250);
    expect(find(s, 'stream_recompute_backlog', sel)[0]?.value).toBe(1200);
    expect(find(s, 'cache_operations_total', { ...sel, result: 'hit' })[0]?.value).toBe(2);
    expect(find(s, 'inflight', sel)[0]?.value).toBe(3);
  });

  it('applies exponential and explicit views by instrument name', async () => {
    await push({
      resource: { 'service.name': 'worker' },
      metrics: [
        { name: 'queue.wait', type: 'histogram', unit: 's', values: [0.001, 0.01, 0.1, 1, 10] },
        { name: 'batch.size', type: 'histogram', values: [5, 50, 500] },
      ],
    });
    const s = await samples();
    expect(find(s, 'queue_wait_seconds_count', { job: 'worker' })[0]?.value).toBe(5);
    // Exponential aggregation: one classic bucket per non-empty exponential bucket, each upper
    // bound just above its observation (never one of the explicit default boundaries).
    const wait = find(s, 'queue_wait_seconds_bucket', { job: 'worker' });
    expect(wait.map((b) => b.value)).toEqual([1, 2, 3, 4, 5, 5]);
    const les = wait.slice(0, 5).map((b) => Number(b.labels['le']));
    [0.001, 0.01, 0.1, 1, 10].forEach((v, i) => {
      expect(les[i]).toBeGreaterThanOrEqual(v);
      expect(les[i]).toBeLessThan(v * 1.1); // scale 3 here: buckets 9% wide
    });
    expect(find(s, 'batch_size_bucket', { job: 'worker' }).map((b) => [b.labels['le'], b.value])).toEqual([
      ['10', 1],
      ['100', 2],
      ['+Inf', 3],
    ]);
  });

  it('refuses new series past max_series_per_metric, counted, never merged', async () => {
    const metrics = ['a', 'b', 'c', 'd', 'e'].map((user) => ({
      name: 'logins',
      type: 'counter',
      value: 1,
      attributes: { user },
    }));
    const reply = await push({ resource: { 'service.name': 'auth' }, metrics });
    expect(reply.accepted).toBe(3);
    expect(reply.rejected).toBe(2);
    expect(reply.errors[0]?.message).toMatch(/max_series_per_metric/);
    const s = await samples();
    expect(find(s, 'logins_total', { job: 'auth' })).toHaveLength(3);
    const rejected = find(s, 'vigil_receiver_rejected_points_total', {
      transport: 'json_push',
      reason: 'series_per_metric_limit',
    });
    expect(rejected[0]?.value).toBe(2);
  });

  it('rejects a type change of a known metric', async () => {
    const reply = await push({
      resource: { 'service.name': 'pricing', 'service.instance.id': 'pricing-7f9c' },
      metrics: [{ name: 'stream.events', type: 'gauge', value: 1 }],
    });
    expect(reply.rejected).toBe(1);
    expect(reply.errors[0]?.message).toMatch(/first pushed as counter/);
  });
});
