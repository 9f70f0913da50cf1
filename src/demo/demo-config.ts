import type { ParsedConfig, SignalConfig } from '../config/schema.js';

/**
 * The demo runs the given config (by default the shipped one) with its clocks shortened, so that
 * rules fire within seconds of an incident and resolve within seconds of its end instead of
 * after a 5-minute window. Thresholds, severities and expressions are untouched.
 */

/** Signal and source windows are capped at 30 s (the shipped config has 1m and 5m). */
export const DEMO_WINDOW_MS = 30_000;
/** `for` and `keep_firing_for` are capped at 5 s (LATENCY_DEGRADATION has `for: 2m`). */
export const DEMO_FOR_MS = 5_000;
/** Evaluation at least every second, as the shipped config. */
export const DEMO_EVALUATION_MS = 1_000;
/** `--speed` range: windows must stay at least 1 s (DEMO_WINDOW_MS / speed). */
export const MAX_DEMO_SPEED = 10;

/**
 * `config` with every window capped at {@link DEMO_WINDOW_MS}, `for`/`keep_firing_for` at
 * {@link DEMO_FOR_MS} and the evaluation interval at {@link DEMO_EVALUATION_MS}, then all of them
 * divided by `speed` (the demo's traffic runs `speed` times faster too).
 */
export function demoConfig(config: ParsedConfig, speed = 1): ParsedConfig {
  if (!(speed >= 1 && speed <= MAX_DEMO_SPEED)) throw new RangeError(`speed must be 1..${MAX_DEMO_SPEED}`);
  const scaled = (ms: number, cap: number): number => Math.round(Math.min(ms, cap) / speed);
  const window = (ms: number): number => scaled(ms, DEMO_WINDOW_MS);
  const signals: Record<string, SignalConfig> = {};
  for (const [name, sig] of Object.entries(config.signals)) {
    signals[name] =
      sig.ratio !== undefined
        ? {
            ...sig,
            window: window(sig.window),
            ratio: {
              numerator: { ...sig.ratio.numerator, window: window(sig.ratio.numerator.window) },
              denominator: { ...sig.ratio.denominator, window: window(sig.ratio.denominator.window) },
            },
          }
        : { ...sig, window: window(sig.window) };
  }
  return {
    ...config,
    evaluation_interval: scaled(config.evaluation_interval, DEMO_EVALUATION_MS),
    signals,
    rules: config.rules.map((r) => ({
      ...r,
      for: scaled(r.for, DEMO_FOR_MS),
      keep_firing_for: scaled(r.keep_firing_for, DEMO_FOR_MS),
    })),
    sources: { ...config.sources, window: window(config.sources.window) },
  };
}

/** The demo collector's export interval: 5 s (the default is 15 s). */
export const DEMO_EXPORT_INTERVAL_MS = 5_000;

/**
 * Whether the demo brings its own collector: only when neither the config nor the standard
 * OpenTelemetry variables name an OTLP endpoint, and the exporter is not switched off.
 */
export function wantsDemoCollector(config: ParsedConfig, env: NodeJS.ProcessEnv): boolean {
  const otlp = config.exporters.otlp;
  return (
    otlp.enabled &&
    otlp.endpoint === undefined &&
    !env['OTEL_EXPORTER_OTLP_ENDPOINT'] &&
    !env['OTEL_EXPORTER_OTLP_METRICS_ENDPOINT']
  );
}

/**
 * `config` exporting to the demo collector at `endpoint`, with the exporter's clocks shortened
 * like the rest: export every 5 s, retry from 1 s up to 5 s, the open circuit breaker tries
 * again after 10 s — so an outage of the collector shows as retries, an open breaker and a
 * growing queue within seconds, and recovery soon after.
 */
export function withDemoCollector(config: ParsedConfig, endpoint: string, speed = 1): ParsedConfig {
  const otlp = config.exporters.otlp;
  const s = (ms: number): number => Math.round(ms / speed);
  return {
    ...config,
    exporters: {
      ...config.exporters,
      otlp: {
        ...otlp,
        endpoint,
        interval: s(DEMO_EXPORT_INTERVAL_MS),
        retry_on_failure: { ...otlp.retry_on_failure, initial_interval: s(1_000), max_interval: s(5_000) },
        circuit_breaker: { ...otlp.circuit_breaker, open_timeout: s(10_000) },
      },
    },
  };
}
