import type { Counter, Meter } from '@opentelemetry/api';
import type { BreakerState } from './circuit-breaker.js';
import type { SendFailReason, SenderEvents } from './otlp-sender.js';

/**
 * The OTLP exporter's own telemetry, modelled on the collector's exporterhelper metrics
 * (`otelcol_exporter_sent_metric_points`, `..._send_failed_...`, `..._enqueue_failed_...`,
 * `otelcol_exporter_queue_size` / `_capacity`), plus the circuit breaker's state. Instruments
 * live on vigil's own MeterProvider (meter `vigil`), so they reach `/metrics` as `vigil_exporter_*`
 * and are exported like the rest of vigil's telemetry.
 */

/** Why points never made it into the queue (or were pushed out of it). */
export type EnqueueFailReason = 'queue_full' | 'too_large';

export interface OtlpExporterGauges {
  queueSize(): number;
  queueCapacity(): number;
  queueBytes(): number;
  breakerState(): BreakerState | undefined;
  lastSuccessMs(): number | undefined;
}

/** 0 closed, 1 half-open, 2 open: higher is worse, as `vigil_rule_state`. */
export const BREAKER_STATE_VALUE: Readonly<Record<BreakerState, 0 | 1 | 2>> = {
  closed: 0,
  half_open: 1,
  open: 2,
};

export class OtlpSelfMetrics implements SenderEvents {
  private readonly sentPoints: Counter;
  private readonly failedPoints: Counter;
  private readonly enqueueFailedPoints: Counter;
  private readonly requests: Counter;
  private readonly attrs = { exporter: 'otlp' } as const;

  constructor(meter: Meter, gauges: OtlpExporterGauges) {
    this.sentPoints = meter.createCounter('vigil.exporter.sent_points', {
      unit: '{point}',
      description: 'Points delivered to the OTLP backend (accepted, not rejected in a partial success).',
    });
    this.failedPoints = meter.createCounter('vigil.exporter.send_failed_points', {
      unit: '{point}',
      description:
        'Points given up: permanent_error (e.g. HTTP 400), retries_exhausted (retry_on_failure.max_elapsed_time), rejected (partial success), shutdown (queue lost at exit).',
    });
    this.enqueueFailedPoints = meter.createCounter('vigil.exporter.enqueue_failed_points', {
      unit: '{point}',
      description: 'Points dropped by the sending queue: queue_full (oldest batch pushed out), too_large.',
    });
    this.requests = meter.createCounter('vigil.exporter.requests', {
      unit: '{request}',
      description: 'OTLP export requests by outcome: HTTP status code, timeout or network_error.',
    });
    meter
      .createObservableGauge('vigil.exporter.queue.size', {
        unit: '{batch}',
        description: 'Batches (export requests) waiting in the sending queue.',
      })
      .addCallback((r) => r.observe(gauges.queueSize(), this.attrs));
    meter
      .createObservableGauge('vigil.exporter.queue.capacity', {
        unit: '{batch}',
        description: 'Batches the sending queue holds at most (sending_queue.queue_size).',
      })
      .addCallback((r) => r.observe(gauges.queueCapacity(), this.attrs));
    meter
      .createObservableGauge('vigil.exporter.queue.usage', {
        unit: 'By',
        description: 'Bytes held by the sending queue (bounded by sending_queue.max_bytes).',
      })
      .addCallback((r) => r.observe(gauges.queueBytes(), this.attrs));
    meter
      .createObservableGauge('vigil.exporter.circuit_breaker.state', {
        description: 'OTLP circuit breaker: 0 closed, 1 half-open, 2 open.',
      })
      .addCallback((r) => {
        const s = gauges.breakerState();
        if (s !== undefined) r.observe(BREAKER_STATE_VALUE[s], this.attrs);
      });
    meter
      .createObservableGauge('vigil.exporter.last_success_timestamp', {
        unit: 's',
        description: 'When a batch was last delivered, in seconds since the epoch.',
      })
      .addCallback((r) => {
        const ms = gauges.lastSuccessMs();
        if (ms !== undefined) r.observe(ms / 1000, this.attrs);
      });
  }

  request(outcome: string): void {
    this.requests.add(1, { ...this.attrs, outcome });
  }

  sent(points: number): void {
    if (points > 0) this.sentPoints.add(points, this.attrs);
  }

  failed(points: number, reason: SendFailReason | 'shutdown'): void {
    if (points > 0) this.failedPoints.add(points, { ...this.attrs, reason });
  }

  enqueueFailed(points: number, reason: EnqueueFailReason): void {
    if (points > 0) this.enqueueFailedPoints.add(points, { ...this.attrs, reason });
  }
}
