import { parseKeyPairsIntoRecord } from '@opentelemetry/core';
import {
  isHttpUrl,
  OTLP_PROTOCOLS,
  type ExportSelection,
  type OtlpExporterConfig,
  type OtlpProtocol,
} from './exporters-schema.js';

/**
 * The OTLP exporter's settings: the config file's `exporters.otlp`, completed from the
 * OTEL_EXPORTER_OTLP_* environment variables the OpenTelemetry SDKs read
 * (opentelemetry-specification, "OTLP Exporter Configuration"), then defaults. The file wins over
 * the environment, the signal-specific variable (`..._METRICS_...`) over the generic one.
 *
 * Environment variables are read here and only here (house style); `env` is passed in so tests
 * and the composition root decide which environment counts.
 */

export interface OtlpExporterSettings {
  /** Full URL the requests go to. */
  url: string;
  protocol: OtlpProtocol;
  intervalMs: number;
  timeoutMs: number;
  compression: 'gzip' | 'none';
  temporality: 'cumulative' | 'delta';
  headers: Record<string, string>;
  export: ReadonlySet<ExportSelection>;
  maxBatchPoints: number;
  queue: { maxBatches: number; maxBytes: number; persist: boolean };
  retry: {
    enabled: boolean;
    initialIntervalMs: number;
    randomizationFactor: number;
    multiplier: number;
    maxIntervalMs: number;
    /** 0 = retry for ever. */
    maxElapsedMs: number;
  };
  breaker: { enabled: boolean; failureThreshold: number; openTimeoutMs: number; successThreshold: number };
}

export type OtlpResolution =
  | { enabled: true; settings: OtlpExporterSettings; warnings: string[] }
  | { enabled: false; reason: string; warnings: string[] };

const DEFAULT_TIMEOUT_MS = 10_000;

export function resolveOtlpExporter(config: OtlpExporterConfig, env: NodeJS.ProcessEnv): OtlpResolution {
  const warnings: string[] = [];
  const get = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  /** The signal-specific variable, else the generic one. */
  const either = (suffix: string): { name: string; value: string } | undefined => {
    for (const name of [`OTEL_EXPORTER_OTLP_METRICS_${suffix}`, `OTEL_EXPORTER_OTLP_${suffix}`]) {
      const value = get(name);
      if (value !== undefined) return { name, value };
    }
    return undefined;
  };

  if (!config.enabled) return { enabled: false, reason: 'exporters.otlp.enabled is false', warnings };
  const url = config.endpoint ?? endpointFromEnv(get, warnings);
  if (url === undefined)
    return {
      enabled: false,
      reason: 'no exporters.otlp.endpoint and no OTEL_EXPORTER_OTLP_(METRICS_)ENDPOINT',
      warnings,
    };

  let protocol: OtlpProtocol = config.protocol ?? 'http/protobuf';
  const envProtocol = config.protocol === undefined ? either('PROTOCOL') : undefined;
  if (envProtocol !== undefined) {
    if ((OTLP_PROTOCOLS as readonly string[]).includes(envProtocol.value))
      protocol = envProtocol.value as OtlpProtocol;
    else
      warnings.push(
        `${envProtocol.name}=${envProtocol.value} is not supported (http/protobuf, http/json); using ${protocol}`,
      );
  }

  let timeoutMs = config.timeout ?? DEFAULT_TIMEOUT_MS;
  const envTimeout = config.timeout === undefined ? either('TIMEOUT') : undefined;
  if (envTimeout !== undefined) {
    // The specification gives this one in milliseconds.
    const ms = Number(envTimeout.value);
    if (Number.isFinite(ms) && ms > 0) timeoutMs = ms;
    else warnings.push(`${envTimeout.name}=${envTimeout.value} is not a positive number of milliseconds`);
  }

  let compression: 'gzip' | 'none' = config.compression ?? 'gzip';
  const envCompression = config.compression === undefined ? either('COMPRESSION') : undefined;
  if (envCompression !== undefined) {
    if (envCompression.value === 'gzip' || envCompression.value === 'none')
      compression = envCompression.value;
    else warnings.push(`${envCompression.name}=${envCompression.value} is not gzip or none`);
  }

  let temporality: 'cumulative' | 'delta' = config.temporality ?? 'cumulative';
  const envTemporality =
    config.temporality === undefined ? get('OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE') : undefined;
  if (envTemporality !== undefined) {
    const t = envTemporality.toLowerCase();
    // `lowmemory` is delta for counters and histograms, cumulative for up-down counters: what
    // vigil's delta mode does anyway.
    if (t === 'cumulative' || t === 'delta') temporality = t;
    else if (t === 'lowmemory') temporality = 'delta';
    else
      warnings.push(`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=${envTemporality} is not supported`);
  }

  const headers: Record<string, string> = {
    ...parseKeyPairsIntoRecord(get('OTEL_EXPORTER_OTLP_HEADERS')),
    ...parseKeyPairsIntoRecord(get('OTEL_EXPORTER_OTLP_METRICS_HEADERS')),
    ...config.headers,
  };

  const q = config.sending_queue;
  const r = config.retry_on_failure;
  const b = config.circuit_breaker;
  return {
    enabled: true,
    warnings,
    settings: {
      url,
      protocol,
      intervalMs: config.interval,
      timeoutMs,
      compression,
      temporality,
      headers,
      export: new Set(config.export),
      maxBatchPoints: config.max_batch_points,
      queue: { maxBatches: q.queue_size, maxBytes: q.max_bytes, persist: q.persist },
      retry: {
        enabled: r.enabled,
        initialIntervalMs: r.initial_interval,
        randomizationFactor: r.randomization_factor,
        multiplier: r.multiplier,
        maxIntervalMs: Math.max(r.max_interval, r.initial_interval),
        maxElapsedMs: r.max_elapsed_time,
      },
      breaker: {
        enabled: b.enabled,
        failureThreshold: b.failure_threshold,
        openTimeoutMs: b.open_timeout,
        successThreshold: b.success_threshold,
      },
    },
  };
}

/**
 * The signal-specific endpoint is used as is; the generic one is a base URL that gets
 * `v1/metrics` appended (specification, "Endpoint URLs for OTLP/HTTP").
 */
function endpointFromEnv(get: (name: string) => string | undefined, warnings: string[]): string | undefined {
  const specific = get('OTEL_EXPORTER_OTLP_METRICS_ENDPOINT');
  if (specific !== undefined) {
    if (isHttpUrl(specific)) return new URL(specific).toString();
    warnings.push(`OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=${specific} is not an http(s) URL; ignored`);
  }
  const base = get('OTEL_EXPORTER_OTLP_ENDPOINT');
  if (base !== undefined) {
    if (isHttpUrl(base)) return `${base.endsWith('/') ? base : `${base}/`}v1/metrics`;
    warnings.push(`OTEL_EXPORTER_OTLP_ENDPOINT=${base} is not an http(s) URL; ignored`);
  }
  return undefined;
}
