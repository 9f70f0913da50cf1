/**
 * The demo's script (`vigil demo`): which incident is staged when. Times are in demo seconds
 * from the start of a cycle; the cycle repeats. Each incident lasts 45 s: long enough for a
 * rule reading a 30 s window to cross its threshold, short enough that the whole tour of the
 * shipped rules takes five minutes. `--speed N` divides every time here by N.
 */

export type IncidentName =
  | 'stalled-pipeline'
  | 'cache-collapse'
  | 'latency-spike'
  | 'cpu-saturation'
  | 'slow-ingest'
  | 'edge-engine-down'
  | 'llm-degradation'
  | 'correlation-degradation'
  | 'exchange-outage'
  | 'collector-outage';

export interface Incident {
  readonly name: IncidentName;
  /** The simulated service that misbehaves. */
  readonly service: string;
  /** What happens, for the log line. */
  readonly what: string;
  /** The shipped rules (or source statuses) a newcomer should see fire. */
  readonly expect: readonly string[];
  /** Start and end within the cycle, demo seconds. */
  readonly startS: number;
  readonly endS: number;
}

/** Length of one tour of every incident, quiet tail included: 5 minutes. */
export const CYCLE_S = 300;

const DURATION_S = 45;

const at = (
  startS: number,
  name: IncidentName,
  service: string,
  what: string,
  expect: readonly string[],
): Incident => ({ name, service, what, expect, startS, endS: startS + DURATION_S });

/**
 * The timeline. The latency spike comes after a minute of healthy traffic because
 * LATENCY_DEGRADATION compares p95 with its average since vigil started (its 24h baseline):
 * a spike in the first seconds would be most of that average.
 */
export const INCIDENTS: readonly Incident[] = [
  at(15, 'stalled-pipeline', 'valuation', 'recompute backlog grows past 1000 while events keep flowing', [
    'STALLED_VALUATION_PIPE',
  ]),
  at(35, 'cache-collapse', 'odds-cache', 'cache hit rate drops from 85% to 3%', ['LOW_CACHE_HIT_RATE']),
  at(60, 'latency-spike', 'pricing', 'request latency jumps from ~100 ms to 5-8 s', [
    'HIGH_P95_LATENCY',
    'LATENCY_DEGRADATION',
    'source pricing DEGRADED',
  ]),
  at(85, 'cpu-saturation', 'pricing', 'process CPU utilization at 97%', ['HIGH_CPU']),
  at(110, 'slow-ingest', 'ingestor', 'ingestion batches take 8-10 s', ['SLOW_INGEST']),
  at(130, 'edge-engine-down', 'edge-engine', 'zero active edges while ingestion goes on', [
    'NO_ACTIVE_EDGES',
  ]),
  at(150, 'llm-degradation', 'rationale', 'rationale cache hit rate 10%, answers of ~20 tokens', [
    'EXCESSIVE_RATIONALE_FAILURE',
  ]),
  at(170, 'correlation-degradation', 'correlation', 'three partial refreshes a second', [
    'CORRELATION_PSD_DEGRADATION',
  ]),
  at(195, 'exchange-outage', 'cex-binance', 'every request fails with 503', ['source cex-binance FAILED']),
  // Only when the demo brings its own collector (no OTLP endpoint configured).
  at(215, 'collector-outage', 'otel-collector', 'the OTLP backend answers 503', [
    'exporter retrying, circuit breaker open, then delivering the queue',
  ]),
];

/** The incidents active at `cycleS` seconds into a cycle. */
export function activeIncidents(cycleS: number): ReadonlySet<IncidentName> {
  const out = new Set<IncidentName>();
  for (const i of INCIDENTS) if (cycleS >= i.startS && cycleS < i.endS) out.add(i.name);
  return out;
}

/** Position within the current cycle, demo seconds. */
export function cycleSeconds(elapsedS: number): number {
  return ((elapsedS % CYCLE_S) + CYCLE_S) % CYCLE_S;
}
