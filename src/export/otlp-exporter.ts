import type { Meter } from '@opentelemetry/api';
import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { Logger } from 'pino';
import { loggableUrl } from '../log.js';
import type { ParsedConfig } from '../config/schema.js';
import { resolveOtlpExporter, type OtlpExporterSettings } from '../config/otlp-env.js';
import type { ExporterHealth } from '../report/reliability-report.js';
import { StateFile } from '../store/state-file.js';
import type { MetricStream, Store } from '../store/store.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { DeltaConverter } from './delta-converter.js';
import { BatchQueue, restoreQueue, snapshotQueue, type QueuedBatch } from './otlp-queue.js';
import { OtlpSelfMetrics } from './otlp-self-metrics.js';
import { OtlpSender } from './otlp-sender.js';
import { CONTENT_TYPE, serializeBatch } from './otlp-serialize.js';
import { OtlpHttpTransport } from './otlp-transport.js';
import { buildBatches } from './resource-metrics.js';
import { RetryPolicy } from './retry-policy.js';

const gzipAsync = promisify(gzip);

/** The scope of the rule / signal / source gauges on vigil's own resource (main.ts). */
export const RULES_SCOPE = 'vigil.rules';
export const QUEUE_FILE = 'vigil-otlp-queue.json';

export interface OtlpExporterOptions {
  settings: OtlpExporterSettings;
  store: Store;
  /** vigil's own meter, for the exporter's self-metrics. */
  meter: Meter;
  /** Store identity of vigil's own resource: tells `self` and `rules` data from `ingested`. */
  selfResourceKey: string;
  /** Where the queue is kept across restarts (state.dir), if anywhere. */
  stateDir: string | undefined;
  snapshotIntervalMs: number;
  /** Brings SDK-held data (push meters, vigil's instruments) into the store before a collection. */
  beforeCollect?: () => Promise<void>;
  clock: () => number;
  log: Logger;
  version: string;
  /** Jitter source (tests make it deterministic). */
  random?: () => number;
}

/**
 * The OTLP exporter (SPEC §7): every `interval` it turns the store into one ResourceMetrics per
 * source, serialises them with the official serializers into batches, and queues them; a single
 * sender delivers the queue in order with retries, Retry-After and a circuit breaker. The queue
 * outlives export cycles and, with `state.dir`, restarts. On shutdown: one last collection, a
 * flush until the deadline, and whatever is left is persisted.
 */
export class OtlpExporter {
  private readonly s: OtlpExporterSettings;
  private readonly queue: BatchQueue;
  private readonly breaker: CircuitBreaker | undefined;
  private readonly transport: OtlpHttpTransport;
  private readonly sender: OtlpSender;
  private readonly metrics: OtlpSelfMetrics;
  private readonly delta: DeltaConverter | undefined;
  private readonly queueFile: StateFile | undefined;
  private readonly startedMs: number;
  private cycleTimer: NodeJS.Timeout | undefined;
  private snapshotTimer: NodeJS.Timeout | undefined;
  private pumpTimer: NodeJS.Timeout | undefined;
  private cycle: Promise<void> | undefined;
  private pumping: Promise<void> | undefined;
  private stopped = false;
  private dirty = false;
  private lastError = '';

  constructor(private readonly opts: OtlpExporterOptions) {
    const s = (this.s = opts.settings);
    this.startedMs = opts.clock();
    this.queue = new BatchQueue(s.queue);
    this.breaker = s.breaker.enabled
      ? new CircuitBreaker({
          ...s.breaker,
          clock: opts.clock,
          onChange: (from, to) =>
            (to === 'open' ? opts.log.warn : opts.log.info).call(
              opts.log,
              { from, to, openTimeoutMs: s.breaker.openTimeoutMs },
              'OTLP circuit breaker state changed',
            ),
        })
      : undefined;
    this.transport = new OtlpHttpTransport({
      url: s.url,
      headers: s.headers,
      userAgent: `vigil/${opts.version}`,
      clock: opts.clock,
    });
    this.metrics = new OtlpSelfMetrics(opts.meter, {
      queueSize: () => this.queue.size,
      queueCapacity: () => this.queue.limits.maxBatches,
      queueBytes: () => this.queue.bytes,
      breakerState: () => this.breaker?.state,
      lastSuccessMs: () => this.sender.lastSuccess,
    });
    const events = this.metrics;
    this.sender = new OtlpSender({
      queue: this.queue,
      send: (batch, timeoutMs) => this.transport.send(batch, timeoutMs),
      timeoutMs: s.timeoutMs,
      retry: s.retry.enabled ? new RetryPolicy({ ...s.retry, random: opts.random }) : undefined,
      breaker: this.breaker,
      clock: opts.clock,
      log: opts.log,
      events: {
        request: (outcome) => events.request(outcome),
        sent: (points) => {
          this.lastError = '';
          events.sent(points);
        },
        failed: (points, reason) => {
          this.lastError = `${reason}: ${this.sender.lastAttemptError}`;
          events.failed(points, reason);
        },
      },
    });
    this.delta = s.temporality === 'delta' ? new DeltaConverter(this.startedMs) : undefined;
    this.queueFile =
      opts.stateDir !== undefined && s.queue.persist
        ? new StateFile(opts.stateDir, opts.log, opts.clock, QUEUE_FILE)
        : undefined;
  }

  /** Restore a persisted queue and start the export and snapshot timers. */
  start(): void {
    this.restore();
    this.cycleTimer = setInterval(() => void this.collectOnce(), this.s.intervalMs);
    this.cycleTimer.unref();
    if (this.queueFile !== undefined) {
      this.snapshotTimer = setInterval(() => this.persist(false), this.opts.snapshotIntervalMs);
      this.snapshotTimer.unref();
    }
    this.opts.log.info(
      {
        url: loggableUrl(this.s.url),
        protocol: this.s.protocol,
        intervalMs: this.s.intervalMs,
        temporality: this.s.temporality,
        export: [...this.s.export],
        queued: this.queue.size,
      },
      'OTLP exporter started',
    );
    this.schedulePump();
  }

  /** For the report's `exporters.otlp`. */
  health(): ExporterHealth {
    const breaker = this.breaker?.state;
    const last = this.sender.lastSuccess;
    return {
      state:
        breaker === 'open'
          ? 'circuit_open'
          : breaker === 'half_open' || this.sender.retrying
            ? 'retrying'
            : 'ok',
      last_success: last === undefined ? null : new Date(last).toISOString(),
      queued_batches: this.queue.size,
      last_error: this.sender.retrying ? this.sender.lastAttemptError : this.lastError || null,
    };
  }

  /** One collection: the store's selected series into queued batches. Never rejects. */
  collectOnce(): Promise<void> {
    // A collection still running (a huge store, a slow refresh) is not stacked with another.
    this.cycle ??= this.collect()
      .catch((err: unknown) => this.opts.log.error({ err }, 'OTLP collection failed'))
      .finally(() => {
        this.cycle = undefined;
        this.schedulePump();
      });
    return this.cycle;
  }

  /**
   * Stop: one last collection, then deliver what is queued until `deadlineMs` (retries included,
   * unless the next one falls after the deadline), then persist what is left.
   */
  async shutdown(deadlineMs: number): Promise<void> {
    this.stopped = true;
    clearInterval(this.cycleTimer);
    clearInterval(this.snapshotTimer);
    clearTimeout(this.pumpTimer);
    await this.cycle;
    await this.collectOnce();
    while (this.queue.size > 0) {
      if (this.pumping !== undefined) {
        // A send started by the timer: wait for it, but never past the deadline.
        const left = deadlineMs - this.opts.clock();
        if (left <= 0) break;
        await Promise.race([this.pumping, sleep(left)]);
        if (this.pumping !== undefined) break;
      }
      const now = this.opts.clock();
      const at = this.sender.nextAttemptAtMs();
      if (at === undefined || at >= deadlineMs || now >= deadlineMs) break;
      if (at > now) await sleep(at - now);
      await this.sender.step(deadlineMs);
      // With the queue safe on disk, a failing backend must not hold the pod's termination:
      // the next start delivers. Without it, keep trying until the deadline.
      if (this.sender.retrying && this.queueFile !== undefined) break;
    }
    const left = this.queue.size;
    if (left > 0) {
      if (this.queueFile !== undefined) {
        this.opts.log.warn(
          { batches: left, points: this.queue.points },
          'OTLP queue persisted for the next start',
        );
      } else {
        this.metrics.failed(this.queue.points, 'shutdown');
        this.opts.log.error({ batches: left, points: this.queue.points }, 'OTLP queue lost at shutdown');
      }
    }
    this.persist(true);
    this.transport.close();
  }

  private async collect(): Promise<void> {
    await this.opts.beforeCollect?.();
    const nowMs = this.opts.clock();
    const contentType = CONTENT_TYPE[this.s.protocol];
    const batches = buildBatches(this.opts.store, {
      include: (stream) => this.includes(stream),
      delta: this.delta,
      nowMs,
      defaultStartMs: this.startedMs,
      maxBatchPoints: this.s.maxBatchPoints,
    });
    for (const batch of batches) {
      const body = serializeBatch(batch, this.s.protocol);
      const gzip = this.s.compression === 'gzip';
      this.enqueue({
        createdMs: nowMs,
        points: batch.points,
        contentType,
        contentEncoding: gzip ? 'gzip' : undefined,
        body: gzip ? await gzipAsync(body) : body,
      });
      // Serialising a large store takes a while: let ingest requests in between batches.
      await yieldToLoop();
    }
  }

  private includes(stream: MetricStream): boolean {
    const sel = this.s.export;
    if (stream.resource.key !== this.opts.selfResourceKey) return sel.has('ingested');
    return sel.has(stream.scope.name === RULES_SCOPE ? 'rules' : 'self');
  }

  private enqueue(batch: QueuedBatch): void {
    const r = this.queue.push(batch, this.sender.inFlight);
    this.dirty = true;
    if (!r.ok) {
      this.metrics.enqueueFailed(batch.points, 'too_large');
      this.opts.log.error(
        { bytes: batch.body.length, maxBytes: this.s.queue.maxBytes },
        'OTLP batch larger than sending_queue.max_bytes; dropped (lower max_batch_points)',
      );
      return;
    }
    if (r.evicted.length > 0) {
      const points = r.evicted.reduce((n, b) => n + b.points, 0);
      this.metrics.enqueueFailed(points, 'queue_full');
      this.opts.log.warn({ batches: r.evicted.length, points }, 'OTLP queue full; oldest batches dropped');
    }
  }

  /** Arrange for the sender to run when the head batch is next due. */
  private schedulePump(): void {
    if (this.stopped || this.pumping !== undefined) return;
    clearTimeout(this.pumpTimer);
    const at = this.sender.nextAttemptAtMs();
    if (at === undefined) return;
    this.pumpTimer = setTimeout(() => this.pump(), Math.max(0, at - this.opts.clock()));
    this.pumpTimer.unref();
  }

  private pump(): void {
    this.pumpTimer = undefined;
    this.pumping = this.sender
      .step()
      .then(
        (attempted) => {
          if (attempted) this.dirty = true;
        },
        (err: unknown) => this.opts.log.error({ err }, 'OTLP send failed unexpectedly'),
      )
      .finally(() => {
        this.pumping = undefined;
        this.schedulePump();
      });
  }

  private restore(): void {
    if (this.queueFile === undefined) return;
    const saved = this.queueFile.read();
    if (saved === undefined) return;
    const { batches, skipped } = restoreQueue(saved);
    for (const b of batches) this.enqueue(b);
    this.opts.log.info(
      { path: this.queueFile.path, batches: batches.length, skipped, points: this.queue.points },
      'OTLP queue restored',
    );
  }

  private persist(force: boolean): void {
    if (this.queueFile === undefined || (!force && !this.dirty)) return;
    try {
      this.queueFile.write({
        ...snapshotQueue(this.queue),
        savedAt: new Date(this.opts.clock()).toISOString(),
      });
      this.dirty = false;
    } catch (err) {
      this.opts.log.error({ err, path: this.queueFile.path }, 'cannot write OTLP queue snapshot');
    }
  }
}

/**
 * The exporter for a config, or undefined when it is disabled (no endpoint in the file or the
 * environment, or `enabled: false`). Wiring only: settings come from src/config.
 */
export function createOtlpExporter(args: {
  config: ParsedConfig;
  env: NodeJS.ProcessEnv;
  store: Store;
  telemetry: { provider: { getMeter(name: string, version?: string): Meter }; resourceKey: string };
  refresh: () => Promise<void>;
  clock: () => number;
  log: Logger;
  version: string;
}): OtlpExporter | undefined {
  const resolved = resolveOtlpExporter(args.config.exporters.otlp, args.env);
  for (const w of resolved.warnings) args.log.warn({ exporter: 'otlp' }, w);
  if (!resolved.enabled) {
    args.log.debug({ reason: resolved.reason }, 'OTLP exporter disabled');
    return undefined;
  }
  return new OtlpExporter({
    settings: resolved.settings,
    store: args.store,
    meter: args.telemetry.provider.getMeter('vigil', args.version),
    selfResourceKey: args.telemetry.resourceKey,
    stateDir: args.config.state.dir,
    snapshotIntervalMs: args.config.state.snapshot_interval,
    beforeCollect: args.refresh,
    clock: args.clock,
    log: args.log,
    version: args.version,
  });
}
