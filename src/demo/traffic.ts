import type { IncidentName } from './scenario.js';

/**
 * What each simulated service of `vigil demo` emits in one demo second, healthy or during its
 * incident. Metric names and units are the ones the shipped config.yaml reads (README "Built-in
 * rules"): durations in seconds as OpenTelemetry's semantic conventions have them. One item
 * shape for both transports: the JSON push API takes it as it is, the OTLP services record it
 * into SDK instruments.
 */

export interface DemoMetric {
  readonly name: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly unit?: string;
  /** Counter increment or gauge value. */
  readonly value?: number;
  /** Histogram observations. */
  readonly values?: readonly number[];
  readonly attributes?: Readonly<Record<string, string | number>>;
}

export interface ServiceModel {
  /** `service.name` of the simulated service. */
  readonly name: string;
  /** How it reaches vigil: the OpenTelemetry SDK's OTLP exporter, or the JSON push API. */
  readonly transport: 'otlp' | 'json';
  /** One demo second of telemetry. `random` is uniform in [0, 1). */
  tick(active: ReadonlySet<IncidentName>, random: () => number): DemoMetric[];
}

const between = (random: () => number, lo: number, hi: number): number => lo + (hi - lo) * random();
const repeat = <T>(n: number, f: () => T): T[] => Array.from({ length: n }, f);

/**
 * An HTTP service: `requests` a second on two routes; `errorRate` of them fail with 5xx. Failures
 * carry `error.type` as the semantic conventions say, which is also how vigil's sources count them.
 */
function httpRequests(
  random: () => number,
  requests: number,
  latencyS: () => number,
  errorRate: number,
  failStatus: number,
  routes: readonly string[],
): DemoMetric[] {
  const byKey = new Map<string, { attributes: Record<string, string | number>; values: number[] }>();
  for (let i = 0; i < requests; i++) {
    const route = routes[Math.floor(random() * routes.length)]!;
    const failed = random() < errorRate;
    const status = failed ? failStatus : 200;
    const key = `${route} ${status}`;
    let entry = byKey.get(key);
    if (entry === undefined) {
      const attributes: Record<string, string | number> = {
        'http.request.method': 'GET',
        'http.route': route,
        'http.response.status_code': status,
      };
      if (failed) attributes['error.type'] = String(status);
      entry = { attributes, values: [] };
      byKey.set(key, entry);
    }
    entry.values.push(latencyS());
  }
  return [...byKey.values()].map(({ attributes, values }) => ({
    name: 'http.server.request.duration',
    type: 'histogram' as const,
    unit: 's',
    values,
    attributes,
  }));
}

/** The odds pricing API: HTTP latency, and the CPU of its process. */
export const pricing: ServiceModel = {
  name: 'pricing',
  transport: 'otlp',
  tick(active, random): DemoMetric[] {
    const spike = active.has('latency-spike');
    const latency = spike ? () => between(random, 5, 8) : () => 0.03 + 0.1 * random() ** 2;
    const cpu = active.has('cpu-saturation') ? between(random, 0.95, 0.99) : between(random, 0.25, 0.45);
    return [
      ...httpRequests(random, 20, latency, 0.005, 500, ['/odds', '/markets']),
      { name: 'process.cpu.utilization', type: 'gauge', unit: '1', value: cpu },
    ];
  },
};

/** An exchange feed (a `cex-*` source with its stricter SLA preset). */
export const cexBinance: ServiceModel = {
  name: 'cex-binance',
  transport: 'otlp',
  tick(active, random): DemoMetric[] {
    if (active.has('exchange-outage'))
      return httpRequests(random, 10, () => between(random, 0.05, 0.2), 1, 503, ['/api/v3/depth']);
    return httpRequests(random, 10, () => between(random, 0.08, 0.4), 0.01, 502, ['/api/v3/depth']);
  },
};

/** The ingestion pipeline: batch durations and records ingested. */
export const ingestor: ServiceModel = {
  name: 'ingestor',
  transport: 'otlp',
  tick(active, random): DemoMetric[] {
    const slow = active.has('slow-ingest');
    return [
      {
        name: 'ingestion.duration',
        type: 'histogram',
        unit: 's',
        values: repeat(2, () => (slow ? between(random, 8, 10) : between(random, 0.3, 0.8))),
      },
      {
        name: 'ingestion.records',
        type: 'counter',
        unit: '{record}',
        value: Math.round(between(random, 40, 60)),
      },
    ];
  },
};

/** The correlation optimiser: partial refreshes and refresh durations. */
export const correlation: ServiceModel = {
  name: 'correlation',
  transport: 'otlp',
  tick(active, random): DemoMetric[] {
    const bad = active.has('correlation-degradation');
    return [
      {
        name: 'optimization.partial_refreshes',
        type: 'counter',
        value: bad ? 3 : random() < 0.1 ? 1 : 0,
      },
      {
        name: 'optimization.refresh.duration',
        type: 'histogram',
        unit: 's',
        values: [bad ? between(random, 2, 4) : between(random, 0.5, 1.5)],
      },
    ];
  },
};

/** The valuation stream: events keep flowing; during the incident the recompute backlog piles up. */
export class Valuation implements ServiceModel {
  readonly name = 'valuation';
  readonly transport = 'json';
  private backlog = 20;

  tick(active: ReadonlySet<IncidentName>, random: () => number): DemoMetric[] {
    if (active.has('stalled-pipeline')) this.backlog += 150;
    else this.backlog = Math.max(Math.round(between(random, 10, 60)), this.backlog - 600);
    return [
      { name: 'stream.events', type: 'counter', value: Math.round(between(random, 8, 12)) },
      { name: 'stream.recompute_backlog', type: 'gauge', value: this.backlog },
    ];
  }
}

/** The odds cache: hits and misses. */
export const oddsCache: ServiceModel = {
  name: 'odds-cache',
  transport: 'json',
  tick(active, random): DemoMetric[] {
    const hitRate = active.has('cache-collapse') ? 0.03 : 0.85;
    let hits = 0;
    const ops = 12;
    for (let i = 0; i < ops; i++) if (random() < hitRate) hits++;
    return [
      { name: 'cache.operations', type: 'counter', value: hits, attributes: { result: 'hit' } },
      { name: 'cache.operations', type: 'counter', value: ops - hits, attributes: { result: 'miss' } },
    ];
  },
};

/** The edge engine: how many betting edges it currently sees. */
export const edgeEngine: ServiceModel = {
  name: 'edge-engine',
  transport: 'json',
  tick(active, random): DemoMetric[] {
    const edges = active.has('edge-engine-down') ? 0 : Math.round(between(random, 8, 15));
    return [{ name: 'edge.active', type: 'gauge', value: edges }];
  },
};

/** LLM-written rationales: requests, their cache, and the size of the answers. */
export const rationale: ServiceModel = {
  name: 'rationale',
  transport: 'json',
  tick(active, random): DemoMetric[] {
    const bad = active.has('llm-degradation');
    const ops = 5;
    let hits = 0;
    for (let i = 0; i < ops; i++) if (random() < (bad ? 0.1 : 0.8)) hits++;
    return [
      { name: 'rationale.requests', type: 'counter', value: 2 },
      { name: 'rationale.cache.operations', type: 'counter', value: hits, attributes: { result: 'hit' } },
      {
        name: 'rationale.cache.operations',
        type: 'counter',
        value: ops - hits,
        attributes: { result: 'miss' },
      },
      {
        name: 'gen_ai.client.token.usage',
        type: 'histogram',
        unit: '{token}',
        values: repeat(2, () => (bad ? between(random, 10, 30) : between(random, 200, 400))),
        attributes: { 'gen_ai.token.type': 'output' },
      },
    ];
  },
};

/**
 * A batch job with a bug: every tenth push carries a negative counter increment, which vigil
 * rejects (and counts in `vigil_receiver_rejected_points_total`) while keeping the good item.
 */
export class LegacyBatch implements ServiceModel {
  readonly name = 'legacy-batch';
  readonly transport = 'json';
  private ticks = 0;

  tick(): DemoMetric[] {
    this.ticks++;
    const out: DemoMetric[] = [{ name: 'batch.jobs', type: 'counter', value: 1 }];
    if (this.ticks % 10 === 0) out.push({ name: 'batch.jobs', type: 'counter', value: -1 });
    return out;
  }
}

/** Every simulated service, in a fresh state. */
export function demoServices(): ServiceModel[] {
  return [
    pricing,
    cexBinance,
    ingestor,
    correlation,
    new Valuation(),
    oddsCache,
    edgeEngine,
    rationale,
    new LegacyBatch(),
  ];
}
