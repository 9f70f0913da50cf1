import type { Attributes, Counter, Gauge, Histogram, Meter, UpDownCounter } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { DEFAULT_LATENCY_BOUNDARIES_MS } from '../config/schema.js';
import type { ResourceEntry } from '../store/resource.js';
import type { Store } from '../store/store.js';
import type { FlatAttrs } from '../store/types.js';
import { bulkRecorder, type RecordAll } from './sdk-bulk-record.js';
import { SdkCollector } from './sdk-collect.js';
import { IngestTally } from './types.js';
import type { ViewResolver } from './views.js';

/** The JSON push API's instrument types (SPEC §3). */
export type PushType = 'counter' | 'updowncounter' | 'gauge' | 'histogram';

export interface PushInstrument {
  readonly type: PushType;
  readonly unit: string;
  /** Every value of a push item, under one attribute set. */
  readonly recordAll: RecordAll;
}

/** A reader that only collects on demand: the store, not a timer, decides when. */
class OnDemandReader extends MetricReader {
  constructor(cardinalityLimit: number) {
    super({
      aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE,
      cardinalitySelector: () => cardinalityLimit,
    });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** One pushing source: its own MeterProvider, so its resource is kept (SPEC §3 identity). */
export class PushSource {
  readonly instruments = new Map<string, PushInstrument>();
  lastUsedMs: number;

  constructor(
    readonly resource: ResourceEntry,
    readonly provider: MeterProvider,
    readonly reader: OnDemandReader,
    readonly meter: Meter,
    nowMs: number,
  ) {
    this.lastUsedMs = nowMs;
  }

  /** The instrument for `name`, created on first use; an error text on a type or unit clash. */
  instrument(name: string, type: PushType, unit: string): PushInstrument | string {
    const known = this.instruments.get(name);
    if (known !== undefined) {
      if (known.type !== type || known.unit !== unit)
        return `metric ${name} was first pushed as ${known.type} with unit "${known.unit}"`;
      return known;
    }
    let recordAll: RecordAll;
    switch (type) {
      case 'counter': {
        const c: Counter = this.meter.createCounter(name, { unit });
        recordAll = bulkRecorder(c, (v, a) => c.add(v, a)).recordAll;
        break;
      }
      case 'updowncounter': {
        const c: UpDownCounter = this.meter.createUpDownCounter(name, { unit });
        recordAll = bulkRecorder(c, (v, a) => c.add(v, a)).recordAll;
        break;
      }
      case 'gauge': {
        const g: Gauge = this.meter.createGauge(name, { unit });
        recordAll = bulkRecorder(g, (v, a) => g.record(v, a)).recordAll;
        break;
      }
      case 'histogram': {
        const h: Histogram = this.meter.createHistogram(name, {
          unit,
          advice: { explicitBucketBoundaries: DEFAULT_LATENCY_BOUNDARIES_MS },
        });
        recordAll = bulkRecorder(h, (v, a) => h.record(v, a)).recordAll;
        break;
      }
    }
    const inst = { type, unit, recordAll };
    this.instruments.set(name, inst);
    return inst;
  }
}

export interface PushMetersOptions {
  store: Store;
  views: ViewResolver;
  /** Per-instrument SDK cardinality cap; the store's own limits admit series first. */
  cardinalityLimit: number;
  clock: () => number;
  /** Scope (meter) name and version the pushed metrics are recorded under. */
  scopeName: string;
  scopeVersion: string;
}

/**
 * The JSON push API's OpenTelemetry side: a MeterProvider per source identity, with the
 * configured views, collected into the store on demand (before a scrape or an evaluation).
 */
export class PushMeters {
  private readonly sources = new Map<string, PushSource>();
  private readonly collector: SdkCollector;

  constructor(private readonly opts: PushMetersOptions) {
    this.collector = new SdkCollector(opts.store);
  }

  get size(): number {
    return this.sources.size;
  }

  source(resourceAttrs: FlatAttrs): PushSource {
    const entry = this.opts.store.resource(resourceAttrs);
    const now = this.opts.clock();
    let src = this.sources.get(entry.key);
    if (src === undefined) {
      const reader = new OnDemandReader(this.opts.cardinalityLimit);
      const attrs: Attributes = {};
      for (let i = 0; i < entry.attrs.length; i += 2) {
        Object.defineProperty(attrs, entry.attrs[i]!, { value: entry.attrs[i + 1], enumerable: true });
      }
      const provider = new MeterProvider({
        resource: resourceFromAttributes(attrs),
        views: this.opts.views.sdkViews(this.opts.cardinalityLimit),
        readers: [reader],
      });
      src = new PushSource(
        entry,
        provider,
        reader,
        provider.getMeter(this.opts.scopeName, this.opts.scopeVersion),
        now,
      );
      this.sources.set(entry.key, src);
    }
    src.lastUsedMs = now;
    return src;
  }

  /** Collect every source into the store. */
  async collect(): Promise<IngestTally> {
    const tally = new IngestTally();
    for (const src of this.sources.values()) {
      const { resourceMetrics, errors } = await src.reader.collect();
      for (const e of errors) tally.reject('unsupported', String(e));
      // Re-resolve: the store may have expired and recreated the resource entry meanwhile.
      const entry = this.opts.store.resource(src.resource.attrs);
      this.collector.apply(resourceMetrics, entry, this.opts.clock(), { tally, admittedOnly: true });
    }
    return tally;
  }

  /** Forget sources idle for longer than `idleMs` (their series expire in the store too). */
  async sweep(idleMs: number): Promise<void> {
    const cutoff = this.opts.clock() - idleMs;
    for (const [key, src] of this.sources) {
      if (src.lastUsedMs < cutoff) {
        this.sources.delete(key);
        await src.provider.shutdown().catch(() => undefined);
      }
    }
  }
}
