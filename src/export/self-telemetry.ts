import type { Attributes, Histogram, Meter, MetricOptions } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { SdkCollector } from '../ingest/sdk-collect.js';
import type { RefusalReason } from '../http/ingest-admission.js';
import type { IngestTally } from '../ingest/types.js';
import { resourceIdentity } from '../store/resource.js';
import type { Store } from '../store/store.js';

class OnDemandReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export type Transport = 'otlp_proto' | 'otlp_json' | 'json_push' | 'prometheus_push';

export interface SelfTelemetryOptions {
  store: Store;
  clock: () => number;
  version: string;
  /** service.instance.id of vigil itself (pod name or host name). */
  instanceId: string;
}

/**
 * A count by transport and one more attribute value, reported by an observable counter. The
 * SDK's synchronous Counter.add sorts and encodes its attributes to find their count on every
 * call: the two calls of each ingest request were 3.5% of vigil's CPU under B1's load. Here two
 * map lookups find it; the attributes are built once per set.
 */
class KeyedCount {
  private readonly byTransport = new Map<
    Transport,
    Map<string | number, { attributes: Attributes; value: number }>
  >();

  constructor(meter: Meter, name: string, options: MetricOptions) {
    meter.createObservableCounter(name, options).addCallback((r) => {
      for (const counts of this.byTransport.values())
        for (const { attributes, value } of counts.values()) r.observe(value, attributes);
    });
  }

  add(n: number, transport: Transport, other: string | number, attributes: () => Attributes): void {
    let counts = this.byTransport.get(transport);
    if (counts === undefined) this.byTransport.set(transport, (counts = new Map()));
    const count = counts.get(other);
    if (count !== undefined) count.value += n;
    else counts.set(other, { attributes: attributes(), value: n });
  }
}

/**
 * vigil's own telemetry (SPEC §7), modelled on the collector's `otelcol_*`: real OpenTelemetry
 * SDK instruments on vigil's own MeterProvider, collected into the same store as everything
 * else so one family per name holds whatever shares it.
 */
export class SelfTelemetry {
  readonly provider: MeterProvider;
  /** Store identity of vigil's own resource: the OTLP exporter tells own data from ingested by it. */
  readonly resourceKey: string;
  private readonly reader = new OnDemandReader();
  private readonly collector: SdkCollector;
  private readonly accepted: KeyedCount;
  private readonly rejected: KeyedCount;
  private readonly requests: KeyedCount;
  private readonly refused: KeyedCount;
  private readonly scrapeDuration: Histogram;
  private readonly loopDelay: IntervalHistogram;
  private readonly evalDuration: Histogram;
  private acceptedTotal = 0;
  private rejectedTotal = 0;
  private reloadOk = 1;
  private reloadAtMs: number;

  constructor(private readonly opts: SelfTelemetryOptions) {
    this.provider = new MeterProvider({
      resource: resourceFromAttributes({
        'service.name': 'vigil',
        'service.version': opts.version,
        'service.instance.id': opts.instanceId,
      }),
      readers: [this.reader],
    });
    const identity = ['service.name', 'vigil', 'service.instance.id', opts.instanceId];
    this.resourceKey = resourceIdentity(identity).key;
    this.collector = new SdkCollector(opts.store);
    this.reloadAtMs = opts.clock();
    const meter = this.provider.getMeter('vigil', opts.version);
    this.accepted = new KeyedCount(meter, 'vigil.receiver.accepted_points', {
      unit: '{point}',
      description: 'Points stored, by transport.',
    });
    this.rejected = new KeyedCount(meter, 'vigil.receiver.rejected_points', {
      unit: '{point}',
      description:
        'Points dropped and reported back to the sender (partialSuccess / push errors), by transport and reason.',
    });
    this.requests = new KeyedCount(meter, 'vigil.receiver.requests', {
      unit: '{request}',
      description: 'Ingest requests answered, by transport and HTTP status code.',
    });
    // Requests, not points: load shedding answers before reading the body, so the points are unknown.
    this.refused = new KeyedCount(meter, 'vigil.receiver.refused_requests', {
      unit: '{request}',
      description:
        'Ingest requests shed with 503/429 (shutting_down, memory_soft_limit, memory_hard_limit, concurrency_limit, inflight_bytes_limit), by transport and reason.',
    });
    this.scrapeDuration = meter.createHistogram('vigil.exporter.prometheus.scrape.duration', {
      unit: 's',
      description: 'Time to serve GET /metrics.',
      advice: { explicitBucketBoundaries: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] },
    });
    this.evalDuration = meter.createHistogram('vigil.rules.evaluation.duration', {
      unit: 's',
      description: 'Time to evaluate all rules once.',
      advice: {
        explicitBucketBoundaries: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
      },
    });
    // 20 samples a second: enough for p50/p99 of the lag, and a 10 ms timer alone would cost
    // an idle sidecar ~0.5% of a core in wake-ups (bench B9).
    this.loopDelay = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
    this.loopDelay.enable();

    meter
      .createObservableGauge('vigil.store.series', {
        unit: '{series}',
        description: 'Series held in the store.',
      })
      .addCallback((r) => r.observe(opts.store.size));
    meter
      .createObservableGauge('vigil.store.resources', {
        unit: '{resource}',
        description: 'Sources (resources) held.',
      })
      .addCallback((r) => r.observe(opts.store.resources.size));
    meter
      .createObservableGauge('vigil.process.event_loop.delay', {
        unit: 's',
        description: 'Event-loop delay since the previous collection, by statistic (p50, p99, max).',
      })
      .addCallback((r) => {
        const h = this.loopDelay;
        if (h.count > 0) {
          r.observe(loopDelaySeconds(h.percentile(50)), { stat: 'p50' });
          r.observe(loopDelaySeconds(h.percentile(99)), { stat: 'p99' });
          r.observe(loopDelaySeconds(h.max), { stat: 'max' });
        }
        h.reset();
      });
    meter
      .createObservableGauge('vigil.process.memory.usage', {
        unit: 'By',
        description: 'Process memory by kind.',
      })
      .addCallback((r) => {
        const m = process.memoryUsage();
        r.observe(m.rss, { kind: 'rss' });
        r.observe(m.heapUsed, { kind: 'heap_used' });
        r.observe(m.heapTotal, { kind: 'heap_total' });
        r.observe(m.external, { kind: 'external' });
      });
    meter
      .createObservableGauge('vigil.config.last_reload_successful', {
        description: 'Whether the last configuration reload succeeded (1) or failed (0).',
      })
      .addCallback((r) => r.observe(this.reloadOk));
    meter
      .createObservableGauge('vigil.config.last_reload_success_timestamp', {
        unit: 's',
        description: 'When the configuration was last loaded successfully, in seconds since the epoch.',
      })
      .addCallback((r) => r.observe(this.reloadAtMs / 1000));
  }

  /** Count one answered ingest request and what became of its points; `refused` when load was shed. */
  recordRequest(
    transport: Transport,
    status: number,
    tally: IngestTally | undefined,
    refused?: RefusalReason,
  ): void {
    this.requests.add(1, transport, status, () => ({ transport, code: String(status) }));
    if (refused !== undefined)
      this.refused.add(1, transport, refused, () => ({ transport, reason: refused }));
    if (tally === undefined) return;
    if (tally.accepted > 0) this.accepted.add(tally.accepted, transport, '', () => ({ transport }));
    this.acceptedTotal += tally.accepted;
    for (const [reason, n] of tally.reasons) {
      this.rejected.add(n, transport, reason, () => ({ transport, reason }));
      this.rejectedTotal += n;
    }
  }

  /** Rule evaluation time (all rules of one tick). */
  recordEvaluation(seconds: number): void {
    this.evalDuration.record(seconds);
  }

  /** Totals since start, for the report's `ingest` section. */
  ingestTotals(): { accepted_points: number; rejected_points: number; series: number } {
    return {
      accepted_points: this.acceptedTotal,
      rejected_points: this.rejectedTotal,
      series: this.opts.store.size,
    };
  }

  recordScrape(seconds: number): void {
    this.scrapeDuration.record(seconds);
  }

  setReloadResult(ok: boolean): void {
    this.reloadOk = ok ? 1 : 0;
    if (ok) this.reloadAtMs = this.opts.clock();
  }

  /** Collect vigil's instruments into the store (never refused by the limits). */
  async collect(): Promise<void> {
    const { resourceMetrics } = await this.reader.collect();
    const flat: string[] = [];
    for (const [k, v] of Object.entries(resourceMetrics.resource.attributes)) flat.push(k, String(v));
    const entry = this.opts.store.resource(flat);
    this.collector.apply(resourceMetrics, entry, this.opts.clock(), { exempt: true });
  }

  async shutdown(): Promise<void> {
    this.loopDelay.disable();
    await this.provider.shutdown();
  }
}

/** How often the event-loop monitor's timer fires. */
const LOOP_SAMPLE_MS = 50;

/**
 * Node's event-loop histogram records the time between its timer's callbacks, so an idle loop
 * reads the sampling interval itself (50 ms); the delay is what exceeds it.
 */
export function loopDelaySeconds(recordedNs: number): number {
  return Math.max(0, recordedNs / 1e6 - LOOP_SAMPLE_MS) / 1e3;
}
