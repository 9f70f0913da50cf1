import type { Counter, Gauge, Histogram, Meter } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import type { Logger } from '../log.js';
import type { DemoMetric } from './traffic.js';

/**
 * How the demo's simulated services reach vigil: as an application instrumented with the
 * OpenTelemetry SDK does (instruments, a periodic reader, the official OTLP/HTTP protobuf
 * exporter), or as a service without an SDK does (`POST /api/v1/push`).
 */

export interface DemoTransport {
  send(metrics: readonly DemoMetric[]): void;
  shutdown(): Promise<void>;
}

/**
 * The semantic conventions' advice for `http.server.request.duration`, used for every histogram
 * in seconds: the SDK's default boundaries are meant for milliseconds.
 */
export const SECONDS_BOUNDARIES = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

export interface OtlpTransportOptions {
  service: string;
  /** vigil's ingest base URL, e.g. `http://127.0.0.1:4318`. */
  ingestUrl: string;
  exportIntervalMs: number;
}

export class OtlpTransport implements DemoTransport {
  private readonly provider: MeterProvider;
  private readonly meter: Meter;
  private readonly counters = new Map<string, Counter>();
  private readonly histograms = new Map<string, Histogram>();
  private readonly gauges = new Map<string, Gauge>();

  constructor(opts: OtlpTransportOptions) {
    const exporter = new OTLPMetricExporter({
      url: `${opts.ingestUrl}/v1/metrics`,
      timeoutMillis: Math.max(100, opts.exportIntervalMs - 50),
    });
    this.provider = new MeterProvider({
      resource: resourceFromAttributes({
        'service.name': opts.service,
        'service.instance.id': `${opts.service}-demo-1`,
        'service.version': '1.0.0',
        'deployment.environment.name': 'demo',
      }),
      readers: [
        new PeriodicExportingMetricReader({
          exporter,
          exportIntervalMillis: opts.exportIntervalMs,
          exportTimeoutMillis: Math.max(100, opts.exportIntervalMs - 50),
        }),
      ],
    });
    this.meter = this.provider.getMeter('vigil.demo', '1.0.0');
  }

  send(metrics: readonly DemoMetric[]): void {
    for (const m of metrics) {
      const attrs = m.attributes ?? {};
      const options = m.unit !== undefined ? { unit: m.unit } : {};
      if (m.type === 'counter') {
        let c = this.counters.get(m.name);
        if (c === undefined) this.counters.set(m.name, (c = this.meter.createCounter(m.name, options)));
        c.add(m.value ?? 0, attrs);
      } else if (m.type === 'gauge') {
        let g = this.gauges.get(m.name);
        if (g === undefined) this.gauges.set(m.name, (g = this.meter.createGauge(m.name, options)));
        g.record(m.value ?? 0, attrs);
      } else {
        let h = this.histograms.get(m.name);
        if (h === undefined) {
          const advice = m.unit === 's' ? { advice: { explicitBucketBoundaries: SECONDS_BOUNDARIES } } : {};
          this.histograms.set(m.name, (h = this.meter.createHistogram(m.name, { ...options, ...advice })));
        }
        for (const v of m.values ?? []) h.record(v, attrs);
      }
    }
  }

  /** Exports what is still held, then stops. */
  async shutdown(): Promise<void> {
    await this.provider.shutdown();
  }
}

export interface JsonTransportOptions {
  service: string;
  ingestUrl: string;
  log: Logger;
}

export class JsonPushTransport implements DemoTransport {
  private inflight = new Set<Promise<void>>();

  constructor(private readonly opts: JsonTransportOptions) {}

  send(metrics: readonly DemoMetric[]): void {
    const body = JSON.stringify({
      resource: { 'service.name': this.opts.service, 'service.instance.id': `${this.opts.service}-demo-1` },
      metrics,
    });
    const p = this.post(body).finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  private async post(body: string): Promise<void> {
    try {
      const res = await fetch(`${this.opts.ingestUrl}/api/v1/push`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      const reply = (await res.json()) as { rejected?: number; errors?: unknown[] };
      if (!res.ok || (reply.rejected ?? 0) > 0)
        this.opts.log.debug(
          { service: this.opts.service, status: res.status, reply },
          'demo push not fully accepted',
        );
    } catch (err) {
      // vigil shutting down or not yet listening: the next push tries again.
      this.opts.log.debug({ service: this.opts.service, err }, 'demo push failed');
    }
  }

  async shutdown(): Promise<void> {
    await Promise.all(this.inflight);
  }
}
