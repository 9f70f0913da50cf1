import { OTLPMetricExporter as OTLPHttpExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OTLPProtoExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { AggregationTemporalityPreference } from '@opentelemetry/exporter-metrics-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationType,
  InstrumentType,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { find, parseExposition, promtoolCheckMetrics } from '../helpers/prometheus-text.js';
import { startVigil, type VigilProcess } from '../helpers/vigil-process.js';

/**
 * The real OpenTelemetry JS exporters push to the real vigil process; the values must come out
 * on /metrics, named per the OTel→Prometheus rules.
 */

let vigil: VigilProcess;
beforeAll(async () => {
  vigil = await startVigil();
});
afterAll(async () => {
  expect(await vigil.stop()).toBe(0);
});

type Protocol = 'proto' | 'json';

function sdk(service: string, instance: string, protocol: Protocol, delta: boolean) {
  const options = {
    url: `${vigil.ingest}/v1/metrics`,
    temporalityPreference: delta
      ? AggregationTemporalityPreference.DELTA
      : AggregationTemporalityPreference.CUMULATIVE,
  };
  const exporter = protocol === 'proto' ? new OTLPProtoExporter(options) : new OTLPHttpExporter(options);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({
      'service.name': service,
      'service.instance.id': instance,
      'deployment.environment.name': 'test',
    }),
    views: [
      {
        instrumentName: 'rpc.latency',
        instrumentType: InstrumentType.HISTOGRAM,
        aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize: 160 } },
      },
    ],
    readers: [reader],
  });
  return { provider, meter: provider.getMeter('shop.instrumentation', '1.2.3') };
}

async function scrape(): Promise<string> {
  const res = await fetch(`${vigil.metrics}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

describe.each<[Protocol, boolean]>([
  ['proto', false],
  ['proto', true],
  ['json', false],
  ['json', true],
])('OTLP/%s exporter (delta=%s)', (protocol, delta) => {
  const service = `shop-${protocol}-${delta ? 'delta' : 'cumulative'}`;

  it('delivers every instrument type with the right values', async () => {
    const { provider, meter } = sdk(service, 'i-1', protocol, delta);
    const orders = meter.createCounter('shop.orders', { unit: '{order}', description: 'Orders placed.' });
    const depth = meter.createUpDownCounter('shop.queue.depth', { unit: '{item}' });
    const cpu = meter.createGauge('shop.cpu.utilization', { unit: '1' });
    const duration = meter.createHistogram('http.server.request.duration', { unit: 's' });
    const rpc = meter.createHistogram('rpc.latency', { unit: 's' });

    orders.add(3, { region: 'eu' });
    depth.add(10);
    cpu.record(0.25);
    duration.record(0.1, { 'http.route': '/odds' });
    duration.record(0.2, { 'http.route': '/odds' });
    rpc.record(4);
    rpc.record(100);
    await provider.forceFlush();
    // A second export: delta temporality must accumulate in vigil, cumulative replace.
    orders.add(2, { region: 'eu' });
    depth.add(-4);
    cpu.record(0.42);
    duration.record(3, { 'http.route': '/odds' });
    rpc.record(1000);
    rpc.record(0.5);
    await provider.forceFlush();
    await provider.shutdown();

    const samples = parseExposition(await scrape());
    const sel = { job: service, instance: 'i-1' };
    expect(find(samples, 'shop_orders_total', { ...sel, region: 'eu' })[0]?.value).toBe(5);
    expect(find(samples, 'shop_orders_total', sel)[0]?.labels['otel_scope_name']).toBe(
      'shop.instrumentation',
    );
    expect(find(samples, 'shop_orders_total', sel)[0]?.labels['otel_scope_version']).toBe('1.2.3');
    expect(find(samples, 'shop_queue_depth', sel)[0]?.value).toBe(6);
    expect(find(samples, 'shop_cpu_utilization_ratio', sel)[0]?.value).toBe(0.42);
    const route = { ...sel, http_route: '/odds' };
    expect(find(samples, 'http_server_request_duration_seconds_count', route)[0]?.value).toBe(3);
    expect(find(samples, 'http_server_request_duration_seconds_sum', route)[0]?.value).toBeCloseTo(3.3, 9);
    expect(
      find(samples, 'http_server_request_duration_seconds_bucket', { ...route, le: '+Inf' })[0]?.value,
    ).toBe(3);
    // Exponential histogram, rendered as classic cumulative buckets.
    expect(find(samples, 'rpc_latency_seconds_count', sel)[0]?.value).toBe(4);
    expect(find(samples, 'rpc_latency_seconds_sum', sel)[0]?.value).toBeCloseTo(1104.5, 9);
    const buckets = find(samples, 'rpc_latency_seconds_bucket', sel);
    expect(buckets.length).toBeGreaterThan(2);
    const inf = buckets.find((b) => b.labels['le'] === '+Inf');
    expect(inf?.value).toBe(4);
    for (let i = 1; i < buckets.length; i++)
      expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
    // One target_info per resource, carrying the non-identifying attributes.
    const info = find(samples, 'target_info', sel);
    expect(info).toHaveLength(1);
    expect(info[0]?.labels['deployment_environment_name']).toBe('test');
  });
});

describe('several sources', () => {
  it('keep the same metric name as distinct series in one family', async () => {
    for (const service of ['checkout', 'billing']) {
      const { provider, meter } = sdk(service, `${service}-0`, 'proto', false);
      meter.createCounter('app.jobs', { unit: '{job}' }).add(service === 'checkout' ? 7 : 11);
      await provider.forceFlush();
      await provider.shutdown();
    }
    const text = await scrape();
    expect(text.match(/^# TYPE app_jobs_total counter$/gm)).toHaveLength(1);
    const samples = parseExposition(text);
    expect(find(samples, 'app_jobs_total', { job: 'checkout' })[0]?.value).toBe(7);
    expect(find(samples, 'app_jobs_total', { job: 'billing' })[0]?.value).toBe(11);
  });

  it('serve an exposition that promtool check metrics accepts', async () => {
    const r = promtoolCheckMetrics(await scrape());
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  });
});
